#!/usr/bin/env bash
# Benchmark: the service next to what nginx itself can do, measured side by side in one run
# on loopback (wrk through nginx). Prints a table and writes it to bench/results/.
# Environment: BENCH_SECONDS (per row, default 5), WARMUP_SECONDS (2), CONNECTIONS (128),
# LATENCY_CONNECTIONS (1000), LOG_LEVEL for the app (info).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${BENCH_SECONDS:-5}
warmup=${WARMUP_SECONDS:-2}
conns=${CONNECTIONS:-128}
lconns=${LATENCY_CONNECTIONS:-1000}

# What the harness needs: wrk, nginx with the echo module (for the 200 ms upstream), a C compiler.
need=()
for pkg in wrk nginx libnginx-mod-http-echo libfcgi-dev gcc; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "== building (release)"
app_bin=$(scripts/build-release.sh 2>/dev/null)
dir=$(mktemp -d /tmp/tcb-bench.XXXXXX)
gcc -O2 -o "$dir/fcgi-static" bench/fcgi-static.c -lfcgi

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

up=18491; front=18492; slowfront=18493
id=0123456789abcdef01234567
doc='{"_id":"'$id'","__STATE__":"PUBLIC","startDate":"2026-01-01T10:00:00.000Z","endDate":"2026-01-01T11:00:00.000Z","participantsNumber":2,"participants":[{"userExternalId":"dr-who","userBandyerId":"usr_doc","groups":["doctor"],"fullName":"Dr Who","accessLinkURL":"https://bandyer.example/join/room_1/usr_doc"},{"userExternalId":"pat-1","userBandyerId":"usr_pat","groups":["patient"],"fullName":"Pat One","accessLinkURL":"https://bandyer.example/join/room_1/usr_pat"}],"bandyerRoomId":"room_1","teleconsultationState":"READY","version":2,"creatorId":"u","createdAt":"2026-01-01T00:00:00.000Z","updaterId":"u","updatedAt":"2026-01-01T00:00:00.000Z"}'
map='[{"_id":"aaaaaaaaaaaaaaaaaaaaaaa1","receivedUserId":"dr-who","bandyerId":"usr_doc","role":"plus","createdAt":"2026-01-01T00:00:00.000Z"},{"_id":"aaaaaaaaaaaaaaaaaaaaaaa2","receivedUserId":"pat-1","bandyerId":"usr_pat","role":"basic","createdAt":"2026-01-01T00:00:00.000Z"}]'
room='{"room":{"room_id":"room_1","user_urls":[{"user":"usr_doc","url":"https://bandyer.example/join/room_1/usr_doc","is_admin":true},{"user":"usr_pat","url":"https://bandyer.example/join/room_1/usr_pat","is_admin":false}]}}'
health='{"status":"OK","name":"teleconsultation-backend","version":"1.0.0"}'

mkdir -p "$dir/nginx"/{client_body,proxy,fastcgi,uwsgi,scgi}
cp /etc/nginx/fastcgi_params "$dir/nginx/"
cat > "$dir/nginx/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
daemon off;
worker_processes 2;
worker_rlimit_nofile 65536;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log error;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $dir/nginx/client_body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    default_type application/json;
    keepalive_requests 100000;

    # The static upstream: the CRUD document, the CRUD and Bandyer answers of a POST, and the
    # same document after 200 ms.
    server {
        listen 127.0.0.1:$up backlog=4096;
        location = /doc { return 200 '$doc'; }
        location ~ "^/crud/teleconsultations/[0-9a-f]{24}\$" { return 200 '$doc'; }
        location ~ "^/crud/teleconsultations/[0-9a-f]{24}/state\$" { return 204; }
        location = /crud/teleconsultations/ { return 200 '{"_id":"0123456789abcdef01234568"}'; }
        location = /crud/teleconsultation-users/ { return 200 '$map'; }
        location = /bandyer/room/create { return 200 '$room'; }
        location ~ "^/slowcrud/teleconsultations/[0-9a-f]{24}\$" { echo_sleep 0.2; echo '$doc'; }
    }

    upstream static_up { server 127.0.0.1:$up; keepalive 256; }

    server {
        listen 127.0.0.1:$front backlog=4096;
        location = /l1 { return 200 '$health'; }
        location = /l2 { proxy_pass http://static_up/doc; proxy_http_version 1.1; proxy_set_header Connection ""; }
        location = /l2slow { proxy_pass http://static_up/slowcrud/teleconsultations/$id; proxy_http_version 1.1; proxy_set_header Connection ""; }
        location = /f { include $dir/nginx/fastcgi_params; fastcgi_pass unix:$dir/f.sock; }
        location /api/v1/telecons-be/ { include $dir/nginx/fastcgi_params; fastcgi_pass unix:$dir/app.sock; }
    }
    server {
        listen 127.0.0.1:$slowfront backlog=4096;
        location /api/v1/telecons-be/ { include $dir/nginx/fastcgi_params; fastcgi_pass unix:$dir/app-slow.sock; fastcgi_read_timeout 40s; }
    }
}
CONF

"$dir/fcgi-static" "$dir/f.sock" 2>/dev/null & pids+=($!)
app_env=(${APP_EXTRA_ENV:-} BANDYER_API_SECRET_KEY=bench BANDYER_BASE_URL="http://127.0.0.1:$up/bandyer" LOG_LEVEL="${LOG_LEVEL:-info}" FCGI_SOCKET_GROUP=root)
env "${app_env[@]}" CRUD_SERVICE_URL="http://127.0.0.1:$up/crud" "$app_bin" --socket "$dir/app.sock" 2> "$dir/app.log" & app_pid=$!; pids+=($app_pid)
env "${app_env[@]}" CRUD_SERVICE_URL="http://127.0.0.1:$up/slowcrud" "$app_bin" --socket "$dir/app-slow.sock" 2> "$dir/app-slow.log" & slow_pid=$!; pids+=($slow_pid)
for _ in $(seq 100); do [ -S "$dir/app.sock" ] && [ -S "$dir/app-slow.sock" ] && [ -S "$dir/f.sock" ] && break; sleep 0.1; done
nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" & pids+=($!)
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$front/l1" >/dev/null 2>&1 && break; sleep 0.1; done

cat > "$dir/get.lua" <<'LUA'
wrk.headers["miauserid"] = "dr-who"
LUA
cat > "$dir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"participants":{"number":2,"data":[{"userExternalId":"dr-who","groups":["doctor"],"fullName":"Dr Who"},{"userExternalId":"pat-1","groups":["patient"],"fullName":"Pat One"}]},"start_date":"2027-01-01T10:00:00.000Z","end_date":"2027-01-01T11:00:00.000Z"}'
LUA

# Sanity: every target answers what it should before it is measured.
check() { local code; code=$(curl -s -o /dev/null -w '%{http_code}' "${@:2}"); [ "$code" = "$1" ] || { echo "sanity check failed ($code): ${*:2}"; exit 1; }; }
base="http://127.0.0.1:$front/api/v1/telecons-be"
check 200 "http://127.0.0.1:$front/l2"; check 200 "http://127.0.0.1:$front/f"; check 200 "$base/-/healthz"
check 200 -H 'miauserid: dr-who' "$base/teleconsultation/$id"
check 201 -X POST -H 'content-type: application/json' -d "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$dir/post.lua")" "$base/teleconsultation"
check 200 -H 'miauserid: dr-who' "http://127.0.0.1:$slowfront/api/v1/telecons-be/teleconsultation/$id"

ms() { # wrk latency ("1.23ms", "850.00us", "1.20s") to milliseconds
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
peak_mib() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "-"; }
reset_peak() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; }

rows=()
declare -A rps
run() { # name, description, connections, pid for RSS (or -), url, [lua]
    local name=$1 what=$2 c=$3 pid=$4 url=$5 lua=${6:-}
    if [ -n "${ROWS:-}" ] && [[ " $ROWS " != *" $name "* ]]; then return; fi
    local args=(-t2 -c"$c" --timeout 10s)
    [ -n "$lua" ] && args+=(-s "$lua")
    wrk "${args[@]}" -d"${warmup}s" "$url" >/dev/null 2>&1 || true
    [ "$pid" != "-" ] && reset_peak "$pid"
    local perf_pid=""
    if [ "${PERF_ROW:-}" = "$name" ] && [ "$pid" != "-" ]; then
        # Profiling on request: a sampled profile of the app during this row (software clock).
        local target=(-p "$pid"); [ -n "${PERF_ALL:-}" ] && target=(-a)
        perf record -F 999 -e cpu-clock -g "${target[@]}" -o "$dir/perf-$name.data" -- sleep "$seconds" >/dev/null 2>&1 & perf_pid=$!
    fi
    local out; out=$(wrk "${args[@]}" -d"${seconds}s" --latency "$url" 2>&1)
    if [ -n "$perf_pid" ]; then
        wait "$perf_pid" || true
        perf report -i "$dir/perf-$name.data" --no-children --sort symbol --stdio 2>/dev/null | grep -v "^#" | grep -v "^$" | head -60 > "bench/results/perf-$name.txt" || true
        echo "   profile of $name: bench/results/perf-$name.txt"
    fi
    local r p50 p99 non2xx sock errors rss="-"
    r=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")
    p50=$(ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    non2xx=$(awk '/Non-2xx/ { print $5 }' <<<"$out"); non2xx=${non2xx:-0}
    sock=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out"); sock=${sock:-0}
    errors=$((non2xx + sock))
    [ "$pid" != "-" ] && rss=$(peak_mib "$pid")
    rps[$name]=$r
    rows+=("| $name | $what | $c | $r | $p50 | $p99 | $errors | $rss |")
    printf '%-8s %8s req/s  p50 %7s ms  p99 %8s ms  errors %s  rss %s MiB\n' "$name" "$r" "$p50" "$p99" "$errors" "$rss"
}

echo "== measuring ($seconds s per row after ${warmup} s of warm-up; 2 cores shared by wrk, nginx and the app)"
run L1 "nginx return 200 (static JSON)" "$conns" - "http://127.0.0.1:$front/l1"
run L2 "nginx proxy_pass, keepalive upstream, the CRUD document" "$conns" - "http://127.0.0.1:$front/l2"
run F "C libfcgi responder, static JSON" "$conns" - "http://127.0.0.1:$front/f"
run healthz "service GET /-/healthz" "$conns" "$app_pid" "$base/-/healthz"
run GET "service GET /teleconsultation/:id (caller's link; 1 CRUD call)" "$conns" "$app_pid" "$base/teleconsultation/$id" "$dir/get.lua"
run POST "service POST /teleconsultation, complete (5 upstream calls)" "$conns" "$app_pid" "$base/teleconsultation" "$dir/post.lua"
run L2LAT "nginx proxy_pass, upstream answers after 200 ms" "$lconns" - "http://127.0.0.1:$front/l2slow"
run LAT "service GET, upstream answers after 200 ms" "$lconns" "$slow_pid" "http://127.0.0.1:$slowfront/api/v1/telecons-be/teleconsultation/$id" "$dir/get.lua"

ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
mkdir -p bench/results
out="bench/results/bench-$(date -u +%Y%m%dT%H%M%SZ).md"
{
    echo "# Benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r); $(nginx -v 2>&1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)."
    echo "Command: \`make bench\` (BENCH_SECONDS=$seconds, WARMUP_SECONDS=$warmup, CONNECTIONS=$conns, LATENCY_CONNECTIONS=$lconns, LOG_LEVEL=${LOG_LEVEL:-info})."
    echo
    echo "| row | what | connections | req/s | p50 ms | p99 ms | errors | app peak RSS MiB |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "- GET / L2 = $(ratio "${rps[GET]:-}" "${rps[L2]:-}") (target ≥ 0.25)"
    echo "- healthz / F = $(ratio "${rps[healthz]:-}" "${rps[F]:-}") (target ≥ 0.85)"
    echo "- latency run / ideal ($lconns / 0.2 s = $((lconns * 5)) req/s) = $(ratio "${rps[LAT]:-}" $((lconns * 5))) (target ≥ 0.95; nginx's own proxy: $(ratio "${rps[L2LAT]:-}" $((lconns * 5))))"
} > "$out"
echo
cat "$out"
echo
echo "written to $out"

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

# What the harness needs: wrk, nginx with the echo module (for the 200 ms upstream), a C compiler, node.
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

up=18491; front=18492; slowfront=18493; kcfront=18494; nodeport=18495; nodelogport=18496
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
        location = /crud/teleconsultation-room-claims/ { return 200 '{"_id":"0123456789abcdef01234569"}'; }
        location ~ "^/crud/teleconsultation-room-claims/[0-9a-f]{24}\$" { return 200 '{"ok":1}'; }
        location = /bandyer/room/create { return 200 '$room'; }
        location ~ "^/slowcrud/teleconsultations/[0-9a-f]{24}\$" { echo_sleep 0.2; echo '$doc'; }
    }

    upstream static_up { server 127.0.0.1:$up; keepalive 256; }
    upstream node_app { server 127.0.0.1:$nodeport; keepalive 256; }
    upstream node_log { server 127.0.0.1:$nodelogport; keepalive 256; }
    # FastCGI connection reuse (fastcgi_keep_conn) as the shipped profiles set it up, for the
    # app and for the C responder measured the same way.
    upstream app_kc { server unix:$dir/app.sock; keepalive ${KC_KEEPALIVE:-64}; keepalive_timeout 1s; keepalive_time 1s; }
    upstream app_slow_kc { server unix:$dir/app-slow.sock; keepalive ${KC_KEEPALIVE:-64}; keepalive_timeout 1s; keepalive_time 1s; }
    upstream f_kc { server unix:$dir/f.sock; keepalive ${KC_KEEPALIVE:-64}; keepalive_timeout 1s; keepalive_time 1s; }

    server {
        listen 127.0.0.1:$front backlog=4096;
        location = /l1 { return 200 '$health'; }
        location = /l2 { proxy_pass http://static_up/doc; proxy_http_version 1.1; proxy_set_header Connection ""; }
        location = /l2slow { proxy_pass http://static_up/slowcrud/teleconsultations/$id; proxy_http_version 1.1; proxy_set_header Connection ""; }
        location = /f { include $dir/nginx/fastcgi_params; fastcgi_pass unix:$dir/f.sock; }
        location /api/v1/telecons-be/ { include $dir/nginx/fastcgi_params; fastcgi_pass unix:$dir/app.sock; }
        location /node/ { rewrite ^/node(/.*)\$ \$1 break; proxy_pass http://node_app; proxy_http_version 1.1; proxy_set_header Connection ""; }
        location /nodelog/ { rewrite ^/nodelog(/.*)\$ \$1 break; proxy_pass http://node_log; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
    server {
        listen 127.0.0.1:$kcfront backlog=4096;
        location = /f { include $dir/nginx/fastcgi_params; fastcgi_pass f_kc; fastcgi_keep_conn on; }
        location /api/v1/telecons-be/ { include $dir/nginx/fastcgi_params; fastcgi_pass app_kc; fastcgi_keep_conn on; }
    }
    server {
        listen 127.0.0.1:$slowfront backlog=4096;
        location /api/v1/telecons-be/ { include $dir/nginx/fastcgi_params; fastcgi_pass app_slow_kc; fastcgi_keep_conn on; fastcgi_read_timeout 40s; }
    }
}
CONF

"$dir/fcgi-static" "$dir/f.sock" 2>/dev/null & f_pid=$!; pids+=($f_pid)
node bench/node-get.js "$nodeport" "http://127.0.0.1:$up/crud" 2> "$dir/node.log" & node_pid=$!; pids+=($node_pid)
node bench/node-get.js "$nodelogport" "http://127.0.0.1:$up/crud" --log 2> "$dir/node-log.log" & nodelog_pid=$!; pids+=($nodelog_pid)
app_env=(${APP_EXTRA_ENV:-} BANDYER_API_SECRET_KEY=bench BANDYER_BASE_URL="http://127.0.0.1:$up/bandyer" LOG_LEVEL="${LOG_LEVEL:-info}" FCGI_SOCKET_GROUP=root)
env "${app_env[@]}" CRUD_SERVICE_URL="http://127.0.0.1:$up/crud" "$app_bin" --socket "$dir/app.sock" 2> "$dir/app.log" & app_pid=$!; pids+=($app_pid)
env "${app_env[@]}" CRUD_SERVICE_URL="http://127.0.0.1:$up/slowcrud" "$app_bin" --socket "$dir/app-slow.sock" 2> "$dir/app-slow.log" & slow_pid=$!; pids+=($slow_pid)
for _ in $(seq 100); do [ -S "$dir/app.sock" ] && [ -S "$dir/app-slow.sock" ] && [ -S "$dir/f.sock" ] && break; sleep 0.1; done
nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" & nginx_pid=$!; pids+=($nginx_pid)
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$front/l1" >/dev/null 2>&1 && break; sleep 0.1; done

cat > "$dir/get.lua" <<'LUA'
wrk.headers["miauserid"] = "dr-who"
LUA
cat > "$dir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"participants":{"number":2,"data":[{"userExternalId":"dr-who","groups":["doctor"],"fullName":"Dr Who"},{"userExternalId":"pat-1","groups":["patient"],"fullName":"Pat One"}]},"start_date":"2027-01-01T10:00:00.000Z","end_date":"2027-01-01T11:00:00.000Z"}'
LUA

# A body of one object with 100 000 distinct keys (under 1 MiB): refused with a 400, in linear time.
python3 -c "
import sys
print('{' + ','.join('\"k%s\":0' % format(i, 'x') for i in range(100000)) + '}', end='')" > "$dir/keys.json"
cat > "$dir/keys.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
local f = io.open("$dir/keys.json", "rb"); wrk.body = f:read("*a"); f:close()
LUA

# Sanity: every target answers what it should before it is measured.
check() { local code; code=$(curl -s -o /dev/null -w '%{http_code}' "${@:2}"); [ "$code" = "$1" ] || { echo "sanity check failed ($code): ${*:2}"; exit 1; }; }
base="http://127.0.0.1:$front/api/v1/telecons-be"
check 200 "http://127.0.0.1:$front/l2"; check 200 "http://127.0.0.1:$front/f"; check 200 "$base/-/healthz"
check 200 -H 'miauserid: dr-who' "$base/teleconsultation/$id"
check 201 -X POST -H 'content-type: application/json' -d "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$dir/post.lua")" "$base/teleconsultation"
check 200 -H 'miauserid: dr-who' "http://127.0.0.1:$slowfront/api/v1/telecons-be/teleconsultation/$id"
check 200 -H 'miauserid: dr-who' "http://127.0.0.1:$front/node/api/v1/telecons-be/teleconsultation/$id"
check 200 -H 'miauserid: dr-who' "http://127.0.0.1:$front/nodelog/api/v1/telecons-be/teleconsultation/$id"
check 200 -H 'miauserid: dr-who' "http://127.0.0.1:$kcfront/api/v1/telecons-be/teleconsultation/$id"
check 400 -X POST -H 'content-type: application/json' --data-binary @"$dir/keys.json" "$base/teleconsultation"

ms() { # wrk latency ("1.23ms", "850.00us", "1.20s") to milliseconds
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
peak_mib() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "-"; }
threads_of() { awk '/^Threads/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "-"; }
reset_peak() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; }

# CPU time (user + system, every thread) of processes, in clock ticks.
ticks() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo "$t"; }
nginx_pids() { echo "$nginx_pid" $(pgrep -P "$nginx_pid"); }
hz=$(getconf CLK_TCK)
per_request() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "-" }'; }

# Every row runs REPEAT times, the rows interleaved (all rows, then all again), and the table
# shows each row's median: on a shared 2-core machine one run of a row can be 30 % off.
repeat=${REPEAT:-3}
order=()
declare -A rps cpu what_of conns_of m_rps m_cpu m_ngx m_p50 m_p99 m_err m_rss m_threads
run() { # name, description, connections, server pid for CPU and RSS (or -), url, [lua], [4xx expected: "4xx"]
    local name=$1 what=$2 c=$3 pid=$4 url=$5 lua=${6:-} expect=${7:-}
    if [ -n "${ROWS:-}" ] && [[ " $ROWS " != *" $name "* ]]; then return; fi
    [ -n "${what_of[$name]:-}" ] || order+=("$name")
    what_of[$name]=$what; conns_of[$name]=$c
    local args=(-t2 -c"$c" --timeout 10s)
    [ -n "$lua" ] && args+=(-s "$lua")
    wrk "${args[@]}" -d"${warmup}s" "$url" >/dev/null 2>&1 || true
    [ "$pid" != "-" ] && reset_peak "$pid"
    local perf_pid=""
    if [ "${PERF_ROW:-}" = "$name" ] && [ "$pid" != "-" ] && [ ! -e "$dir/perf-$name.data" ]; then
        # Profiling on request: a sampled profile of the app during this row (software clock).
        local target=(-p "$pid"); [ -n "${PERF_ALL:-}" ] && target=(-a)
        perf record $([ -n "${PERF_EVENT:-}" ] && echo "-c 1" || echo "-F 999") -e "${PERF_EVENT:-cpu-clock}" ${PERF_CALLGRAPH:+--call-graph $PERF_CALLGRAPH} -g "${target[@]}" -o "$dir/perf-$name.data" -- sleep "$seconds" >/dev/null 2>&1 & perf_pid=$!
    fi
    local nginx_before server_before out
    nginx_before=$(ticks $(nginx_pids)); server_before=$([ "$pid" != "-" ] && ticks "$pid" || echo 0)
    out=$(wrk "${args[@]}" -d"${seconds}s" --latency "$url" 2>&1)
    local nginx_ticks=$(( $(ticks $(nginx_pids)) - nginx_before )) server_ticks=0
    [ "$pid" != "-" ] && server_ticks=$(( $(ticks "$pid") - server_before ))
    if [ -n "$perf_pid" ]; then
        wait "$perf_pid" || true
        perf report -i "$dir/perf-$name.data" --no-children --sort ${PERF_SORT:-symbol} ${PERF_FLAT:+-g none} --stdio 2>/dev/null | grep -v "^#" | grep -v "^$" | head -${PERF_LINES:-60} > "bench/results/perf-$name.txt" || true
        cp "$dir/perf-$name.data" "bench/results/perf-$name.data" 2>/dev/null || true
        echo "   profile of $name: bench/results/perf-$name.txt (data: bench/results/perf-$name.data)"
    fi
    local r p50 p99 non2xx sock errors rss="-"
    r=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")
    p50=$(ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    non2xx=$(awk '/Non-2xx/ { print $5 }' <<<"$out"); non2xx=${non2xx:-0}
    [ "$expect" = "4xx" ] && non2xx=0  # its answers are 400s by design; socket errors still count
    sock=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out"); sock=${sock:-0}
    errors=$((non2xx + sock))
    [ "$pid" != "-" ] && rss=$(peak_mib "$pid")
    local threads="-"; [ "$pid" != "-" ] && threads=$(threads_of "$pid"); m_threads[$name]+="$threads "
    local total; total=$(awk '/requests in/ { print $1 }' <<<"$out")
    local server_us="-" nginx_us; nginx_us=$(per_request "$nginx_ticks" "$total")
    [ "$pid" != "-" ] && server_us=$(per_request "$server_ticks" "$total")
    m_rps[$name]+="$r "; m_cpu[$name]+="$server_us "; m_ngx[$name]+="$nginx_us "
    m_p50[$name]+="$p50 "; m_p99[$name]+="$p99 "; m_err[$name]+="$errors "; m_rss[$name]+="$rss "
    printf '%-10s %8s req/s  cpu %6s us/req (nginx %5s)  p50 %7s ms  p99 %8s ms  errors %s  rss %s MiB  threads %s\n' \
        "$name" "$r" "$server_us" "$nginx_us" "$p50" "$p99" "$errors" "$rss" "$threads"
}

values() { tr ' ' '\n' <<<"$1" | awk '$1 != "" && $1 != "-"' | sort -g; }  # the numbers of a list ("-" is none)
median() { values "$1" | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
total_of() { values "$1" | awk '{ s += $1 } END { print s + 0 }'; }
max_of() { values "$1" | awk 'END { print (NR ? $1 : "-") }'; }

echo "== measuring ($seconds s per row after ${warmup} s of warm-up; 2 cores shared by wrk, nginx and the app)"
kc="http://127.0.0.1:$kcfront"
for pass in $(seq "$repeat"); do
    [ "$repeat" -gt 1 ] && echo "-- pass $pass of $repeat"
    run L1 "nginx return 200 (static JSON)" "$conns" - "http://127.0.0.1:$front/l1"
    run L2 "nginx proxy_pass, keepalive upstream, the CRUD document" "$conns" - "http://127.0.0.1:$front/l2"
    run F "C libfcgi responder, static JSON" "$conns" "$f_pid" "http://127.0.0.1:$front/f"
    run F-KC "C libfcgi responder, fastcgi_keep_conn (libfcgi serves one connection at a time: kept ones queue)" "$conns" "$f_pid" "$kc/f"
    run healthz "service GET /-/healthz" "$conns" "$app_pid" "$base/-/healthz"
    run healthz-KC "service GET /-/healthz, fastcgi_keep_conn" "$conns" "$app_pid" "$kc/api/v1/telecons-be/-/healthz"
    run NODEhealth "Node 20 http, /-/healthz (proxy_pass)" "$conns" "$node_pid" "http://127.0.0.1:$front/node/api/v1/telecons-be/-/healthz"
    run GET "service GET /teleconsultation/:id (caller's link; 1 CRUD call)" "$conns" "$app_pid" "$base/teleconsultation/$id" "$dir/get.lua"
    run GET-KC "service GET, fastcgi_keep_conn" "$conns" "$app_pid" "$kc/api/v1/telecons-be/teleconsultation/$id" "$dir/get.lua"
    run NODEGET "Node 20 http + keep-alive agent, the same GET with our request log line (proxy_pass)" "$conns" "$nodelog_pid" "http://127.0.0.1:$front/nodelog/api/v1/telecons-be/teleconsultation/$id" "$dir/get.lua"
    run NODEGET-NL "the same Node GET without a log line" "$conns" "$node_pid" "http://127.0.0.1:$front/node/api/v1/telecons-be/teleconsultation/$id" "$dir/get.lua"
    run POST "service POST /teleconsultation, complete (5 upstream calls)" "$conns" "$app_pid" "$base/teleconsultation" "$dir/post.lua"
    run JSON100K "service POST of 100 000 keys (400, linear-time parse)" 2 "$app_pid" "$base/teleconsultation" "$dir/keys.lua" 4xx
    run L2LAT "nginx proxy_pass, upstream answers after 200 ms" "$lconns" - "http://127.0.0.1:$front/l2slow"
    run LAT "service GET, upstream answers after 200 ms (fastcgi_keep_conn)" "$lconns" "$slow_pid" "http://127.0.0.1:$slowfront/api/v1/telecons-be/teleconsultation/$id" "$dir/get.lua"
done
# 10 000 connections that open, send half a FastCGI header and stall, on the app's socket
# directly: what it costs (threads, memory) and whether the service still answers meanwhile.
stall_report="-"
if [ -z "${ROWS:-}" ] || [[ " $ROWS " == *" STALL "* ]]; then
    reset_peak "$app_pid"
    stall_report=$(python3 - "$dir/app.sock" "$app_pid" "$base/-/healthz" <<'PY'
import os, socket, sys, time, urllib.request
path, pid, url = sys.argv[1], sys.argv[2], sys.argv[3]
def status(key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key): return line.split()[1]
held, refused = [], 0
for _ in range(10000):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.setblocking(False)
    try:
        s.connect(path); held.append(s)
    except (BlockingIOError, ConnectionRefusedError, OSError):
        refused += 1; s.close(); continue
    try: s.send(bytes([1, 1, 0, 1, 0]))
    except OSError: pass
time.sleep(2)   # a benchmark's measuring window, not a test's wait
t0 = time.monotonic()
try: code = urllib.request.urlopen(url, timeout=30).status
except Exception as e: code = f"error ({e})"
took = (time.monotonic() - t0) * 1000
print(f"{len(held)} connected ({refused} refused by the full backlog); threads {status('Threads:')}, "
      f"RSS {int(status('VmRSS:')) / 1024:.1f} MiB (peak {int(status('VmHWM:')) / 1024:.1f}); "
      f"meanwhile GET /-/healthz through nginx: {code} in {took:.0f} ms")
for s in held: s.close()
PY
)
    echo "STALL      $stall_report"
fi

rows=()
for name in "${order[@]}"; do
    rps[$name]=$(median "${m_rps[$name]}"); cpu[$name]=$(median "${m_cpu[$name]}")
    rows+=("| $name | ${what_of[$name]} | ${conns_of[$name]} | ${rps[$name]} | ${cpu[$name]} | $(median "${m_ngx[$name]}") | $(median "${m_p50[$name]}") | $(median "${m_p99[$name]}") | $(total_of "${m_err[$name]}") | $(max_of "${m_rss[$name]}") |")
done

ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
mkdir -p bench/results
out="bench/results/bench-$(date -u +%Y%m%dT%H%M%SZ).md"
{
    echo "# Benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r); $(nginx -v 2>&1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)."
    echo "Command: \`make bench\` (BENCH_SECONDS=$seconds, WARMUP_SECONDS=$warmup, CONNECTIONS=$conns, LATENCY_CONNECTIONS=$lconns, REPEAT=$repeat, LOG_LEVEL=${LOG_LEVEL:-info}); medians of $repeat interleaved passes, errors summed, RSS the peak."
    echo
    echo "| row | what | connections | req/s | server CPU µs/req | nginx CPU µs/req | p50 ms | p99 ms | errors | server peak RSS MiB |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "- GET / L2 = $(ratio "${rps[GET]:-}" "${rps[L2]:-}") (target ≥ 0.25); with keep_conn $(ratio "${rps[GET-KC]:-}" "${rps[L2]:-}")"
    echo "- GET CPU µs/req: service ${cpu[GET]:-} (keep_conn ${cpu[GET-KC]:-}), Node ${cpu[NODEGET]:-} with the same log line, ${cpu[NODEGET-NL]:-} without (target: below Node's)"
    echo "- healthz / F = $(ratio "${rps[healthz]:-}" "${rps[F]:-}") (target ≥ 0.85); with keep_conn $(ratio "${rps[healthz-KC]:-}" "${rps[F]:-}")"
    echo "- healthz CPU / C responder CPU = $(ratio "${cpu[healthz]:-}" "${cpu[F]:-}") (target ≤ 2); with keep_conn $(ratio "${cpu[healthz-KC]:-}" "${cpu[F]:-}")"
    echo "- latency run / ideal ($lconns / 0.2 s = $((lconns * 5)) req/s) = $(ratio "${rps[LAT]:-}" $((lconns * 5))) (target ≥ 0.95; nginx's own proxy: $(ratio "${rps[L2LAT]:-}" $((lconns * 5)))); p99 $(median "${m_p99[LAT]:-}") ms against nginx's $(median "${m_p99[L2LAT]:-}") ms (target: within 30 ms), errors $(total_of "${m_err[LAT]:-}")"
    echo "- peak RSS of the service: $(max_of "${m_rss[GET]:-} ${m_rss[GET-KC]:-} ${m_rss[POST]:-} ${m_rss[healthz]:-} ${m_rss[healthz-KC]:-} ${m_rss[JSON100K]:-}") MiB under load, $(max_of "${m_rss[LAT]:-}") MiB with $lconns requests in flight (target ≤ 64); threads at the end of a row: at most $(max_of "${m_threads[GET]:-} ${m_threads[GET-KC]:-} ${m_threads[POST]:-} ${m_threads[healthz-KC]:-}") under load, $(max_of "${m_threads[LAT]:-}") with $lconns in flight"
    echo "- 10 000 stalled connections: $stall_report"
} > "$out"
echo
cat "$out"
echo
echo "written to $out"

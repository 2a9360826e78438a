#!/usr/bin/env bash
# The deploy test: what a sysadmin installs, under the real systemd (this machine's init is
# not systemd). In a Debian 12 container booted with systemd as PID 1, through the shipped
# files as they are: the .deb installed on the bare system, the environment file written, the
# socket and the sweep timer enabled, the edge nginx profile enabled by the README's own step
# (its port changed in the conffile first), and the stand-ins on the host's loopback. Then:
# socket activation, the API in both modes, the peer secret (a process that is not nginx
# cannot get a link; rotation as the README says), restarts under load, a stop with slow
# requests in flight, the journal, the hardening score, the sweep, and removal and purge as
# the README says. Every container and process it starts is removed, also when it fails.
# Needs root.
#
# usage: deploy-test.sh DEB UPSTREAM_EMULATOR_BINARY
#   DEPLOY_TEST_CACHE  where the root file system is cached (/var/cache/teleconsultation-backend-test)
#   SECURITY_EXPOSURE  the highest `systemd-analyze security` exposure accepted (the recorded one)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=box.sh
. "$here/box.sh"
[ "$(id -u)" = 0 ] || { echo "deploy test: needs root" >&2; exit 1; }
deb=$(realpath "$1")
emulator=$(realpath "$2")
readme="$here/../../README.md"
max_exposure=${SECURITY_EXPOSURE:-1.2}
started=$(date +%s)

# A run that was killed outright (SIGKILL: no trap) may have left its container: remove it.
for old in /var/tmp/tcb-deploy.*; do
    [ -d "$old" ] && { box_remove "$old/box"; rm -rf "$old"; }
done
work=$(mktemp -d /var/tmp/tcb-deploy.XXXXXX)
box="$work/box"
mkdir -p "$box"
pids=()
cleanup() {
    local status=$?
    box_remove "$box"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { echo "== deploy test: $*"; }
fail() {
    echo "deploy test FAILED: $*" >&2
    if box_pid1 "$box" >/dev/null; then
        echo "-- the units' journal:" >&2
        box_run "$box" journalctl -u teleconsultation-backend -u teleconsultation-backend.socket \
            -u teleconsultation-backend-sweep --no-pager -n 40 -o short >&2 || true
    fi
    # Again last: the test shows the end of this output.
    echo "deploy test FAILED: $*" >&2
    exit 1
}
in_box() { box_run "$box" "$@"; }
# journal_has UNIT TEXT [MORE-TEXT]: waits until the unit's journal holds a line containing
# TEXT (and MORE-TEXT), for 10 s at most. A unit's standard output reaches journald through a
# stream that journald reads in its own time, so a line may land after the process has ended
# (systemd issue 28650; `journalctl --sync` of systemd 252 does not wait for streams): the
# journal is followed (`journalctl -f` wakes on its files' changes) until the line comes, and
# the follower is stopped then.
journal_has() {
    local unit=$1 first=$2 second=${3:-} found=1 line pid follower output
    pid=$(box_pid1 "$box") || return 1
    coproc follow { exec timeout 10 nsenter --target "$pid" --mount --uts --ipc --pid --net -- \
        journalctl -f -n all _SYSTEMD_UNIT="$unit" -o cat --no-pager 2>/dev/null; }
    # Bash forgets the coprocess's variables once it has ended (at its timeout, say).
    follower=$follow_PID
    [ -n "${follow[0]:-}" ] || return 1
    exec {output}<&"${follow[0]}"
    while IFS= read -r line <&"$output"; do
        if [[ $line == *"$first"* && $line == *"$second"* ]]; then found=0; break; fi
    done
    exec {output}<&-
    kill "$follower" 2>/dev/null || true
    wait "$follower" 2>/dev/null || true
    return $found
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- the stand-ins, on the host's loopback -------------------------------------------------
BANDYER_API_SECRET_KEY=deploy-test-key "$emulator" --host 127.0.0.1 --port 0 >"$work/emulator.out" 2>"$work/emulator.log" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
emulator_port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$work/emulator.out")
[ -n "$emulator_port" ] || fail "the stand-ins did not start"
up="http://127.0.0.1:$emulator_port"
port=$(free_port)
api="http://127.0.0.1:$port/api/v1/telecons-be"
control() { curl -fsS -X "$1" "$up/_control$2" -H 'content-type: application/json' ${3:+-d "$3"}; }
control PUT /auth0/users '[{"user_id":"dr-who","name":"Dr Who","groups":["doctor"],"token":"doctor-token"},
  {"user_id":"pat-1","name":"Pat One","groups":["patient"],"token":"patient-token"}]' >/dev/null

# --- 1. install on a bare Debian 12 ----------------------------------------------------------
step "booting a Debian 12 container with systemd as PID 1"
box_boot "$box" || fail "the container did not boot"
in_box test ! -e /usr/bin/swift || fail "the container has a Swift toolchain: the test would prove nothing"
cp "$deb" "$box/root/root/package.deb"
# The package's one dependency a bare Debian 12 lacks, as apt would fetch it: libfcgi0ldbl
# (the .deb from this machine's apt, which is Debian's).
if ! in_box dpkg-query -W -f='${Status}' libfcgi0ldbl 2>/dev/null | grep -q "ok installed"; then
    step "installing the dependency libfcgi0ldbl"
    (cd "$work" && apt-get download -qq libfcgi0ldbl >/dev/null 2>&1) || fail "apt-get download libfcgi0ldbl"
    cp "$work"/libfcgi0ldbl_*.deb "$box/root/root/"
    in_box sh -c 'dpkg -i /root/libfcgi0ldbl_*.deb' >"$work/dpkg-libfcgi.log" 2>&1 || { cat "$work/dpkg-libfcgi.log" >&2; fail "dpkg -i libfcgi0ldbl"; }
fi
step "dpkg -i $(basename "$deb")"
in_box dpkg -i /root/package.deb >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i"; }
in_box test -x /usr/bin/teleconsultation-backend || fail "no binary installed"

step "the peer secret: made by the package, root's alone"
secret_file=/etc/teleconsultation-backend/peer-secret
nginx_secret=/etc/teleconsultation-backend/nginx-peer-secret.conf
for f in $secret_file $nginx_secret; do
    [ "$(in_box stat -c '%a %U %G' "$f" 2>/dev/null)" = "600 root root" ] || fail "$f is not root's alone: $(in_box stat -c '%a %U %G' "$f" 2>&1)"
    in_box setpriv --reuid=www-data --regid=www-data --init-groups cat "$f" >/dev/null 2>&1 && fail "www-data can read $f"
done
secret=$(cat "$box/root$secret_file")
[[ $secret =~ ^[0-9a-f]{64}$ ]] || fail "the peer secret is not 64 hex digits"
grep -qx "fastcgi_param TELECONSULTATION_PEER_SECRET \"$secret\";" "$box/root$nginx_secret" \
    || fail "nginx's file does not carry the app's secret"

write_env() { # the environment file, as a sysadmin writes it (it keeps the package's mode)
    {
        echo "BANDYER_API_SECRET_KEY=deploy-test-key"
        echo "BANDYER_BASE_URL=$up/bandyer/v2"
        echo "CRUD_SERVICE_URL=$up/crud"
        echo "IDENTITY_SERVICE=$up/auth0"
        echo "TELECONSULTATION_SERVICE_CONFIG_PATH=/etc/teleconsultation-backend/config.json"
        echo "TELECONSULTATION_DELETE_UPLOADS=true"
        echo "SWEEP_GRACE_MS=0"
        for line in "$@"; do echo "$line"; done
    } >"$box/root/etc/teleconsultation-backend/env"
}
write_env
[ "$(stat -c %a "$box/root/etc/teleconsultation-backend/env")" = 640 ] || fail "the environment file is not mode 0640"

step "enabling the socket, the sweep timer and the edge nginx profile (port $port), as the README says"
in_box systemctl enable --now teleconsultation-backend.socket teleconsultation-backend-sweep.timer >/dev/null 2>&1 \
    || fail "systemctl enable --now"
conf=/etc/nginx/conf.d/teleconsultation-backend.conf
# The sysadmin's one edit ("change listen to suit"), in the conffile the README enables.
sed -i "s/^\([[:space:]]*listen\) 8080;/\1 $port;/" "$box/root$conf.disabled"
grep -q "^[[:space:]]*listen $port;" "$box/root$conf.disabled" || fail "the edge profile's listen 8080 was not found"
# The README's enable step, word for word (its deploy block's line that starts in conf.d).
enable=$(grep -m1 '^cd /etc/nginx/conf.d && ' "$readme" || true)
[ -n "$enable" ] || fail "the README's deploy block has no enable step (a line starting 'cd /etc/nginx/conf.d && ')"
echo "   $enable"
in_box sh -c "$enable" || fail "the README's enable step failed: $enable"
in_box test -e "$conf" || fail "the README's enable step did not make $conf"
in_box nginx -t >"$work/nginx-t.log" 2>&1 || { cat "$work/nginx-t.log" >&2; fail "nginx -t"; }
in_box systemctl reload nginx || fail "nginx reload"

# --- 2. socket activation --------------------------------------------------------------------
step "socket activation"
[ "$(in_box systemctl is-active teleconsultation-backend.service || true)" = inactive ] || fail "the service ran before any request"
for _ in $(seq 100); do curl -s -o /dev/null "$api/-/healthz" && break; sleep 0.1; done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$api/-/healthz")" = 200 ] || fail "GET /-/healthz through nginx"
[ "$(in_box systemctl is-active teleconsultation-backend.service)" = active ] || fail "the first request did not start the service"
journal_has teleconsultation-backend.service '"msg":"listening"' inherited \
    || fail "the app did not say it inherited the socket"
journal_has teleconsultation-backend.service '"msg":"listening"' '"peerSecret":"required"' \
    || fail "the app did not say it requires the peer secret"

# --- 3. the API through nginx, in both modes -------------------------------------------------
call() { # METHOD PATH TOKEN [BODY] -> "STATUS BODY"
    local out
    out=$(curl -s -o "$work/body" -w '%{http_code}' -X "$1" "$api$2" ${3:+-H "authorization: Bearer $3"} \
        ${4:+-H 'content-type: application/json' -d "$4"})
    echo "$out $(cat "$work/body")"
}
expect() { # STATUS "STATUS BODY" what
    [ "${2%% *}" = "$1" ] || fail "$3: expected $1, got ${2:0:300}"
}
walk_through() { # DOCTOR PATIENT (participant JSON)
    local r id start
    start=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)  # now: the join window is open
    r=$(call POST /teleconsultation doctor-token "{\"participants\":{\"number\":2,\"data\":[$1]},\"start_date\":\"$start\",\"duration_in_seconds\":1800}")
    expect 201 "$r" "create"
    id=$(sed 's/.*"roomId":"\([0-9a-f]*\)".*/\1/' <<<"${r#* }")
    r=$(call GET "/teleconsultation/$id" doctor-token); expect 200 "$r" "GET before the room"
    grep -q '"accessLinkURL":null' <<<"$r" || fail "a link before the room exists: $r"
    expect 201 "$(call POST "/teleconsultation/$id/participants/data" doctor-token "$2")" "add the second participant"
    for token in doctor-token patient-token; do
        r=$(call GET "/teleconsultation/$id?details=true" $token); expect 200 "$r" "GET as $token"
        grep -q '"accessLinkURL":"http' <<<"$r" || fail "no link for $token: $r"
    done
    expect 401 "$(call GET "/teleconsultation/$id" "")" "GET without logging in"
    expect 200 "$(call DELETE "/teleconsultation/$id/uploads" doctor-token)" "delete the call's uploads"
    expect 204 "$(call DELETE "/teleconsultation/$id" doctor-token)" "delete"
}
step "the API through nginx, standalone mode"
walk_through '{"userExternalId":"dr-who","groups":["doctor"],"fullName":"Dr Who"}' \
    '{"userExternalId":"pat-1","groups":["patient"],"fullName":"Pat One"}'
step "no side door: a process that is not nginx (www-data, straight to the socket) cannot get a link"
install -m 0755 "$here/fcgi-request.pl" "$box/root/usr/local/bin/fcgi-request"
sock=/run/teleconsultation-backend.sock
start=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
r=$(call POST /teleconsultation doctor-token "{\"participants\":{\"number\":2,\"data\":[{\"userExternalId\":\"dr-who\",\"groups\":[\"doctor\"],\"fullName\":\"Dr Who\"},{\"userExternalId\":\"pat-1\",\"groups\":[\"patient\"],\"fullName\":\"Pat One\"}]},\"start_date\":\"$start\",\"duration_in_seconds\":1800}")
expect 201 "$r" "create for the side-door check"
side=$(sed 's/.*"roomId":"\([0-9a-f]*\)".*/\1/' <<<"${r#* }")
r=$(call GET "/teleconsultation/$side" doctor-token); expect 200 "$r" "GET through nginx"
link=$(sed -n 's/.*"accessLinkURL":"\([^"]*\)".*/\1/p' <<<"$r")
[ -n "$link" ] || fail "nginx's caller got no link: $r"
as_www_data() { in_box setpriv --reuid=www-data --regid=www-data --init-groups "$@"; }
direct() { # WHO SECRET [URI] -> the CGI answer to "GET URI (the link), as the doctor", straight to the socket
    local who=$1 uri=${3:-/api/v1/telecons-be/teleconsultation/$side} with=() out
    [ -n "$2" ] && with=("TELECONSULTATION_PEER_SECRET=$2")
    if [ "$who" = www-data ]; then
        out=$(as_www_data fcgi-request "$sock" "$uri" HTTP_MIAUSERID=dr-who "${with[@]}") \
            || fail "www-data could not send a request to the socket"
    else
        out=$(in_box fcgi-request "$sock" "$uri" HTTP_MIAUSERID=dr-who "${with[@]}") \
            || fail "root could not send a request to the socket"
    fi
    printf '%s' "$out"
}
for guess in "" "$(printf '%064d' 0)" "${secret:0:63}"; do
    out=$(direct www-data "$guess")
    grep -q '^Status: 403' <<<"$out" || fail "www-data, secret '${guess:0:8}…', straight to the socket: ${out:0:300}"
    grep -qF "$link" <<<"$out" && fail "www-data got the doctor's link straight from the socket"
done
# What the refusal rests on is the secret (the same request with it is served), and nginx has it.
out=$(direct root "$(cat "$box/root$secret_file")")
grep -q '^Status: 200' <<<"$out" && grep -qF "$link" <<<"$out" || fail "the request with the secret was not served: ${out:0:300}"
r=$(call GET "/teleconsultation/$side" doctor-token); expect 200 "$r" "GET through nginx after the refusals"
expect 204 "$(call DELETE "/teleconsultation/$side" doctor-token)" "delete the side-door teleconsultation"

# One restart for both (systemd allows 5 starts in 10 s, and the restarts under load follow).
step "auth0 mode (environment changed) and the peer secret rotated as the README says"
write_env "AUTH_SERVICE=$up/auth0" "DEFAULT_CLIENT_TYPE=frontend"
in_box sh -c '/usr/lib/teleconsultation-backend/peer-secret --rotate && systemctl restart teleconsultation-backend && systemctl reload nginx' \
    || fail "the rotation failed"
rotated=$(cat "$box/root$secret_file")
[[ $rotated =~ ^[0-9a-f]{64}$ && $rotated != "$secret" ]] || fail "--rotate did not make a new secret"
grep -qx "fastcgi_param TELECONSULTATION_PEER_SECRET \"$rotated\";" "$box/root$nginx_secret" || fail "nginx's file was not rotated"
[ "$(in_box stat -c '%a %U %G' "$secret_file" "$nginx_secret" | sort -u)" = "600 root root" ] || fail "the rotated files are not root's alone"
# nginx's reload is done when its new workers serve.
for _ in $(seq 50); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$api/-/healthz")" = 200 ] && break; sleep 0.1; done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$api/-/healthz")" = 200 ] || fail "GET /-/healthz through nginx with the rotated secret"
grep -q '^Status: 403' <<<"$(direct root "$secret" /-/healthz)" || fail "the old secret still opens the socket"
grep -q '^Status: 200' <<<"$(direct root "$rotated" /-/healthz)" || fail "the rotated secret does not open the socket"
step "the API through nginx, auth0 mode"
walk_through '{"userExternalId":"dr-who"}' '{"userExternalId":"pat-1"}'

# --- 4. restarts under load, and a stop with slow requests in flight ------------------------
step "three restarts under 16 concurrent clients (half of them POSTing)"
r=$(call POST /teleconsultation doctor-token '{"participants":["dr-who","pat-1"],"start_date":"2030-01-01T10:00:00.000Z","duration_in_seconds":1800}')
expect 201 "$r" "create for the load"
room=$(sed 's/.*"roomId":"\([0-9a-f]*\)".*/\1/' <<<"${r#* }")
count="$work/count"; stop="$work/stop"
echo 0 >"$count"
python3 "$here/load.py" "$port" "$room" doctor-token 16 "$count" "$stop" >"$work/load.json" &
load_pid=$!
pids+=($load_pid)
wait_for_count() { # until the clients have made N more requests
    local target=$(($(cat "$count") + $1))
    for _ in $(seq 600); do [ "$(cat "$count")" -ge "$target" ] && return 0; sleep 0.05; done
    fail "the clients stalled at $(cat "$count") requests"
}
wait_for_count 200
for i in 1 2 3; do
    in_box systemctl restart teleconsultation-backend.service || fail "restart $i"
    wait_for_count 200
done
touch "$stop"
wait "$load_pid" || fail "the load generator failed"
python3 - "$work/load.json" <<'PY' || fail "requests failed across the restarts: $(cat "$work/load.json" | head -c 600)"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"   {r['ok']} requests answered as expected, {len(r['failures'])} failed")
sys.exit(1 if r["failures"] or r["ok"] < 800 else 0)
PY

step "systemctl stop with slow requests in flight"
control POST /faults '{"service":"crud","method":"GET","delayMs":2000,"times":4}' >/dev/null
slow=()
for i in 1 2 3 4; do
    curl -s -o "$work/slow$i" -w '%{http_code}' -H 'authorization: Bearer doctor-token' "$api/teleconsultation/$room" >"$work/slow$i.status" &
    slow+=($!)
done
curl -fsS "$up/_control/wait/delaying?atLeast=4" >/dev/null || fail "the slow requests did not reach the CRUD stand-in"
in_box systemctl stop teleconsultation-backend.service || fail "systemctl stop"
for p in "${slow[@]}"; do wait "$p" || true; done
for i in 1 2 3 4; do [ "$(cat "$work/slow$i.status")" = 200 ] || fail "slow request $i: $(cat "$work/slow$i.status") $(cat "$work/slow$i")"; done
[ "$(in_box systemctl is-active teleconsultation-backend.service || true)" = inactive ] || fail "the unit is not inactive after the stop"
[ "$(in_box systemctl show -P Result teleconsultation-backend.service)" = success ] || fail "the unit's result is not success"
journal_has teleconsultation-backend.service '"msg":"shutting down"' '"inFlight":4' \
    || fail "the drain did not report the 4 requests in flight"
control DELETE /faults >/dev/null

# --- 5. the journal and the hardening -------------------------------------------------------
step "the journal: JSON lines only, nothing denied"
in_box journalctl --sync 2>/dev/null || true
in_box journalctl _SYSTEMD_UNIT=teleconsultation-backend.service -o cat --no-pager >"$work/journal"
[ -s "$work/journal" ] || fail "nothing in the unit's journal"
python3 - "$work/journal" <<'PY' || fail "a line of the unit's journal is not JSON"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
for n, line in enumerate(lines, 1):
    try:
        assert isinstance(json.loads(line), dict)
    except Exception:
        for before in lines[max(0, n - 4):n - 1]: print(f"   (before) {before.strip()[:300]}")
        print(f"   line {n}: {line.strip()[:200]}")
        sys.exit(1)
PY
in_box journalctl -u teleconsultation-backend.service -o cat --no-pager >"$work/journal-all"
grep -qF -e "$secret" -e "$rotated" "$work/journal-all" && fail "the peer secret is in the journal"
grep -q '"peerSecret":"missing"' "$work/journal-all" || fail "the refusals were not logged with their cause"
if grep -Eiq 'errno=|permission denied|operation not permitted|seccomp|audit' "$work/journal-all"; then
    grep -Ei 'errno=|permission denied|operation not permitted|seccomp|audit' "$work/journal-all" | head -5 >&2
    fail "a denied call is in the journal"
fi
exposure=$(in_box systemd-analyze security --no-pager teleconsultation-backend.service | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
echo "   systemd-analyze security: exposure $exposure (accepted up to $max_exposure)"
awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e != "" && e + 0 <= m + 0) }' || fail "exposure $exposure is above $max_exposure"

# --- 6. the sweep ---------------------------------------------------------------------------
step "the sweep timer and one sweep against the stand-ins"
# Read whole, then searched: `grep -q` stops reading at its match, and under pipefail the
# writer's SIGPIPE would fail the check.
timers=$(in_box systemctl list-timers --all --no-pager)
grep -q teleconsultation-backend-sweep.timer <<<"$timers" || fail "the sweep timer is not listed: $timers"
in_box systemctl start teleconsultation-backend-sweep.service || fail "the sweep service failed"
[ "$(in_box systemctl show -P Result teleconsultation-backend-sweep.service)" = success ] || fail "the sweep's result is not success"
journal_has teleconsultation-backend-sweep.service '"trashedRooms"' \
    || fail "the sweep printed no summary"

# --- 7. removal and purge -------------------------------------------------------------------
step "dpkg -r, then dpkg -P and an nginx reload, as the README says"
in_box dpkg -r teleconsultation-backend >"$work/dpkg-r.log" 2>&1 || { cat "$work/dpkg-r.log" >&2; fail "dpkg -r"; }
in_box test ! -e /usr/bin/teleconsultation-backend || fail "the binary is still there after dpkg -r"
# Removed, not purged: the configuration stays, and nginx still loads it.
in_box test -e "$conf" -a -e "$secret_file" -a -e "$nginx_secret" || fail "dpkg -r removed configuration"
in_box nginx -t >"$work/nginx-t.log" 2>&1 || { cat "$work/nginx-t.log" >&2; fail "nginx -t after dpkg -r"; }
in_box dpkg -P teleconsultation-backend >"$work/dpkg-p.log" 2>&1 || { cat "$work/dpkg-p.log" >&2; fail "dpkg -P"; }
in_box nginx -t >"$work/nginx-t.log" 2>&1 || { cat "$work/nginx-t.log" >&2; fail "nginx -t after dpkg -P"; }
in_box systemctl reload nginx || fail "nginx reload after dpkg -P"
for path in /etc/teleconsultation-backend $secret_file $nginx_secret /lib/systemd/system/teleconsultation-backend.service \
            /lib/systemd/system/teleconsultation-backend.socket "$conf.disabled" "$conf" \
            /run/teleconsultation-backend.sock /usr/share/doc/teleconsultation-backend /usr/lib/teleconsultation-backend; do
    # -L too: a link whose target is gone is not -e.
    in_box test ! -e "$path" -a ! -L "$path" || fail "$path is left after dpkg -P"
done
left=$(in_box sh -c 'find /etc/nginx /etc/systemd -name "*teleconsultation*"; grep -rl teleconsultation /etc/nginx /etc/systemd' 2>/dev/null || true)
[ -z "$left" ] || fail "configuration naming the package is left after dpkg -P: $left"
[ -z "$(in_box systemctl list-unit-files --no-legend 'teleconsultation-backend*')" ] || fail "a unit is left after dpkg -P"
# (no procps in the box: the command lines in /proc; the [d] keeps grep from finding itself)
in_box sh -c "grep -qsa '/usr/bin/teleconsultation-backen[d]' /proc/[0-9]*/cmdline" && fail "a process is left after dpkg -P"
step "passed in $(($(date +%s) - started)) s"

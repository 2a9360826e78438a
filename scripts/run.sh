#!/usr/bin/env bash
# Runs the whole thing locally: the upstream stand-ins (CRUD, Bandyer, auth0-client), the
# app on a unix socket, and nginx in front on 127.0.0.1:8080 with the shipped edge profile
# (callers log in with a bearer token the stand-in auth0-client knows).
# MODE=standalone (default) or MODE=auth0; PROFILE=edge (default) or gateway; LISTEN and
# EMULATOR_PORT move the ports; BIN_PATH: built binaries to use instead of building;
# RUN_DIR: where sockets and logs go (.build/run).
# Ctrl-C stops everything, gracefully: nginx finishes what it serves (SIGQUIT) while the app
# drains (SIGTERM), and the stand-ins stop last, so a request in flight gets its answer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${MODE:-standalone}
profile=${PROFILE:-edge}
listen=${LISTEN:-127.0.0.1:8080}
emulator_port=${EMULATOR_PORT:-8090}
dir=${RUN_DIR:-$root/.build/run}

# Before anything is built, started or removed: a port that is taken (most often by another
# make run) would make a stand-in or nginx fail to start, and this run would tear down the
# other one's files. Say what holds it instead.
listening_on() {
    if command -v ss >/dev/null; then
        ss -Hltnp "sport = :$1" 2>/dev/null
    elif (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
        echo "something accepts connections on 127.0.0.1:$1"
    fi
}
for taken in "${listen##*:} nginx (LISTEN=$listen)" "$emulator_port the stand-ins (EMULATOR_PORT)"; do
    port=${taken%% *}
    holder=$(listening_on "$port")
    if [ -n "$holder" ]; then
        echo "make run: port $port, for ${taken#* }, is taken (another make run? stop it with Ctrl-C):" >&2
        echo "$holder" | sed 's/^/  /' >&2
        echo "or choose free ports, e.g. LISTEN=127.0.0.1:8081 EMULATOR_PORT=8091 make run" >&2
        exit 1
    fi
done
# Another run on other ports would still share the directory: one run per directory.
mkdir -p "$(dirname "$dir")"
exec 9>>"$dir.lock"
if ! flock -n 9; then
    echo "make run: $dir is in use by another make run (pid $(cat "$dir.lock" 2>/dev/null)); stop it first, or set RUN_DIR" >&2
    exit 1
fi
echo $$ > "$dir.lock"

if [ -n "${BIN_PATH:-}" ]; then
    bin=$BIN_PATH
else
    "$root/scripts/install-deps.sh"
    swift build
    bin=$(swift build --show-bin-path)
fi
rm -rf "$dir"; mkdir -p "$dir"

# Each process in a session of its own: Ctrl-C reaches only this script, which stops them in
# order (nginx's own SIGINT handling is a fast stop that drops the requests it serves). Only a
# SIGKILL of this script leaves them running: the next make run names what holds the ports.
emulator_pid="" app_pid="" nginx_pid=""
serving="" stopping=""
stop() {
    [ -n "$stopping" ] && return
    stopping=1
    # A second Ctrl-C (or a TERM or HUP) during the drain stops everything at once: never
    # exit with a process left, since each has a session of its own.
    trap 'echo " stopping at once" >&2; kill -TERM $nginx_pid 2>/dev/null; kill -KILL $emulator_pid $app_pid 2>/dev/null; wait 2>/dev/null; exit 130' INT TERM HUP
    [ -n "$serving" ] && echo "stopping: nginx and the app finish the requests in flight (Ctrl-C again: at once)" >&2
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null || true
    [ -n "$app_pid" ] && kill -TERM "$app_pid" 2>/dev/null || true
    for p in $nginx_pid $app_pid; do wait "$p" 2>/dev/null || true; done
    [ -n "$emulator_pid" ] && kill -TERM "$emulator_pid" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# Fails the start: says what did not come up and where its log is.
fail() { echo "make run: $1" >&2; [ -f "$2" ] && tail -n 5 "$2" | sed 's/^/  /' >&2; exit 1; }

export BANDYER_API_SECRET_KEY=local-bandyer-key
setsid "$bin/upstream-emulator" --port "$emulator_port" > "$dir/emulator.out" 2> "$dir/emulator.log" 9>&- &
emulator_pid=$!
for _ in $(seq 100); do grep -q listening "$dir/emulator.out" 2>/dev/null && break; kill -0 "$emulator_pid" 2>/dev/null || break; sleep 0.1; done
grep -q listening "$dir/emulator.out" 2>/dev/null || fail "the stand-ins did not start" "$dir/emulator.log"
up="http://127.0.0.1:$emulator_port"

app_env=(BANDYER_BASE_URL="$up/bandyer" CRUD_SERVICE_URL="$up/crud" LOG_LEVEL="${LOG_LEVEL:-info}" TELECONSULTATION_DELETE_UPLOADS=true
         AUDIT_CRUD_NAME=teleconsultation-audit)
if [ "$mode" = auth0 ]; then
    app_env+=(AUTH_SERVICE="$up/auth0" DEFAULT_CLIENT_TYPE=frontend)
    doc_id='auth0|dr-who'; pat_id='auth0|pat-1'
else
    # Standalone mode: participants bring their groups; the edge still asks auth0-client who calls.
    app_env+=(IDENTITY_SERVICE="$up/auth0")
    doc_id=dr-who; pat_id=pat-1
fi
# Two users who can log in: the stand-in auth0-client knows their bearer tokens.
curl -fsS -X PUT "$up/_control/auth0/users" -H 'content-type: application/json' -d '[
  {"user_id":"'"$doc_id"'","name":"Dr Who","groups":["doctor"],"token":"doctor-token"},
  {"user_id":"'"$pat_id"'","name":"Pat One","app_metadata":{"groups":["patient"]},"token":"patient-token"}]'
[ "$profile" = gateway ] && app_env+=(NGINX_PROFILE=gateway)
setsid env "${app_env[@]}" "$bin/teleconsultation-backend" --socket "$dir/app.sock" 2> "$dir/app.log" 9>&- &
app_pid=$!
for _ in $(seq 100); do [ -S "$dir/app.sock" ] && break; kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
[ -S "$dir/app.sock" ] || fail "the app did not start" "$dir/app.log"
"$root/scripts/nginx-local.sh" "$dir/nginx" "$dir/app.sock" "$listen" "$profile"
setsid nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" 9>&- &
nginx_pid=$!
B="http://$listen/api/v1/telecons-be"
for _ in $(seq 100); do curl -fsS "$B/-/healthz" >/dev/null 2>&1 && break; kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
curl -fsS "$B/-/healthz" >/dev/null 2>&1 || fail "nginx did not start on $listen" "$dir/nginx/nginx-error.log"

start=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
tomorrow=$(date -u -d tomorrow +%Y-%m-%dT%H:%M:%S.000Z)
if [ "$mode" = auth0 ]; then
    doctor='{"userExternalId":"auth0|dr-who"}'; patient='{"userExternalId":"auth0|pat-1"}'
else
    doctor='{"userExternalId":"dr-who","groups":["doctor"],"fullName":"Dr Who"}'
    patient='{"userExternalId":"pat-1","groups":["patient"],"fullName":"Pat One"}'
fi
if [ "$profile" = edge ]; then
    as_doctor="-H 'authorization: Bearer doctor-token'"; as_patient="-H 'authorization: Bearer patient-token'"
    as_stranger="-H 'miauserid: $doc_id'"; stranger_note="no login, a forged identity header: 401"
else
    as_doctor="-H 'miauserid: $doc_id'"; as_patient="-H 'miauserid: $pat_id'"
    as_stranger="-H 'miauserid: someone-else'"; stranger_note="not a participant: 401"
fi
cat <<TXT

teleconsultation-backend is up ($mode mode, $profile profile), behind nginx on http://$listen
  API:      $B/teleconsultation
  health:   $B/-/healthz     OpenAPI: $B/documentation/json
  logs:     $dir/app.log (app), $dir/emulator.log, $dir/nginx/nginx-error.log
  stand-ins: $up  (state: $up/_control/state, request log: $up/_control/requests)

Walk-through (paste in another terminal):

B=$B
# 1. the doctor creates a teleconsultation with one of its two participants known
ID=\$(curl -s -X POST \$B/teleconsultation $as_doctor -H 'content-type: application/json' \\
  -d '{"participants":{"number":2,"data":[$doctor]},"start_date":"$start","duration_in_seconds":1800}' \\
  | sed 's/.*"roomId":"\\([0-9a-f]*\\)".*/\\1/'); echo "roomId=\$ID"
# 2. the doctor asks for a link: no room yet, so accessLinkURL is null, and accessLinkReason
#    says why (participants_missing; the Retry-After header says when to ask again)
curl -s -i \$B/teleconsultation/\$ID $as_doctor | grep -i -E '^retry-after|^\{'; echo
# 2b. a create retried with the same Idempotency-Key: the second answer is the kept one
#     (Idempotent-Replayed: true, the same roomId), nothing is created twice
for try in 1 2; do curl -s -i -X POST \$B/teleconsultation $as_doctor -H 'idempotency-key: walk-1' \
  -H 'content-type: application/json' -d '{"participants":{"number":2,"data":[$doctor,$patient]},"start_date":"$tomorrow","duration_in_seconds":1800}' \
  | grep -i -E '^idempotent-replayed|roomId'; echo; done
# 2c. that one starts tomorrow: too_early, with the time the link opens (accessOpensAt)
LATER=\$(curl -s -X POST \$B/teleconsultation $as_doctor -H 'idempotency-key: walk-1' -H 'content-type: application/json' \
  -d '{"participants":{"number":2,"data":[$doctor,$patient]},"start_date":"$tomorrow","duration_in_seconds":1800}' \
  | sed 's/.*"roomId":"\([0-9a-f]*\)".*/\1/')
curl -s -i \$B/teleconsultation/\$LATER $as_doctor | grep -i -E '^retry-after|^\{'; echo
# 3. add the missing participant: the Bandyer room is created now
curl -s -o /dev/null -w '%{http_code}\\n' -X POST \$B/teleconsultation/\$ID/participants/data $as_doctor \\
  -H 'content-type: application/json' -d '$patient'
# 4. each person gets a personal link (open it in a browser: the stand-in shows whose it is)
curl -s \$B/teleconsultation/\$ID $as_doctor; echo
curl -s \$B/teleconsultation/\$ID $as_patient; echo
# 5. the room as the provider describes it, and the link in English
curl -s "\$B/teleconsultation/\$ID?details=true&language=en" $as_doctor; echo
# 6. an SDK token for the patient's mobile app
curl -s -X POST \$B/credentials $as_patient -H 'content-type: application/json' -d '{"expiresIn":600}'; echo
# 7. $stranger_note
curl -s \$B/teleconsultation/\$ID $as_stranger; echo
# 7b. the audit trail: who created and changed it, and to whom each link was first issued
curl -s \$B/teleconsultation/\$ID/audit $as_doctor; echo
# 8. the files shared in the call are deleted (none here: seed some with POST $up/_control/bandyer/uploads
#    {"room_id","keys"}, the room id is in $up/_control/state), then the teleconsultation
curl -s -X DELETE \$B/teleconsultation/\$ID/uploads $as_doctor; echo
curl -s -o /dev/null -w '%{http_code}\\n' -X DELETE \$B/teleconsultation/\$ID $as_doctor

Ctrl-C stops everything.
TXT
serving=1
# Until Ctrl-C, or until one of them stops by itself.
while kill -0 "$emulator_pid" 2>/dev/null && kill -0 "$app_pid" 2>/dev/null && kill -0 "$nginx_pid" 2>/dev/null; do
    sleep 1 & wait $! || true
done
echo "make run: a process stopped by itself; see $dir/*.log" >&2
exit 1

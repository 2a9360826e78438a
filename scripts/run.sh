#!/usr/bin/env bash
# Runs the whole thing locally: the upstream stand-ins (CRUD, Bandyer, auth0-client), the
# app on a unix socket, and nginx in front on 127.0.0.1:8080 with the shipped edge profile
# (callers log in with a bearer token the stand-in auth0-client knows).
# MODE=standalone (default) or MODE=auth0; PROFILE=edge (default) or gateway. Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${MODE:-standalone}
profile=${PROFILE:-edge}
listen=${LISTEN:-127.0.0.1:8080}
emulator_port=${EMULATOR_PORT:-8090}
"$root/scripts/install-deps.sh"
swift build
bin=$(swift build --show-bin-path)
dir="$root/.build/run"
rm -rf "$dir"; mkdir -p "$dir"

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

export BANDYER_API_SECRET_KEY=local-bandyer-key
"$bin/upstream-emulator" --port "$emulator_port" > "$dir/emulator.out" 2> "$dir/emulator.log" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$dir/emulator.out" 2>/dev/null && break; sleep 0.1; done
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
env "${app_env[@]}" "$bin/teleconsultation-backend" --socket "$dir/app.sock" 2> "$dir/app.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$dir/app.sock" ] && break; sleep 0.1; done
"$root/scripts/nginx-local.sh" "$dir/nginx" "$dir/app.sock" "$listen" "$profile"
nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" &
pids+=($!)
B="http://$listen/api/v1/telecons-be"
for _ in $(seq 100); do curl -fsS "$B/-/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

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
wait

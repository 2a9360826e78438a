#!/usr/bin/env python3
"""Concurrent clients for the deploy test: each keeps one HTTP/1.1 connection to nginx and
calls until STOP_FILE exists. Even workers GET a teleconsultation (200 expected), odd ones
POST a body the app refuses (400 expected): nginx never retries a POST, so a request lost
at a restart shows. The running count goes to COUNT_FILE (what the test waits on); at the
end one JSON line: {"ok": n, "failures": ["status body", ...]}.

usage: load.py PORT ROOM_ID TOKEN WORKERS COUNT_FILE STOP_FILE"""
import http.client
import json
import os
import sys
import threading

port, room, token, workers, count_file, stop_file = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
base = "/api/v1/telecons-be"
lock = threading.Lock()
ok = 0
failures = []


def worker(n):
    global ok
    conn = None
    while not os.path.exists(stop_file):
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
        headers = {"authorization": "Bearer " + token}
        try:
            if n % 2 == 0:
                conn.request("GET", f"{base}/teleconsultation/{room}", headers=headers)
                expected = 200
            else:
                headers["content-type"] = "application/json"
                conn.request("POST", f"{base}/teleconsultation", body='{"participants":{"number":1}}', headers=headers)
                expected = 400
            r = conn.getresponse()
            body = r.read()
            with lock:
                if r.status == expected:
                    ok += 1
                else:
                    failures.append(f"{r.status} {body[:200]!r}")
            if r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            # nginx closing an idle client connection between requests is not a lost request:
            # only a request that was answered wrongly, or not at all, counts.
            with lock:
                failures.append(f"no answer: {e!r}")
            conn = None


threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
for t in threads:
    t.start()
while any(t.is_alive() for t in threads):
    for t in threads:
        t.join(timeout=0.05)
    with lock:
        done = ok + len(failures)
    with open(count_file + ".tmp", "w") as f:
        f.write(str(done))
    os.replace(count_file + ".tmp", count_file)
print(json.dumps({"ok": ok, "failures": failures}))

#!/usr/bin/env python3
"""Small HTTP peers for the outbound end-to-end tests (Tests/EndToEndTests/OutboundEndToEndTests.swift).

  proxy  a forward proxy: CONNECT tunnels and absolute-form requests, host names mapped to
         loopback ports by --map-file (a name it does not know is refused: the names resolve only
         through it), Proxy-Authorization checked against --auth.
  relay  an upstream in front of the stand-ins (their port in --target-file): closes a kept connection idle
         for --idle-close seconds, and can be told to read the next requests of a method and
         close without answering (POST /_relay/drop?method=GET&count=1). With --cert/--key it
         speaks TLS.

Each prints "listening on <port>" once it accepts, and keeps its counters in <dir>/<name>.json
(rewritten on every event, so a test waits for a change of its directory, not for time).
"""
import argparse, base64, http.client, json, os, select, socket, ssl, sys, threading, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"}


class Counters:
    def __init__(self, path):
        self.path, self.lock, self.data = path, threading.Lock(), {"events": []}
        self.write()

    def add(self, key, event=None):
        with self.lock:
            self.data[key] = self.data.get(key, 0) + 1
            if event is not None:
                self.data["events"].append(event)
            self.write()

    def write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f)
        os.replace(tmp, self.path)


def forward(handler, port, path, use_tls=False):
    """Sends the request read by `handler` to 127.0.0.1:port and relays the answer."""
    length = int(handler.headers.get("content-length") or 0)
    body = handler.rfile.read(length) if length else None
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP}
    conn.request(handler.command, path, body=body, headers=headers)
    answer = conn.getresponse()
    data = answer.read()
    handler.send_response(answer.status)
    for k, v in answer.getheaders():
        if k.lower() not in HOP and k.lower() != "content-length":
            handler.send_header(k, v)
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
    conn.close()


def proxy_handler(args, counters):
    def mapping():
        # Read on each use: the test writes it once it knows the stand-ins' port.
        try:
            with open(args.map_file) as f:
                return {k.lower(): v for k, v in json.load(f).items()}
        except (OSError, ValueError):
            return {}
    expected = "Basic " + base64.b64encode(args.auth.encode()).decode() if args.auth else None

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def authorized(self):
            if expected is None or self.headers.get("proxy-authorization") == expected:
                return True
            counters.add("refusedCredentials", f"{self.command} {self.path}")
            self.send_response(407)
            self.send_header("proxy-authenticate", 'Basic realm="test"')
            self.send_header("content-length", "0")
            self.end_headers()
            return False

        def target(self, host):
            port = mapping().get(host.lower())
            if port is None:
                counters.add("unknownHost", host)
                self.send_response(502)
                self.send_header("content-length", "0")
                self.end_headers()
            return port

        def do_CONNECT(self):
            if not self.authorized():
                return
            host = self.path.rsplit(":", 1)[0]
            port = self.target(host)
            if port is None:
                return
            counters.add("connect", f"CONNECT {self.path}")
            upstream = socket.create_connection(("127.0.0.1", int(port)))
            self.send_response(200, "Connection established")
            self.end_headers()
            self.wfile.flush()
            sockets = [self.connection, upstream]
            try:
                while True:
                    readable, _, _ = select.select(sockets, [], [], 60)
                    if not readable:
                        break
                    for s in readable:
                        data = s.recv(65536)
                        if not data:
                            raise EOFError
                        (upstream if s is self.connection else self.connection).sendall(data)
            except (EOFError, OSError):
                pass
            upstream.close()
            self.close_connection = True

        def relay(self):
            if self.path == "/_proxy/counts":  # origin-form: asked of the proxy itself
                data = json.dumps(counters.data).encode()
                self.send_response(200)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if not self.authorized():
                return
            url = urllib.parse.urlsplit(self.path)
            port = self.target(url.hostname or "")
            if port is None:
                return
            counters.add("forward", f"{self.command} {self.path}")
            forward(self, int(port), url.path + ("?" + url.query if url.query else ""))

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = relay

    return Proxy


def relay_handler(args, counters):
    drops = {}
    lock = threading.Lock()

    class Relay(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # A kept connection idle this long is closed (a read on it times out).
        timeout = args.idle_close

        def log_message(self, *a):
            pass

        def setup(self):
            super().setup()
            counters.add("connections")

        def log_error(self, format, *a):
            # BaseHTTPRequestHandler's word for a kept connection that stayed idle too long:
            # it closes it.
            if format.startswith("Request timed out"):
                counters.add("idleClosed")

        def handle_request(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/_relay/drop":
                q = urllib.parse.parse_qs(url.query)
                with lock:
                    drops[q["method"][0]] = drops.get(q["method"][0], 0) + int(q.get("count", ["1"])[0])
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            length = int(self.headers.get("content-length") or 0)
            with lock:
                drop = drops.get(self.command, 0) > 0
                if drop:
                    drops[self.command] -= 1
            if drop:
                if length:
                    self.rfile.read(length)
                counters.add("dropped", f"{self.command} {url.path}")
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            counters.add("answered", f"{self.command} {url.path}")
            with open(args.target_file) as f:
                target = int(f.read().strip())
            forward(self, target, self.path)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_request

    return Relay


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["proxy", "relay"])
    p.add_argument("--dir", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--map-file", help='a JSON file {"host": port, ...}: where the proxy sends each host name')
    p.add_argument("--auth", help="user:password the proxy requires")
    p.add_argument("--target-file", help="a file holding the stand-ins' port (relay)")
    p.add_argument("--idle-close", type=float, default=None, help="seconds (relay)")
    p.add_argument("--cert")
    p.add_argument("--key")
    args = p.parse_args()
    counters = Counters(os.path.join(args.dir, args.name + ".json"))
    handler = proxy_handler(args, counters) if args.mode == "proxy" else relay_handler(args, counters)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)

        class TLSServer(ThreadingHTTPServer):
            def get_request(self):
                conn, addr = super().get_request()
                conn.settimeout(10)
                try:
                    return context.wrap_socket(conn, server_side=True), addr
                except (ssl.SSLError, OSError) as e:
                    counters.add("tlsRefused", str(e))
                    conn.close()
                    raise OSError("handshake failed")

        server.server_close()
        server = TLSServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

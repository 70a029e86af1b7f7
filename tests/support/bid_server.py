"""Buyers' bid endpoints on loopback: one real HTTP server whose path says how it answers.

- `/bid/<amount>` answers `{"bid": amount}` at once (`?expires_in=N` adds expires_in);
- `/slow/<amount>` answers that bid after `slow_seconds` (past any bid timeout in the tests);
- `/error` answers 500; `/garbage` 200 with a body that is not JSON; `/huge` 200 with a
  body far beyond what a bid may be; `/redirect` a 302 to a bid elsewhere.
Every request is recorded (path, headers, JSON body).
"""
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Ping:
    path: str
    headers: dict
    raw: bytes

    @property
    def body(self) -> dict:
        return json.loads(self.raw)


class BidServer:
    def __init__(self, slow_seconds: float = 3.0):
        self.slow_seconds = slow_seconds
        self.pings: list[Ping] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with server._lock:
                    server.pings.append(Ping(self.path, dict(self.headers), raw))
                status, headers, body = server.answer(self.path)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str) -> tuple[int, dict, bytes]:
        parts = urlsplit(path)
        kind, _, amount = parts.path.strip("/").partition("/")
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        if kind == "slow":
            time.sleep(self.slow_seconds)
        if kind in ("bid", "slow"):
            document = {"bid": json.loads(amount)}
            if "expires_in" in query:
                document["expires_in"] = int(query["expires_in"])
            return 200, {"Content-Type": "application/json"}, json.dumps(document).encode()
        if kind == "error":
            return 500, {}, b'{"bid": 99}'
        if kind == "garbage":
            return 200, {}, b"<html>bid: lots</html>"
        if kind == "huge":
            return 200, {}, b'{"bid": 50, "padding": "' + b"x" * 100_000 + b'"}'
        if kind == "redirect":
            return 302, {"Location": f"{self.url}/bid/90"}, b'{"bid": 90}'
        return 404, {}, b""

    def pings_to(self, prefix: str) -> list[Ping]:
        with self._lock:
            return [ping for ping in self.pings if ping.path.startswith(prefix)]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

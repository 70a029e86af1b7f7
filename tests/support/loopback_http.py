"""A real HTTP server on loopback that records every request it gets and answers what its
subclass says: the base of the webhook receiver (receiver.py) and the buyers' bid endpoints
(bid_server.py)."""
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self):
        return json.loads(self.body)


class LoopbackServer:
    """`with Server() as server:` serves on `server.url` until the block ends."""

    def __init__(self):
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path, dict(self.headers),
                                  self.rfile.read(length) if length else b"")
                with server._lock:
                    server.requests.append(request)
                status, headers, body = server.answer(request)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (a timeout it was meant to hit)
                    pass

            do_POST = do_GET = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, request: Request) -> tuple[int, dict, bytes]:
        """(status, headers, body) for this request; called on the request's own thread."""
        raise NotImplementedError

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Request]:
        """The requests, once there are `count` (AssertionError if not within `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"received {len(self.requests)} request(s), expected {count}")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

"""A real HTTP server on loopback that records what webhooks and postbacks send it."""
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes
    at: float = field(default_factory=time.monotonic)


class Receiver:
    """`answers`: status codes to answer in turn (the last one repeats); `delay`: seconds to
    wait before answering (longer than the sender's timeout: a receiver that never answers)."""

    def __init__(self, answers=(200,), delay: float = 0.0, close: bool = False):
        self.answers = list(answers)
        self.delay = delay
        self.close = close  # answer with `Connection: close`
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    receiver.received.append(Received(self.command, self.path,
                                                      dict(self.headers), body))
                    status = receiver.answers.pop(0) if len(receiver.answers) > 1 \
                        else receiver.answers[0]
                if receiver.delay:
                    time.sleep(receiver.delay)
                payload = b"ok" * 10000  # more than a sender should read
                try:
                    self.send_response(status)
                    if status in (301, 302, 307, 308):
                        self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                    self.send_header("Content-Length", str(len(payload)))
                    if receiver.close:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            do_POST = do_GET = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"received {len(self.received)} request(s), expected {count}")

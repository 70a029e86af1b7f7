"""Buyers' bid endpoints on loopback: one real HTTP server whose path says how it answers.

- `/bid/<amount>` answers `{"bid": amount}` at once (`?expires_in=N` adds expires_in);
- `/slow/<amount>` answers that bid after `slow_seconds` (past any bid timeout in the tests);
- `/error` answers 500; `/garbage` 200 with a body that is not JSON; `/huge` 200 with a
  body far beyond what a bid may be; `/redirect` a 302 to a bid elsewhere.
Every ping is recorded (`pings`: path, headers, raw body and its `json`).
"""
import json
import time
from urllib.parse import parse_qs, urlsplit

from tests.support.loopback_http import LoopbackServer, Request


class BidServer(LoopbackServer):
    """`on_ping`, if given, is called with each ping before it is answered, on the ping's own
    thread (what the database looks like while a buyer is thinking)."""

    def __init__(self, slow_seconds: float = 3.0, on_ping=None):
        super().__init__()
        self.slow_seconds = slow_seconds
        self.on_ping = on_ping

    @property
    def pings(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def pings_to(self, prefix: str) -> list[Request]:
        return [ping for ping in self.pings if ping.path.startswith(prefix)]

    def answer(self, request: Request) -> tuple[int, dict, bytes]:
        if self.on_ping is not None:
            self.on_ping(request)
        status, headers, body = self._answer(request.path)
        return status, {**headers, "Connection": "close"}, body

    def _answer(self, path: str) -> tuple[int, dict, bytes]:
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

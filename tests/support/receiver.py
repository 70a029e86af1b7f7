"""A real HTTP server on loopback that records what webhooks and postbacks send it."""
import time

from tests.support.loopback_http import LoopbackServer, Request

# More than a sender should read of an answer.
PAYLOAD = b"ok" * 10000


class Receiver(LoopbackServer):
    """`answers`: status codes to answer in turn (the last one repeats); `delay`: seconds to
    wait before answering (longer than the sender's timeout: a receiver that never answers);
    `close`: answer with `Connection: close`."""

    def __init__(self, answers=(200,), delay: float = 0.0, close: bool = False):
        super().__init__()
        self.answers = list(answers)
        self.delay = delay
        self.close = close

    def answer(self, request: Request) -> tuple[int, dict, bytes]:
        with self._lock:
            status = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if self.delay:
            time.sleep(self.delay)
        headers = {}
        if status in (301, 302, 307, 308):
            headers["Location"] = "http://127.0.0.1:1/elsewhere"
        if self.close:
            headers["Connection"] = "close"
        return status, headers, PAYLOAD

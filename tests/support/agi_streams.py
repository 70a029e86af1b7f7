"""An AGIStream with no socket under it, for the protocol's unit tests: bytes go in with
``feed`` and what the server wrote comes out in ``sent``."""
import asyncio

from app.agi.protocol import AGIStream


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.sent = b""
        self.closing = False
        self.reading = True

    def write(self, data: bytes) -> None:
        self.sent += data

    def is_closing(self) -> bool:
        return self.closing

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_extra_info(self, name, default=None):
        return default


def memory_stream(data: bytes = b"", *, eof: bool = False,
                  **options) -> tuple[AGIStream, RecordingTransport]:
    """A connected stream holding ``data`` (then the peer's EOF if ``eof``); ``options`` go to
    AGIStream."""
    stream, transport = AGIStream(**options), RecordingTransport()
    stream.connection_made(transport)
    feed(stream, data, eof=eof)
    return stream, transport


def feed(stream: AGIStream, data: bytes, *, eof: bool = False) -> None:
    if data:
        stream.data_received(data)
    if eof:
        stream.eof_received()

"""One bid ping, on the event loop: POST the signed ping to the buyer's bid URL and read its
bid, or the reason there is none. Never raises, never outlives its deadline.

The same guard as webhooks (outbound/target.py): the host is resolved here, every address it
resolves to must be public (unless private targets are allowed), and the connection goes to
the very address checked, TLS verified against the host name. No redirect is followed (a 3xx
is no bid), the answer is read up to a small limit, and the request is HTTP/1.0 so the
answer's body simply runs to the end of the connection.
"""
import asyncio
import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from app.services.outbound import target

# The largest answer read: a bid is a few dozen bytes.
MAX_ANSWER_BYTES = 4096
MAX_HEADER_LINES = 100
# Largest bid taken (platform currency) and longest expires_in honoured (seconds).
MAX_BID = Decimal("100000")
MAX_EXPIRES_IN = 86400
USER_AGENT = "CapConduit-Bids/1"

_TLS = ssl.create_default_context()


@dataclass(frozen=True)
class BidAnswer:
    bid: Decimal | None  # > 0, or None: no bid (then `no_bid` says why)
    no_bid: str | None
    latency_ms: int
    expires_in: int | None = None

    def as_json(self) -> dict:
        """As the routing engine reads an answer (sql/80_bidding.sql, cc_bid_answers)."""
        answer = {"bid": None if self.bid is None else str(self.bid), "no_bid": self.no_bid,
                  "latency_ms": self.latency_ms}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return answer


class NoBid(Exception):
    """The answer is no bid, for this reason."""


async def ping(url: str, body: bytes, headers: dict[str, str], *, deadline: float,
               allow_private: bool = False) -> BidAnswer:
    """POST `body` to `url`; `deadline` is on the event loop's clock."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    def answer(bid=None, no_bid=None, expires_in=None) -> BidAnswer:
        return BidAnswer(bid, no_bid, int((loop.time() - started) * 1000), expires_in)

    try:
        async with asyncio.timeout_at(deadline):
            status, content = await _post(url, body, headers, allow_private)
        bid, expires_in = read_bid(status, content)
        return answer(bid, expires_in=expires_in)
    except TimeoutError:
        return answer(no_bid="timeout")
    except NoBid as reason:
        return answer(no_bid=str(reason))
    except target.TargetRefused:
        return answer(no_bid="refused target")
    except ssl.SSLError:
        return answer(no_bid="tls error")
    except (OSError, ValueError, UnicodeError):
        return answer(no_bid="connection error")
    except Exception:  # a buyer's answer must never fail the call
        return answer(no_bid="error")


def read_bid(status: int, content: bytes) -> tuple[Decimal, int | None]:
    """The bid and its expires_in in a buyer's answer, or NoBid."""
    if 300 <= status < 400:
        raise NoBid("redirect")
    if status != 200:
        raise NoBid(f"http {status}")
    try:
        document = json.loads(content, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise NoBid("malformed") from None
    if not isinstance(document, dict):
        raise NoBid("malformed")
    bid = document.get("bid")
    if not isinstance(bid, Decimal) or not bid.is_finite() or bid < 0 or bid > MAX_BID:
        raise NoBid("malformed")
    try:
        bid = bid.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise NoBid("malformed") from None
    if bid == 0:
        raise NoBid("zero bid")
    expires_in = document.get("expires_in")
    if expires_in is not None:
        if not isinstance(expires_in, Decimal) or not expires_in.is_finite() or expires_in < 0:
            raise NoBid("malformed")
        expires_in = int(min(expires_in, MAX_EXPIRES_IN))
    return bid, expires_in or None


async def _post(url: str, body: bytes, headers: dict[str, str],
                allow_private: bool) -> tuple[int, bytes]:
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    address = target.checked_address(host, await _addresses(host, port),
                                     allow_private=allow_private)
    reader, writer = await asyncio.open_connection(
        address, port, ssl=_TLS if https else None, server_hostname=host if https else None,
        limit=MAX_ANSWER_BYTES)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = {"Host": parts.netloc.rpartition("@")[2], "User-Agent": USER_AGENT,
                "Content-Type": "application/json", "Content-Length": str(len(body)),
                "Connection": "close", **headers}
        request = f"POST {path} HTTP/1.0\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in head.items()) + "\r\n"
        writer.write(request.encode("latin-1") + body)
        await writer.drain()
        return await _read_answer(reader)
    finally:
        writer.close()


async def _addresses(host: str, port: int) -> list[str]:
    """What `host` resolves to; an address literal as it is (no resolver thread)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return [info[4][0] for info in infos]


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    try:
        status_line = await reader.readline()
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise NoBid("malformed")
        status = int(parts[1])
        for _ in range(MAX_HEADER_LINES):
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
        else:
            raise NoBid("too large")
    except (asyncio.LimitOverrunError, ValueError):
        raise NoBid("too large") from None
    content = await reader.read(MAX_ANSWER_BYTES + 1)
    while content and len(content) <= MAX_ANSWER_BYTES:
        more = await reader.read(MAX_ANSWER_BYTES + 1 - len(content))
        if not more:
            break
        content += more
    if len(content) > MAX_ANSWER_BYTES:
        raise NoBid("too large")
    return status, content

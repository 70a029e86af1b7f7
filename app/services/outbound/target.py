"""Outbound HTTP that cannot be turned against our own network (SSRF).

`send` resolves the host itself, refuses it when any address it resolves to is loopback,
private, link-local (cloud metadata 169.254.169.254 included), shared, reserved or multicast,
and then connects to the very address it checked (a second resolution could answer otherwise:
DNS rebinding), with TLS verified against the host name. Redirects are never followed (a 3xx
is an answer like any other), the whole exchange has one deadline, and the response body is
read up to a small limit. `allow_private` lifts the address rule (development and tests).

Only the standard library: no client library whose own resolution we would have to trust.
"""
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 8192
USER_AGENT = "CapConduit-Webhooks/1"


class TargetRefused(Exception):
    """The URL or the address it resolves to may not be called."""


@dataclass(frozen=True)
class Response:
    status_code: int | None
    error: str | None
    duration_ms: int
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def url_problem(url: str, *, require_https: bool) -> str | None:
    """Why `url` cannot be a target (checked when it is saved), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Must be an http:// or https:// URL."
    if require_https and parts.scheme != "https":
        return "Must be an https:// URL."
    if parts.username is not None or parts.password is not None:
        return "Must not carry a user name or password."
    if parts.fragment:
        return "Must not carry a #fragment."
    if port == 0:
        return "Not a valid port."
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        return "Must not contain spaces or control characters."
    return None


def address_problem(address: str) -> str | None:
    """Why an IP address may not be called, or None for a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local (metadata) address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return f"{ip} is not a unicast address"
    if ip.is_private or not ip.is_global:
        return f"{ip} is a private address"
    return None


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to: every address `host` resolves to must be allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TargetRefused(f"cannot resolve {host}: {error}") from None
    return checked_address(host, [info[4][0] for info in infos], allow_private=allow_private)


def checked_address(host: str, addresses: list[str], *, allow_private: bool) -> str:
    """The address to connect to, of those `host` resolved to: every one must be allowed."""
    if not addresses:
        raise TargetRefused(f"cannot resolve {host}")
    if not allow_private:
        for address in addresses:
            problem = address_problem(address)
            if problem:
                raise TargetRefused(f"refused target {host}: {problem}")
    return addresses[0]


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to `host` made to a fixed, already checked, address."""

    def __init__(self, host: str, port: int, address: str, tls: ssl.SSLContext | None,
                 timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address
        self._tls = tls

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._tls is not None:
            sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        self.sock = self.kept_sock = sock  # http.client drops .sock once an answer will close


_TLS = ssl.create_default_context()


def send(method: str, url: str, *, body: bytes | None = None, headers: dict | None = None,
         allow_private: bool = False, timeout: float = DEFAULT_TIMEOUT,
         max_body: int = MAX_RESPONSE_BYTES) -> Response:
    """One request, never raising: the answer's status, or the error that stood for one."""
    started = time.monotonic()

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    parts = urlsplit(url)
    https = parts.scheme == "https"
    connection = None
    try:
        port = parts.port or (443 if https else 80)
        host = parts.hostname or ""
        address = resolve(host, port, allow_private=allow_private)
        connection = _PinnedConnection(host, port, address, _TLS if https else None, timeout)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        request_headers = {"User-Agent": USER_AGENT, "Connection": "close", **(headers or {})}
        connection.request(method, path, body=body, headers=request_headers)
        remaining = timeout - (time.monotonic() - started)
        if remaining <= 0:
            raise TimeoutError
        connection.kept_sock.settimeout(remaining)
        answer = connection.getresponse()
        content = b""
        while len(content) < max_body and not answer.isclosed():  # closed: read to its end
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 0:
                raise TimeoutError
            connection.kept_sock.settimeout(remaining)
            chunk = answer.read(min(4096, max_body - len(content)))
            if not chunk:
                break
            content += chunk
        return Response(answer.status, None, elapsed_ms(), content)
    except TargetRefused as error:
        return Response(None, str(error)[:500], elapsed_ms())
    except (TimeoutError, socket.timeout):
        return Response(None, f"timed out after {timeout:g} s", elapsed_ms())
    except ssl.SSLError as error:
        return Response(None, f"TLS error: {error}"[:500], elapsed_ms())
    except (OSError, http.client.HTTPException, ValueError) as error:
        return Response(None, f"{type(error).__name__}: {error}"[:500], elapsed_ms())
    except Exception as error:  # a request must never take its worker down
        return Response(None, f"unexpected {type(error).__name__}: {error}"[:500], elapsed_ms())
    finally:
        if connection is not None:
            connection.close()
            kept = getattr(connection, "kept_sock", None)
            if kept is not None:
                kept.close()

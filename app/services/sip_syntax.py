"""What a SIP value must look like before it goes into Asterisk's realtime rows.

Pure functions, shared by the API schemas (to answer 422 naming the field) and by the services.
Each parser returns the value to store or raises ValueError with a message fit for an API user.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

# Asterisk format names an endpoint's `allow` accepts (main/codec_builtin.c registers them in
# the format cache; `allow` looks names up there). "all" and "none" are left out on purpose: a
# client or carrier lists the codecs it takes. silk/opus/g729 pass through without a
# transcoder module.
AUDIO_CODECS = (
    "ulaw", "alaw", "g722", "g729", "gsm", "opus", "ilbc", "speex", "speex16", "speex32",
    "g726", "g726aal2", "adpcm", "g723", "g719", "lpc10", "siren7", "siren14", "codec2",
    "silk8", "silk12", "silk16", "silk24",
    "slin", "slin12", "slin16", "slin24", "slin32", "slin44", "slin48", "slin96", "slin192",
)
VIDEO_CODECS = ("h261", "h263", "h263p", "h264", "h265", "mpeg4", "vp8", "vp9")
TEXT_CODECS = ("t140", "red")
CODECS = AUDIO_CODECS + VIDEO_CODECS + TEXT_CODECS

# ast_sip_validate_uri_length(): pjproject's PJ_MAX_HOSTNAME is 128, and without a port
# Asterisk keeps room for an SRV prefix ("_sips._tcp.").
MAX_HOST_LENGTH = 128
SRV_PREFIX_ROOM = len("_sips.tcp.")
URI_TRANSPORTS = ("udp", "tcp", "tls", "ws", "wss", "sctp")

_SCHEME = re.compile(r"^(sips?):", re.IGNORECASE)
# RFC 3261 user part, minus ';' (it would start the parameters here), ':' (a password in a
# URI is a secret we would echo back) and ',' (Asterisk splits a static contact on commas).
_USER = re.compile(r"^[A-Za-z0-9\-_.!~*'()&=+$/?%]+$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*"
    r"[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?\.?$"
)
_PARAM_NAME = re.compile(r"^[A-Za-z0-9\-_.!~*'%]+$")
_PARAM_VALUE = re.compile(r"^[A-Za-z0-9\-_.!~*'%\[\]/:&+$]+$")
_AUTH_USERNAME = re.compile(r'^[!#-\[\]-~]+$')
_FORBIDDEN_URI_CHARS = re.compile(r"[\x00-\x20\x7f\"<>\\,^`{}|]")


@dataclass
class SipUri:
    scheme: str
    user: str | None
    host: str
    port: int | None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def transport(self) -> str:
        """The protocol this URI asks for: tls for sips (RFC 3261 writes it transport=tcp),
        else its transport parameter, else udp."""
        if self.scheme == "sips":
            return "tls"
        return (self.params.get("transport") or "udp").lower()


def parse_sip_uri(text: str) -> SipUri:
    """A `sip:`/`sips:` URI as a call center's PBX is dialled: `sip:[user@]host[:port][;params]`.

    No password in the user part, no headers (`?`), no commas, blanks or quotes.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("Give a SIP URI such as sip:agent@pbx.example.com:5060.")
    match = _SCHEME.match(text)
    if not match:
        raise ValueError("A SIP URI starts with sip: or sips:.")
    if _FORBIDDEN_URI_CHARS.search(text):
        raise ValueError("A SIP URI cannot contain blanks, quotes, commas, '<', '>', '\\' or '^'.")
    scheme = match.group(1).lower()
    rest = text[match.end():]
    if "?" in rest.split("@", 1)[-1]:
        raise ValueError("URI headers ('?…') are not supported in a contact.")
    address, _, param_text = rest.partition(";")
    user = None
    if "@" in address:
        user, _, address = address.rpartition("@")
        if ":" in user:
            raise ValueError("Put no password in the URI; use outbound_auth instead.")
        if not _USER.match(user):
            raise ValueError("The user part of the URI has characters SIP does not allow.")
    host, port = _split_host_port(address)
    params = _parse_params(param_text) if param_text or rest.endswith(";") else {}
    given = (params.get("transport") or "").lower()
    if given and given not in URI_TRANSPORTS:
        raise ValueError(f"Unknown transport {given!r}; use one of {', '.join(URI_TRANSPORTS)}.")
    if scheme == "sips" and given not in ("", "tcp", "tls"):
        raise ValueError("A sips: URI runs over TLS; leave out the transport parameter.")
    return SipUri(scheme, user, host, port, params)


def _split_host_port(address: str) -> tuple[str, int | None]:
    port_text = None
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise ValueError("An IPv6 host needs a closing ']'.")
        host, tail = address[:end + 1], address[end + 1:]
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError("The host is not a valid IPv6 address.") from None
        if tail:
            if not tail.startswith(":"):
                raise ValueError("Unexpected text after the IPv6 host.")
            port_text = tail[1:]
    else:
        host, sep, port_text = address.partition(":")
        port_text = port_text if sep else None
        if not host:
            raise ValueError("The URI has no host.")
        if not _is_ipv4(host) and not _HOSTNAME.match(host):
            raise ValueError("The host is neither a valid hostname nor an IP address.")
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError("The port must be a number from 1 to 65535.")
        port = int(port_text)
    limit = MAX_HOST_LENGTH if port else MAX_HOST_LENGTH - SRV_PREFIX_ROOM
    if len(host) > limit:
        raise ValueError(f"The host is longer than Asterisk accepts ({limit} characters).")
    return host, port


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _parse_params(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for piece in text.split(";"):
        name, sep, value = piece.partition("=")
        if not name or not _PARAM_NAME.match(name) or (sep and not _PARAM_VALUE.match(value)):
            raise ValueError(f"Malformed URI parameter {piece!r}.")
        if name.lower() in params:
            raise ValueError(f"URI parameter {name!r} appears twice.")
        params[name.lower()] = value if sep else None
    return params


@dataclass(frozen=True)
class IdentifyMatch:
    """One `ps_endpoint_id_ips.match` value: an address or network, and optionally the source
    port a request must come from (None: any port)."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    port: int | None = None

    def __str__(self) -> str:
        single = self.network.num_addresses == 1
        address = str(self.network.network_address)
        if self.port is None:
            return address if single else str(self.network)
        host = f"[{address}]" if self.network.version == 6 else address
        return f"{host}:{self.port}" if single else f"{host}:{self.port}/{self.network.prefixlen}"

    def overlaps(self, other: "IdentifyMatch") -> bool:
        """Whether a request could match both: their addresses overlap and their ports are
        the same or either takes any port."""
        return (self.network.version == other.network.version
                and self.network.overlaps(other.network)
                and (self.port is None or other.port is None or self.port == other.port))


_IDENTIFY_FORMS = ("Give an IP address (192.0.2.10), a CIDR network (192.0.2.0/28), an address "
                   "with a source port (192.0.2.10:5060, [2001:db8::1]:5060) or both "
                   "(192.0.2.0:5060/28).")


def read_identify_match(text: str) -> IdentifyMatch:
    """A `match` value as res_pjsip_endpoint_identifier_ip reads it: `addr[/mask]`, or with a
    source port `addr:port[/mask]` (`[v6addr]:port[/mask]` for IPv6). With a port, Asterisk
    identifies only requests from that source port; without, from any port."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(_IDENTIFY_FORMS)
    value = text.strip()
    address, slash, mask = value.partition("/")
    port_text = None
    if address.startswith("["):
        host, bracket, tail = address[1:].partition("]")
        if not bracket or not tail.startswith(":") or ":" not in host:
            raise ValueError(f"{text!r}: an IPv6 address in brackets needs a port after it "
                             "([2001:db8::1]:5060).")
        address, port_text = host, tail[1:]
    elif address.count(":") == 1:  # IPv4 with a port (IPv6 has two colons at least)
        address, _, port_text = address.partition(":")
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"{text!r}: the port must be a number from 1 to 65535.")
        port = int(port_text)
    try:
        network = ipaddress.ip_network(address + (slash + mask if slash else ""), strict=True)
    except ValueError as error:
        if "has host bits set" in str(error):
            loose = ipaddress.ip_network(address + slash + mask, strict=False)
            suggestion = str(IdentifyMatch(loose, port))
            raise ValueError(f"{text} has host bits set; did you mean {suggestion}?") from None
        raise ValueError(f"{text!r} is not an address Asterisk can match. "
                         + _IDENTIFY_FORMS) from None
    if network.prefixlen == 0:
        raise ValueError("A network of every address would claim all SIP traffic.")
    if network.is_multicast or network.network_address.is_unspecified:
        raise ValueError("Multicast and unspecified addresses never send SIP requests.")
    return IdentifyMatch(network, port)


def parse_identify_network(text: str) -> str:
    """One `ps_endpoint_id_ips.match` value, normalised (see read_identify_match).

    A single address is stored without a prefix length (`198.51.100.10`, `198.51.100.10:5060`),
    a network in its compressed form (`198.51.100.0/24`, `2001:db8::/32`,
    `198.51.100.0:5060/24`), an IPv6 address with a port in brackets (`[2001:db8::1]:5060`).
    """
    return str(read_identify_match(text))


def networks_overlap(first: str, second: str) -> bool:
    """Whether a request could be identified by both matches (as parse_identify_network
    returns them): the addresses overlap, and the ports are equal or either has none."""
    return read_identify_match(first).overlaps(read_identify_match(second))


def parse_sip_user(text: str) -> str:
    """A SIP URI user part on its own (`from_user`): no '@', ':', ';', ',' or blanks."""
    if not isinstance(text, str) or not _USER.match(text) or "?" in text:
        raise ValueError("Use the characters of a SIP user part (letters, digits, - _ . + …).")
    return text


def parse_sip_host(text: str) -> str:
    """A hostname or IP address (`from_domain`)."""
    if isinstance(text, str) and (_is_ipv4(text) or _HOSTNAME.match(text)):
        return text
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        raise ValueError("Give a hostname or an IP address.") from None
    return text


def check_auth_username(text: str) -> str:
    """A digest username: printable ASCII without blanks, quotes or backslashes (it travels in
    a quoted string of the Authorization header)."""
    if not isinstance(text, str) or not _AUTH_USERNAME.match(text):
        raise ValueError("Use printable characters without blanks, quotes or backslashes.")
    return text


def check_plain_text(text: str, what: str = "The value") -> str:
    """A value Asterisk reads back unchanged: no control characters, no blanks at either end
    (res_config_pgsql strips them), not empty."""
    if not text:
        raise ValueError(f"{what} cannot be empty.")
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError(f"{what} cannot contain control characters.")
    if text != text.strip():
        raise ValueError(f"{what} cannot start or end with a blank; Asterisk would drop it.")
    return text

"""Small readings of channel data shared by the handlers."""
import logging

from app.agi.session import AGISession

log = logging.getLogger("app.agi.handlers")


def parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def argument(session: AGISession, index: int) -> str | None:
    """The AGI() argument at `index` (0-based), or None when absent or empty."""
    args = session.args
    return args[index] or None if index < len(args) else None


def dialled_number(extension: str | None, dnid: str | None) -> str | None:
    """The DID: `agi_extension` in cc-inbound, else the dialled number (`agi_dnid`)."""
    if extension and any(ch.isdigit() for ch in extension):
        return extension
    return dnid

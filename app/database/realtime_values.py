"""Values as Asterisk's realtime driver (res_config_pgsql) reads them from the ps_* tables.

Reading a row, res_config_pgsql splits every column value on ``;`` into repeated values, strips
each piece of blanks (bytes below 33), decodes ``^XX`` hex escapes (``ast_realtime_decode_chunk``)
and drops pieces left empty. A single value that must contain ``;`` (a contact URI such as
``sip:a@h;transport=tcp``) is therefore stored with ``;`` as ``^3B`` and ``^`` as ``^5E``.

Yes/no columns are the PostgreSQL enum ``ast_bool_values``; Asterisk itself writes several of its
eight spellings, so readers accept them all and writers use ``yes``/``no``.
"""
from __future__ import annotations

import re

# Labels of the enum type ast_bool_values, in the type's own order.
AST_BOOL_LABELS: tuple[str, ...] = ("0", "1", "off", "on", "false", "true", "no", "yes")
AST_BOOL_TRUE_LABELS = frozenset({"1", "on", "true", "yes"})
AST_BOOL_FALSE_LABELS = frozenset({"0", "off", "false", "no"})

# What we write into ast_bool_values columns.
AST_BOOL_TRUE = "yes"
AST_BOOL_FALSE = "no"

_ESCAPE_RE = re.compile(rb"\^([0-9A-Fa-f]{2})")
# ast_strip() removes bytes below 33 from both ends (PostgreSQL text never holds NUL).
_AST_BLANKS = "".join(chr(code) for code in range(1, 33))


def parse_ast_bool(value: str | bool | None) -> bool | None:
    """Read an ``ast_bool_values`` value: any of its eight labels, in any case.

    ``None`` (SQL NULL) and the empty string mean "not set" and give ``None``; a bool is passed
    through. Anything else raises ValueError: the enum type cannot hold it.
    """
    if value is None or isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise TypeError(f"ast_bool value must be a string, not {type(value).__name__}")
    label = value.strip().lower()
    if label == "":
        return None
    if label in AST_BOOL_TRUE_LABELS:
        return True
    if label in AST_BOOL_FALSE_LABELS:
        return False
    raise ValueError(f"not an ast_bool_values label: {value!r}")


def format_ast_bool(flag: bool | None) -> str | None:
    """The label we write for a flag: ``yes``, ``no``, or None (NULL) for "not set"."""
    if flag is None:
        return None
    return AST_BOOL_TRUE if flag else AST_BOOL_FALSE


def encode_realtime_value(value: str) -> str:
    """Escape one value so res_config_pgsql reads it back as exactly one value.

    ``^`` becomes ``^5E`` first, then ``;`` becomes ``^3B`` (the same result as Asterisk's
    ``ast_realtime_encode_chunk``). Nothing else is changed, so values without ``^`` or ``;``
    are stored verbatim. Asterisk also strips blanks around each value and ignores an empty one;
    such values do not survive a round trip and have no place in these columns.
    """
    return value.replace("^", "^5E").replace(";", "^3B")


def decode_realtime_value(value: str) -> str:
    """Decode the ``^XX`` escapes of one value, as ``ast_realtime_decode_chunk`` does.

    One left-to-right pass: a decoded byte is never decoded again (``^5E3B`` gives ``^3B``).
    A ``^`` not followed by two hex digits is kept as it is. The work is done on the UTF-8
    bytes, as Asterisk does; bytes that do not form UTF-8 are replaced with U+FFFD, and a
    decoded NUL (``^00``) ends the value, as it ends Asterisk's C string.
    """
    if "^" not in value:
        return value
    raw = _ESCAPE_RE.sub(lambda m: bytes([int(m.group(1), 16)]), value.encode("utf-8"))
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def split_realtime_value(value: str | None) -> list[str]:
    """The values res_config_pgsql makes of one column value when it reads a row.

    Split on ``;``, strip each piece of bytes below 33 (``ast_strip``), decode ``^XX``, and
    drop pieces that end up empty. NULL gives no value at all.
    """
    if value is None:
        return []
    values = []
    for chunk in value.split(";"):
        chunk = decode_realtime_value(_ast_strip(chunk))
        if chunk:
            values.append(chunk)
    return values


def _ast_strip(chunk: str) -> str:
    return chunk.strip(_AST_BLANKS)

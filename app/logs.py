"""Log output: text lines with every control character escaped, or one JSON object a line.

Callers and carriers choose DIDs, caller ids and even uniqueids; written raw, a CR, an ESC
sequence or a fake log line in one of them could forge or hide log lines. Every message is
escaped here, whatever logged it. `LOG_FORMAT=json` gives one object per line with the call's
`uniqueid` (and the FastAGI script and outcome) as fields of their own.
"""
import json
import logging
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Fields of a record (given with `extra=`) copied into the JSON object, under these names.
JSON_FIELDS = {"uniqueid": "uniqueid", "agi_uniqueid": "uniqueid", "agi_script": "script",
               "agi_outcome": "outcome"}


def escape_controls(text: str) -> str:
    return _CONTROL.sub(lambda m: {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(
        m.group(), f"\\x{ord(m.group()):02x}"), text)


class EscapingFormatter(logging.Formatter):
    """The usual text line, with the message's control characters escaped."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        for attribute, name in JSON_FIELDS.items():
            value = getattr(record, attribute, None)
            if value is not None and value != "-":
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=True, default=str)  # JSON escapes every control


def formatter_for(log_format: str) -> logging.Formatter:
    return JSONFormatter() if log_format == "json" else EscapingFormatter(TEXT_FORMAT)


def configure_logging(level: str, log_format: str) -> None:
    """Like logging.basicConfig (nothing happens if the root logger already has handlers)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(formatter_for(log_format))
    root.addHandler(handler)
    root.setLevel(level)

"""What one delivery sends: a signed JSON POST for a webhook, a GET of the filled-in template
for a conversion postback."""
import json
from datetime import datetime
from urllib.parse import quote

from app.services.outbound import signature

# Tokens a postback template may use, each read from the call.converted event's data.
POSTBACK_TOKENS = ("call_id", "uniqueid", "caller_id", "did", "campaign_id", "payout", "revenue",
                   "billsec")


def event_id(number: int) -> str:
    return f"evt_{number}"


def event_body(number: int, event_type: str, created_at: datetime, data: dict) -> bytes:
    document = {"id": event_id(number), "type": event_type,
                "created_at": created_at.isoformat(), "data": data}
    return json.dumps(document, separators=(",", ":"), default=str).encode()


def webhook_request(secret: str, number: int, event_type: str, created_at: datetime,
                    data: dict) -> tuple[bytes, dict]:
    body = event_body(number, event_type, created_at, data)
    headers = {"Content-Type": "application/json",
               signature.HEADER: signature.header_value(secret or "", body),
               "CapConduit-Event-Id": event_id(number)}
    return body, headers


def postback_url(template: str, data: dict) -> str:
    """The template with each `{token}` replaced by the URL-encoded value (empty when none)."""
    url = template
    for token in POSTBACK_TOKENS:
        value = data.get(token)
        url = url.replace("{" + token + "}", "" if value is None else quote(str(value), safe=""))
    return url


def template_problem(template: str) -> str | None:
    """An unknown `{token}` in a postback template, or None."""
    import re

    unknown = sorted(set(re.findall(r"\{([^{}]*)\}", template)) - set(POSTBACK_TOKENS))
    if unknown:
        return f"Unknown token {{{unknown[0]}}}; use {', '.join('{%s}' % t for t in POSTBACK_TOKENS)}."
    return None

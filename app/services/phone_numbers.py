"""Phone numbers in and out: everything is stored and compared in E.164."""
import functools

import phonenumbers


# Parsing is the dearest Python on the call path (≈ 0.1 ms), and the same callers and DIDs come
# back: the route and the hangup of one call, repeat callers, every call to a DID.
@functools.lru_cache(maxsize=8192)
def to_e164(raw: str, region: str | None = None) -> str | None:
    """`raw` as E.164 (`+14155550100`), or None when it is not a valid number.

    Carriers send `+14155550100`, `14155550100` or national digits; a leading country code
    without `+` is tried when the national reading is not valid.
    """
    if not raw:
        return None
    text = raw.strip()
    candidates = [text] if text.startswith("+") else [text, "+" + text]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, None if candidate.startswith("+") else region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None

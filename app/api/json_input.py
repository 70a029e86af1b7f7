"""Reading JSON request bodies without letting their shape crash the request.

`json.loads` raises RecursionError on deeply nested arrays or objects (100,000 `[`), and
ValueError (not JSONDecodeError) on an integer of more than 4,300 digits; neither is a
"malformed body" to webargs or Flask, so each became a 500. Every body this app reads goes
through `loads` below, which answers both (and anything nested deeper than MAX_DEPTH, far past
any document of this API) as malformed JSON: a 400 in the error shape.
"""
import json

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 32  # the deepest real document (a client's pjsip.outbound_auth, a schedule) is 4


class BodyTooDeep(json.JSONDecodeError):
    pass


def _depth_exceeds(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False


def loads(data: bytes | str):
    """`json.loads`, raising json.JSONDecodeError for every body it cannot accept."""
    if isinstance(data, bytes):
        data = data.decode("utf-8")  # UnicodeDecodeError: webargs and Flask answer 400
    try:
        value = json.loads(data)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise BodyTooDeep(f"nested deeper than {MAX_DEPTH} levels", data[:50], 0) from None
    except ValueError as error:  # an integer past Python's 4,300-digit conversion limit
        raise json.JSONDecodeError(f"unreadable number ({error})"[:120], data[:50], 0) from None
    if _depth_exceeds(value, MAX_DEPTH):
        raise BodyTooDeep(f"nested deeper than {MAX_DEPTH} levels", data[:50], 0)
    return value


class HardenedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with `loads` above: `request.get_json()` answers 400 too."""

    def loads(self, s, **kwargs):
        try:
            return loads(s)
        except json.JSONDecodeError as error:
            raise ValueError(str(error)) from None

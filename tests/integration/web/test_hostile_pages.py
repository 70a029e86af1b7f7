"""Page input that used to reach a 500: every one is a 4xx HTML page or a safe
redirect. The class is covered: every control character in a `next=` target, bytes that are
not UTF-8 in any page's query string, cursors past bigint in the call log pages."""
import base64

import pytest

CONTROL = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", CONTROL, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("shape", ["/calls{c}", "/calls{c}Set-Cookie: x=1", "/{c}//evil.example",
                                   "/calls?x={c}"])
def test_a_control_character_in_next_never_reaches_the_location_header(pages, char, shape):
    target = shape.format(c=char)
    response = pages.post("/login", {"username": "admin", "password": "admin-password-2026"},
                          query_string={"next": target})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    location = response.headers["Location"]
    assert location == "/dashboard"
    # Logged in now: the GET form of the same redirect
    again = pages.get("/login", query_string={"next": target})
    assert again.status_code == 302 and again.headers["Location"] == "/dashboard"


def test_a_plain_next_still_works(pages):
    response = pages.post("/login", {"username": "admin", "password": "admin-password-2026"},
                          query_string={"next": "/calls?status=answered"})
    assert response.headers["Location"] == "/calls?status=answered"


@pytest.mark.parametrize("path", ["/calls", "/calls/rows", "/calls/export.csv", "/users",
                                  "/login", "/dashboard/data", "/api/admin/users"])
def test_a_query_string_that_is_not_utf8_is_400(pages, path):
    pages.login("admin")
    response = pages.client.get(path, environ_overrides={"QUERY_STRING": "q=\xff\xfe"})
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.json["error"]["code"] == "bad_request"
    else:
        assert response.mimetype == "text/html"


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", ["/calls", "/calls/rows"])
@pytest.mark.parametrize("call_id", [str(2**63), "9" * 40, "-5", "0"])
def test_a_call_log_page_cursor_past_bigint_is_a_field_error(pages, path, call_id):
    pages.login("admin")
    response = pages.get(path, query_string={"cursor": _cursor(f"2026-01-01T00:00:00+00:00|{call_id}")})
    assert response.status_code in (200, 422), response.get_data(as_text=True)[:300]
    assert response.status_code == 422 or "Not a cursor" in response.get_data(as_text=True)

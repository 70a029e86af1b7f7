"""Bodies and cursors whose *shape* used to reach a 500: every one is a 4xx in the
error shape, on every operation that reads a JSON body.

- nesting past what `json.loads` can recurse into (RecursionError), or past 32 levels;
- integers of thousands of digits (Python refuses past 4,300: ValueError) and hundreds
  (parsed, then past what PostgreSQL's integer and bigint hold), and floats that overflow;
- a call-log cursor whose decoded id is past bigint, negative, or not a number.

The operations come from the OpenAPI document, so a new one is covered without a line here.
"""
import base64
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.api_fuzzer import INTERNAL_TOKEN
from tests.support.logins import SAMPLE_LOGINS


def _body_operations():
    from app import create_app  # only to read the OpenAPI document: no database needed
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://unused/x"})
    spec = app.test_client().get("/api/openapi.json").json
    operations = []
    for path, methods in sorted(spec["paths"].items()):
        for method, operation in sorted(methods.items()):
            if method not in ("post", "patch", "put"):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = content["application/json"]["schema"]
            if "$ref" in schema:
                schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
            numbers = sorted(name for name, field in schema.get("properties", {}).items()
                             if field.get("type") in ("integer", "number"))
            concrete = path.replace("{", "").replace("}", "")
            for name in set(part.strip("{}") for part in path.split("/") if "{" in part):
                concrete = concrete.replace(name, "1")
            operations.append((method, concrete, numbers))
    return operations


OPERATIONS = _body_operations()


def _identity(client, path):
    if path.startswith("/api/internal/"):
        return {"Authorization": f"Bearer {INTERNAL_TOKEN}"}
    who = "admin" if path.startswith("/api/admin/") else "seller1"
    username, password = SAMPLE_LOGINS[who]
    assert client.post("/api/auth/login",
                       json={"username": username, "password": password}).status_code == 200
    return {}


def _send(client, method, path, text):
    headers = _identity(client, path)
    return getattr(client, method)(path, data=text, content_type="application/json",
                                   headers=headers)


def _assert_4xx(response):
    assert 400 <= response.status_code < 500, (response.status_code,
                                               response.get_data(as_text=True)[:300])
    error = response.json["error"]
    assert set(error) == {"code", "message", "details"}
    return response.status_code


DEEP = {
    "array 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "object 50,000 deep": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "field 5,000 deep": '{"name": ' + "[" * 5_000 + "]" * 5_000 + "}",
    "field 40 deep": '{"name": ' + "[" * 40 + "]" * 40 + "}",
}


@pytest.mark.parametrize("method, path, numbers", OPERATIONS, ids=lambda v: str(v))
@pytest.mark.parametrize("shape", sorted(DEEP))
def test_deeply_nested_json_is_400_everywhere(client, method, path, numbers, shape):
    response = _send(client, method, path, DEEP[shape])
    assert _assert_4xx(response) == 400
    assert response.json["error"]["code"] == "bad_request"


BIG_NUMBERS = {
    "5,000 digits": "1" + "0" * 5_000,
    "-5,000 digits": "-1" + "0" * 5_000,
    "1,000 digits": "9" * 1_000,
    "past bigint": str(2**63),
    "past integer": str(2**31),
    "float overflow": "1e999",
    "float 400 digits": "1" + "0" * 400 + ".5",
}
NUMBER_FIELDS = [(method, path, name) for method, path, numbers in OPERATIONS for name in numbers]


@pytest.mark.parametrize("method, path, field", NUMBER_FIELDS, ids=lambda v: str(v))
@pytest.mark.parametrize("number", sorted(BIG_NUMBERS))
def test_huge_numbers_in_every_numeric_field_are_never_a_500(client, method, path, field,
                                                             number):
    """Past bigint is refused in every field; a money field may hold 2**31 (and answers 2xx)."""
    response = _send(client, method, path, '{"%s": %s}' % (field, BIG_NUMBERS[number]))
    if number in ("past integer",) and response.status_code < 400:
        return
    _assert_4xx(response)


def test_the_operations_were_found():
    assert len(OPERATIONS) > 20 and len(NUMBER_FIELDS) > 20


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode("utf-8", "surrogatepass")).decode().rstrip("=")


BAD_IDS = [str(2**63), "9" * 30, "-1", "0", "-" + "9" * 30, "1e5", "0x10", " 5", "٣", ""]


@pytest.mark.parametrize("who, path", [("admin", "/api/admin/call_logs"),
                                       ("seller1", "/api/seller/call_logs")])
@pytest.mark.parametrize("call_id", BAD_IDS)
def test_a_cursor_id_past_bigint_or_not_a_row_id_is_422(client, auth, who, path, call_id):
    auth.login(who)
    response = client.get(path, query_string={"cursor": _cursor(f"2026-01-01T00:00:00+00:00|{call_id}")})
    assert _assert_4xx(response) == 422
    assert list(response.json["error"]["details"]) == ["cursor"]


def test_a_real_cursor_still_pages(admin):
    first = admin.get("/api/admin/call_logs?limit=1").json
    assert first["next_cursor"]
    second = admin.get(f"/api/admin/call_logs?limit=1&cursor={first['next_cursor']}")
    assert second.status_code == 200 and second.json["items"][0]["id"] != first["items"][0]["id"]


@settings(max_examples=int(os.environ.get("CURSOR_FUZZ_EXAMPLES", 150)), deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(started=st.one_of(st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
                         st.text(max_size=40)),
       call_id=st.one_of(st.integers(min_value=-2**70, max_value=2**70).map(str),
                         st.text(max_size=25)),
       separator=st.sampled_from(["|", "||", ""]))
def test_fuzzed_decoded_cursors_never_reach_a_500(admin, started, call_id, separator):
    """Cursors built from their decoded parts (any time text, any id text), not from bytes."""
    cursor = _cursor(f"{started}{separator}{call_id}")
    response = admin.get("/api/admin/call_logs", query_string={"cursor": cursor})
    assert response.status_code in (200, 422), (cursor, response.get_data(as_text=True)[:300])
    if response.status_code == 422:
        assert list(response.json["error"]["details"]) == ["cursor"]

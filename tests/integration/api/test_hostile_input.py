"""Input the API cannot store or look up answers 4xx, never a 500 (found by the API fuzzer).

- A path id past PostgreSQL's `integer` ("integer out of range" in the query) is a 404: the
  route's `<id:…>` converter (app/api/smorest.py) does not match it.
- Text with NUL (U+0000) or an unpaired surrogate, anywhere in a body or a query string, is a
  422 naming the field (InputSchema in app/schemas/common.py); PostgreSQL cannot store NUL
  and UTF-8 cannot encode a lone surrogate.
- A body past MAX_CONTENT_LENGTH is refused with 413 before it is read.
"""
import json

import pytest

INTERNAL = {"Authorization": "Bearer testing-internal-token-not-for-production"}
PAST_INTEGER = 2**31  # one past PostgreSQL's integer
HUGE = 10**30


def _is_error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert set(response.json["error"]) == {"code", "message", "details"}
    return response.json["error"]


@pytest.mark.parametrize("who, path", [
    ("admin", "/api/admin/users/{id}"),
    ("admin", "/api/admin/dids/{id}"),
    ("admin", "/api/admin/campaigns/{id}"),
    ("admin", "/api/admin/clients/{id}"),
    ("admin", "/api/admin/carriers/{id}"),
    ("seller1", "/api/seller/dids/{id}"),
    ("seller1", "/api/seller/campaigns/{id}"),
    ("seller1", "/api/seller/campaigns/{id}/dids"),
    ("seller1", "/api/seller/campaigns/1/dids/{id}"),
    ("seller1", "/api/seller/campaigns/{id}/clients"),
    ("seller1", "/api/seller/campaigns/1/clients/{id}"),
])
@pytest.mark.parametrize("row_id", [PAST_INTEGER, HUGE])
def test_a_path_id_past_postgresql_integer_is_not_found(client, auth, who, path, row_id):
    auth.login(who)
    assert _is_error(client.get(path.format(id=row_id)), 404)["code"] == "not_found"


@pytest.mark.parametrize("method, path", [
    ("patch", "/api/admin/users/{id}"), ("delete", "/api/admin/users/{id}"),
    ("patch", "/api/admin/clients/{id}"), ("delete", "/api/admin/clients/{id}"),
    ("post", "/api/admin/clients/{id}/sip_password"),
    ("patch", "/api/admin/carriers/{id}"), ("delete", "/api/admin/carriers/{id}"),
])
def test_writes_to_a_path_id_past_integer_are_not_found(admin, method, path):
    response = getattr(admin, method)(path.format(id=PAST_INTEGER), json={})
    assert _is_error(response, 404)["code"] == "not_found"


def test_call_log_ids_are_bigint(admin):
    """call_logs.id is a bigint: an id past integer is a plain miss, past bigint no route."""
    assert _is_error(admin.get(f"/api/admin/call_logs/{PAST_INTEGER}"), 404)
    assert _is_error(admin.get(f"/api/admin/call_logs/{2**63}"), 404)


@pytest.mark.parametrize("path", ["/api/admin/audit?actor_id=2147483648",
                                  "/api/admin/call_logs?seller_id=99999999999999",
                                  "/api/admin/dids?seller_id=2147483648",
                                  "/api/admin/campaigns?seller_id=2147483648"])
def test_an_id_filter_past_postgresql_integer_is_422(admin, path):
    error = _is_error(admin.get(path), 422)
    assert list(error["details"]) == [path.split("?")[1].split("=")[0]]


def test_openapi_documents_the_id_bounds(client):
    paths = client.get("/api/openapi.json").json["paths"]
    user_id = paths["/api/admin/users/{user_id}"]["parameters"][0]["schema"]
    assert (user_id["minimum"], user_id["maximum"]) == (1, 2**31 - 1)
    call_id = paths["/api/admin/call_logs/{call_id}"]["parameters"][0]["schema"]
    assert call_id["maximum"] == 2**63 - 1


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "x\ud800y"])
@pytest.mark.parametrize("who, path, body, field", [
    ("seller1", "/api/seller/campaigns", {"name": "{text}"}, "name"),
    ("seller1", "/api/seller/campaigns", {"name": "ok", "description": "{text}"}, "description"),
    ("seller1", "/api/seller/dids", {"number": "+14155550199", "description": "{text}"},
     "description"),
    ("seller1", "/api/seller/dids", {"number": "{text}"}, "number"),
    ("admin", "/api/admin/users", {"username": "carol", "email": "c@example.com",
                                   "password": "a-long-password", "role": "seller",
                                   "full_name": "{text}"}, "full_name"),
    ("admin", "/api/admin/carriers", {"name": "{text}", "identify_ips": ["192.0.2.1"]}, "name"),
    ("nobody", "/api/auth/login", {"username": "{text}", "password": "x"}, "username"),
])
def test_unstorable_text_in_a_body_is_422_on_its_field(client, auth, who, path, body, field,
                                                       text):
    if who != "nobody":
        auth.login(who)
    body = json.loads(json.dumps(body).replace("{text}", json.dumps(text)[1:-1]))
    error = _is_error(client.post(path, json=body), 422)
    assert error["code"] == "validation_failed"
    assert list(error["details"]) == [field]


def test_unstorable_text_in_a_nested_field_names_its_path(admin):
    body = {"client_identifier": "nul-cc", "name": "Nul",
            "pjsip": {"contact_uri": "sip:agent@pbx.example.com", "codecs": ["ulaw", "al\x00aw"]}}
    error = _is_error(admin.post("/api/admin/clients", json=body), 422)
    assert error["details"] == {"pjsip": {"codecs": {"1": [
        "Text must not contain NUL characters or unpaired surrogates."]}}}


def test_unstorable_text_in_a_patch_changes_nothing(seller):
    before = seller.get("/api/seller/campaigns/1").json
    assert _is_error(seller.patch("/api/seller/campaigns/1", json={"name": "x\x00"}), 422)
    assert seller.get("/api/seller/campaigns/1").json == before


@pytest.mark.parametrize("who, path", [
    ("admin", "/api/admin/users?q=%00"),
    ("admin", "/api/admin/clients?q=a%00"),
    ("admin", "/api/admin/carriers?q=%00"),
    ("admin", "/api/admin/audit?entity_id=%00"),
    ("admin", "/api/admin/dids?q=%00"),
    ("admin", "/api/admin/campaigns?q=%00"),
    ("seller1", "/api/seller/dids?q=%00"),
    ("seller1", "/api/seller/campaigns?q=%00"),
    ("seller1", "/api/seller/clients?q=%00"),
    ("seller1", "/api/seller/call_logs?caller=%00"),
    ("seller1", "/api/seller/call_logs/summary?did=%00"),
])
def test_nul_in_a_query_string_is_422(client, auth, who, path):
    auth.login(who)
    error = _is_error(client.get(path), 422)
    assert error["code"] == "validation_failed"


def test_nul_in_the_internal_api_is_422(client):
    response = client.post("/api/internal/route", headers=INTERNAL,
                           json={"uniqueid": "pbx-1.1", "did": "+1415555\x000102"})
    assert _is_error(response, 422)["details"] == {"did": [
        "Text must not contain NUL characters or unpaired surrogates."]}


def test_ordinary_unicode_is_still_accepted(seller):
    response = seller.post("/api/seller/campaigns",
                           json={"name": "Café 🚀 Ωmega", "description": "línea\tdos\n"})
    assert response.status_code == 201, response.json
    assert response.json["name"] == "Café 🚀 Ωmega"


def test_a_body_past_max_content_length_is_refused_unread(app, seller):
    body = '{"name": "' + "x" * app.config["MAX_CONTENT_LENGTH"] + '"}'
    response = seller.post("/api/seller/campaigns", data=body, content_type="application/json")
    assert _is_error(response, 413)["code"] == "payload_too_large"
    assert seller.get("/api/seller/campaigns").json["total"] == 2


def test_a_long_field_inside_the_limit_is_a_422_on_that_field(seller):
    response = seller.post("/api/seller/campaigns", json={"name": "x" * 1_000_000})
    assert _is_error(response, 422)["details"] == {"name": ["Length must be between 1 and 120."]}

"""A newcomer's view of the API and its documentation: every resource in the README, security
schemes in the OpenAPI document, every validation error at once, short messages, routing
settings that name their client."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"
METHODS = ("get", "post", "put", "patch", "delete")


def test_the_readme_table_lists_every_api_path(client):
    paths = client.get("/api/openapi.json").json["paths"]
    text = README.read_text()
    table = text[text.index("### Every resource"):text.index("### Conventions and rules")]
    listed = set(re.findall(r"`(/[a-z_/{}]+)`", table))
    missing = sorted(p.removeprefix("/api") for p in paths
                     if p.removeprefix("/api") not in listed
                     and p not in ("/api/openapi.json",) and not p.startswith("/api/docs"))
    assert missing == []


def test_the_openapi_document_says_how_each_operation_is_authorized(client):
    spec = client.get("/api/openapi.json").json
    schemes = spec["components"]["securitySchemes"]
    assert schemes["sessionCookie"] == {**schemes["sessionCookie"], "type": "apiKey", "in": "cookie",
                                        "name": "session"}
    assert schemes["internalToken"]["type"] == "http" and schemes["internalToken"]["scheme"] == "bearer"
    paths = spec["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            if path.startswith("/api/internal/"):
                assert operation["security"] == [{"internalToken": []}], path
            elif path.startswith(("/api/admin/", "/api/seller/")) or path in ("/api/auth/me",):
                assert operation["security"] == [{"sessionCookie": []}, {"apiKey": []}], \
                    (path, method)
    assert "security" not in paths["/api/auth/login"]["post"]


def test_a_client_with_several_problems_gets_every_error_in_one_answer(admin):
    response = admin.post("/api/admin/clients", json={
        "client_identifier": "Bad Identifier!", "name": "", "pjsip": {"mode": "static"}})
    assert response.status_code == 422
    details = response.json["error"]["details"]
    assert details["client_identifier"] == ["Use 1 to 40 lowercase letters, digits, '-' and '_'."]
    assert details["name"] == ["Required."]
    assert details["pjsip"] == {"contact_uri": ["Required in static mode: the URI we dial."]}


def test_a_refused_field_is_not_also_called_missing(admin):
    response = admin.post("/api/admin/clients", json={
        "client_identifier": "", "name": "x", "pjsip": {"contact_uri": "not a uri"}})
    details = response.json["error"]["details"]
    assert details["client_identifier"] == ["Required."]
    assert list(details["pjsip"]) == ["contact_uri"]
    assert "Required in static mode" not in str(details["pjsip"]["contact_uri"])


def test_range_errors_are_short(seller):
    response = seller.patch("/api/seller/campaigns/1/clients/1", json={"weight": 5000})
    assert response.status_code == 422
    assert response.json["error"]["details"] == {"weight": ["Must be 0 to 1000."]}


def test_a_routing_setting_names_its_client(seller):
    items = seller.get("/api/seller/campaigns/1/clients").json["items"]
    assert items and all(item["client_name"] and item["client_identifier"] for item in items)
    first = seller.get(f"/api/seller/campaigns/1/clients/{items[0]['id']}").json
    assert (first["client_name"], first["client_identifier"]) == (items[0]["client_name"],
                                                                  items[0]["client_identifier"])
    assert first["client_identifier"] in {"acme-cc", "bluesky-cc", "summit-cc"}


def test_an_update_gets_its_sip_rule_errors_with_the_field_errors(admin):
    # acme-cc (1) is static: a null contact breaks a rule of the stored client's mode.
    response = admin.patch("/api/admin/clients/1", json={
        "name": "", "pjsip": {"contact_uri": None, "codecs": ["nope"]}})
    assert response.status_code == 422
    details = response.json["error"]["details"]
    assert details["name"] == ["Required."]
    assert details["pjsip"]["contact_uri"] == ["Required in static mode: the URI we dial."]
    assert "codecs" in details["pjsip"]
    # summit-cc (3) registers: max_contacts 0 is a valid number but not for its stored mode.
    response = admin.patch("/api/admin/clients/3", json={
        "client_identifier": "Bad Id", "pjsip": {"max_contacts": 0}})
    details = response.json["error"]["details"]
    assert details["client_identifier"] == ["Use 1 to 40 lowercase letters, digits, '-' and '_'."]
    assert details["pjsip"] == {"max_contacts": ["At least 1 in register mode, or nothing can register."]}
    # Nothing was written, and a valid change still saves.
    assert admin.get("/api/admin/clients/3").json["pjsip"]["max_contacts"] >= 1
    assert admin.patch("/api/admin/clients/3", json={"pjsip": {"max_contacts": 2}}).status_code == 200
    assert admin.patch("/api/admin/clients/999", json={"name": "x"}).status_code == 404

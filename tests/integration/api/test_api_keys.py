"""Personal API keys: Bearer on every /api operation the user's role allows."""
from datetime import datetime, timedelta, timezone

from tests.support.routing import execute, scalar


def make_key(client, auth, who="seller1", **fields):
    auth.login(who)
    response = client.post("/api/auth/keys", json={"name": "script", "scope": "write", **fields})
    assert response.status_code == 201, response.get_json()
    auth.logout()
    client.delete_cookie("session")
    return response.get_json()


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def test_a_key_is_shown_once_and_stored_hashed(engine, client, auth):
    made = make_key(client, auth)
    assert made["key"].startswith("cck_") and made["prefix"] == made["key"][:12]
    stored = scalar(engine, "SELECT key_hash FROM api_keys")
    assert made["key"] not in stored and len(stored) == 64
    listed = client.get("/api/auth/keys", headers=bearer(made["key"])).get_json()
    assert [k["name"] for k in listed] == ["script"] and "key" not in listed[0]
    assert listed[0]["last_used_at"] is not None


def test_a_write_key_acts_with_its_users_role_without_a_session(client, auth):
    key = make_key(client, auth)["key"]
    assert client.get("/api/seller/dids").status_code == 401
    assert client.get("/api/seller/dids", headers=bearer(key)).status_code == 200
    created = client.post("/api/seller/dids", headers={**bearer(key), "Origin": "https://evil.example"},
                          json={"number": "+14155550177"})
    assert created.status_code == 201  # the cross-site rule is for cookies
    assert client.get("/api/admin/users", headers=bearer(key)).status_code == 403
    assert "Set-Cookie" not in created.headers


def test_a_read_key_cannot_write(client, auth):
    key = make_key(client, auth, scope="read")["key"]
    assert client.get("/api/seller/campaigns", headers=bearer(key)).status_code == 200
    refused = client.post("/api/seller/dids", headers=bearer(key), json={"number": "+14155550178"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "read_only_key"
    assert client.delete("/api/seller/dids/1", headers=bearer(key)).status_code == 403


def test_revoked_expired_unknown_keys_and_inactive_users_are_refused(engine, client, auth):
    made = make_key(client, auth)
    other = make_key(client, auth)
    for wrong in ("cck_nothing", "nope", made["key"] + "x"):
        response = client.get("/api/seller/dids", headers=bearer(wrong))
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "invalid_api_key"
    auth.login("seller1")
    assert client.delete(f"/api/auth/keys/{made['id']}").status_code == 204
    auth.logout()
    assert client.get("/api/seller/dids", headers=bearer(made["key"])).status_code == 401
    execute(engine, "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = :id",
            id=other["id"])
    assert client.get("/api/seller/dids", headers=bearer(other["key"])).status_code == 401
    third = make_key(client, auth)
    execute(engine, "UPDATE users SET status = 'suspended' WHERE username = 'seller1'")
    assert client.get("/api/seller/dids", headers=bearer(third["key"])).status_code == 401


def test_keys_are_personal_and_validated(client, auth):
    made = make_key(client, auth)
    auth.login("seller2")
    assert client.get("/api/auth/keys").get_json() == []
    assert client.delete(f"/api/auth/keys/{made['id']}").status_code == 404
    bad = client.post("/api/auth/keys", json={"name": "", "scope": "admin"})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["details"]) == {"name", "scope"}
    past = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    expired = client.post("/api/auth/keys", json={"name": "x", "scope": "read", "expires_at": past})
    assert expired.status_code == 422 and "expires_at" in expired.get_json()["error"]["details"]


def test_the_openapi_document_declares_the_key_scheme(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]
        ["apiKey"]["description"]}
    assert {"apiKey": []} in spec["paths"]["/api/seller/dids"]["get"]["security"]

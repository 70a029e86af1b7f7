"""Attackers: throttled logins, sessions that end, cookie flags, headers, CSRF."""
import pytest

from tests.support.logins import SAMPLE_LOGINS
from tests.support.responses import remember_secret


def login(client, username, password, address="198.51.100.7"):
    return client.post("/api/auth/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_five_failures_block_the_account_with_retry_after(client):
    for _ in range(5):
        assert login(client, "seller1", "wrong-password-xx").status_code == 401
    blocked = login(client, "seller1", SAMPLE_LOGINS["seller1"][1])
    assert blocked.status_code == 429
    assert blocked.json["error"]["code"] == "too_many_requests"
    assert 0 < int(blocked.headers["Retry-After"]) <= 900
    # Another account from another address is unaffected.
    assert login(client, "seller2", SAMPLE_LOGINS["seller2"][1], "203.0.113.9").status_code == 200


def test_an_address_guessing_many_accounts_is_blocked(client):
    for i in range(20):
        login(client, f"nobody{i}", "wrong-password-xx", "192.0.2.50")
    response = login(client, "admin", SAMPLE_LOGINS["admin"][1], "192.0.2.50")
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert login(client, "admin", SAMPLE_LOGINS["admin"][1], "192.0.2.51").status_code == 200


def test_a_success_resets_the_account_counter(client):
    for _ in range(4):
        login(client, "staff", "wrong-password-xx")
    assert login(client, "staff", SAMPLE_LOGINS["staff"][1]).status_code == 200
    for _ in range(4):
        assert login(client, "staff", "wrong-password-xx").status_code == 401
    assert login(client, "staff", SAMPLE_LOGINS["staff"][1]).status_code == 200


def test_logout_invalidates_a_copied_session_cookie(app, client, auth):
    auth.login("seller1")
    cookie = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/api/auth/me").status_code == 200
    auth.logout()
    assert thief.get("/api/auth/me").status_code == 401


def test_changing_ones_password_ends_other_sessions_but_keeps_this_one(app, client, auth):
    auth.login("seller1")
    other = app.test_client()
    login(other, "seller1", SAMPLE_LOGINS["seller1"][1])
    new_password = remember_secret("seller1-new-password-2026")
    wrong = client.post("/api/auth/password", json={"current_password": "nope-nope-nope",
                                                     "new_password": new_password})
    assert wrong.status_code == 422 and "current_password" in wrong.json["error"]["details"]
    weak = client.post("/api/auth/password", json={"current_password": SAMPLE_LOGINS["seller1"][1],
                                                    "new_password": "short"})
    assert weak.status_code == 422 and "new_password" in weak.json["error"]["details"]
    changed = client.post("/api/auth/password", json={"current_password": SAMPLE_LOGINS["seller1"][1],
                                                       "new_password": new_password})
    assert changed.status_code == 200
    assert client.get("/api/auth/me").status_code == 200
    assert other.get("/api/auth/me").status_code == 401
    assert login(other, "seller1", new_password).status_code == 200


def test_session_cookie_flags(client):
    response = client.post("/api/auth/login", json={"username": "admin",
                                                     "password": SAMPLE_LOGINS["admin"][1]})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_security_headers_on_every_answer(client):
    for path in ("/api/auth/me", "/api/openapi.json", "/api/nowhere"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
    assert client.get("/api/auth/me").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method, path", [
    ("post", "/api/admin/users"), ("patch", "/api/admin/users/3"), ("delete", "/api/admin/users/4"),
    ("post", "/api/auth/logout"),
])
def test_cross_site_writes_are_refused(client, auth, method, path):
    auth.login("admin")
    response = getattr(client, method)(path, json={}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "cross_site_request"
    assert client.get("/api/admin/users/4").status_code == 200


def test_a_form_post_cannot_change_anything(client, auth):
    auth.login("admin")
    response = client.post("/api/admin/users", data={"username": "formuser", "email": "f@example.com",
                                                      "password": "form-password-123", "role": "admin"})
    assert response.status_code == 415
    assert client.get("/api/admin/users?q=formuser").json["total"] == 0


def test_same_origin_writes_are_accepted(client, auth):
    auth.login("admin")
    response = client.patch("/api/admin/users/3", json={"full_name": "Same Origin"},
                            headers={"Origin": "http://localhost"})
    assert response.status_code == 200

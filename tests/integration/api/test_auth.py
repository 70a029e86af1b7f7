import pytest

from tests.support.logins import SAMPLE_LOGINS
from tests.support.responses import remember_secret


def test_login_with_username_sets_a_session(client, auth):
    response = auth.login("admin")
    assert response.status_code == 200
    assert response.json["username"] == "admin"
    assert response.json["role"] == "admin"
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json["email"] == "admin@capconduit.example"


def test_login_with_email_ignores_case(client):
    response = client.post("/api/auth/login", json={"username": "Seller1@AcmeLeads.example",
                                                     "password": SAMPLE_LOGINS["seller1"][1]})
    assert response.status_code == 200
    assert response.json["username"] == "seller1"


@pytest.mark.parametrize("username, password", [
    ("admin", "wrong-password-123"),
    ("nobody-here", "wrong-password-123"),
    ("nobody-here", SAMPLE_LOGINS["admin"][1]),
])
def test_wrong_credentials_get_one_answer_whether_or_not_the_user_exists(client, username, password):
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json == {"error": {"code": "invalid_credentials",
                                       "message": "Invalid username or password.", "details": {}}}


@pytest.mark.parametrize("status", ["inactive", "suspended"])
def test_inactive_and_suspended_users_cannot_log_in(client, auth, status):
    auth.login("admin")
    assert client.patch("/api/admin/users/3", json={"status": status}).status_code == 200
    auth.logout()
    response = auth.login("seller1")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_credentials"


def test_suspending_a_user_ends_their_session_on_the_next_request(app, auth):
    seller = app.test_client()
    assert seller.post("/api/auth/login", json={"username": "seller1",
                                                "password": SAMPLE_LOGINS["seller1"][1]}).status_code == 200
    assert seller.get("/api/auth/me").status_code == 200
    auth.login("admin")
    admin = auth._client
    assert admin.patch("/api/admin/users/3", json={"status": "suspended"}).status_code == 200
    assert seller.get("/api/auth/me").status_code == 401


def test_password_reset_invalidates_existing_sessions(app, auth):
    seller = app.test_client()
    seller.post("/api/auth/login", json={"username": "seller1", "password": SAMPLE_LOGINS["seller1"][1]})
    auth.login("admin")
    response = auth._client.patch("/api/admin/users/3", json={"password": remember_secret("a-brand-new-password")})
    assert response.status_code == 200
    assert seller.get("/api/auth/me").status_code == 401
    relogin = seller.post("/api/auth/login", json={"username": "seller1",
                                                   "password": "a-brand-new-password"})
    assert relogin.status_code == 200


def test_logout_ends_the_session(client, auth):
    auth.login("staff")
    assert client.post("/api/auth/logout", json={}).status_code == 204
    response = client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_me_without_login_is_401(client):
    response = client.get("/api/auth/me")
    assert response.status_code == 401
    assert set(response.json["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("body, status", [
    (b"{not json", 400),
    (b"[1, 2]", 400),
    (b'"admin"', 400),
    (b"{}", 422),
    (b'{"username": "admin"}', 422),
    (b'{"username": 5, "password": []}', 422),
])
def test_malformed_login_bodies_are_rejected_with_the_error_shape(client, body, status):
    response = client.post("/api/auth/login", data=body, content_type="application/json")
    assert response.status_code == status
    assert set(response.json["error"]) == {"code", "message", "details"}


def test_a_forged_session_cookie_is_not_accepted(client):
    client.set_cookie("session", "eyJfdXNlcl9pZCI6IjE6MSJ9.forged.signature")
    assert client.get("/api/auth/me").status_code == 401

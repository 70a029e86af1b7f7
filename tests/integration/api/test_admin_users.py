import pytest
from sqlalchemy import func, select

from app.database.models import User
from app.extensions import db
from tests.support.responses import remember_secret

NEW_PASSWORD = remember_secret("correct-horse-battery")


def new_user(**overrides):
    body = {"username": "newbie", "email": "newbie@example.com", "password": NEW_PASSWORD,
            "role": "seller", "full_name": "New Bie", "company_name": "Newbie Leads"}
    body.update(overrides)
    return body


def user_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_admin_creates_a_user_who_can_then_log_in(app, admin):
    response = admin.post("/api/admin/users", json=new_user())
    assert response.status_code == 201
    created = response.json
    assert created["username"] == "newbie"
    assert created["role"] == "seller"
    assert created["status"] == "active"
    assert {"id", "email", "full_name", "company_name", "created_at", "updated_at"} <= set(created)
    other = app.test_client()
    login = other.post("/api/auth/login", json={"username": "newbie", "password": NEW_PASSWORD})
    assert login.status_code == 200


def test_stored_password_is_a_bcrypt_hash(app, admin):
    admin.post("/api/admin/users", json=new_user())
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash).where(User.username == "newbie"))
    assert stored.startswith("$2b$") and NEW_PASSWORD not in stored


@pytest.mark.parametrize("field, value", [
    ("username", "ADMIN"),
    ("email", "Admin@CapConduit.example"),
])
def test_duplicate_username_or_email_is_409_ignoring_case(app, admin, field, value):
    before = user_count(app)
    response = admin.post("/api/admin/users", json=new_user(**{field: value}))
    assert response.status_code == 409
    assert field in response.json["error"]["details"]
    assert user_count(app) == before


@pytest.mark.parametrize("overrides, bad_field", [
    ({"email": "not-an-email"}, "email"),
    ({"password": "short-pw"}, "password"),
    ({"role": "superuser"}, "role"),
    ({"status": "sleeping"}, "status"),
    ({"username": "x"}, "username"),
    ({"username": "has space"}, "username"),
    ({"username": None}, "username"),
    ({"full_name": "x" * 201}, "full_name"),
    ({"unexpected": 1}, "unexpected"),
])
def test_invalid_fields_are_422_naming_the_field(app, admin, overrides, bad_field):
    before = user_count(app)
    response = admin.post("/api/admin/users", json=new_user(**overrides))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_failed"
    assert bad_field in response.json["error"]["details"]
    assert user_count(app) == before


@pytest.mark.parametrize("missing", ["username", "email", "password", "role"])
def test_required_fields(admin, missing):
    body = new_user()
    del body[missing]
    response = admin.post("/api/admin/users", json=body)
    assert response.status_code == 422
    assert missing in response.json["error"]["details"]


def test_list_is_paginated_and_filterable(admin):
    for i in range(3):
        admin.post("/api/admin/users", json=new_user(username=f"seller-x{i}", email=f"x{i}@example.com"))
    page = admin.get("/api/admin/users?per_page=2&page=1").json
    assert len(page["items"]) == 2
    assert page["total"] == 7 and page["pages"] == 4 and page["page"] == 1 and page["per_page"] == 2
    sellers = admin.get("/api/admin/users?role=seller&per_page=100").json
    assert {u["role"] for u in sellers["items"]} == {"seller"}
    assert sellers["total"] == 5
    found = admin.get("/api/admin/users?q=ACMELEADS").json
    assert [u["username"] for u in found["items"]] == ["seller1"]
    by_name = admin.get("/api/admin/users?q=sally").json
    assert [u["username"] for u in by_name["items"]] == ["seller1"]
    active = admin.get("/api/admin/users?status=inactive").json
    assert active["items"] == [] and active["total"] == 0


def test_search_treats_wildcards_literally(admin):
    assert admin.get("/api/admin/users?q=%25").json["total"] == 0
    assert admin.get("/api/admin/users?q=_").json["total"] == 0


@pytest.mark.parametrize("query", ["role=king", "status=x", "page=0", "per_page=1000", "page=abc"])
def test_bad_list_filters_are_422(admin, query):
    response = admin.get(f"/api/admin/users?{query}")
    assert response.status_code == 422


def test_get_one_and_404(admin):
    assert admin.get("/api/admin/users/3").json["username"] == "seller1"
    response = admin.get("/api/admin/users/999")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_partial_update_changes_only_given_fields(admin):
    response = admin.patch("/api/admin/users/3", json={"full_name": "Sally S. Seller"})
    assert response.status_code == 200
    assert response.json["full_name"] == "Sally S. Seller"
    assert response.json["email"] == "seller1@acmeleads.example"


def test_update_to_a_taken_username_is_409(admin):
    response = admin.patch("/api/admin/users/4", json={"username": "Seller1"})
    assert response.status_code == 409


def test_update_with_bad_fields_is_422_and_changes_nothing(admin):
    response = admin.patch("/api/admin/users/3", json={"email": "nope", "full_name": "Changed"})
    assert response.status_code == 422
    assert admin.get("/api/admin/users/3").json["full_name"] == "Sally Seller"


def test_update_of_absent_user_is_404(admin):
    assert admin.patch("/api/admin/users/999", json={"full_name": "x"}).status_code == 404


def test_delete_user_without_data(admin):
    created = admin.post("/api/admin/users", json=new_user()).json
    assert admin.delete(f"/api/admin/users/{created['id']}").status_code == 204
    assert admin.get(f"/api/admin/users/{created['id']}").status_code == 404
    assert admin.delete(f"/api/admin/users/{created['id']}").status_code == 404


def test_deleting_a_seller_who_owns_dids_or_campaigns_is_409_suggesting_deactivation(admin):
    response = admin.delete("/api/admin/users/3")
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "user_in_use"
    assert error["details"]["suggestion"] == {"status": "inactive"}
    assert "DIDs" in error["details"]["owns"] and "campaigns" in error["details"]["owns"]
    assert admin.get("/api/admin/users/3").status_code == 200


@pytest.mark.parametrize("change", [{"role": "staff"}, {"status": "inactive"}, {"status": "suspended"}])
def test_the_last_active_admin_cannot_be_demoted_or_deactivated(admin, change):
    response = admin.patch("/api/admin/users/1", json=change)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "last_admin"
    me = admin.get("/api/auth/me").json
    assert me["role"] == "admin" and me["status"] == "active"


def test_the_last_active_admin_cannot_be_deleted(admin):
    response = admin.delete("/api/admin/users/1")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "last_admin"


def test_an_admin_can_step_down_once_another_admin_exists(admin, auth):
    second = admin.post("/api/admin/users", json=new_user(role="admin")).json
    assert admin.patch("/api/admin/users/1", json={"role": "staff"}).status_code == 200
    # The former admin lost admin rights at once; the new one is now the last admin.
    assert admin.get("/api/admin/users").status_code == 403
    auth.login("newbie", NEW_PASSWORD)
    response = admin.patch(f"/api/admin/users/{second['id']}", json={"role": "seller"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "last_admin"


@pytest.mark.parametrize("method, path", [
    ("get", "/api/admin/users"),
    ("post", "/api/admin/users"),
    ("get", "/api/admin/users/1"),
    ("patch", "/api/admin/users/1"),
    ("delete", "/api/admin/users/1"),
])
def test_user_admin_needs_login_then_the_admin_role(app, auth, client, method, path):
    response = getattr(client, method)(path, json={})
    assert response.status_code == 401
    for who in ("staff", "seller1"):
        auth.login(who)
        response = getattr(client, method)(path, json={})
        assert response.status_code == 403, who
        assert response.json["error"]["code"] == "forbidden"
        auth.logout()


def test_unknown_route_and_wrong_method_keep_the_error_shape(admin):
    missing = admin.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong = admin.put("/api/admin/users/1", json={})
    assert wrong.status_code == 405 and wrong.json["error"]["code"] == "method_not_allowed"


def test_a_duplicate_racing_past_the_check_is_still_409(app, admin, monkeypatch):
    from app.services import user_service
    monkeypatch.setattr(user_service, "_ensure_unique", lambda *args, **kwargs: None)
    before = user_count(app)
    response = admin.post("/api/admin/users", json=new_user(username="ADMIN"))
    assert response.status_code == 409 and response.json["error"]["code"] == "duplicate"
    assert user_count(app) == before

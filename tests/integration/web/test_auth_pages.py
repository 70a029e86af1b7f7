"""Logging in and out through the pages, the front door, CSRF, and error pages."""
import re

import pytest

from tests.support.pages import field_error


def test_the_front_door_sends_visitors_to_the_login_page(pages):
    response = pages.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    response = pages.get("/calls?status=answered")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/calls?status%3Danswered"


@pytest.mark.parametrize("who", ["admin", "staff", "seller1"])
def test_each_role_lands_on_its_dashboard(pages, who):
    response = pages.login(who)
    assert response.headers["Location"] == "/dashboard"
    assert pages.get("/").headers["Location"].endswith("/dashboard")
    page = pages.get("/dashboard").get_data(as_text=True)
    assert "Live dashboard" in page
    assert ("The whole platform" in page) == (who != "seller1")


def test_login_shares_the_session_with_the_api(pages, client):
    pages.login("seller1")
    assert client.get("/api/auth/me").json["username"] == "seller1"


def test_login_goes_back_where_the_visitor_was_but_never_off_site(pages):
    pages.get("/login")
    response = pages.post("/login?next=/calls", {"username": "admin", "password": "admin-password-2026"})
    assert response.headers["Location"] == "/calls"
    pages.post("/logout")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = pages.post(f"/login?next={target}",
                              {"username": "admin", "password": "admin-password-2026"})
        assert response.headers["Location"] == "/dashboard", target
        pages.post("/logout")


def test_wrong_credentials_show_one_message_and_keep_the_username(pages):
    response = pages.post("/login", {"username": "seller1", "password": "not-the-password"})
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Invalid username or password." in html
    assert 'value="seller1"' in html and "not-the-password" not in html
    assert pages.get("/dashboard").status_code == 302  # still logged out


def test_an_empty_login_form_names_the_missing_fields(pages):
    response = pages.post("/login", {"username": "", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, "f-username") and field_error(html, "f-password")


def test_logout_needs_a_post_with_the_token_and_ends_the_session(pages, client):
    pages.login("staff")
    assert client.get("/logout").status_code == 405
    refused = pages.post("/logout", csrf=False)
    assert refused.status_code == 400 and "form has expired" in refused.get_data(as_text=True)
    assert pages.get("/dashboard").status_code == 200
    response = pages.post("/logout")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert pages.get("/dashboard").status_code == 302


def test_every_page_form_post_needs_the_csrf_token(app, pages):
    """Every non-API route that takes a POST refuses one without the token (400, HTML)."""
    pages.login("admin")
    posts = [rule for rule in app.url_map.iter_rules()
             if "POST" in rule.methods and not rule.rule.startswith("/api")]
    assert len(posts) >= 15
    for rule in posts:
        url = re.sub(r"<(?:[^:>]+:)?[^>]+>", "1", rule.rule)
        response = pages.post(url, {}, csrf=False)
        assert response.status_code == 400, rule.rule
        assert response.mimetype == "text/html", rule.rule


def test_the_api_is_exempt_from_the_form_token(client, auth):
    auth.login("seller1")
    response = client.post("/api/seller/campaigns", json={"name": "Via the API"})
    assert response.status_code == 201


def test_pages_answer_html_errors_and_the_api_keeps_its_json(pages, client):
    pages.login("seller1")
    missing = pages.get("/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "Not found" in missing.get_data(as_text=True)
    forbidden = pages.get("/admin/users")
    assert forbidden.status_code == 403 and forbidden.mimetype == "text/html"
    api_missing = client.get("/api/no-such-thing")
    assert api_missing.status_code == 404
    assert api_missing.json["error"]["code"] == "not_found"
    api_forbidden = client.get("/api/admin/users")
    assert api_forbidden.status_code == 403 and api_forbidden.json["error"]["code"] == "forbidden"


def test_pages_carry_a_strict_content_security_policy(pages):
    response = pages.get("/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in response.get_data(as_text=True)  # no inline script anywhere


def test_staff_see_no_user_administration(pages):
    pages.login("staff")
    html = pages.get("/dashboard").get_data(as_text=True)
    assert 'href="/admin/users"' not in html and 'href="/clients"' in html
    assert pages.get("/admin/users").status_code == 403
    assert pages.get("/admin/users/new").status_code == 403
    assert pages.get("/campaigns").status_code == 403  # seller pages are the sellers'


@pytest.mark.parametrize("path", ["/dids/99999999999", "/campaigns/99999999999",
                                  "/clients/99999999999", "/carriers/99999999999",
                                  "/admin/users/99999999999"])
def test_ids_past_postgresqls_integer_are_404_not_500(pages, path):
    pages.login("admin" if path.startswith(("/clients", "/carriers", "/admin")) else "seller1")
    response = pages.get(path)
    assert response.status_code == 404

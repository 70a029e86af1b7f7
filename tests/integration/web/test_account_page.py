"""Changing one's own password."""
from tests.support.logins import SAMPLE_LOGINS
from tests.support.pages import field_error
from tests.support.responses import remember_secret

NEW_PASSWORD = remember_secret("a-brand-new-password-2026")


def change(pages, current, new, confirm=None):
    return pages.post("/account", {"current_password": current, "new_password": new,
                                   "confirm_password": new if confirm is None else confirm})


def test_the_account_page_shows_who_you_are(pages):
    pages.login("seller1")
    html = pages.get("/account").get_data(as_text=True)
    assert "seller1@acmeleads.example" in html and "Acme Leads" in html


def test_a_wrong_current_password_is_refused_beside_its_field(pages, client):
    pages.login("seller1")
    response = change(pages, "wrong-password-123", NEW_PASSWORD)
    assert response.status_code == 422
    assert "not your current password" in field_error(response.get_data(as_text=True),
                                                      "f-current-password")
    assert client.post("/api/auth/login", json={"username": "seller1",
                                                "password": SAMPLE_LOGINS["seller1"][1]}).status_code == 200


def test_a_short_or_mismatched_new_password_is_refused(pages):
    pages.login("seller1")
    html = change(pages, SAMPLE_LOGINS["seller1"][1], "short").get_data(as_text=True)
    assert "12 to 256 characters" in field_error(html, "f-new-password")
    html = change(pages, SAMPLE_LOGINS["seller1"][1], NEW_PASSWORD, "something-else-entirely").get_data(as_text=True)
    assert "Does not match" in field_error(html, "f-confirm-password")


def test_changing_the_password_keeps_this_session_and_the_new_one_works(pages, app):
    pages.login("seller1")
    response = change(pages, SAMPLE_LOGINS["seller1"][1], NEW_PASSWORD)
    assert response.status_code == 302
    assert "password has been changed" in pages.get("/account").get_data(as_text=True)
    other = app.test_client()
    assert other.post("/api/auth/login", json={"username": "seller1",
                                               "password": NEW_PASSWORD}).status_code == 200

"""Browser tests' helpers: fields by label, logging in, screenshots."""
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.support.logins import SAMPLE_LOGINS
from tests.support.screenshots import SCREENSHOTS


def field(scope, label: str):
    """The control labelled exactly `label` (a required field's label ends with " *")."""
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def log_in(page, who: str) -> None:
    username, password = SAMPLE_LOGINS[who]
    page.goto("/login")
    field(page, "Username or email").fill(username)
    field(page, "Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Live dashboard")).to_be_visible()


def screenshot(target, name: str, **options) -> Path:
    """A page's or an element's picture (the README's, with `python3 dev.py screenshots`)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    target.screenshot(path=str(path), animations="disabled", **options)
    return path

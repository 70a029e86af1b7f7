"""Fixtures for the page tests: a test client that posts forms the way a browser does."""
import re
from html import unescape

import pytest
from tests.integration.api.conftest import sql  # noqa: F401  (the same fixture)
from tests.conftest import SAMPLE_LOGINS

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


class Pages:
    """GETs pages and posts their forms with the CSRF token a page carries."""

    def __init__(self, client):
        self.client = client
        self._token = None

    def get(self, url, **kwargs):
        response = self.client.get(url, **kwargs)
        self._remember_token(response)
        return response

    def _remember_token(self, response) -> None:
        if response.mimetype == "text/html":  # never read a streamed export here
            match = CSRF_INPUT.search(response.get_data(as_text=True))
            if match:
                self._token = match.group(1)

    def token(self) -> str:
        if self._token is None:
            self.get("/login")
        return self._token

    def post(self, url, data=None, *, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token())
        response = self.client.post(url, data=data, **kwargs)
        self._remember_token(response)
        return response

    def login(self, who: str, password: str | None = None):
        username, sample_password = SAMPLE_LOGINS.get(who, (who, None))
        response = self.post("/login", {"username": username,
                                        "password": password or sample_password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response


@pytest.fixture
def pages(client):
    return Pages(client)


def field_error(html: str, field_id: str) -> str | None:
    """The text of the error shown right after the field `field_id`, if any."""
    match = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">(.*?)</p>', html,
                      re.S)
    return unescape(match.group(1)).strip() if match else None

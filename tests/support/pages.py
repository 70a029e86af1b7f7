"""Page tests' helpers: a test client that posts forms the way a browser does, the error shown
beside a field, and a complete client form."""
import re
from html import unescape

from tests.support.logins import SAMPLE_LOGINS
from tests.support.responses import remember_secret

SIP_SECRET = remember_secret("delta-outbound-secret-77")
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


def field_error(html: str, field_id: str) -> str | None:
    """The text of the error shown right after the field `field_id`, if any."""
    match = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">(.*?)</p>', html,
                      re.S)
    return unescape(match.group(1)).strip() if match else None


def client_form(**overrides):
    form = {"client_identifier": "delta-cc", "name": "Delta Dialers", "department": "Solar",
            "status": "active", "notes": "", "pjsip.mode": "static",
            "pjsip.contact_uri": "sip:queue@pbx.delta.example:5060",
            "pjsip.outbound_auth": ["", "on"], "pjsip.outbound_auth.username": "capconduit",
            "pjsip.outbound_auth.password": SIP_SECRET, "pjsip.transport": "transport-udp",
            "pjsip.codecs": "alaw, ulaw", "pjsip.dtmf_mode": "info",
            "pjsip.identify_ips": "198.51.100.77\n203.0.113.64/28", "pjsip.max_contacts": "1",
            "pjsip.inbound_auth.username": "", "pjsip.inbound_auth.password": "",
            "pjsip.callerid": "", "pjsip.from_user": "", "pjsip.from_domain": "",
            "pjsip.send_pai": "", "pjsip.nat": ["", "on"]}
    form.update(overrides)
    return form

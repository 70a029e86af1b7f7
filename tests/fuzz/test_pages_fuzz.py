"""Page fuzzing: the API fuzzer (schemathesis) only sees OpenAPI operations, so the
pages' query strings and form posts are fuzzed here, with Hypothesis, as each role.

Every GET page of the app (found in its URL map, so a new page is covered without a line here)
is requested with hostile query strings: the names the pages read plus random ones, values
with control characters, CR/LF, NUL, huge or negative numbers, long text, broken percent
escapes and bytes that are not UTF-8. Every form page is posted hostile values for the fields
its own form shows, with a valid CSRF token. No answer may be a 5xx; a 4xx from a page is an
HTML page.
"""
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from tests.support.logins import SAMPLE_LOGINS

pytestmark = pytest.mark.slow

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
FIELD = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"')
QUERY_NAMES = ["next", "cursor", "page", "per_page", "q", "status", "role", "mode", "from", "to",
               "campaign_id", "client_id", "did", "caller", "seller_id", "tz", "part", "limit",
               "logged_out", "at", "caller_id", "unlink"]
NEVER_POSTED = {"/logout"}  # ends the session the run needs (its own test covers it)
# scripts/fuzz_api.py --pages N runs this file with N examples per page.
SETTINGS = settings(max_examples=int(os.environ.get("PAGE_FUZZ_EXAMPLES", 12)), deadline=None, derandomize=True, database=None,
                    print_blob=False, suppress_health_check=list(HealthCheck))

hostile_text = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.sampled_from(["\r\nSet-Cookie: x=1", "/\r\nLocation: //evil", "\x00", "%00", "%0d%0a",
                     "/\u2028x", "//evil.example", "/\\evil", "\x1b[31m", "-1", "0",
                     str(2**31), str(2**63), "9" * 5000, "1e999", "NaN", "2026-02-30",
                     "99999-01-01", "1" * 300, "a" * 5000, "%", "%zz", "[]", "{}"]),
    st.integers(min_value=-2**80, max_value=2**80).map(str),
)


def _login(client, who):
    username, password = SAMPLE_LOGINS[who]
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": CSRF_INPUT.search(page).group(1)})
    assert response.status_code == 302


def _page_rules(app, method):
    rules = []
    for rule in app.url_map.iter_rules():
        if (rule.rule.startswith("/api") or rule.endpoint == "static" or not rule.endpoint.startswith("web_")
                or method not in rule.methods):
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = re.sub(r"<[^>]*%s>" % argument, "2", path)
        rules.append(path)
    return sorted(set(rules))


def _who(path):
    return "seller1" if path.startswith(("/dids", "/campaigns")) else "admin"


def _check(response):
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    if response.status_code >= 400 and response.mimetype != "application/json":
        assert response.mimetype == "text/html"


def test_every_page_is_fuzzed(app):
    assert len(_page_rules(app, "GET")) >= 15 and len(_page_rules(app, "POST")) >= 10


def _get_paths():
    from app import create_app  # the URL map only: no database needed
    return _page_rules(create_app("testing", {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://unused/x"}),
                       "GET")


def _post_paths():
    from app import create_app
    return [path for path in _page_rules(
        create_app("testing", {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://unused/x"}), "POST")
        if path not in NEVER_POSTED]


@pytest.mark.parametrize("path", _get_paths())
def test_fuzzed_query_strings_never_reach_a_500(app, path):
    client = app.test_client()
    _login(client, _who(path))

    @SETTINGS
    @given(pairs=st.lists(st.tuples(st.sampled_from(QUERY_NAMES) | st.text(max_size=8), hostile_text),
                          max_size=6),
           raw=st.binary(max_size=40))
    def run(pairs, raw):
        _check(client.get(path, query_string=[(k, v) for k, v in pairs]))
        # bytes that need not be UTF-8 nor valid escapes, as a server hands them over
        _check(client.get(path, environ_overrides={"QUERY_STRING": raw.decode("latin-1")}))

    run()


@pytest.mark.parametrize("path", _post_paths())
def test_fuzzed_form_posts_never_reach_a_500(app, path):
    client = app.test_client()
    _login(client, _who(path))
    form_page = client.get(path)
    html = form_page.get_data(as_text=True) if form_page.mimetype == "text/html" else ""
    fields = sorted(set(FIELD.findall(html)) - {"csrf_token"}) or ["name", "status", "password"]

    @SETTINGS
    @given(values=st.lists(st.tuples(st.sampled_from(fields), hostile_text), max_size=12))
    def run(values):
        token_page = client.get("/account").get_data(as_text=True)
        match = CSRF_INPUT.search(token_page)
        data = [(name, value) for name, value in values]
        if match:
            data.append(("csrf_token", match.group(1)))
        _check(client.post(path, data=MultiDict(data)))

    run()


def test_fuzzed_next_targets_after_a_form_login(app):
    """`next=` after a successful form login: a same-site path or the dashboard, never a 500."""
    client = app.test_client()

    @SETTINGS
    @given(target=st.one_of(hostile_text, hostile_text.map(lambda text: "/calls" + text)))
    def run(target):
        page = client.get("/login").get_data(as_text=True)
        token = CSRF_INPUT.search(page)
        response = client.post("/login", query_string={"next": target}, data={
            "username": "admin", "password": SAMPLE_LOGINS["admin"][1],
            "csrf_token": token.group(1) if token else ""})
        _check(response)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/") and not response.headers["Location"].startswith("//")
        _check(client.get("/login", query_string={"next": target}))  # logged in: redirected
        client.post("/logout", data={"csrf_token": CSRF_INPUT.search(
            client.get("/account").get_data(as_text=True)).group(1)})

    run()

"""A newcomer's pages: every error at once, example placeholders, times labelled with the
viewer's zone (pages and CSV), the dashboard's denominators, breadcrumbs and the header."""
import csv
import io
import ipaddress
import re
from html import unescape
from pathlib import Path

from tests.support.pages import client_form, field_error


SAMPLE_DATA = (Path(__file__).resolve().parents[3] / "sample_data.sql").read_text()
DOCUMENTATION_NETWORKS = [ipaddress.ip_network(n) for n in
                          ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]  # RFC 5737


def test_the_client_form_reports_every_error_at_once(pages):
    pages.login("admin")
    html = pages.post("/clients/new", client_form(**{
        "client_identifier": "Bad Id", "name": "", "pjsip.contact_uri": ""})).get_data(as_text=True)
    assert "lowercase" in field_error(html, "f-client-identifier")
    assert field_error(html, "f-name") == "Required."
    assert "Required in static mode" in field_error(html, "f-pjsip-contact-uri")


def test_placeholders_are_documentation_examples_that_collide_with_nothing(pages):
    pages.login("admin")
    for url in ("/clients/new", "/carriers/new"):
        html = pages.get(url).get_data(as_text=True)
        placeholders = [unescape(p) for p in re.findall(r'placeholder="([^"]*)"', html)]
        examples = [p for p in placeholders if re.search(r"[\d@.]", p) and p != "HH:MM"]
        assert examples, url
        for example in examples:
            assert example.startswith("e.g. "), example
            for address in re.findall(r"\b\d+\.\d+\.\d+\.\d+(?:/\d+)?", example):
                network = ipaddress.ip_network(address, strict=False)
                assert any(network.subnet_of(d) for d in DOCUMENTATION_NETWORKS), example
                assert address.split("/")[0] not in SAMPLE_DATA, example  # no 409 when copied
            for host in re.findall(r"@([a-z0-9.-]+)", example):
                assert host.endswith("example.com") or re.match(r"\d", host), example
    css = pages.get("/assets/app.css").get_data(as_text=True)
    assert re.search(r"::placeholder \{[^}]*font-style: italic", css)


def test_call_log_times_are_labelled_with_the_viewers_zone(pages):
    pages.login("seller1")
    utc = pages.get("/calls").get_data(as_text=True)
    assert "Started <span class=\"zone\">(UTC)</span>" in utc
    pages.client.set_cookie("tz", "Europe/Paris")  # what the page's script reports
    html = pages.get("/calls").get_data(as_text=True)
    assert "Started <span class=\"zone\">(Europe/Paris)</span>" in html
    assert 'data-label="Started (Europe/Paris)"' in html
    detail = pages.get("/calls/1/detail").get_data(as_text=True)  # a row, opened
    assert "<th scope=\"col\">Ended (Europe/Paris)</th>" in detail


def test_times_outside_a_labelled_column_carry_their_zone(app):
    from app.web.formatting import local_time

    with app.test_request_context(headers={"Cookie": "tz=Europe/Paris"}):
        # a decision round's time, a registration's expiry
        assert local_time("2026-01-05T10:00:00+00:00", "%H:%M:%S", zone=True) == "11:00:00 CET"
    decision = (Path(__file__).resolve().parents[3] / "app/web/templates/_decision.html").read_text()
    assert 'r.at|local_time("%H:%M:%S", zone=True)' in decision


def test_the_csv_carries_times_in_the_viewers_zone_and_names_it(pages):
    pages.login("seller1")
    pages.client.set_cookie("tz", "Europe/Paris")
    response = pages.get("/calls/export.csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows and all(row["timezone"] == "Europe/Paris" for row in rows)
    assert all(row["started_at"].endswith(("+01:00", "+02:00")) for row in rows)


def test_the_dashboard_says_what_its_numbers_are(pages):
    pages.login("admin")
    html = pages.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Delivered / total cap" in html and "Delivered / allowed" not in html
    assert "the sum of the concurrency caps of the active links to it" in html
    assert "on a campaign's row, the sums over its active links" in html
    script = pages.get("/assets/dashboard.js").get_data(as_text=True)
    assert '" clients"' in script and 'text: c.links.length ? ""' in script


def test_breadcrumbs_end_with_the_page_and_the_header_names_the_role_once(pages):
    pages.login("seller1")
    html = pages.get("/campaigns/1").get_data(as_text=True)
    trail = re.search(r'<nav class="breadcrumbs" aria-label="Breadcrumb">(.*?)</nav>', html, re.S).group(1)
    assert re.search(r'<li><a href="/campaigns">Campaigns</a></li><li aria-current="page">Solar Leads</li>', trail)
    assert not re.search(r"/\s*</p>", html)
    assert re.search(r'seller1 <span class="role-badge">Seller</span>', html)
    pages.client.post("/logout", data={"csrf_token": pages.token()})
    pages.login("admin")
    html = pages.get("/admin/users/new").get_data(as_text=True)
    assert '<li aria-current="page">New user</li>' in html
    header = re.search(r'class="user-link".*?</a>', html, re.S).group(0)
    assert "ADMIN" not in header and "role-badge" not in header and "(admin)" in header


def test_the_client_edit_form_reports_the_sip_rules_with_the_field_errors(pages):
    pages.login("admin")
    response = pages.post("/clients/3", client_form(**{
        "client_identifier": "summit-cc", "name": "", "pjsip.mode": "register",
        "pjsip.max_contacts": "0", "pjsip.identify_ips": "", "pjsip.outbound_auth": ""}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert field_error(html, "f-name") == "Required."
    assert field_error(html, "f-pjsip-max-contacts") == (
        "At least 1 in register mode, or nothing can register.")

"""Users, clients (with their SIP endpoint) and carriers through the pages."""
import re

from tests.support.pages import SIP_SECRET, client_form, field_error
from tests.support.responses import remember_secret

USER_PASSWORD = remember_secret("carol-password-2026")


def test_admin_creates_edits_and_deactivates_a_user(pages, sql):
    pages.login("admin")
    response = pages.post("/admin/users/new", {
        "username": "carol", "email": "carol@example.com", "password": USER_PASSWORD,
        "role": "seller", "status": "active", "full_name": "Carol", "company_name": "C Leads"})
    assert response.status_code == 302
    user_id = sql("SELECT id FROM users WHERE username = 'carol'")[0][0]
    assert "carol@example.com" in pages.get("/admin/users?role=seller").get_data(as_text=True)
    edit = pages.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert USER_PASSWORD not in edit and "Leave blank to keep" in edit
    response = pages.post(f"/admin/users/{user_id}", {
        "username": "carol", "email": "carol@c-leads.example", "password": "",
        "role": "seller", "status": "active", "full_name": "Carol C", "company_name": "C Leads"})
    assert response.status_code == 302
    assert sql("SELECT email, full_name FROM users WHERE id = :i", i=user_id) == [
        ("carol@c-leads.example", "Carol C")]
    pages.post(f"/admin/users/{user_id}/status", {"status": "inactive"})
    assert sql("SELECT status FROM users WHERE id = :i", i=user_id) == [("inactive",)]


def test_user_form_errors_sit_beside_their_fields_and_nothing_is_saved(pages, sql):
    pages.login("admin")
    response = pages.post("/admin/users/new", {
        "username": "seller1", "email": "not-an-email", "password": "short", "role": "seller"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, "f-email") == "Not a valid email address."
    assert "12 to 256" in field_error(html, "f-password")
    response = pages.post("/admin/users/new", {
        "username": "SELLER1", "email": "x@example.com", "password": USER_PASSWORD, "role": "seller"})
    assert field_error(response.get_data(as_text=True), "f-username") == "Already taken."
    assert sql("SELECT count(*) FROM users") == [(4,)]


def test_the_last_admin_cannot_be_deactivated(pages, sql):
    pages.login("admin")
    response = pages.post("/admin/users/1/status", {"status": "inactive"}, follow_redirects=True)
    assert "last active admin" in response.get_data(as_text=True)
    assert sql("SELECT status FROM users WHERE id = 1") == [("active",)]


def test_a_client_created_in_the_form_gets_its_endpoint_rows(pages, sql):
    pages.login("staff")
    response = pages.post("/clients/new", client_form())
    assert response.status_code == 302, response.get_data(as_text=True)
    assert sql("SELECT context, aors, outbound_auth, allow, dtmf_mode, rewrite_contact "
               "FROM ps_endpoints WHERE id = 'delta-cc'") == [
        ("cc-from-clients", "delta-cc", "delta-cc", "alaw,ulaw", "info", "yes")]
    assert sql("SELECT contact FROM ps_aors WHERE id = 'delta-cc'") == [
        ("sip:queue@pbx.delta.example:5060",)]
    assert sql("SELECT username, password FROM ps_auths WHERE id = 'delta-cc'") == [
        ("capconduit", SIP_SECRET)]
    assert sql("SELECT count(*) FROM ps_endpoint_id_ips WHERE endpoint = 'delta-cc'") == [(2,)]
    page = pages.get(response.headers["Location"]).get_data(as_text=True)
    assert SIP_SECRET not in page and "A password is set" in page


def test_editing_a_client_with_a_blank_password_keeps_it(pages, sql):
    pages.login("admin")
    response = pages.post("/clients/1", client_form(**{
        "client_identifier": "acme-cc", "name": "Acme Call Center",
        "pjsip.contact_uri": "sip:agent@pbx.acme.example:5070",
        "pjsip.outbound_auth.password": "", "pjsip.identify_ips": ""}))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert sql("SELECT contact FROM ps_aors WHERE id = 'acme-cc'") == [("sip:agent@pbx.acme.example:5070",)]
    assert sql("SELECT password FROM ps_auths WHERE id = 'acme-cc'") == [("acme-sample-sip-secret",)]


def test_client_errors_show_beside_the_sip_fields_and_nothing_is_written(pages, sql):
    pages.login("admin")
    before = sql("SELECT (SELECT count(*) FROM clients), (SELECT count(*) FROM ps_endpoints)")
    response = pages.post("/clients/new", client_form(**{
        "client_identifier": "Bad Id", "pjsip.contact_uri": "http://nope",
        "pjsip.codecs": "ulaw, mp3", "pjsip.identify_ips": "300.1.1.1"}))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "lowercase" in field_error(html, "f-client-identifier")
    assert "sip:" in field_error(html, "f-pjsip-contact-uri")
    assert "Entry 2 (mp3)" in field_error(html, "f-pjsip-codecs")
    assert field_error(html, "f-pjsip-identify-ips")
    assert SIP_SECRET not in html
    # A rule of the service (a static client needs a contact) lands beside its field too.
    html = pages.post("/clients/new", client_form(**{"pjsip.contact_uri": ""})).get_data(as_text=True)
    assert "Required in static mode" in field_error(html, "f-pjsip-contact-uri")
    # So does a clash with another endpoint's address (409).
    html = pages.post("/clients/new", client_form(**{"pjsip.identify_ips": "203.0.113.20"})).get_data(as_text=True)
    assert "bluesky-cc" in field_error(html, "f-pjsip-identify-ips")
    assert sql("SELECT (SELECT count(*) FROM clients), (SELECT count(*) FROM ps_endpoints)") == before


def test_a_registering_client_and_its_one_time_password(pages, sql):
    pages.login("admin")
    response = pages.post("/clients/new", client_form(**{
        "client_identifier": "echo-cc", "pjsip.mode": "register", "pjsip.max_contacts": "2",
        "pjsip.identify_ips": ""}))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert sql("SELECT contact, max_contacts FROM ps_aors WHERE id = 'echo-cc'") == [(None, 2)]
    # The outbound auth of the form applies in register mode too (a PBX that challenges us).
    assert sql("SELECT auth, outbound_auth FROM ps_endpoints WHERE id = 'echo-cc'") == [
        ("echo-cc", "echo-cc.out")]
    assert sql("SELECT username, password FROM ps_auths WHERE id = 'echo-cc.out'") == [
        ("capconduit", SIP_SECRET)]
    client_id = sql("SELECT id FROM clients WHERE client_identifier = 'echo-cc'")[0][0]
    page = pages.post(f"/clients/{client_id}/sip_password", {})
    secret = sql("SELECT password FROM ps_auths WHERE id = 'echo-cc'")[0][0]
    assert page.status_code == 200 and secret in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert secret not in pages.get(f"/clients/{client_id}").get_data(as_text=True)


def test_carriers_admins_change_them_staff_only_read_them(pages, sql):
    pages.login("admin")
    response = pages.post("/carriers/new", {"name": "Second Carrier", "status": "active",
                                            "identify_ips": "192.0.2.10", "codecs": "ulaw",
                                            "transport": "transport-udp", "dtmf_mode": "rfc4733"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert sql("SELECT context FROM ps_endpoints WHERE id = 'carrier-2'") == [("cc-inbound",)]
    bad = pages.post("/carriers/new", {"name": "", "identify_ips": "", "codecs": "ulaw"})
    assert bad.status_code == 422 and field_error(bad.get_data(as_text=True), "f-identify-ips")
    pages.post("/logout")
    pages.login("staff")
    html = pages.get("/carriers/2").get_data(as_text=True)
    assert "read-only" in html and "<fieldset disabled>" in html
    assert pages.post("/carriers/2", {"name": "Renamed"}).status_code == 403
    assert pages.get("/carriers/new").status_code == 403
    assert sql("SELECT name FROM carriers WHERE id = 2") == [("Second Carrier",)]


def test_sellers_cannot_open_client_or_carrier_pages(pages):
    pages.login("seller1")
    for url in ("/clients", "/clients/1", "/carriers", "/admin/users"):
        assert pages.get(url).status_code == 403, url


def test_forms_show_the_limits_of_the_schema_that_loads_them(pages):
    from app.schemas.client_schemas import ClientCreateSchema
    from app.schemas.user_schemas import UserCreateSchema
    from app.web.forms import field_limits

    pages.login("admin")
    html = pages.get("/admin/users/new").get_data(as_text=True)
    username = re.search(r'<input type="text" id="f-username"[^>]*>', html).group(0)
    limits = field_limits(UserCreateSchema())["username"]
    assert f'maxlength="{limits["maxlength"]}"' in username
    assert f'minlength="{limits["minlength"]}"' in username
    html = pages.get("/clients/new").get_data(as_text=True)
    callerid = re.search(r'<input type="text" id="f-pjsip-callerid"[^>]*>', html).group(0)
    assert f'maxlength="{field_limits(ClientCreateSchema())["pjsip.callerid"]["maxlength"]}"' in callerid
    assert "At most 40 characters" in html  # the hint reads the same limit

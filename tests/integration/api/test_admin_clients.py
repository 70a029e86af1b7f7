"""/api/admin/clients: call centers and their PJSIP endpoints (admins and staff)."""
import pytest

from app.services import client_service, pjsip_service
from app.services.sip_syntax import CODECS
from tests.support.responses import remember_secret

OUTBOUND_PASSWORD = remember_secret("static-pbx-secret-9")
OTHER_PASSWORD = remember_secret("changed-pbx-secret-10")
GIVEN_INBOUND = remember_secret("given-register-secret-11")
# The sample clients' SIP passwords: no response may ever carry them either.
remember_secret("acme-sample-sip-secret")
remember_secret("summit-sample-sip-secret")

REALTIME_TABLES = ("ps_endpoints", "ps_aors", "ps_auths", "ps_endpoint_id_ips")


def static_client(**overrides):
    body = {"client_identifier": "new-cc", "name": "New Call Center", "department": "Solar",
            "notes": "Prefers ulaw",
            "pjsip": {"contact_uri": "sip:agent@pbx.new.example:5060",
                      "outbound_auth": {"username": "capconduit",
                                        "password": OUTBOUND_PASSWORD}}}
    pjsip = overrides.pop("pjsip", {})
    body.update(overrides)
    body["pjsip"] = {**body["pjsip"], **pjsip}
    return body


def register_client(**overrides):
    body = {"client_identifier": "reg-cc", "name": "Registering CC", "pjsip": {"mode": "register"}}
    pjsip = overrides.pop("pjsip", {})
    body.update(overrides)
    body["pjsip"] = {**body["pjsip"], **pjsip}
    return body


@pytest.fixture
def rows(sql):
    """The realtime rows of one endpoint id, straight from the database."""
    def read(endpoint_id: str) -> dict:
        found = {}
        for table in REALTIME_TABLES:
            column = "endpoint" if table == "ps_endpoint_id_ips" else "id"
            found[table] = sql(f"SELECT id FROM {table} WHERE {column} = :id ORDER BY id",
                               id=endpoint_id)
        return found

    return read


@pytest.fixture
def counts(sql):
    def count() -> dict:
        tables = ("clients", "campaign_client_settings", "ps_contacts") + REALTIME_TABLES
        return {table: sql(f"SELECT count(*) FROM {table}")[0][0] for table in tables}

    return count


# --- create and read ----------------------------------------------------------------------

def test_admin_creates_a_static_client_with_its_endpoint(admin, rows, sql):
    response = admin.post("/api/admin/clients", json=static_client(
        pjsip={"identify_ips": ["192.0.2.10", "192.0.2.64/26"], "dtmf_mode": "info",
               "callerid": '"New CC" <+14155550199>', "send_pai": True}))
    assert response.status_code == 201, response.json
    created = response.json
    assert created["client_identifier"] == "new-cc" and created["status"] == "active"
    assert {"id", "name", "department", "notes", "created_at", "updated_at"} <= set(created)
    assert created["pjsip"] == {
        "mode": "static", "contact_uri": "sip:agent@pbx.new.example:5060", "max_contacts": 0,
        "transport": "transport-udp", "codecs": ["ulaw", "alaw"], "dtmf_mode": "info",
        "identify_ips": ["192.0.2.10", "192.0.2.64/26"],
        "outbound_auth": {"username": "capconduit", "has_password": True},
        "inbound_auth": None, "callerid": '"New CC" <+14155550199>', "from_user": None,
        "from_domain": None, "send_pai": True, "nat": False, "registration": None,
    }
    assert rows("new-cc") == {"ps_endpoints": [("new-cc",)], "ps_aors": [("new-cc",)],
                              "ps_auths": [("new-cc",)],
                              "ps_endpoint_id_ips": [("new-cc",), ("new-cc.2",)]}
    assert sql("SELECT password FROM ps_auths WHERE id = 'new-cc'") == [(OUTBOUND_PASSWORD,)]
    assert admin.get(f"/api/admin/clients/{created['id']}").json == created


def test_static_client_without_outbound_auth_has_no_auth_row(admin, rows, sql):
    body = static_client()
    del body["pjsip"]["outbound_auth"]
    created = admin.post("/api/admin/clients", json=body).json
    assert created["pjsip"]["outbound_auth"] is None
    assert rows("new-cc")["ps_auths"] == []
    assert sql("SELECT outbound_auth, auth FROM ps_endpoints WHERE id = 'new-cc'") == [
        (None, None)]


@pytest.mark.parametrize("contact, transport", [
    ("sip:agent@pbx.new.example;transport=tcp", "transport-tcp"),
    ("sip:agent@pbx.new.example;transport=TCP", "transport-tcp"),
    ("sip:agent@[2001:db8::5]:5060", "transport-udp"),
    ("sip:203.0.113.7", "transport-udp"),
])
def test_transport_follows_the_contact_unless_given(admin, contact, transport):
    created = admin.post("/api/admin/clients",
                         json=static_client(pjsip={"contact_uri": contact})).json
    assert created["pjsip"]["contact_uri"] == contact
    assert created["pjsip"]["transport"] == transport


def test_register_client_gets_inbound_credentials_and_no_contact(admin, rows, sql):
    response = admin.post("/api/admin/clients", json=register_client())
    assert response.status_code == 201, response.json
    sip = response.json["pjsip"]
    assert sip["mode"] == "register" and sip["contact_uri"] is None
    assert sip["max_contacts"] == 1
    assert sip["inbound_auth"] == {"username": "reg-cc", "has_password": True}
    assert sip["outbound_auth"] is None
    assert sip["registration"] == {"reachable": False, "contacts": []}
    assert sql("SELECT aors, auth, outbound_auth FROM ps_endpoints WHERE id = 'reg-cc'") == [
        ("reg-cc", "reg-cc", None)]
    [(password,)] = sql("SELECT password FROM ps_auths WHERE id = 'reg-cc'")
    assert len(password) >= 32  # generated, random, and never shown
    remember_secret(password)
    assert admin.get(f"/api/admin/clients/{response.json['id']}").status_code == 200


def test_register_client_with_given_credentials(admin, sql):
    created = admin.post("/api/admin/clients", json=register_client(pjsip={
        "max_contacts": 3, "inbound_auth": {"username": "reg-user", "password": GIVEN_INBOUND}}))
    assert created.status_code == 201
    assert created.json["pjsip"]["inbound_auth"] == {"username": "reg-user",
                                                     "has_password": True}
    assert sql("SELECT username, password FROM ps_auths WHERE id = 'reg-cc'") == [
        ("reg-user", GIVEN_INBOUND)]
    assert sql("SELECT max_contacts, contact FROM ps_aors WHERE id = 'reg-cc'") == [(3, None)]


def test_sample_clients_read_back_from_their_realtime_rows(admin):
    acme = admin.get("/api/admin/clients/1").json["pjsip"]
    assert acme["mode"] == "static"
    assert acme["contact_uri"] == "sip:agent@pbx.acme.example:5060"
    assert acme["outbound_auth"] == {"username": "capconduit", "has_password": True}
    bluesky = admin.get("/api/admin/clients/2").json["pjsip"]
    assert bluesky["identify_ips"] == ["203.0.113.20"] and bluesky["outbound_auth"] is None
    summit = admin.get("/api/admin/clients/3").json["pjsip"]
    assert summit["mode"] == "register" and summit["max_contacts"] == 2
    assert summit["codecs"] == ["ulaw", "g722"]
    assert summit["inbound_auth"] == {"username": "summit-cc", "has_password": True}


def test_a_client_without_endpoint_rows_shows_null_pjsip(admin, sql):
    sql("INSERT INTO clients (client_identifier, name) VALUES ('bare-cc', 'Bare')")
    listed = admin.get("/api/admin/clients?q=bare").json["items"]
    assert [c["pjsip"] for c in listed] == [None]


def test_registration_shows_only_unexpired_contacts_and_is_never_written(admin, sql, counts):
    sql("INSERT INTO ps_contacts (id, uri, expiration_time, user_agent, endpoint, reg_server) "
        "VALUES ('summit-cc^3B@aaaa', 'sip:summit@192.0.2.7:5062^3Bob', "
        "extract(epoch FROM now())::bigint + 120, 'Yealink', 'summit-cc', 'pbx-a'), "
        "('summit-cc^3B@bbbb', 'sip:summit@192.0.2.8:5062', "
        "extract(epoch FROM now())::bigint - 10, 'Old', 'summit-cc', 'pbx-a')")
    before = counts()
    registration = admin.get("/api/admin/clients/3").json["pjsip"]["registration"]
    assert registration["reachable"] is True
    assert [c["uri"] for c in registration["contacts"]] == ["sip:summit@192.0.2.7:5062;ob"]
    assert registration["contacts"][0]["user_agent"] == "Yealink"
    admin.patch("/api/admin/clients/3", json={"name": "Summit", "pjsip": {"max_contacts": 4}})
    assert counts()["ps_contacts"] == before["ps_contacts"] == 2


# --- list -----------------------------------------------------------------------------------

def test_list_is_paginated_and_filterable(admin):
    admin.post("/api/admin/clients", json=static_client(status="inactive"))
    admin.post("/api/admin/clients", json=register_client())
    page = admin.get("/api/admin/clients?per_page=2&page=2").json
    assert page["total"] == 5 and page["pages"] == 3 and page["page"] == 2
    assert [c["client_identifier"] for c in page["items"]] == ["summit-cc", "new-cc"]
    inactive = admin.get("/api/admin/clients?status=inactive").json
    assert [c["client_identifier"] for c in inactive["items"]] == ["new-cc"]
    registering = admin.get("/api/admin/clients?mode=register").json
    assert [c["client_identifier"] for c in registering["items"]] == ["summit-cc", "reg-cc"]
    assert registering["items"][0]["pjsip"]["registration"]["reachable"] is False
    by_department = admin.get("/api/admin/clients?q=MEDICARE").json
    assert [c["client_identifier"] for c in by_department["items"]] == ["summit-cc"]
    assert admin.get("/api/admin/clients?q=_").json["total"] == 0  # wildcards are literal
    assert admin.get("/api/admin/clients?q=%25").json["total"] == 0


@pytest.mark.parametrize("query", ["status=gone", "mode=peer", "page=0", "per_page=101",
                                   "q=" + "x" * 201])
def test_bad_list_filters_are_422(admin, query):
    assert admin.get(f"/api/admin/clients?{query}").status_code == 422


def test_register_client_with_outbound_auth_has_two_auth_rows(admin, rows, sql):
    """A registering PBX that challenges our INVITEs: inbound auth `<id>` for its REGISTERs,
    outbound auth `<id>.out` for the calls we send it."""
    response = admin.post("/api/admin/clients", json=register_client(pjsip={
        "inbound_auth": {"username": "reg-user", "password": GIVEN_INBOUND},
        "outbound_auth": {"username": "capconduit", "password": OUTBOUND_PASSWORD}}))
    assert response.status_code == 201, response.json
    sip = response.json["pjsip"]
    assert sip["inbound_auth"] == {"username": "reg-user", "has_password": True}
    assert sip["outbound_auth"] == {"username": "capconduit", "has_password": True}
    assert sql("SELECT aors, auth, outbound_auth FROM ps_endpoints WHERE id = 'reg-cc'") == [
        ("reg-cc", "reg-cc", "reg-cc.out")]
    assert sql("SELECT id, auth_type::text, username, password FROM ps_auths "
               "WHERE id LIKE 'reg-cc%' ORDER BY id") == [
        ("reg-cc", "userpass", "reg-user", GIVEN_INBOUND),
        ("reg-cc.out", "userpass", "capconduit", OUTBOUND_PASSWORD)]
    client_id = response.json["id"]
    # A new registration password replaces the inbound one only.
    secret = admin.post(f"/api/admin/clients/{client_id}/sip_password", json={}).json
    remember_secret(secret["sip_secret"])
    assert sql("SELECT password FROM ps_auths WHERE id = 'reg-cc.out'") == [(OUTBOUND_PASSWORD,)]
    # PATCH merges the outbound auth field by field, and null removes it.
    patched = admin.patch(f"/api/admin/clients/{client_id}", json={"pjsip": {
        "outbound_auth": {"username": "capconduit-2"}}})
    assert patched.json["pjsip"]["outbound_auth"] == {"username": "capconduit-2",
                                                      "has_password": True}
    assert sql("SELECT username, password FROM ps_auths WHERE id = 'reg-cc.out'") == [
        ("capconduit-2", OUTBOUND_PASSWORD)]
    # A rename moves both rows.
    renamed = admin.patch(f"/api/admin/clients/{client_id}", json={"client_identifier": "reg-2"})
    assert renamed.status_code == 200, renamed.json
    assert sql("SELECT id FROM ps_auths WHERE id LIKE 'reg-%' ORDER BY id") == [
        ("reg-2",), ("reg-2.out",)]
    assert sql("SELECT auth, outbound_auth FROM ps_endpoints WHERE id = 'reg-2'") == [
        ("reg-2", "reg-2.out")]
    removed = admin.patch(f"/api/admin/clients/{client_id}",
                          json={"pjsip": {"outbound_auth": None}})
    assert removed.json["pjsip"]["outbound_auth"] is None
    assert removed.json["pjsip"]["inbound_auth"]["username"] == "reg-user"
    assert sql("SELECT id FROM ps_auths WHERE id LIKE 'reg-%'") == [("reg-2",)]
    assert sql("SELECT outbound_auth FROM ps_endpoints WHERE id = 'reg-2'") == [(None,)]
    # Added back on a PATCH, and deleted with the client.
    admin.patch(f"/api/admin/clients/{client_id}", json={"pjsip": {
        "outbound_auth": {"username": "capconduit", "password": OUTBOUND_PASSWORD}}})
    assert admin.delete(f"/api/admin/clients/{client_id}").status_code == 204
    assert sql("SELECT id FROM ps_auths WHERE id LIKE 'reg-%'") == []


def test_switching_a_register_client_with_outbound_auth_to_static(admin, sql):
    created = admin.post("/api/admin/clients", json=register_client(pjsip={
        "outbound_auth": {"username": "capconduit", "password": OUTBOUND_PASSWORD}})).json
    [(generated,)] = sql("SELECT password FROM ps_auths WHERE id = 'reg-cc'")
    remember_secret(generated)
    response = admin.patch(f"/api/admin/clients/{created['id']}", json={"pjsip": {
        "mode": "static", "contact_uri": "sip:agent@pbx.reg.example"}})
    assert response.status_code == 200, response.json
    sip = response.json["pjsip"]
    assert sip["inbound_auth"] is None
    assert sip["outbound_auth"] == {"username": "capconduit", "has_password": True}
    # The outbound auth takes the endpoint's own row again; the inbound secret is gone.
    assert sql("SELECT id, username, password FROM ps_auths WHERE id LIKE 'reg-cc%'") == [
        ("reg-cc", "capconduit", OUTBOUND_PASSWORD)]
    assert sql("SELECT auth, outbound_auth FROM ps_endpoints WHERE id = 'reg-cc'") == [
        (None, "reg-cc")]


# --- 422: every field names itself, nothing is written ----------------------------------------

TOO_LONG_PASSWORD = "p;" * 40  # 80 characters, 120 once ';' is stored as '^3B'
LONG_CONTACT = "sip:agent@pbx.example.com:5060" + ";a=b" * 56  # 254 characters, 366 encoded


@pytest.mark.parametrize("body, path", [
    (static_client(client_identifier="New-CC"), ["client_identifier"]),
    (static_client(client_identifier="x" * 41), ["client_identifier"]),
    (static_client(client_identifier="has space"), ["client_identifier"]),
    (static_client(client_identifier="carrier-9"), ["client_identifier"]),
    (static_client(client_identifier=""), ["client_identifier"]),
    (static_client(name=""), ["name"]),
    (static_client(name="x" * 201), ["name"]),
    (static_client(status="paused"), ["status"]),
    (static_client(unexpected=1), ["unexpected"]),
    (static_client(pjsip={"mode": "peer"}), ["pjsip", "mode"]),
    (static_client(pjsip={"contact_uri": "http://pbx.example.com"}), ["pjsip", "contact_uri"]),
    (static_client(pjsip={"contact_uri": "sip:agent:pw@pbx.example.com"}),
     ["pjsip", "contact_uri"]),
    (static_client(pjsip={"contact_uri": "sip:a@h.example,sip:b@h.example"}),
     ["pjsip", "contact_uri"]),
    (static_client(pjsip={"contact_uri": "sip:agent@pbx.example.com:99999"}),
     ["pjsip", "contact_uri"]),
    (static_client(pjsip={"contact_uri": "sip:agent@pbx example.com"}), ["pjsip", "contact_uri"]),
    (static_client(pjsip={"contact_uri": "sip:agent@pbx.example.com;transport=carrier-pigeon"}),
     ["pjsip", "contact_uri"]),
    (static_client(pjsip={"contact_uri": "sip:agent@pbx.example.com;transport=ws"}),
     ["pjsip", "contact_uri"]),
    (static_client(pjsip={"contact_uri": "sips:agent@pbx.example.com"}),  # no TLS transport
     ["pjsip", "contact_uri"]),
    (static_client(pjsip={"contact_uri": LONG_CONTACT}), ["pjsip", "contact_uri"]),
    (static_client(pjsip={"contact_uri": None}), ["pjsip", "contact_uri"]),
    (static_client(pjsip={"contact_uri": "sip:a@pbx.example.com;transport=tcp",
                          "transport": "transport-udp"}), ["pjsip", "transport"]),
    (static_client(pjsip={"transport": "transport-sctp"}), ["pjsip", "transport"]),
    (static_client(pjsip={"codecs": ["ulaw", "mp3"]}), ["pjsip", "codecs"]),
    (static_client(pjsip={"codecs": ["all"]}), ["pjsip", "codecs"]),
    (static_client(pjsip={"codecs": []}), ["pjsip", "codecs"]),
    (static_client(pjsip={"codecs": ["ulaw", "ulaw"]}), ["pjsip", "codecs"]),
    (static_client(pjsip={"codecs": list(CODECS)}), ["pjsip", "codecs"]),  # allow: varchar(200)
    (static_client(pjsip={"dtmf_mode": "rfc2833"}), ["pjsip", "dtmf_mode"]),
    (static_client(pjsip={"identify_ips": ["192.0.2.300"]}), ["pjsip", "identify_ips"]),
    (static_client(pjsip={"identify_ips": ["192.0.2.10/24"]}), ["pjsip", "identify_ips"]),
    (static_client(pjsip={"identify_ips": ["0.0.0.0/0"]}), ["pjsip", "identify_ips"]),
    (static_client(pjsip={"identify_ips": ["pbx.example.com"]}), ["pjsip", "identify_ips"]),
    (static_client(pjsip={"identify_ips": ["192.0.2.0/24", "192.0.2.9"]}),
     ["pjsip", "identify_ips"]),
    (static_client(pjsip={"identify_ips": [f"192.0.2.{n}" for n in range(1, 18)]}),
     ["pjsip", "identify_ips"]),
    (static_client(pjsip={"max_contacts": -1}), ["pjsip", "max_contacts"]),
    (static_client(pjsip={"outbound_auth": {"username": "capconduit"}}),
     ["pjsip", "outbound_auth", "password"]),
    (static_client(pjsip={"outbound_auth": {"username": "u" * 41, "password": "secret-12"}}),
     ["pjsip", "outbound_auth", "username"]),
    (static_client(pjsip={"outbound_auth": {"username": "a b", "password": "secret-12"}}),
     ["pjsip", "outbound_auth", "username"]),
    (static_client(pjsip={"outbound_auth": {"username": "u", "password": "p" * 81}}),
     ["pjsip", "outbound_auth", "password"]),
    (static_client(pjsip={"outbound_auth": {"username": "u", "password": TOO_LONG_PASSWORD}}),
     ["pjsip", "outbound_auth", "password"]),
    (static_client(pjsip={"outbound_auth": {"username": "u", "password": " padded"}}),
     ["pjsip", "outbound_auth", "password"]),
    (static_client(pjsip={"inbound_auth": {"username": "u"}}), ["pjsip", "inbound_auth"]),
    (static_client(pjsip={"callerid": "x" * 41}), ["pjsip", "callerid"]),
    (static_client(pjsip={"callerid": "tab\there"}), ["pjsip", "callerid"]),
    (static_client(pjsip={"from_user": "a@b"}), ["pjsip", "from_user"]),
    (static_client(pjsip={"from_domain": "not a host"}), ["pjsip", "from_domain"]),
    (static_client(pjsip={"from_domain": "d" * 41}), ["pjsip", "from_domain"]),
    (static_client(pjsip={"nat": "sometimes"}), ["pjsip", "nat"]),
    (static_client(pjsip={"unknown": 1}), ["pjsip", "unknown"]),
    (register_client(pjsip={"contact_uri": "sip:agent@pbx.example.com"}),
     ["pjsip", "contact_uri"]),
    (register_client(pjsip={"max_contacts": 0}), ["pjsip", "max_contacts"]),
    (register_client(pjsip={"max_contacts": 101}), ["pjsip", "max_contacts"]),
    (register_client(pjsip={"outbound_auth": {"username": "u"}}),
     ["pjsip", "outbound_auth", "password"]),
    (register_client(pjsip={"outbound_auth": {"username": "u", "password": TOO_LONG_PASSWORD}}),
     ["pjsip", "outbound_auth", "password"]),
    (register_client(pjsip={"inbound_auth": None}), ["pjsip", "inbound_auth"]),
    (register_client(pjsip={"inbound_auth": {"password": "x" * 81}}),
     ["pjsip", "inbound_auth", "password"]),
])
def test_invalid_fields_are_422_naming_the_field_and_write_nothing(admin, counts, body, path):
    before = counts()
    response = admin.post("/api/admin/clients", json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_failed"
    details = response.json["error"]["details"]
    for part in path:
        assert part in details, (path, response.json)
        details = details[part]
    assert counts() == before


@pytest.mark.parametrize("missing", ["client_identifier", "name", "pjsip"])
def test_required_fields(admin, missing):
    body = static_client()
    del body[missing]
    response = admin.post("/api/admin/clients", json=body)
    assert response.status_code == 422 and missing in response.json["error"]["details"]


def test_static_mode_needs_a_contact(admin):
    body = static_client()
    del body["pjsip"]["contact_uri"]
    response = admin.post("/api/admin/clients", json=body)
    assert response.status_code == 422
    assert "contact_uri" in response.json["error"]["details"]["pjsip"]


@pytest.mark.parametrize("body", ["[]", '"text"', "{not json"])
def test_malformed_bodies_are_400(admin, body):
    response = admin.post("/api/admin/clients", data=body, content_type="application/json")
    assert response.status_code == 400


# --- 409 -------------------------------------------------------------------------------------

def test_duplicate_identifier_is_409(admin, counts):
    before = counts()
    response = admin.post("/api/admin/clients", json=static_client(client_identifier="acme-cc"))
    assert response.status_code == 409
    assert response.json["error"]["code"] == "duplicate"
    assert "client_identifier" in response.json["error"]["details"]
    assert counts() == before


@pytest.mark.parametrize("statement", [
    "INSERT INTO ps_endpoints (id) VALUES ('new-cc')",
    "INSERT INTO ps_aors (id) VALUES ('new-cc')",
    "INSERT INTO ps_auths (id) VALUES ('new-cc')",
    "INSERT INTO ps_auths (id) VALUES ('new-cc.out')",
    "INSERT INTO ps_endpoint_id_ips (id, endpoint) VALUES ('new-cc.2', 'someone-else')",
])
def test_realtime_rows_already_named_like_the_client_are_409(admin, sql, counts, statement):
    sql(statement)
    before = counts()
    response = admin.post("/api/admin/clients", json=static_client())
    assert response.status_code == 409
    assert response.json["error"]["code"] == "endpoint_exists"
    assert "client_identifier" in response.json["error"]["details"]
    assert counts() == before


@pytest.mark.parametrize("address", ["198.51.100.10", "198.51.100.0/24", "203.0.113.20"])
def test_an_address_that_identifies_another_endpoint_is_409(admin, counts, address):
    before = counts()
    response = admin.post("/api/admin/clients",
                          json=static_client(pjsip={"identify_ips": [address]}))
    assert response.status_code == 409
    assert response.json["error"]["code"] == "identify_conflict"
    assert address in response.json["error"]["details"]["pjsip"]["identify_ips"]
    assert counts() == before


def test_an_inactive_carriers_addresses_stay_reserved(admin):
    assert admin.patch("/api/admin/carriers/1", json={"status": "inactive"}).status_code == 200
    response = admin.post("/api/admin/clients",
                          json=static_client(pjsip={"identify_ips": ["198.51.100.10"]}))
    assert response.status_code == 409
    assert response.json["error"]["details"]["pjsip"]["identify_ips"] == {
        "198.51.100.10": ["carrier-1"]}


# --- update ----------------------------------------------------------------------------------

def test_patch_changes_only_the_given_fields(admin, sql):
    before = admin.get("/api/admin/clients/1").json
    response = admin.patch("/api/admin/clients/1", json={"notes": "Call before 6pm"})
    assert response.status_code == 200
    after = response.json
    assert after["notes"] == "Call before 6pm"
    assert after["pjsip"] == before["pjsip"]
    assert sql("SELECT password FROM ps_auths WHERE id = 'acme-cc'") == [
        ("acme-sample-sip-secret",)]


def test_patch_merges_pjsip_field_by_field_and_keeps_the_password(admin, sql):
    sql("UPDATE ps_endpoints SET language = 'en' WHERE id = 'acme-cc'")
    response = admin.patch("/api/admin/clients/1", json={"pjsip": {
        "codecs": ["g722", "ulaw"], "outbound_auth": {"username": "acme-trunk"}}})
    assert response.status_code == 200, response.json
    sip = response.json["pjsip"]
    assert sip["codecs"] == ["g722", "ulaw"]
    assert sip["contact_uri"] == "sip:agent@pbx.acme.example:5060"
    assert sip["outbound_auth"] == {"username": "acme-trunk", "has_password": True}
    assert sql("SELECT username, password FROM ps_auths WHERE id = 'acme-cc'") == [
        ("acme-trunk", "acme-sample-sip-secret")]
    # Columns we do not manage keep what an operator set.
    assert sql("SELECT language, allow FROM ps_endpoints WHERE id = 'acme-cc'") == [
        ("en", "g722,ulaw")]


def test_patch_sets_a_new_outbound_password_and_can_remove_auth(admin, sql):
    admin.patch("/api/admin/clients/1",
                json={"pjsip": {"outbound_auth": {"password": OTHER_PASSWORD}}})
    assert sql("SELECT username, password FROM ps_auths WHERE id = 'acme-cc'") == [
        ("capconduit", OTHER_PASSWORD)]
    response = admin.patch("/api/admin/clients/1", json={"pjsip": {"outbound_auth": None}})
    assert response.json["pjsip"]["outbound_auth"] is None
    assert sql("SELECT count(*) FROM ps_auths WHERE id = 'acme-cc'") == [(0,)]
    assert sql("SELECT outbound_auth FROM ps_endpoints WHERE id = 'acme-cc'") == [(None,)]


def test_a_new_tcp_contact_brings_its_transport(admin):
    sip = admin.patch("/api/admin/clients/1", json={"pjsip": {
        "contact_uri": "sip:agent@pbx.acme.example:5060;transport=tcp"}}).json["pjsip"]
    assert sip["transport"] == "transport-tcp"
    response = admin.patch("/api/admin/clients/1", json={"pjsip": {"transport": "transport-udp"}})
    assert response.status_code == 422
    assert "transport" in response.json["error"]["details"]["pjsip"]


def test_identify_ips_are_replaced_whole(admin, sql):
    admin.patch("/api/admin/clients/2", json={"pjsip": {
        "identify_ips": ["203.0.113.21", "203.0.113.22", "2001:db8::/64"]}})
    assert sql("SELECT id, match FROM ps_endpoint_id_ips WHERE endpoint = 'bluesky-cc' "
               "ORDER BY id") == [("bluesky-cc", "203.0.113.21"),
                                  ("bluesky-cc.2", "203.0.113.22"),
                                  ("bluesky-cc.3", "2001:db8::/64")]
    admin.patch("/api/admin/clients/2", json={"pjsip": {"identify_ips": []}})
    assert sql("SELECT count(*) FROM ps_endpoint_id_ips WHERE endpoint = 'bluesky-cc'") == [(0,)]


def test_switching_static_to_register_drops_the_contact_and_keeps_outbound_auth(admin, sql):
    response = admin.patch("/api/admin/clients/1", json={"pjsip": {"mode": "register"}})
    assert response.status_code == 200, response.json
    sip = response.json["pjsip"]
    assert sip["mode"] == "register" and sip["contact_uri"] is None
    assert sip["max_contacts"] == 1
    assert sip["outbound_auth"] == {"username": "capconduit", "has_password": True}
    assert sip["inbound_auth"] == {"username": "acme-cc", "has_password": True}
    assert sql("SELECT aors, auth, outbound_auth FROM ps_endpoints WHERE id = 'acme-cc'") == [
        ("acme-cc", "acme-cc", "acme-cc.out")]
    [(password,)] = sql("SELECT password FROM ps_auths WHERE id = 'acme-cc'")
    assert password != "acme-sample-sip-secret"  # never the old outbound secret
    remember_secret(password)
    # The outbound credentials moved to their own row, unchanged.
    assert sql("SELECT username, password FROM ps_auths WHERE id = 'acme-cc.out'") == [
        ("capconduit", "acme-sample-sip-secret")]
    # Dropped on request.
    dropped = admin.patch("/api/admin/clients/1", json={"pjsip": {"mode": "static",
                                                                  "outbound_auth": None,
                                                                  "contact_uri": "sip:a@b.example"}})
    assert dropped.json["pjsip"]["outbound_auth"] is None
    assert sql("SELECT id FROM ps_auths WHERE id LIKE 'acme-cc%'") == []


def test_switching_register_to_static_needs_a_contact(admin, sql):
    response = admin.patch("/api/admin/clients/3", json={"pjsip": {"mode": "static"}})
    assert response.status_code == 422
    assert "contact_uri" in response.json["error"]["details"]["pjsip"]
    response = admin.patch("/api/admin/clients/3", json={"pjsip": {
        "mode": "static", "contact_uri": "sip:queue@summit.example"}})
    assert response.status_code == 200
    sip = response.json["pjsip"]
    assert sip["inbound_auth"] is None and sip["registration"] is None
    assert sip["max_contacts"] == 0
    assert sql("SELECT count(*) FROM ps_auths WHERE id = 'summit-cc'") == [(0,)]
    assert sql("SELECT auth FROM ps_endpoints WHERE id = 'summit-cc'") == [(None,)]


def test_renaming_moves_every_row(admin, rows, sql):
    sql("UPDATE ps_endpoints SET language = 'es' WHERE id = 'bluesky-cc'")
    response = admin.patch("/api/admin/clients/2", json={"client_identifier": "bluesky-2"})
    assert response.status_code == 200, response.json
    assert response.json["client_identifier"] == "bluesky-2"
    assert rows("bluesky-cc") == {table: [] for table in REALTIME_TABLES}
    assert rows("bluesky-2") == {"ps_endpoints": [("bluesky-2",)], "ps_aors": [("bluesky-2",)],
                                 "ps_auths": [], "ps_endpoint_id_ips": [("bluesky-2",)]}
    assert sql("SELECT aors, language FROM ps_endpoints WHERE id = 'bluesky-2'") == [
        ("bluesky-2", "es")]
    assert response.json["pjsip"]["identify_ips"] == ["203.0.113.20"]


def test_renaming_a_client_with_auth_moves_it(admin, rows, sql):
    admin.patch("/api/admin/clients/1", json={"client_identifier": "acme-2"})
    assert sql("SELECT outbound_auth FROM ps_endpoints WHERE id = 'acme-2'") == [("acme-2",)]
    assert sql("SELECT password FROM ps_auths WHERE id = 'acme-2'") == [
        ("acme-sample-sip-secret",)]
    assert rows("acme-cc") == {table: [] for table in REALTIME_TABLES}


@pytest.mark.parametrize("identifier", ["bluesky-cc", "carrier-1"])
def test_renaming_to_a_taken_identifier_is_refused(admin, rows, identifier):
    response = admin.patch("/api/admin/clients/1", json={"client_identifier": identifier})
    assert response.status_code in (409, 422)
    assert "client_identifier" in response.json["error"]["details"]
    assert admin.get("/api/admin/clients/1").json["client_identifier"] == "acme-cc"
    assert rows("acme-cc")["ps_endpoints"] == [("acme-cc",)]


def test_update_with_bad_fields_is_422_and_changes_nothing(admin, counts):
    before_doc, before = admin.get("/api/admin/clients/1").json, counts()
    response = admin.patch("/api/admin/clients/1", json={
        "name": "Changed", "pjsip": {"codecs": ["ulaw"], "dtmf_mode": "loud"}})
    assert response.status_code == 422
    assert admin.get("/api/admin/clients/1").json == before_doc
    assert counts() == before


@pytest.mark.parametrize("body", [{"pjsip": None}, {"name": None}, {"status": "gone"}])
def test_nulls_and_bad_values_in_a_patch_are_422(admin, body):
    assert admin.patch("/api/admin/clients/1", json=body).status_code == 422


def test_absent_client_is_404(admin):
    for method in ("get", "patch", "delete"):
        response = getattr(admin, method)("/api/admin/clients/999", json={"name": "x"})
        assert response.status_code == 404, method
        assert response.json["error"]["code"] == "not_found"
    assert admin.post("/api/admin/clients/999/sip_password", json={}).status_code == 404


# --- delete ----------------------------------------------------------------------------------

def test_delete_removes_the_client_and_its_rows_but_never_contacts(admin, rows, sql, counts):
    created = admin.post("/api/admin/clients", json=register_client(
        pjsip={"identify_ips": ["192.0.2.30"]})).json
    sql("INSERT INTO ps_contacts (id, uri, expiration_time) VALUES "
        "('reg-cc^3B@cafe', 'sip:reg-cc@192.0.2.30', extract(epoch FROM now())::bigint + 60)")
    contacts = counts()["ps_contacts"]
    assert admin.delete(f"/api/admin/clients/{created['id']}").status_code == 204
    assert rows("reg-cc") == {table: [] for table in REALTIME_TABLES}
    assert counts()["ps_contacts"] == contacts  # Asterisk's registrar expires its own rows
    assert admin.get(f"/api/admin/clients/{created['id']}").status_code == 404


def test_deleting_a_client_that_active_settings_use_is_409(admin, counts):
    before = counts()
    response = admin.delete("/api/admin/clients/1")
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "client_in_use"
    assert error["details"]["campaign_ids"] == [1, 3]
    assert error["details"]["suggestion"] == {"unlink": True}
    assert counts() == before


def test_unlink_deletes_the_settings_with_the_client(admin, rows, sql):
    assert admin.delete("/api/admin/clients/1?unlink=true").status_code == 204
    assert sql("SELECT count(*) FROM campaign_client_settings WHERE client_id = 1") == [(0,)]
    assert rows("acme-cc") == {table: [] for table in REALTIME_TABLES}
    # Call history stays, without the client.
    assert sql("SELECT count(*) FROM call_logs WHERE id IN (1, 3)") == [(2,)]
    assert sql("SELECT client_id FROM call_logs WHERE id = 1") == [(None,)]


def test_inactive_settings_do_not_block_a_delete(admin, sql):
    sql("UPDATE campaign_client_settings SET status = 'inactive' WHERE client_id = 2")
    assert admin.delete("/api/admin/clients/2").status_code == 204
    assert sql("SELECT count(*) FROM campaign_client_settings WHERE client_id = 2") == [(0,)]


@pytest.mark.parametrize("query", ["", "?unlink=true"])
def test_never_delete_a_client_with_calls_in_flight(admin, call_in_flight, counts, query):
    call_in_flight(setting_id=1)
    before = counts()
    response = admin.delete(f"/api/admin/clients/1{query}")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "calls_in_flight"
    assert counts() == before


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_unlink_must_be_a_boolean(admin, value):
    assert admin.delete(f"/api/admin/clients/1?unlink={value}").status_code == 422


# --- the one-time SIP secret ---------------------------------------------------------------

def test_a_new_sip_password_is_shown_once(admin, sql):
    response = admin.post("/api/admin/clients/3/sip_password", json={})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert set(body) == {"client_id", "client_identifier", "username", "sip_secret"}
    assert body["client_identifier"] == "summit-cc" and body["username"] == "summit-cc"
    secret = remember_secret(body["sip_secret"])  # from now on no response may contain it
    assert len(secret) >= 32
    assert sql("SELECT password FROM ps_auths WHERE id = 'summit-cc'") == [(secret,)]
    assert admin.get("/api/admin/clients/3").json["pjsip"]["inbound_auth"]["has_password"]
    again = admin.post("/api/admin/clients/3/sip_password", json={}).json["sip_secret"]
    remember_secret(again)
    assert again != secret


def test_a_static_client_has_no_sip_password_to_reset(admin, sql):
    response = admin.post("/api/admin/clients/1/sip_password", json={})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "not_register_mode"
    assert sql("SELECT password FROM ps_auths WHERE id = 'acme-cc'") == [
        ("acme-sample-sip-secret",)]


# --- all or nothing --------------------------------------------------------------------------

def _boom(*args, **kwargs):
    raise RuntimeError("forced failure half-way through writing the endpoint")


def test_a_failure_half_way_through_a_create_leaves_nothing(admin, monkeypatch, counts, rows):
    before = counts()
    monkeypatch.setattr(pjsip_service, "_write_aor", _boom)  # after the client and endpoint
    response = admin.post("/api/admin/clients", json=static_client(
        pjsip={"identify_ips": ["192.0.2.10"]}))
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert "forced" not in response.get_data(as_text=True)
    assert counts() == before
    assert rows("new-cc") == {table: [] for table in REALTIME_TABLES}


def test_a_constraint_violation_on_the_last_row_leaves_nothing(admin, monkeypatch, counts):
    before = counts()
    # Both identify rows get the same id: the UNIQUE (id) of ps_endpoint_id_ips refuses the
    # second one, after the client, endpoint, AOR and auth rows are written.
    monkeypatch.setattr(pjsip_service, "identify_row_ids", lambda endpoint_id, n: [endpoint_id] * n)
    response = admin.post("/api/admin/clients", json=static_client(
        pjsip={"identify_ips": ["192.0.2.10", "192.0.2.11"]}))
    assert response.status_code == 409
    assert counts() == before


def test_a_duplicate_that_races_past_the_checks_is_still_409(admin, monkeypatch, counts):
    # Two requests creating the same client at once both pass the checks; the UNIQUE
    # constraints decide, and the loser gets the same 409 as if it had been second.
    before = counts()
    monkeypatch.setattr(client_service, "_ensure_identifier_free", lambda identifier: None)
    response = admin.post("/api/admin/clients", json=static_client(client_identifier="acme-cc"))
    assert response.status_code == 409
    assert response.json["error"]["code"] == "duplicate"
    assert counts() == before


def test_a_failure_half_way_through_a_rename_changes_nothing(admin, monkeypatch, rows, sql):
    before = admin.get("/api/admin/clients/1").json
    monkeypatch.setattr(pjsip_service, "_write_auth", _boom)
    response = admin.patch("/api/admin/clients/1",
                           json={"client_identifier": "acme-2", "name": "Renamed"})
    assert response.status_code == 500
    assert admin.get("/api/admin/clients/1").json == before
    assert rows("acme-2") == {table: [] for table in REALTIME_TABLES}
    assert rows("acme-cc")["ps_auths"] == [("acme-cc",)]


def test_a_failure_half_way_through_a_delete_keeps_everything(admin, monkeypatch, counts):
    before = counts()
    monkeypatch.setattr(pjsip_service, "delete_endpoint", _boom)
    assert admin.delete("/api/admin/clients/1?unlink=true").status_code == 500
    assert counts() == before


# --- who may do what -------------------------------------------------------------------------

CLIENT_ROUTES = [
    ("get", "/api/admin/clients"),
    ("post", "/api/admin/clients"),
    ("get", "/api/admin/clients/1"),
    ("patch", "/api/admin/clients/1"),
    ("delete", "/api/admin/clients/1"),
    ("post", "/api/admin/clients/3/sip_password"),
]


@pytest.mark.parametrize("method, path", CLIENT_ROUTES)
def test_client_admin_needs_login_then_admin_or_staff(client, auth, method, path):
    response = getattr(client, method)(path, json={})
    assert response.status_code == 401
    for seller in ("seller1", "seller2"):
        auth.login(seller)
        response = getattr(client, method)(path, json={})
        assert response.status_code == 403, seller
        assert response.json["error"]["code"] == "forbidden"
        auth.logout()


def test_staff_manage_clients_too(client, auth):
    auth.login("staff")
    created = client.post("/api/admin/clients", json=static_client())
    assert created.status_code == 201
    client_id = created.json["id"]
    assert client.patch(f"/api/admin/clients/{client_id}",
                        json={"status": "inactive"}).json["status"] == "inactive"
    assert client.get("/api/admin/clients?status=inactive").json["total"] == 1
    reset = client.post("/api/admin/clients/3/sip_password", json={})
    assert reset.status_code == 200
    remember_secret(reset.json["sip_secret"])
    assert client.delete(f"/api/admin/clients/{client_id}").status_code == 204


# --- OpenAPI ---------------------------------------------------------------------------------

def test_openapi_documents_the_client_endpoints(client):
    spec = client.get("/api/openapi.json").json
    paths = spec["paths"]
    assert set(paths["/api/admin/clients"]) >= {"get", "post"}
    assert set(paths["/api/admin/clients/{client_id}"]) >= {"get", "patch", "delete"}
    assert "post" in paths["/api/admin/clients/{client_id}/sip_password"]
    delete = paths["/api/admin/clients/{client_id}"]["delete"]
    assert any(p["name"] == "unlink" for p in delete["parameters"])
    assert {"204", "404", "409"} <= set(delete["responses"])
    schemas = spec["components"]["schemas"]
    assert set(schemas["SipAuth"]["properties"]) == {"username", "has_password"}
    assert schemas["SipAuthInput"]["properties"]["password"].get("writeOnly") is True
    pjsip = schemas["Pjsip"]["properties"]
    for name in ("mode", "contact_uri", "max_contacts", "transport", "codecs", "dtmf_mode",
                 "identify_ips", "outbound_auth", "registration"):
        assert name in pjsip, name
    assert {"client_identifier", "name", "pjsip"} <= set(schemas["ClientCreate"]["required"])
    assert "sip_secret" in schemas["SipSecret"]["properties"]

"""Through the API alone, then read back exactly as Asterisk reads the realtime tables.

A carrier and two clients (one static with outbound auth and a `;transport=tcp` contact, one
registering) are created over HTTP; a separate connection then runs the statements Asterisk 22
ran in ../shared/asterisk-captures/realtime-queries.log and decodes the rows the way
res_config_pgsql does (tests/support/asterisk_realtime.py). The rows must be exactly what
Asterisk needs to take the carrier's call into cc-inbound and to dial PJSIP/<client>.
"""
import configparser
import time
from pathlib import Path

import pytest

from app.services.pjsip_service import TRANSPORTS
from tests.support import asterisk_realtime as ast
from tests.support.responses import remember_secret

# Both characters res_config_pgsql treats specially, so the stored form must be encoded.
OUTBOUND_PASSWORD = remember_secret("pbx;digest^secret-1")
INBOUND_PASSWORD = remember_secret("register-secret-2026")
TCP_CONTACT = "sip:agent@pbx.tcp-cc.example:5061;transport=tcp"


@pytest.fixture
def asterisk(app):
    conn = ast.connect(app.config["SQLALCHEMY_DATABASE_URI"])
    yield conn
    conn.close()


@pytest.fixture
def platform(client, auth):
    """The carrier and the two clients, created through the API by an admin."""
    assert auth.login("admin").status_code == 200
    carrier = client.post("/api/admin/carriers", json={
        "name": "Trunk Co", "identify_ips": ["192.0.2.10", "192.0.2.128/25"],
        "codecs": ["ulaw"]})
    assert carrier.status_code == 201, carrier.json
    static = client.post("/api/admin/clients", json={
        "client_identifier": "tcp-cc", "name": "TCP Call Center",
        "pjsip": {"contact_uri": TCP_CONTACT, "codecs": ["ulaw", "alaw", "g722"],
                  "outbound_auth": {"username": "capconduit", "password": OUTBOUND_PASSWORD},
                  "from_user": "capconduit", "from_domain": "voice.capconduit.example"}})
    assert static.status_code == 201, static.json
    registered = client.post("/api/admin/clients", json={
        "client_identifier": "reg_cc", "name": "Registering Call Center",
        "pjsip": {"mode": "register", "max_contacts": 2, "dtmf_mode": "auto",
                  "inbound_auth": {"password": INBOUND_PASSWORD}, "nat": True}})
    assert registered.status_code == 201, registered.json
    return {"carrier": carrier.json, "static": static.json, "register": registered.json}


def test_static_client_is_what_asterisk_needs_to_dial_it(platform, asterisk):
    dial = ast.resolve_dial(asterisk, "tcp-cc")
    assert dial["endpoint"] == {
        "id": ["tcp-cc"],
        "transport": ["transport-tcp"],
        "aors": ["tcp-cc"],
        "outbound_auth": ["tcp-cc"],
        "context": ["cc-from-clients"],
        "disallow": ["all"],
        "allow": ["ulaw,alaw,g722"],
        "direct_media": ["no"],
        "dtmf_mode": ["rfc4733"],
        "from_user": ["capconduit"],
        "from_domain": ["voice.capconduit.example"],
        "send_pai": ["no"],
    }
    # One contact, whole: its ';transport=tcp' survived the split on ';'.
    assert dial["contacts"] == [TCP_CONTACT]
    aor = ast.retrieve_by_id(asterisk, "ps_aors", "tcp-cc")
    assert aor == {"id": ["tcp-cc"], "contact": [TCP_CONTACT], "max_contacts": ["0"]}
    assert dial["outbound_auths"] == [{
        "id": ["tcp-cc"], "auth_type": ["userpass"], "username": ["capconduit"],
        "password": [OUTBOUND_PASSWORD],
    }]
    # Stored encoded, as Asterisk expects: never a bare ';' that would split the value.
    raw = asterisk.execute("SELECT contact FROM ps_aors WHERE id = 'tcp-cc'").fetchone()[0]
    assert raw == "sip:agent@pbx.tcp-cc.example:5061^3Btransport=tcp"
    raw = asterisk.execute("SELECT password FROM ps_auths WHERE id = 'tcp-cc'").fetchone()[0]
    assert raw == "pbx^3Bdigest^5Esecret-1"


def test_registering_client_is_what_asterisk_needs(platform, asterisk):
    endpoint = ast.retrieve_by_id(asterisk, "ps_endpoints", "reg_cc")
    assert endpoint == {
        "id": ["reg_cc"], "transport": ["transport-udp"], "aors": ["reg_cc"],
        "auth": ["reg_cc"], "context": ["cc-from-clients"], "disallow": ["all"],
        "allow": ["ulaw,alaw"], "direct_media": ["no"], "dtmf_mode": ["auto"],
        "send_pai": ["no"], "force_rport": ["yes"], "rewrite_contact": ["yes"],
        "rtp_symmetric": ["yes"],
    }
    # The registrar reads the AOR (no static contact, room for 2) and the inbound auth.
    assert ast.retrieve_by_id(asterisk, "ps_aors", "reg_cc") == {
        "id": ["reg_cc"], "max_contacts": ["2"]}
    assert ast.retrieve_by_id(asterisk, "ps_auths", "reg_cc") == {
        "id": ["reg_cc"], "auth_type": ["userpass"], "username": ["reg_cc"],
        "password": [INBOUND_PASSWORD]}
    # Nothing registered yet: Dial finds no contact to call.
    assert ast.resolve_dial(asterisk, "reg_cc")["contacts"] == []


def test_a_registration_asterisk_writes_is_dialled_and_shown(platform, asterisk, client):
    expires = int(time.time()) + 300
    # Verbatim shape of the capture's INSERT (section 4), for this AOR.
    asterisk.execute(
        "INSERT INTO ps_contacts (id, via_addr, qualify_timeout, qualify_2xx_only, call_id, "
        "reg_server, prune_on_boot, path, endpoint, via_port, authenticate_qualify, uri, "
        "qualify_frequency, user_agent, expiration_time, outbound_proxy) VALUES "
        "('reg_cc^3B@7a37a2d46c967c458f3589035c3dffb4', '192.0.2.50', '3.000000', 'false', "
        "'1c09ea0b-da7d-4a4e-ab26-c4142e756986', 'pbx-a', 'no', '', 'reg_cc', '5070', 'no', "
        f"'sip:reg_cc@192.0.2.50:5070', '0', 'pbx-b', '{expires}', '')")
    # A contact of another AOR whose id only matches a careless LIKE ('_' is a wildcard).
    asterisk.execute(
        "INSERT INTO ps_contacts (id, uri, expiration_time, endpoint) VALUES "
        f"('regXcc^3B@ffff', 'sip:other@192.0.2.99', '{expires}', 'regXcc')")
    assert ast.resolve_dial(asterisk, "reg_cc")["contacts"] == ["sip:reg_cc@192.0.2.50:5070"]

    shown = client.get(f"/api/admin/clients/{platform['register']['id']}").json["pjsip"]
    assert shown["registration"]["reachable"] is True
    [contact] = shown["registration"]["contacts"]
    assert contact["uri"] == "sip:reg_cc@192.0.2.50:5070"
    assert contact["user_agent"] == "pbx-b"
    assert contact["via_addr"] == "192.0.2.50" and contact["via_port"] == 5070
    assert contact["reg_server"] == "pbx-a"
    assert contact["expires_at"].startswith(time.strftime("%Y-%m-%d", time.gmtime(expires)))


def test_an_inbound_call_from_the_carrier_lands_in_cc_inbound(platform, asterisk):
    endpoint_id = platform["carrier"]["endpoint_id"]
    assert ast.identify_by_ip(asterisk, "192.0.2.10") == endpoint_id
    assert ast.identify_by_ip(asterisk, "192.0.2.200") == endpoint_id
    assert ast.identify_by_ip(asterisk, "192.0.2.11") is None
    assert ast.identify_by_ip(asterisk, "198.51.100.10") == "carrier-1"  # the sample carrier
    endpoint = ast.retrieve_by_id(asterisk, "ps_endpoints", endpoint_id)
    assert endpoint == {
        "id": [endpoint_id], "transport": ["transport-udp"], "context": ["cc-inbound"],
        "disallow": ["all"], "allow": ["ulaw"], "direct_media": ["no"],
        "dtmf_mode": ["rfc4733"], "send_pai": ["no"],
    }
    rows = ast.query(asterisk, "SELECT * FROM ps_endpoint_id_ips WHERE id LIKE '%' ESCAPE '\\' "
                               "ORDER BY id")
    mine = [row for row in rows if row["endpoint"] == [endpoint_id]]
    assert mine == [
        {"id": [endpoint_id], "endpoint": [endpoint_id], "match": ["192.0.2.10"]},
        {"id": [f"{endpoint_id}.2"], "endpoint": [endpoint_id], "match": ["192.0.2.128/25"]},
    ]


def test_the_api_reads_back_what_it_wrote(platform, client):
    static = client.get(f"/api/admin/clients/{platform['static']['id']}").json
    assert static == platform["static"]
    assert static["pjsip"]["contact_uri"] == TCP_CONTACT
    assert static["pjsip"]["outbound_auth"] == {"username": "capconduit", "has_password": True}
    registered = client.get(f"/api/admin/clients/{platform['register']['id']}").json
    assert registered["pjsip"]["inbound_auth"] == {"username": "reg_cc", "has_password": True}
    assert registered["pjsip"]["nat"] is True


@pytest.mark.parametrize("label, expected", [
    ("yes", True), ("1", True), ("on", True), ("true", True),
    ("no", False), ("0", False), ("off", False), ("false", False),
])
def test_yes_no_columns_are_read_in_every_spelling_asterisk_uses(platform, asterisk, client,
                                                                 label, expected):
    asterisk.execute(
        f"UPDATE ps_endpoints SET send_pai = '{label}', rewrite_contact = '{label}', "
        f"rtp_symmetric = '{label}' WHERE id = 'tcp-cc'")
    shown = client.get(f"/api/admin/clients/{platform['static']['id']}").json["pjsip"]
    assert shown["send_pai"] is expected and shown["nat"] is expected


def test_every_transport_the_api_offers_is_defined_in_the_shipped_pjsip_conf():
    conf = configparser.ConfigParser(comment_prefixes=(";",), inline_comment_prefixes=(";",),
                                     strict=False)
    conf.read(Path(__file__).resolve().parents[3] / "asterisk" / "pjsip.conf")
    shipped = {name: conf[name]["protocol"] for name in conf.sections()
               if conf[name].get("type") == "transport"}
    assert shipped == TRANSPORTS


def test_done_when_a_carriers_call_reaches_each_client_through_the_api(platform, asterisk, app,
                                                                        client):
    """The whole path: everything made through the API, then a call from the
    carrier is identified, routed, and each Dial string resolves to rows Asterisk can dial."""
    password = remember_secret("new-seller-password-2026")
    seller_doc = client.post("/api/admin/users", json={
        "username": "seller9", "email": "seller9@example.com", "password": password,
        "role": "seller"})
    assert seller_doc.status_code == 201, seller_doc.json
    seller = app.test_client()
    assert seller.post("/api/auth/login", json={"username": "seller9",
                                                "password": password}).status_code == 200
    dids = [seller.post("/api/seller/dids", json={"number": number}).json["id"]
            for number in ("+13125550170", "+13125550171")]
    campaign = seller.post("/api/seller/campaigns", json={"name": "Roofing",
                                                          "dial_timeout": 20}).json
    for did_id in dids:
        attached = seller.post(f"/api/seller/campaigns/{campaign['id']}/dids",
                               json={"did_id": did_id})
        assert attached.status_code in (200, 201), attached.json
    for priority, key in ((1, "static"), (2, "register")):
        linked = seller.post(f"/api/seller/campaigns/{campaign['id']}/clients", json={
            "client_id": platform[key]["id"], "forwarding_priority": priority, "weight": 100,
            "max_concurrency": 2})
        assert linked.status_code == 201, linked.json

    # An INVITE from the carrier's address is taken by its endpoint, into cc-inbound.
    carrier = ast.identify_by_ip(asterisk, "192.0.2.10")
    endpoint = ast.retrieve_by_id(asterisk, "ps_endpoints", carrier)
    assert ast.single(endpoint, "context") == "cc-inbound"

    internal = {"Authorization": f"Bearer {app.config['INTERNAL_API_TOKEN']}"}
    call = {"uniqueid": "pbx-a-1795519999.7", "did": "13125550171", "caller_id": "+13105550123"}
    first = client.post("/api/internal/route", headers=internal, json=call).json
    assert first["variables"]["CC_DIAL"] == "PJSIP/tcp-cc"
    dial = ast.resolve_dial(asterisk, first["variables"]["CC_DIAL"].removeprefix("PJSIP/"))
    assert dial["contacts"] == [TCP_CONTACT]
    assert [ast.single(a, "username") for a in dial["outbound_auths"]] == ["capconduit"]

    # NOANSWER: failover to the registering client, which Asterisk reaches once registered.
    assert client.post("/api/internal/attempt_result", headers=internal, json={
        "uniqueid": call["uniqueid"], "attempt": 1, "dial_status": "NOANSWER"}).status_code == 204
    second = client.post("/api/internal/route", headers=internal, json=call).json
    assert second["variables"]["CC_DIAL"] == "PJSIP/reg_cc"
    asterisk.execute(
        "INSERT INTO ps_contacts (id, uri, expiration_time, endpoint, reg_server) VALUES "
        "('reg_cc^3B@0123', 'sip:reg_cc@192.0.2.50:5070^3Bob', "
        f"'{int(time.time()) + 120}', 'reg_cc', 'pbx-a')")
    assert ast.resolve_dial(asterisk, "reg_cc")["contacts"] == ["sip:reg_cc@192.0.2.50:5070;ob"]


def test_a_registering_client_with_outbound_auth_registers_and_is_dialled_with_it(
        platform, asterisk, client):
    """The registrar checks the REGISTER against `auth` (row `<id>`); Dial answers the PBX's
    challenge with `outbound_auth` (row `<id>.out`)."""
    client_id = platform["register"]["id"]
    response = client.patch(f"/api/admin/clients/{client_id}", json={"pjsip": {
        "outbound_auth": {"username": "capconduit", "password": OUTBOUND_PASSWORD}}})
    assert response.status_code == 200, response.json
    endpoint = ast.retrieve_by_id(asterisk, "ps_endpoints", "reg_cc")
    assert ast.listed(endpoint, "auth") == ["reg_cc"]
    assert ast.listed(endpoint, "outbound_auth") == ["reg_cc.out"]
    assert ast.retrieve_by_id(asterisk, "ps_auths", "reg_cc") == {
        "id": ["reg_cc"], "auth_type": ["userpass"], "username": ["reg_cc"],
        "password": [INBOUND_PASSWORD]}
    dial = ast.resolve_dial(asterisk, "reg_cc")
    assert dial["outbound_auths"] == [{
        "id": ["reg_cc.out"], "auth_type": ["userpass"], "username": ["capconduit"],
        "password": [OUTBOUND_PASSWORD]}]


def test_a_carrier_and_a_registering_pbx_share_an_address_on_different_ports(platform, asterisk,
                                                                             client):
    """Identification by IP claims every request from a matching source, REGISTERs included:
    a carrier identified by `192.0.2.60:5060` leaves the PBX registering from
    `192.0.2.60:5070` to the username identifier (and its digest auth)."""
    carrier = client.post("/api/admin/carriers", json={
        "name": "Port Trunk", "identify_ips": ["192.0.2.60:5060"]})
    assert carrier.status_code == 201, carrier.json
    assert carrier.json["identify_ips"] == ["192.0.2.60:5060"]
    rows = ast.query(asterisk, "SELECT * FROM ps_endpoint_id_ips WHERE id LIKE '%' ESCAPE '\\' "
                               "ORDER BY id")
    assert {"id": [carrier.json["endpoint_id"]], "endpoint": [carrier.json["endpoint_id"]],
            "match": ["192.0.2.60:5060"]} in rows
    assert ast.identify_by_ip(asterisk, "192.0.2.60", 5060) == carrier.json["endpoint_id"]
    # The PBX's REGISTER from another port is not the carrier's: no identify row claims it.
    assert ast.identify_by_ip(asterisk, "192.0.2.60", 5070) is None
    # Without a port the carrier would claim it, so that is refused while a client (or
    # another carrier) identifies 192.0.2.60:5070.
    claimed = client.patch(f"/api/admin/clients/{platform['register']['id']}",
                           json={"pjsip": {"identify_ips": ["192.0.2.60:5070"]}})
    assert claimed.status_code == 200, claimed.json
    assert ast.identify_by_ip(asterisk, "192.0.2.60", 5070) == "reg_cc"
    widened = client.patch(f"/api/admin/carriers/{carrier.json['id']}",
                           json={"identify_ips": ["192.0.2.60"]})
    assert widened.status_code == 409
    assert widened.json["error"]["details"]["identify_ips"] == {"192.0.2.60": ["reg_cc"]}

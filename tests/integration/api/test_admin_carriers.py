"""/api/admin/carriers: inbound trunks, each an endpoint identified by IP (admins; staff read)."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db
from app.services import pjsip_service


def new_carrier(**overrides):
    body = {"name": "Trunk Co", "identify_ips": ["192.0.2.10"]}
    body.update(overrides)
    return body


@pytest.fixture
def endpoint_rows(sql):
    def read(endpoint_id: str) -> dict:
        return {
            "endpoint": sql("SELECT context, transport, allow, disallow, direct_media::text, "
                            "dtmf_mode::text, aors, auth, outbound_auth FROM ps_endpoints "
                            "WHERE id = :id", id=endpoint_id),
            "identify": sql("SELECT id, match FROM ps_endpoint_id_ips WHERE endpoint = :id "
                            "ORDER BY id", id=endpoint_id),
            "aor_or_auth": sql("SELECT id FROM ps_aors WHERE id = :id UNION ALL "
                               "SELECT id FROM ps_auths WHERE id = :id", id=endpoint_id),
        }

    return read


@pytest.fixture
def counts(sql):
    def count() -> dict:
        return {table: sql(f"SELECT count(*) FROM {table}")[0][0]
                for table in ("carriers", "ps_endpoints", "ps_aors", "ps_auths",
                              "ps_endpoint_id_ips")}

    return count


def test_admin_creates_a_carrier_that_asterisk_identifies_by_ip(admin, endpoint_rows):
    response = admin.post("/api/admin/carriers", json=new_carrier(
        identify_ips=["192.0.2.10", "2001:db8:5::/48"], codecs=["alaw", "ulaw"],
        dtmf_mode="auto"))
    assert response.status_code == 201, response.json
    carrier = response.json
    assert carrier == {
        "id": carrier["id"], "name": "Trunk Co", "status": "active",
        "identify_ips": ["192.0.2.10", "2001:db8:5::/48"], "codecs": ["alaw", "ulaw"],
        "transport": "transport-udp", "dtmf_mode": "auto",
        "endpoint_id": f"carrier-{carrier['id']}",
        "created_at": carrier["created_at"], "updated_at": carrier["updated_at"],
    }
    endpoint_id = carrier["endpoint_id"]
    assert endpoint_rows(endpoint_id) == {
        "endpoint": [("cc-inbound", "transport-udp", "alaw,ulaw", "all", "no", "auto",
                      None, None, None)],
        "identify": [(endpoint_id, "192.0.2.10"), (f"{endpoint_id}.2", "2001:db8:5::/48")],
        "aor_or_auth": [],
    }
    assert admin.get(f"/api/admin/carriers/{carrier['id']}").json == carrier


def test_defaults_and_the_sample_carrier(admin):
    created = admin.post("/api/admin/carriers", json=new_carrier()).json
    assert created["codecs"] == ["ulaw", "alaw"] and created["transport"] == "transport-udp"
    assert created["dtmf_mode"] == "rfc4733"
    sample = admin.get("/api/admin/carriers/1").json
    assert sample["endpoint_id"] == "carrier-1"
    assert sample["identify_ips"] == ["198.51.100.10"]


def test_list_filters_and_searches(admin):
    admin.post("/api/admin/carriers", json=new_carrier(status="inactive"))
    admin.post("/api/admin/carriers", json=new_carrier(name="Other 100%",
                                                       identify_ips=["192.0.2.20"]))
    listed = admin.get("/api/admin/carriers?per_page=2").json
    assert listed["total"] == 3 and len(listed["items"]) == 2 and listed["pages"] == 2
    inactive = admin.get("/api/admin/carriers?status=inactive").json["items"]
    assert [c["name"] for c in inactive] == ["Trunk Co"]
    assert [c["name"] for c in admin.get("/api/admin/carriers?q=100%25").json["items"]] == [
        "Other 100%"]
    assert admin.get("/api/admin/carriers?q=_").json["total"] == 0


@pytest.mark.parametrize("body, field", [
    (new_carrier(name=""), "name"),
    (new_carrier(name="x" * 121), "name"),
    (new_carrier(name="line\nbreak"), "name"),
    (new_carrier(identify_ips=[]), "identify_ips"),
    (new_carrier(identify_ips=["192.0.2.999"]), "identify_ips"),
    (new_carrier(identify_ips=["192.0.2.1/24"]), "identify_ips"),
    (new_carrier(identify_ips=["::/0"]), "identify_ips"),
    (new_carrier(identify_ips=["192.0.2.10", "192.0.2.10"]), "identify_ips"),
    (new_carrier(identify_ips=["192.0.2.0/25", "192.0.2.64/26"]), "identify_ips"),
    (new_carrier(identify_ips="192.0.2.10"), "identify_ips"),
    (new_carrier(identify_ips=["192.0.2.10:99999"]), "identify_ips"),
    (new_carrier(identify_ips=["192.0.2.1:5060/24"]), "identify_ips"),
    (new_carrier(codecs=["ulaw", "wav"]), "codecs"),
    (new_carrier(codecs=[]), "codecs"),
    (new_carrier(transport="udp"), "transport"),
    (new_carrier(dtmf_mode="rfc2833"), "dtmf_mode"),
    (new_carrier(status="paused"), "status"),
    (new_carrier(context="cc-from-clients"), "context"),
])
def test_invalid_fields_are_422_naming_the_field(admin, counts, body, field):
    before = counts()
    response = admin.post("/api/admin/carriers", json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["details"]
    assert counts() == before


@pytest.mark.parametrize("missing", ["name", "identify_ips"])
def test_required_fields(admin, missing):
    body = new_carrier()
    del body[missing]
    response = admin.post("/api/admin/carriers", json=body)
    assert response.status_code == 422 and missing in response.json["error"]["details"]


def test_duplicate_name_is_409_ignoring_case(admin, counts):
    before = counts()
    response = admin.post("/api/admin/carriers", json=new_carrier(name="sample CARRIER"))
    assert response.status_code == 409
    assert response.json["error"]["code"] == "duplicate" and "name" in response.json["error"][
        "details"]
    assert counts() == before


@pytest.mark.parametrize("address, owner", [
    ("198.51.100.10", "carrier-1"),
    ("198.51.100.0/28", "carrier-1"),
    ("203.0.113.20", "bluesky-cc"),
])
def test_addresses_of_another_endpoint_are_409(admin, counts, address, owner):
    before = counts()
    response = admin.post("/api/admin/carriers", json=new_carrier(identify_ips=[address]))
    assert response.status_code == 409
    assert response.json["error"]["code"] == "identify_conflict"
    assert response.json["error"]["details"]["identify_ips"] == {address: [owner]}
    assert counts() == before


def test_identify_ips_may_carry_a_source_port(admin, endpoint_rows):
    response = admin.post("/api/admin/carriers", json=new_carrier(
        identify_ips=["192.0.2.10:5060", "[2001:db8:5::1]:5080", "192.0.2.64:5060/26"]))
    assert response.status_code == 201, response.json
    carrier = response.json
    assert carrier["identify_ips"] == ["192.0.2.10:5060", "[2001:db8:5::1]:5080",
                                       "192.0.2.64:5060/26"]
    endpoint_id = carrier["endpoint_id"]
    assert endpoint_rows(endpoint_id)["identify"] == [
        (endpoint_id, "192.0.2.10:5060"), (f"{endpoint_id}.2", "[2001:db8:5::1]:5080"),
        (f"{endpoint_id}.3", "192.0.2.64:5060/26")]


@pytest.mark.parametrize("mine, theirs, clash", [
    ("192.0.2.10:5060", "192.0.2.10:5070", False),   # same address, another source port
    ("192.0.2.10:5060", "192.0.2.10:5060", True),
    ("192.0.2.10", "192.0.2.10:5070", True),          # no port: every port of the address
    ("192.0.2.10:5070", "192.0.2.10", True),
    ("192.0.2.0/24", "192.0.2.10:5070", True),
    ("192.0.2.0:5060/24", "192.0.2.10:5070", False),
])
def test_the_overlap_check_takes_the_port_into_account(admin, counts, mine, theirs, clash):
    first = admin.post("/api/admin/carriers", json=new_carrier(name="First",
                                                               identify_ips=[theirs]))
    assert first.status_code == 201, first.json
    before = counts()
    second = admin.post("/api/admin/carriers", json=new_carrier(name="Second",
                                                                identify_ips=[mine]))
    if clash:
        assert second.status_code == 409
        assert second.json["error"]["details"]["identify_ips"] == {
            mine: [first.json["endpoint_id"]]}
        assert counts() == before
    else:
        assert second.status_code == 201, second.json


def test_one_carrier_may_not_list_a_source_twice_with_and_without_port(admin):
    response = admin.post("/api/admin/carriers", json=new_carrier(
        identify_ips=["192.0.2.10", "192.0.2.10:5060"]))
    assert response.status_code == 422
    assert "identify_ips" in response.json["error"]["details"]


def test_an_inactive_carrier_stops_being_identified_but_stays(admin, endpoint_rows, sql):
    response = admin.patch("/api/admin/carriers/1", json={"status": "inactive"})
    assert response.status_code == 200
    assert response.json["status"] == "inactive"
    assert response.json["identify_ips"] == ["198.51.100.10"]
    rows = endpoint_rows("carrier-1")
    assert rows["identify"] == [] and rows["endpoint"][0][0] == "cc-inbound"
    # Its addresses stay reserved while it is inactive.
    taken = admin.post("/api/admin/carriers", json=new_carrier(identify_ips=["198.51.100.10"]))
    assert taken.status_code == 409
    # Changing an inactive carrier's addresses does not bring its identify rows back.
    admin.patch("/api/admin/carriers/1", json={"identify_ips": ["198.51.100.11"]})
    assert endpoint_rows("carrier-1")["identify"] == []
    back = admin.patch("/api/admin/carriers/1", json={"status": "active"})
    assert back.json["identify_ips"] == ["198.51.100.11"]
    assert endpoint_rows("carrier-1")["identify"] == [("carrier-1", "198.51.100.11")]


def test_patch_changes_only_the_given_fields(admin, endpoint_rows):
    response = admin.patch("/api/admin/carriers/1", json={
        "codecs": ["g722"], "identify_ips": ["198.51.100.10", "198.51.100.128/25"]})
    assert response.status_code == 200, response.json
    carrier = response.json
    assert carrier["name"] == "Sample Carrier" and carrier["dtmf_mode"] == "rfc4733"
    assert carrier["codecs"] == ["g722"]
    assert endpoint_rows("carrier-1")["identify"] == [("carrier-1", "198.51.100.10"),
                                                      ("carrier-1.2", "198.51.100.128/25")]
    renamed = admin.patch("/api/admin/carriers/1", json={"name": "Renamed Carrier"}).json
    assert renamed["endpoint_id"] == "carrier-1" and renamed["codecs"] == ["g722"]


def test_patch_to_a_taken_name_or_address_is_409(admin):
    other = admin.post("/api/admin/carriers", json=new_carrier()).json
    assert admin.patch(f"/api/admin/carriers/{other['id']}",
                       json={"name": "Sample Carrier"}).status_code == 409
    response = admin.patch(f"/api/admin/carriers/{other['id']}",
                           json={"identify_ips": ["198.51.100.10"]})
    assert response.status_code == 409
    assert admin.get(f"/api/admin/carriers/{other['id']}").json == other


@pytest.mark.parametrize("body", [{"identify_ips": []}, {"name": None}, {"codecs": ["x"]}])
def test_bad_patch_is_422(admin, body):
    assert admin.patch("/api/admin/carriers/1", json=body).status_code == 422


def test_delete_removes_the_carrier_and_its_rows(admin, endpoint_rows):
    assert admin.delete("/api/admin/carriers/1").status_code == 204
    assert endpoint_rows("carrier-1") == {"endpoint": [], "identify": [], "aor_or_auth": []}
    assert admin.get("/api/admin/carriers/1").status_code == 404
    assert admin.delete("/api/admin/carriers/1").status_code == 404


def test_absent_carrier_is_404(admin):
    for method in ("get", "patch", "delete"):
        response = getattr(admin, method)("/api/admin/carriers/999", json={"name": "x"})
        assert response.status_code == 404, method


def test_orphan_rows_with_the_next_endpoint_id_are_409(admin, sql, counts):
    sql("INSERT INTO ps_endpoints (id) VALUES ('carrier-2')")
    before = counts()
    response = admin.post("/api/admin/carriers", json=new_carrier())
    assert response.status_code == 409
    assert response.json["error"]["code"] == "endpoint_exists"
    assert counts() == before


def test_a_failure_half_way_leaves_nothing(admin, monkeypatch, counts):
    def boom(*args, **kwargs):
        raise RuntimeError("forced failure while writing identify rows")

    before = counts()
    monkeypatch.setattr(pjsip_service, "_write_identify", boom)
    assert admin.post("/api/admin/carriers", json=new_carrier()).status_code == 500
    assert admin.patch("/api/admin/carriers/1", json={"name": "Half"}).status_code == 500
    assert counts() == before
    assert admin.get("/api/admin/carriers/1").json["name"] == "Sample Carrier"


@pytest.mark.parametrize("method, path", [
    ("post", "/api/admin/carriers"),
    ("patch", "/api/admin/carriers/1"),
    ("delete", "/api/admin/carriers/1"),
])
def test_only_admins_change_carriers(client, auth, method, path):
    assert getattr(client, method)(path, json={}).status_code == 401
    for who in ("staff", "seller1"):
        auth.login(who)
        response = getattr(client, method)(path, json=new_carrier())
        assert response.status_code == 403, who
        auth.logout()


@pytest.mark.parametrize("path", ["/api/admin/carriers", "/api/admin/carriers/1"])
def test_staff_read_carriers_and_sellers_do_not(client, auth, path):
    assert client.get(path).status_code == 401
    auth.login("staff")
    assert client.get(path).status_code == 200
    auth.logout()
    auth.login("seller1")
    assert client.get(path).status_code == 403


def test_openapi_documents_the_carrier_endpoints(client):
    spec = client.get("/api/openapi.json").json
    assert set(spec["paths"]["/api/admin/carriers"]) >= {"get", "post"}
    assert set(spec["paths"]["/api/admin/carriers/{carrier_id}"]) >= {"get", "patch", "delete"}
    carrier = spec["components"]["schemas"]["Carrier"]["properties"]
    assert {"id", "name", "identify_ips", "codecs", "status", "endpoint_id"} <= set(carrier)
    assert {"name", "identify_ips"} <= set(spec["components"]["schemas"]["CarrierCreate"][
        "required"])


def test_carriers_model_and_migration_agree(app):
    """Alembic autogenerate sees nothing to change in the carriers table."""
    def include_object(obj, name, type_, reflected, compare_to):
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is None or table.name == "carriers"

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "compare_server_default": True,
            "include_name": lambda name, type_, parents: type_ != "table" or name == "carriers",
            "include_object": include_object,
        })
        assert compare_metadata(context, db.metadata) == []

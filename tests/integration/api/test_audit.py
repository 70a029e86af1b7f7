import pytest

from tests.support.responses import remember_secret

PASSWORD = remember_secret("audited-password-1")


def events(admin, **filters):
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    response = admin.get(f"/api/admin/audit?{query}")
    assert response.status_code == 200
    return response.json["items"]


def test_user_changes_are_audited_with_actor_and_masked_secrets(admin):
    created = admin.post("/api/admin/users", json={"username": "audited", "email": "a@example.com",
                                                   "password": PASSWORD, "role": "seller"}).json
    admin.patch(f"/api/admin/users/{created['id']}", json={"full_name": "Audited One",
                                                           "password": remember_secret("another-password-2")})
    admin.delete(f"/api/admin/users/{created['id']}")
    trail = events(admin, entity_type="user", entity_id=created["id"])
    assert [e["action"] for e in trail] == ["delete", "update", "create"]
    assert all(e["actor_id"] == 1 for e in trail)
    create = trail[2]["changes"]
    assert create["username"] == "audited" and create["password_hash"] == "(changed)"
    update = trail[1]["changes"]
    assert update["full_name"] == ["", "Audited One"] and update["password_hash"] == "(changed)"
    assert "$2b$" not in str(trail)


def test_seller_changes_are_audited_with_the_seller_as_actor(client, auth):
    auth.login("seller1")
    campaign = client.post("/api/seller/campaigns", json={"name": "Audit me", "dial_timeout": 20}).json
    client.patch(f"/api/seller/campaigns/{campaign['id']}", json={"dial_timeout": 25})
    setting = client.post(f"/api/seller/campaigns/{campaign['id']}/clients",
                          json={"client_id": 2, "forwarding_priority": 1, "weight": 10,
                                "max_concurrency": 2}).json
    auth.logout()
    auth.login("admin")
    trail = events(client, entity_type="campaign", entity_id=campaign["id"])
    assert [e["action"] for e in trail] == ["update", "create"]
    assert trail[0]["changes"] == {"dial_timeout": [20, 25]} and trail[0]["actor_id"] == 3
    link = events(client, entity_type="routing_setting", entity_id=setting["id"])
    assert link[0]["action"] == "create" and link[0]["changes"]["max_concurrency"] == 2


def test_routing_counters_are_not_audit_noise(client, app):
    from app.extensions import db
    from app.services.routing import CallArrival, CallEnd, RoutingService
    with app.app_context():
        routing = RoutingService(db.engine)
        routing.route(CallArrival(uniqueid="aud-1", did="+14155550102"))
        routing.hangup(CallEnd(uniqueid="aud-1", dial_status="ANSWER", attempt=1))
    client.post("/api/auth/login", json={"username": "admin", "password": "admin-password-2026"})
    assert events(client, entity_type="routing_setting") == []


@pytest.mark.parametrize("who, status", [(None, 401), ("staff", 403), ("seller1", 403)])
def test_only_admins_read_the_audit_trail(client, auth, who, status):
    if who:
        auth.login(who)
    assert client.get("/api/admin/audit").status_code == status


def test_audit_filters_are_validated(admin):
    assert admin.get("/api/admin/audit?entity_type=spaceship").status_code == 422


def test_sip_settings_changes_are_audited_without_the_password(admin):
    secret = remember_secret("outbound-secret-123")
    created = admin.post("/api/admin/clients", json={
        "client_identifier": "audit-cc", "name": "Audit CC",
        "pjsip": {"contact_uri": "sip:agent@198.51.100.50:5060", "codecs": ["ulaw"],
                  "outbound_auth": {"username": "cap", "password": secret}}})
    assert created.status_code == 201, created.json
    admin.delete(f"/api/admin/clients/{created.json['id']}")
    trail = events(admin, entity_type="pjsip_endpoint", entity_id="audit-cc")
    assert [e["action"] for e in trail] == ["delete", "update"]
    written = trail[1]["changes"]
    assert written["contact"] == "sip:agent@198.51.100.50:5060"
    assert written["outbound_auth"] == {"username": "cap", "password": "(changed)"}
    assert secret not in str(trail)
    assert [e["action"] for e in events(admin, entity_type="client", entity_id=created.json["id"])] \
        == ["delete", "create"]

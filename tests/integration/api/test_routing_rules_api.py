"""The routing rules' fields over the API, and the dry-run simulators."""
import pytest

from app.extensions import db
from app.services.routing import CallArrival, CallEnd, RoutingService
from tests.support.routing import scalar


def test_campaign_rules_round_trip(seller):
    body = {"name": "Rules", "max_concurrency": 5, "daily_cap": 100, "timezone": "America/Chicago",
            "billable_after": 90, "payout": 12.5, "duplicate_window_hours": 24,
            "duplicate_action": "sticky", "reject_concurrent_duplicate": True}
    created = seller.post("/api/seller/campaigns", json=body)
    assert created.status_code == 201, created.json
    for key, value in body.items():
        assert created.json[key] == value, key
    changed = seller.patch(f"/api/seller/campaigns/{created.json['id']}",
                           json={"daily_cap": None, "payout": 7.25, "duplicate_action": "reject"})
    assert changed.json["daily_cap"] is None and changed.json["payout"] == 7.25
    defaults = seller.post("/api/seller/campaigns", json={"name": "Defaults"}).json
    assert defaults["duplicate_action"] == "allow" and defaults["timezone"] == "UTC"
    assert defaults["max_concurrency"] is None and defaults["reject_concurrent_duplicate"] is False


@pytest.mark.parametrize("field, value", [
    ("timezone", "Mars/Olympus_Mons"), ("timezone", ""), ("duplicate_action", "maybe"),
    ("duplicate_window_hours", 0), ("max_concurrency", 0), ("daily_cap", -1),
    ("payout", -3), ("payout", 1.234), ("billable_after", "ten"), ("payout", "NaN"),
])
def test_bad_campaign_rules_are_422(seller, field, value):
    response = seller.post("/api/seller/campaigns", json={"name": "Bad", field: value})
    assert response.status_code == 422
    assert field in response.json["error"]["details"]


def test_link_rules_round_trip_and_validation(seller):
    created = seller.post("/api/seller/campaigns/2/clients", json={
        "client_id": 1, "max_concurrency": 3, "hourly_cap": 5, "daily_cap": 20, "monthly_cap": 300,
        "cap_counts": "converted", "buyer_price": 35})
    assert created.status_code == 201, created.json
    assert created.json["hourly_cap"] == 5 and created.json["cap_counts"] == "converted"
    assert created.json["buyer_price"] == 35.0
    bad = seller.patch(f"/api/seller/campaigns/2/clients/{created.json['id']}",
                       json={"cap_counts": "dialled", "monthly_cap": -2})
    assert bad.status_code == 422 and set(bad.json["error"]["details"]) == {"cap_counts", "monthly_cap"}


def test_client_hours_and_seats_round_trip_and_validation(admin):
    created = admin.patch("/api/admin/clients/3", json={
        "max_concurrency": 8, "timezone": "Europe/Paris",
        "schedule": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "sat": [["10:00", "24:00"]]},
        "closures": ["2026-12-25", "2027-01-01"]})
    assert created.status_code == 200, created.json
    assert created.json["max_concurrency"] == 8 and created.json["timezone"] == "Europe/Paris"
    assert created.json["schedule"]["sat"] == [["10:00", "24:00"]]
    assert created.json["closures"] == ["2026-12-25", "2027-01-01"]
    for bad in ({"schedule": {"someday": []}}, {"schedule": {"mon": [["18:00", "09:00"]]}},
                {"schedule": {"mon": [["9am", "5pm"]]}}, {"closures": ["tomorrow"]},
                {"timezone": "EST5EDT-ish"}, {"max_concurrency": 0}):
        response = admin.patch("/api/admin/clients/3", json=bad)
        assert response.status_code == 422, bad
        assert set(bad) <= set(response.json["error"]["details"])


def test_seller_simulator_uses_the_live_rules_and_reserves_nothing(app, seller):
    response = seller.post("/api/seller/campaigns/2/simulate", json={"caller_id": "+13105550100"})
    assert response.status_code == 200
    assert response.json["action"] == "dial" and response.json["dial"] == "PJSIP/summit-cc"
    assert response.json["candidates"] == [{"setting_id": 4, "client_id": 3, "client": "summit-cc",
                                            "priority": 1, "weight": 100, "verdict": "would_dial"}]
    with app.app_context():
        assert scalar(db.engine, "SELECT count(*) FROM reservations") == 0
        assert scalar(db.engine, "SELECT in_flight FROM campaign_client_settings WHERE id = 4") == 0
    closed = seller.post("/api/seller/campaigns/2/simulate", json={"at": "2026-11-28T12:00:00+00:00"})
    assert closed.json["action"] == "dial"  # no schedule: always open


def test_simulator_shows_why_a_call_would_not_go(app, seller, admin, auth):
    auth.logout()
    auth.login("admin")
    admin.patch("/api/admin/clients/3", json={"schedule": {}})
    auth.logout()
    auth.login("seller1")
    response = seller.post("/api/seller/campaigns/2/simulate", json={})
    assert response.json == {"action": "reject", "reason": "closed", "dial": None,
                             "candidates": [{"setting_id": 4, "client_id": 3, "client": "summit-cc",
                                             "priority": 1, "weight": 100, "verdict": "closed"}]}


def test_simulators_respect_tenancy_and_roles(client, auth):
    auth.login("seller2")
    assert client.post("/api/seller/campaigns/1/simulate", json={}).status_code == 404
    assert client.post("/api/admin/dids/1/simulate", json={}).status_code == 403
    auth.logout()
    auth.login("staff")
    by_did = client.post("/api/admin/dids/1/simulate", json={"caller_id": "+13105550100"})
    assert by_did.status_code == 200 and by_did.json["action"] == "dial"
    assert client.post("/api/admin/dids/5/simulate", json={}).json["reason"] == "no_route"
    assert client.post("/api/admin/dids/999/simulate", json={}).status_code == 404
    assert client.post("/api/admin/dids/1/simulate", json={"at": "yesterday"}).status_code == 422


def test_call_logs_carry_billing_and_the_decision(app, admin):
    with app.app_context():
        db.session.execute(db.text("UPDATE campaigns SET billable_after = 30, payout = 10 WHERE id = 2"))
        db.session.execute(db.text("UPDATE campaign_client_settings SET buyer_price = 25 WHERE id = 4"))
        db.session.commit()
        routing = RoutingService(db.engine)
        routing.route(CallArrival(uniqueid="bill-1", did="+14155550102"))
        routing.hangup(CallEnd(uniqueid="bill-1", dial_status="ANSWER", attempt=1, billsec=45))
    calls = admin.get("/api/admin/call_logs?limit=1").json["items"]
    assert calls[0]["uniqueid"] == "bill-1"
    assert calls[0]["converted"] is True and calls[0]["payout"] == 10 and calls[0]["revenue"] == 25
    assert calls[0]["decision"][0]["candidates"][0]["verdict"] == "dialled"
    summary = admin.get("/api/admin/call_logs/summary").json
    assert summary["converted"] == 1 and summary["payout"] == 10 and summary["revenue"] == 25

import pytest

from app.services import campaign_service, routing_setting_service

SETTING_FIELDS = {"id", "campaign_id", "client_id", "status", "forwarding_priority", "weight",
                  "max_concurrency", "total_calls_allowed", "current_total_calls", "in_flight"}


def new_setting(**overrides):
    body = {"client_id": 1, "forwarding_priority": 2, "weight": 40, "max_concurrency": 3,
            "total_calls_allowed": 500}
    body.update(overrides)
    return body


def test_list_in_failover_order(seller):
    page = seller.get("/api/seller/campaigns/1/clients").json
    assert [(s["id"], s["client_id"], s["forwarding_priority"]) for s in page["items"]] == [
        (1, 1, 1), (2, 2, 1), (3, 3, 2)]
    assert SETTING_FIELDS <= set(page["items"][0])
    assert page["items"][0]["current_total_calls"] == 2 and page["items"][1]["total_calls_allowed"] is None
    assert page["total"] == 3


def test_list_filters_and_pages(seller):
    seller.patch("/api/seller/campaigns/1/clients/2", json={"status": "inactive"})
    ids = lambda q: [s["id"] for s in seller.get(f"/api/seller/campaigns/1/clients?{q}").json["items"]]
    assert ids("status=inactive") == [2]
    assert ids("status=active") == [1, 3]
    assert ids("per_page=2&page=2") == [3]
    assert seller.get("/api/seller/campaigns/1/clients?status=x").status_code == 422


def test_create_with_defaults(seller):
    response = seller.post("/api/seller/campaigns/2/clients", json={"client_id": 1})
    assert response.status_code == 201
    setting = response.json
    assert {k: setting[k] for k in SETTING_FIELDS - {"id"}} == {
        "campaign_id": 2, "client_id": 1, "status": "active", "forwarding_priority": 1,
        "weight": 100, "max_concurrency": 1, "total_calls_allowed": None,
        "current_total_calls": 0, "in_flight": 0}
    assert seller.get(f"/api/seller/campaigns/2/clients/{setting['id']}").json == setting


def test_create_with_every_field(seller):
    response = seller.post("/api/seller/campaigns/2/clients", json=new_setting(status="inactive"))
    assert response.status_code == 201
    assert {k: response.json[k] for k in new_setting(status="inactive")} == new_setting(status="inactive")


@pytest.mark.parametrize("overrides, field", [
    ({"forwarding_priority": 0}, "forwarding_priority"),
    ({"forwarding_priority": 2**31}, "forwarding_priority"),
    ({"weight": -1}, "weight"),
    ({"weight": 1001}, "weight"),
    ({"weight": "10"}, "weight"),
    ({"max_concurrency": 0}, "max_concurrency"),
    ({"max_concurrency": 1.5}, "max_concurrency"),
    ({"total_calls_allowed": -1}, "total_calls_allowed"),
    ({"status": "paused"}, "status"),
    ({"client_id": None}, "client_id"),
    ({"client_id": "1"}, "client_id"),
    ({"current_total_calls": 5}, "current_total_calls"),
    ({"in_flight": 0}, "in_flight"),
    ({"campaign_id": 1}, "campaign_id"),
])
def test_invalid_fields_are_422_naming_the_field(seller, sql, overrides, field):
    before = sql("SELECT count(*) FROM campaign_client_settings")
    response = seller.post("/api/seller/campaigns/2/clients", json=new_setting(**overrides))
    assert response.status_code == 422
    assert field in response.json["error"]["details"]
    assert sql("SELECT count(*) FROM campaign_client_settings") == before


@pytest.mark.parametrize("weight, priority", [(0, 1), (1000, 7)])
def test_bounds_are_accepted(seller, weight, priority):
    response = seller.post("/api/seller/campaigns/2/clients",
                           json=new_setting(weight=weight, forwarding_priority=priority))
    assert response.status_code == 201


def test_client_id_is_required(seller):
    response = seller.post("/api/seller/campaigns/2/clients", json={"weight": 5})
    assert response.status_code == 422 and "client_id" in response.json["error"]["details"]


def test_an_absent_or_inactive_client_is_422_on_client_id(seller, sql):
    absent = seller.post("/api/seller/campaigns/2/clients", json=new_setting(client_id=999))
    sql("UPDATE clients SET status = 'inactive' WHERE id = 2")
    inactive = seller.post("/api/seller/campaigns/2/clients", json=new_setting(client_id=2))
    for response in (absent, inactive):
        assert response.status_code == 422
        assert "client_id" in response.json["error"]["details"]
    assert absent.json == inactive.json
    assert sql("SELECT count(*) FROM campaign_client_settings WHERE campaign_id = 2") == [(1,)]


def test_one_link_per_campaign_and_client(seller, sql):
    response = seller.post("/api/seller/campaigns/1/clients", json=new_setting(client_id=2))
    assert response.status_code == 409
    assert "client_id" in response.json["error"]["details"]
    assert response.json["error"]["details"]["setting_id"] == 2
    assert sql("SELECT count(*) FROM campaign_client_settings WHERE campaign_id = 1") == [(3,)]


def test_a_link_race_is_still_409(seller, monkeypatch):
    monkeypatch.setattr(routing_setting_service, "_ensure_not_linked", lambda *a: None)
    response = seller.post("/api/seller/campaigns/1/clients", json=new_setting(client_id=2))
    assert response.status_code == 409
    assert "client_id" in response.json["error"]["details"]


def test_a_campaign_that_is_not_mine_is_404_before_the_client_is_checked(seller):
    assert seller.post("/api/seller/campaigns/999/clients", json=new_setting(client_id=999)).status_code == 404
    assert seller.get("/api/seller/campaigns/999/clients").status_code == 404


def test_partial_update(seller):
    response = seller.patch("/api/seller/campaigns/1/clients/3",
                            json={"weight": 0, "forwarding_priority": 5, "max_concurrency": 9,
                                  "status": "inactive"})
    assert response.status_code == 200
    setting = response.json
    assert (setting["weight"], setting["forwarding_priority"], setting["max_concurrency"],
            setting["status"]) == (0, 5, 9, "inactive")
    assert setting["total_calls_allowed"] == 50 and setting["client_id"] == 3


@pytest.mark.parametrize("limit", [2, 3, None])   # setting 1 has delivered 2 calls
def test_total_calls_allowed_down_to_the_calls_delivered_or_unlimited(seller, limit):
    response = seller.patch("/api/seller/campaigns/1/clients/1", json={"total_calls_allowed": limit})
    assert response.status_code == 200
    assert response.json["total_calls_allowed"] == limit


def test_a_total_cannot_be_lowered_beneath_the_calls_in_flight(seller, app):
    """A ringing call may still be answered: the total it was admitted under cannot drop below
    delivered + in flight, or that answer would deliver past the new total."""
    from app.extensions import db
    from app.services.routing import CallArrival, RoutingService
    with app.app_context():
        RoutingService(db.engine).route(CallArrival(uniqueid="ringing-1", did="+14155550102"))
    response = seller.patch("/api/seller/campaigns/2/clients/4", json={"total_calls_allowed": 0})
    assert response.status_code == 422
    assert "1 in progress" in response.json["error"]["details"]["total_calls_allowed"][0]
    assert seller.patch("/api/seller/campaigns/2/clients/4",
                        json={"total_calls_allowed": 1}).status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"total_calls_allowed": 1}, "total_calls_allowed"),      # below the 2 delivered
    ({"total_calls_allowed": 0, "weight": 1}, "total_calls_allowed"),
    ({"client_id": 2}, "client_id"),                          # the client cannot change
    ({"current_total_calls": 0}, "current_total_calls"),
    ({"in_flight": 0}, "in_flight"),
    ({"weight": 1001}, "weight"),
    ({"max_concurrency": None}, "max_concurrency"),
])
def test_bad_updates_are_422_and_change_nothing(seller, sql, body, field):
    before = sql("SELECT * FROM campaign_client_settings ORDER BY id")
    response = seller.patch("/api/seller/campaigns/1/clients/1", json=body)
    assert response.status_code == 422
    assert field in response.json["error"]["details"]
    assert sql("SELECT * FROM campaign_client_settings ORDER BY id") == before


def test_a_setting_of_another_campaign_of_mine_is_404(seller, sql):
    before = sql("SELECT * FROM campaign_client_settings ORDER BY id")
    assert seller.get("/api/seller/campaigns/2/clients/1").status_code == 404
    assert seller.patch("/api/seller/campaigns/2/clients/1", json={"weight": 1}).status_code == 404
    assert seller.delete("/api/seller/campaigns/2/clients/1").status_code == 404
    assert seller.get("/api/seller/campaigns/1/clients/999").status_code == 404
    assert sql("SELECT * FROM campaign_client_settings ORDER BY id") == before


def test_in_flight_is_shown(seller, call_in_flight):
    call_in_flight(setting_id=4)
    assert seller.get("/api/seller/campaigns/2/clients/4").json["in_flight"] == 1


def test_delete_a_link(seller, sql):
    assert seller.delete("/api/seller/campaigns/1/clients/3").status_code == 204
    assert seller.get("/api/seller/campaigns/1/clients/3").status_code == 404
    assert [s["id"] for s in seller.get("/api/seller/campaigns/1/clients").json["items"]] == [1, 2]
    assert sql("SELECT count(*) FROM clients WHERE id = 3") == [(1,)]      # the client stays
    assert seller.delete("/api/seller/campaigns/1/clients/3").status_code == 404


def test_delete_with_calls_in_flight_is_409(seller, sql, call_in_flight):
    call_in_flight(setting_id=2)
    response = seller.delete("/api/seller/campaigns/1/clients/2")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "calls_in_flight"
    assert sql("SELECT in_flight FROM campaign_client_settings WHERE id = 2") == [(1,)]


def test_a_call_admitted_during_delete_still_makes_it_409(seller, sql, call_in_flight, monkeypatch):
    call_in_flight(setting_id=2)
    monkeypatch.setattr(campaign_service, "has_calls_in_flight", lambda *criteria: False)
    response = seller.delete("/api/seller/campaigns/1/clients/2")
    assert response.status_code == 409
    assert sql("SELECT count(*) FROM campaign_client_settings WHERE id = 2") == [(1,)]


def test_linkable_clients_are_the_active_ones_without_sip_details(seller, sql):
    page = seller.get("/api/seller/clients").json
    assert [c["client_identifier"] for c in page["items"]] == ["acme-cc", "bluesky-cc", "summit-cc"]
    assert all(set(c) == {"id", "client_identifier", "name", "department"} for c in page["items"])
    body = seller.get("/api/seller/clients").data
    for sip_detail in (b"sip:", b"203.0.113.20", b"pjsip", b"transport", b"notes", b"Registers"):
        assert sip_detail not in body
    sql("UPDATE clients SET status = 'inactive' WHERE id = 2")
    assert [c["id"] for c in seller.get("/api/seller/clients").json["items"]] == [1, 3]


@pytest.mark.parametrize("query, ids", [
    ("q=SUMMIT", [3]), ("q=insurance", [2]), ("q=acme-", [1]), ("q=%25", []),
    ("per_page=1&page=3", [3]),
])
def test_linkable_clients_search_and_pages(seller, query, ids):
    assert [c["id"] for c in seller.get(f"/api/seller/clients?{query}").json["items"]] == ids

import pytest

from app.services import campaign_service


def new_campaign(**overrides):
    body = {"name": "Roofing", "description": "Roof repair inbound", "dial_timeout": 45}
    body.update(overrides)
    return body


def test_create_with_defaults(seller):
    response = seller.post("/api/seller/campaigns", json={"name": "  Roofing  "})
    assert response.status_code == 201
    campaign = response.json
    assert campaign["name"] == "Roofing" and campaign["description"] == ""
    assert campaign["status"] == "active" and campaign["dial_timeout"] == 30
    assert {"id", "created_at", "updated_at"} <= set(campaign) and "seller_id" not in campaign
    assert seller.get(f"/api/seller/campaigns/{campaign['id']}").json == campaign


@pytest.mark.parametrize("dial_timeout", [5, 120])
def test_dial_timeout_bounds_are_accepted(seller, dial_timeout):
    response = seller.post("/api/seller/campaigns", json=new_campaign(dial_timeout=dial_timeout))
    assert response.status_code == 201
    assert response.json["dial_timeout"] == dial_timeout


@pytest.mark.parametrize("overrides, field", [
    ({"dial_timeout": 4}, "dial_timeout"),
    ({"dial_timeout": 121}, "dial_timeout"),
    ({"dial_timeout": "30"}, "dial_timeout"),
    ({"dial_timeout": 30.5}, "dial_timeout"),
    ({"dial_timeout": None}, "dial_timeout"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 121}, "name"),
    ({"name": None}, "name"),
    ({"description": "x" * 1001}, "description"),
    ({"status": "paused"}, "status"),
    ({"seller_id": 4}, "seller_id"),
])
def test_invalid_fields_are_422_naming_the_field(seller, sql, overrides, field):
    before = sql("SELECT count(*) FROM campaigns")
    response = seller.post("/api/seller/campaigns", json=new_campaign(**overrides))
    assert response.status_code == 422
    assert field in response.json["error"]["details"]
    assert sql("SELECT count(*) FROM campaigns") == before


def test_name_is_required(seller):
    response = seller.post("/api/seller/campaigns", json={"description": "no name"})
    assert response.status_code == 422 and "name" in response.json["error"]["details"]


def test_a_body_that_is_not_an_object_is_400(seller):
    assert seller.post("/api/seller/campaigns", json="Roofing").status_code == 400


@pytest.mark.parametrize("name", ["Solar Leads", "solar leads", " SOLAR LEADS "])
def test_a_name_i_already_use_is_409(seller, sql, name):
    before = sql("SELECT count(*) FROM campaigns")
    response = seller.post("/api/seller/campaigns", json=new_campaign(name=name))
    assert response.status_code == 409
    assert "name" in response.json["error"]["details"]
    assert sql("SELECT count(*) FROM campaigns") == before


def test_a_name_another_seller_uses_is_fine(seller):
    response = seller.post("/api/seller/campaigns", json=new_campaign(name="Auto Insurance"))
    assert response.status_code == 201


def test_a_name_race_is_still_409(seller, monkeypatch):
    monkeypatch.setattr(campaign_service, "_ensure_name_free", lambda *a, **k: None)
    response = seller.post("/api/seller/campaigns", json=new_campaign(name="Medicare"))
    assert response.status_code == 409
    assert "name" in response.json["error"]["details"]


@pytest.mark.parametrize("query, ids", [
    ("", [1, 2]),
    ("per_page=1&page=2", [2]),
    ("status=active", [1, 2]),
    ("status=inactive", []),
    ("q=SOLAR", [1]),
    ("q=advantage", [2]),
    ("q=auto", []),                         # seller2's campaign
    ("q=%25", []),
])
def test_list_shows_only_my_campaigns_and_filters(seller, query, ids):
    response = seller.get(f"/api/seller/campaigns?{query}")
    assert response.status_code == 200
    assert [c["id"] for c in response.json["items"]] == ids


@pytest.mark.parametrize("query", ["status=x", "page=0", "per_page=0"])
def test_bad_list_filters_are_422(seller, query):
    assert seller.get(f"/api/seller/campaigns?{query}").status_code == 422


def test_get_one_and_404(seller):
    campaign = seller.get("/api/seller/campaigns/2").json
    assert campaign["name"] == "Medicare" and campaign["dial_timeout"] == 25
    assert seller.get("/api/seller/campaigns/999").status_code == 404


def test_partial_update(seller):
    response = seller.patch("/api/seller/campaigns/2", json={"dial_timeout": 60, "status": "inactive"})
    assert response.status_code == 200
    assert response.json["dial_timeout"] == 60 and response.json["status"] == "inactive"
    assert response.json["name"] == "Medicare"


def test_renaming_to_its_own_name_in_another_case_is_fine(seller):
    response = seller.patch("/api/seller/campaigns/2", json={"name": "MEDICARE"})
    assert response.status_code == 200 and response.json["name"] == "MEDICARE"


@pytest.mark.parametrize("body, status, field", [
    ({"name": "solar leads"}, 409, "name"),
    ({"dial_timeout": 200}, 422, "dial_timeout"),
    ({"name": "", "description": "changed"}, 422, "name"),
    ({"id": 5}, 422, "id"),
])
def test_bad_updates_change_nothing(seller, sql, body, status, field):
    before = sql("SELECT * FROM campaigns ORDER BY id")
    response = seller.patch("/api/seller/campaigns/2", json=body)
    assert response.status_code == status
    assert field in response.json["error"]["details"]
    assert sql("SELECT * FROM campaigns ORDER BY id") == before


def test_delete_unattaches_its_dids_and_keeps_its_call_logs(seller, sql):
    response = seller.delete("/api/seller/campaigns/1")
    assert response.status_code == 204
    assert seller.get("/api/seller/campaigns/1").status_code == 404
    assert [(d["id"], d["campaign_id"]) for d in seller.get("/api/seller/dids").json["items"]] == [
        (1, None), (2, None), (3, 2)]
    assert sql("SELECT count(*) FROM campaign_client_settings WHERE campaign_id = 1") == [(0,)]
    assert sql("SELECT id, campaign_id FROM call_logs WHERE id <= 3 ORDER BY id") == [
        (1, None), (2, None), (3, None)]
    assert seller.delete("/api/seller/campaigns/1").status_code == 404


def test_delete_with_calls_in_flight_is_409_and_changes_nothing(seller, sql, call_in_flight):
    call_in_flight(setting_id=3)                      # campaign 1 → summit-cc
    before = [sql(f"SELECT * FROM {table}") for table in
              ("campaigns", "campaign_dids", "campaign_client_settings", "reservations")]
    response = seller.delete("/api/seller/campaigns/1")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "calls_in_flight"
    assert response.json["error"]["details"]["suggestion"] == {"status": "inactive"}
    after = [sql(f"SELECT * FROM {table}") for table in
             ("campaigns", "campaign_dids", "campaign_client_settings", "reservations")]
    assert after == before
    sql("DELETE FROM reservations")
    assert seller.delete("/api/seller/campaigns/1").status_code == 204


def test_a_call_admitted_during_delete_still_makes_it_409(seller, call_in_flight, monkeypatch):
    # The in-flight check misses the call (it came in between); the RESTRICT foreign key holds.
    call_in_flight(setting_id=4)
    monkeypatch.setattr(campaign_service, "has_calls_in_flight", lambda *criteria: False)
    response = seller.delete("/api/seller/campaigns/2")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "calls_in_flight"
    assert seller.get("/api/seller/campaigns/2").status_code == 200

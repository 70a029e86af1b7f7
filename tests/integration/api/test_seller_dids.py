import pytest

from app.services import did_service

NEW = "+14155550199"


def test_create_in_e164(seller):
    response = seller.post("/api/seller/dids", json={"number": NEW, "description": "Radio"})
    assert response.status_code == 201
    did = response.json
    assert did["number"] == NEW and did["description"] == "Radio"
    assert did["status"] == "active" and did["campaign_id"] is None
    assert {"id", "created_at", "updated_at"} <= set(did)
    assert "seller_id" not in did and "region" not in did
    assert seller.get(f"/api/seller/dids/{did['id']}").json["number"] == NEW


@pytest.mark.parametrize("body, stored", [
    ({"number": "(415) 555-0199"}, NEW),                         # national, DEFAULT_REGION (US)
    ({"number": "14155550199"}, NEW),                            # national with trunk prefix
    ({"number": " +1 415 555 0199 "}, NEW),
    ({"number": "020 7946 0958", "region": "GB"}, "+442079460958"),
    ({"number": "020 7946 0958", "region": "gb"}, "+442079460958"),
    ({"number": "+442079460958", "region": "US"}, "+442079460958"),  # E.164 ignores region
])
def test_number_is_stored_in_e164(seller, body, stored):
    response = seller.post("/api/seller/dids", json=body)
    assert response.status_code == 201, response.json
    assert response.json["number"] == stored


def test_default_region_comes_from_the_config(app, seller):
    app.config["DEFAULT_REGION"] = "GB"
    try:
        response = seller.post("/api/seller/dids", json={"number": "020 7946 0958"})
    finally:
        app.config["DEFAULT_REGION"] = "US"
    assert response.status_code == 201
    assert response.json["number"] == "+442079460958"


@pytest.mark.parametrize("body, field", [
    ({"number": "12345"}, "number"),
    ({"number": "not a number"}, "number"),
    ({"number": "+999 123"}, "number"),
    ({"number": "+1 415 555 01"}, "number"),
    ({"number": "415 555 0199 ext 5"}, "number"),
    ({"number": "020 7946 0958"}, "number"),                  # not a US number
    ({"number": ""}, "number"),
    ({"number": None}, "number"),
    ({"number": 4155550199}, "number"),
    ({"number": "x" * 41}, "number"),
    ({"number": NEW, "region": "XX"}, "region"),
    ({"number": NEW, "status": "paused"}, "status"),
    ({"number": NEW, "description": "x" * 501}, "description"),
    ({"number": NEW, "campaign_id": 1}, "campaign_id"),       # read-only
    ({"number": NEW, "seller_id": 4}, "seller_id"),
    ({"description": "no number"}, "number"),
])
def test_invalid_input_is_422_naming_the_field(seller, sql, body, field):
    before = sql("SELECT count(*) FROM dids")
    response = seller.post("/api/seller/dids", json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_failed"
    assert field in response.json["error"]["details"]
    assert sql("SELECT count(*) FROM dids") == before


def test_a_body_that_is_not_an_object_is_400(seller):
    assert seller.post("/api/seller/dids", json=[NEW]).status_code == 400
    assert seller.post("/api/seller/dids", data="{", content_type="application/json").status_code == 400


def test_a_number_on_the_platform_is_409_without_saying_who_has_it(seller, sql):
    mine = seller.post("/api/seller/dids", json={"number": "(415) 555-0100"})   # seller1's DID 1
    theirs = seller.post("/api/seller/dids", json={"number": "212-555-0100"})   # seller2's DID 4
    assert mine.status_code == theirs.status_code == 409
    assert theirs.json == mine.json                # nothing tells the two cases apart
    assert "number" in theirs.json["error"]["details"]
    assert b"seller2" not in theirs.data and b"Bright" not in theirs.data
    assert sql("SELECT seller_id FROM dids WHERE number = '+12125550100'") == [(4,)]


def test_a_uniqueness_race_is_still_409(seller, monkeypatch):
    monkeypatch.setattr(did_service, "_ensure_number_free", lambda number: None)
    response = seller.post("/api/seller/dids", json={"number": "+12125550101"})
    assert response.status_code == 409
    assert response.json["error"]["details"] == {"number": ["Already on the platform."]}


def test_list_shows_only_my_dids_with_their_campaign(seller):
    page = seller.get("/api/seller/dids").json
    assert [(d["id"], d["campaign_id"]) for d in page["items"]] == [(1, 1), (2, 1), (3, 2)]
    assert page["total"] == 3 and page["page"] == 1 and page["pages"] == 1


@pytest.mark.parametrize("query, ids", [
    ("per_page=2", [1, 2]),
    ("per_page=2&page=2", [3]),
    ("status=active", [1, 2, 3]),
    ("status=inactive", []),
    ("campaign_id=1", [1, 2]),
    ("campaign_id=2", [3]),
    ("campaign_id=3", []),                  # seller2's campaign: nothing of theirs shows
    ("q=solar", [1, 2]),
    ("q=0102", [3]),
    ("q=(415) 555-0101", [2]),
    ("q=%25", []),
    ("q=_", []),
    ("q=spare", []),                        # seller2's DID description
])
def test_list_filters(seller, query, ids):
    response = seller.get(f"/api/seller/dids?{query}")
    assert response.status_code == 200
    assert [d["id"] for d in response.json["items"]] == ids


@pytest.mark.parametrize("query", ["status=x", "campaign_id=abc", "page=0", "per_page=101",
                                   "seller_id=4"])  # not a seller filter: refused, named
def test_bad_list_filters_are_422(seller, query):
    assert seller.get(f"/api/seller/dids?{query}").status_code == 422


def test_get_one_and_404(seller):
    did = seller.get("/api/seller/dids/3").json
    assert {k: did[k] for k in ("id", "number", "description", "status", "campaign_id")} == {
        "id": 3, "number": "+14155550102", "description": "Medicare mailer", "status": "active",
        "campaign_id": 2}
    absent = seller.get("/api/seller/dids/999")
    assert absent.status_code == 404 and absent.json["error"]["code"] == "not_found"


def test_partial_update(seller):
    response = seller.patch("/api/seller/dids/2", json={"description": "TV", "status": "inactive"})
    assert response.status_code == 200
    assert response.json["description"] == "TV" and response.json["status"] == "inactive"
    assert response.json["number"] == "+14155550101" and response.json["campaign_id"] == 1


def test_update_number_is_normalized_like_on_creation(seller):
    response = seller.patch("/api/seller/dids/2", json={"number": "020 7946 0958", "region": "GB"})
    assert response.status_code == 200
    assert response.json["number"] == "+442079460958"
    same = seller.patch("/api/seller/dids/2", json={"number": "+442079460958"})
    assert same.status_code == 200


@pytest.mark.parametrize("body, status, field", [
    ({"number": "+12125550100"}, 409, "number"),     # seller2's number
    ({"number": "415-555-0100"}, 409, "number"),     # my DID 1
    ({"number": "123"}, 422, "number"),
    ({"region": "GB"}, 422, "region"),
    ({"status": "gone", "description": "changed"}, 422, "status"),
    ({"campaign_id": 2}, 422, "campaign_id"),
])
def test_bad_updates_change_nothing(seller, sql, body, status, field):
    before = sql("SELECT * FROM dids ORDER BY id")
    response = seller.patch("/api/seller/dids/2", json=body)
    assert response.status_code == status
    assert field in response.json["error"]["details"]
    assert sql("SELECT * FROM dids ORDER BY id") == before


def test_delete_detaches_then_deletes_and_keeps_the_call_history(seller, sql):
    assert sql("SELECT campaign_id FROM campaign_dids WHERE did_id = 1") == [(1,)]
    response = seller.delete("/api/seller/dids/1")
    assert response.status_code == 204
    assert seller.get("/api/seller/dids/1").status_code == 404
    assert sql("SELECT * FROM campaign_dids WHERE did_id = 1") == []
    assert [d["id"] for d in seller.get("/api/seller/campaigns/1/dids").json["items"]] == [2]
    assert sql("SELECT id FROM call_logs WHERE did = '+14155550100' ORDER BY id") == [(1,), (3,)]
    assert seller.delete("/api/seller/dids/1").status_code == 404


def test_a_deleted_number_can_be_added_again(seller):
    assert seller.delete("/api/seller/dids/3").status_code == 204
    assert seller.post("/api/seller/dids", json={"number": "+14155550102"}).status_code == 201

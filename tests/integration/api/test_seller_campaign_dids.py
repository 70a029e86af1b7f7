import pytest

from app.services import did_service


def campaign_did_ids(seller, campaign_id):
    return [d["id"] for d in seller.get(f"/api/seller/campaigns/{campaign_id}/dids").json["items"]]


def new_did(seller, number="+14155550199"):
    return seller.post("/api/seller/dids", json={"number": number}).json


def test_list_a_campaigns_dids(seller):
    page = seller.get("/api/seller/campaigns/1/dids").json
    assert [(d["id"], d["number"], d["campaign_id"]) for d in page["items"]] == [
        (1, "+14155550100", 1), (2, "+14155550101", 1)]
    assert page["total"] == 2 and page["pages"] == 1
    assert campaign_did_ids(seller, 2) == [3]
    assert seller.get("/api/seller/campaigns/1/dids?per_page=1&page=2").json["items"][0]["id"] == 2


def test_list_of_an_absent_campaign_is_404(seller):
    assert seller.get("/api/seller/campaigns/999/dids").status_code == 404


def test_attach_and_detach(seller, sql):
    did = new_did(seller)
    response = seller.post("/api/seller/campaigns/2/dids", json={"did_id": did["id"]})
    assert response.status_code == 201
    assert response.json["id"] == did["id"] and response.json["campaign_id"] == 2
    assert campaign_did_ids(seller, 2) == [3, did["id"]]
    assert seller.get(f"/api/seller/dids/{did['id']}").json["campaign_id"] == 2
    assert seller.get(f"/api/seller/campaigns/2/dids/{did['id']}").json["campaign_id"] == 2

    assert seller.delete(f"/api/seller/campaigns/2/dids/{did['id']}").status_code == 204
    assert campaign_did_ids(seller, 2) == [3]
    assert seller.get(f"/api/seller/dids/{did['id']}").json["campaign_id"] is None   # DID stays
    assert seller.delete(f"/api/seller/campaigns/2/dids/{did['id']}").status_code == 404


def test_an_inactive_did_can_be_attached(seller):
    did = seller.post("/api/seller/dids", json={"number": "+14155550199", "status": "inactive"}).json
    assert seller.post("/api/seller/campaigns/1/dids", json={"did_id": did["id"]}).status_code == 201


@pytest.mark.parametrize("campaign_id", [1, 2])   # its own campaign, and another one
def test_a_did_already_in_a_campaign_is_409(seller, sql, campaign_id):
    before = sql("SELECT * FROM campaign_dids ORDER BY did_id")
    response = seller.post(f"/api/seller/campaigns/{campaign_id}/dids", json={"did_id": 1})
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "did_in_campaign"
    assert "did_id" in error["details"] and error["details"]["campaign_id"] == 1
    assert sql("SELECT * FROM campaign_dids ORDER BY did_id") == before


def test_an_attach_race_is_still_409(seller, monkeypatch):
    # Both requests saw the DID free; the primary key on campaign_dids.did_id decides.
    real_get_did = did_service.get_did

    def get_did_seen_free(did_id, *, seller_id):
        did = real_get_did(did_id, seller_id=seller_id)
        did.campaign_id = None
        return did

    monkeypatch.setattr(did_service, "get_did", get_did_seen_free)
    response = seller.post("/api/seller/campaigns/2/dids", json={"did_id": 1})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "did_in_campaign"


@pytest.mark.parametrize("did_id", [5, 999])   # seller2's unattached DID; no DID at all
def test_attaching_a_did_that_is_not_mine_is_404(seller, sql, did_id):
    response = seller.post("/api/seller/campaigns/2/dids", json={"did_id": did_id})
    assert response.status_code == 404
    assert sql("SELECT count(*) FROM campaign_dids WHERE did_id = :id", id=did_id) == [(0,)]


@pytest.mark.parametrize("body, status", [
    ({}, 422), ({"did_id": "1"}, 422), ({"did_id": None}, 422), ({"did_id": 0}, 422),
    ({"did_id": 1.0}, 422), ({"did_id": 4, "campaign_id": 2}, 422), ([4], 400),
])
def test_attach_body_is_validated(seller, body, status):
    response = seller.post("/api/seller/campaigns/2/dids", json=body)
    assert response.status_code == status
    if status == 422:
        assert set(response.json["error"]["details"]) & {"did_id", "campaign_id"}


def test_a_did_of_another_campaign_is_not_in_this_one(seller, sql):
    assert seller.get("/api/seller/campaigns/2/dids/1").status_code == 404
    assert seller.delete("/api/seller/campaigns/2/dids/1").status_code == 404
    assert sql("SELECT campaign_id FROM campaign_dids WHERE did_id = 1") == [(1,)]


def test_get_one_campaign_did(seller):
    did = seller.get("/api/seller/campaigns/1/dids/2").json
    assert did["number"] == "+14155550101" and did["campaign_id"] == 1

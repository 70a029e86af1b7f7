"""Admins and staff read every seller's DIDs and campaigns (/api/admin/dids, /api/admin/campaigns)."""
import pytest


@pytest.fixture(params=["admin", "staff"])
def operator(request, client, auth):
    assert auth.login(request.param).status_code == 200
    return client


@pytest.mark.parametrize("path, ids", [
    ("/api/admin/dids", [1, 2, 3, 4, 5]),
    ("/api/admin/dids?seller_id=3", [1, 2, 3]),
    ("/api/admin/dids?seller_id=4", [4, 5]),
    ("/api/admin/dids?seller_id=4&status=inactive", [5]),
    ("/api/admin/dids?campaign_id=3", [4]),
    ("/api/admin/dids?q=212", [4, 5]),
    ("/api/admin/dids?per_page=2&page=3", [5]),
    ("/api/admin/campaigns", [1, 2, 3]),
    ("/api/admin/campaigns?seller_id=3", [1, 2]),
    ("/api/admin/campaigns?seller_id=4", [3]),
    ("/api/admin/campaigns?seller_id=999", []),
    ("/api/admin/campaigns?q=insurance", [3]),
    ("/api/admin/campaigns?status=inactive", []),
])
def test_lists_hold_every_sellers_rows(operator, path, ids):
    response = operator.get(path)
    assert response.status_code == 200
    assert [item["id"] for item in response.json["items"]] == ids
    assert all("seller_id" in item for item in response.json["items"])


def test_one_did_carries_its_seller_and_campaign(operator):
    did = operator.get("/api/admin/dids/4").json
    assert (did["number"], did["seller_id"], did["campaign_id"]) == ("+12125550100", 4, 3)
    assert operator.get("/api/admin/dids/999").status_code == 404


def test_one_campaign_carries_its_seller(operator):
    campaign = operator.get("/api/admin/campaigns/3").json
    assert (campaign["name"], campaign["seller_id"], campaign["dial_timeout"]) == ("Auto Insurance", 4, 30)
    assert operator.get("/api/admin/campaigns/999").status_code == 404


@pytest.mark.parametrize("query", ["seller_id=abc", "seller_id=0", "status=x", "per_page=500"])
def test_bad_filters_are_422(operator, query):
    assert operator.get(f"/api/admin/dids?{query}").status_code == 422
    assert operator.get(f"/api/admin/campaigns?{query}").status_code == 422


@pytest.mark.parametrize("method, path", [
    ("post", "/api/admin/dids"), ("patch", "/api/admin/dids/1"), ("delete", "/api/admin/dids/1"),
    ("post", "/api/admin/campaigns"), ("patch", "/api/admin/campaigns/1"),
    ("delete", "/api/admin/campaigns/1"),
])
def test_the_views_are_read_only(operator, sql, method, path):
    before = sql("SELECT count(*) FROM dids"), sql("SELECT count(*) FROM campaigns")
    response = getattr(operator, method)(path, json={})
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert (sql("SELECT count(*) FROM dids"), sql("SELECT count(*) FROM campaigns")) == before


def test_openapi_describes_the_seller_endpoints(client):
    spec = client.get("/api/openapi.json").json
    paths = spec["paths"]
    for path, methods in {
        "/api/seller/dids": {"get", "post"},
        "/api/seller/dids/{did_id}": {"get", "patch", "delete"},
        "/api/seller/campaigns": {"get", "post"},
        "/api/seller/campaigns/{campaign_id}": {"get", "patch", "delete"},
        "/api/seller/campaigns/{campaign_id}/dids": {"get", "post"},
        "/api/seller/campaigns/{campaign_id}/dids/{did_id}": {"get", "delete"},
        "/api/seller/campaigns/{campaign_id}/clients": {"get", "post"},
        "/api/seller/campaigns/{campaign_id}/clients/{setting_id}": {"get", "patch", "delete"},
        "/api/seller/clients": {"get"},
        "/api/admin/dids": {"get"},
        "/api/admin/dids/{did_id}": {"get"},
        "/api/admin/campaigns": {"get"},
        "/api/admin/campaigns/{campaign_id}": {"get"},
    }.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
    did_delete = paths["/api/seller/dids/{did_id}"]["delete"]
    assert "detach" in did_delete["description"].lower()
    assert "409" in paths["/api/seller/campaigns/{campaign_id}"]["delete"]["responses"]
    assert "409" in paths["/api/seller/campaigns/{campaign_id}/dids"]["post"]["responses"]
    schemas = spec["components"]["schemas"]
    assert schemas["Did"]["properties"]["campaign_id"]["readOnly"] is True
    assert {"number"} <= set(schemas["DidCreate"]["required"])
    setting = schemas["RoutingSetting"]["properties"]
    assert setting["current_total_calls"]["readOnly"] and setting["in_flight"]["readOnly"]
    assert set(schemas["LinkableClient"]["properties"]) == {"id", "client_identifier", "name",
                                                            "department"}

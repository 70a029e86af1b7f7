"""Configuring real-time bidding over the API, and the simulator's test pings."""
import json
import logging

import pytest

from app.services.outbound import signature
from tests.support.bid_server import BidServer
from tests.support.routing import scalar


def test_campaign_bid_settings_round_trip(seller):
    defaults = seller.post("/api/seller/campaigns", json={"name": "Bids"}).json
    assert defaults["bid_timeout_ms"] == 800 and defaults["min_bid"] is None
    assert defaults["bid_caller_id"] == "masked"
    changed = seller.patch(f"/api/seller/campaigns/{defaults['id']}", json={
        "bid_timeout_ms": 3000, "min_bid": 4.5, "bid_caller_id": "none"})
    assert changed.status_code == 200, changed.json
    assert changed.json["bid_timeout_ms"] == 3000 and changed.json["min_bid"] == 4.5
    assert changed.json["bid_caller_id"] == "none"


@pytest.mark.parametrize("field, value", [
    ("bid_timeout_ms", 3001), ("bid_timeout_ms", 0), ("bid_timeout_ms", "fast"),
    ("min_bid", -1), ("min_bid", 0.001), ("bid_caller_id", "partial"),
])
def test_bad_campaign_bid_settings_are_422_and_change_nothing(seller, engine, field, value):
    response = seller.patch("/api/seller/campaigns/1", json={field: value})
    assert response.status_code == 422
    assert field in response.json["error"]["details"]
    assert scalar(engine, "SELECT bid_timeout_ms FROM campaigns WHERE id = 1") == 800


def test_a_link_is_priced_by_bid_with_a_bid_url_and_fixed_without(seller):
    url = "https://bids.buyer.example/capconduit?key=1"
    linked = seller.patch("/api/seller/campaigns/1/clients/1", json={"bid_url": url})
    assert linked.status_code == 200, linked.json
    assert linked.json["bid_url"] == url
    fixed = seller.patch("/api/seller/campaigns/1/clients/1", json={"bid_url": ""})
    assert fixed.json["bid_url"] is None


@pytest.mark.parametrize("url", ["ftp://bids.example/", "not a url", "https://user:pw@x.example/",
                                 "https://bids.example/#frag", "https:///nohost"])
def test_a_bid_url_follows_the_webhook_target_rules(seller, engine, url):
    response = seller.patch("/api/seller/campaigns/1/clients/1", json={"bid_url": url})
    assert response.status_code == 422
    assert "bid_url" in response.json["error"]["details"]
    assert scalar(engine, "SELECT bid_url FROM campaign_client_settings WHERE id = 1") is None


def test_production_wants_https_bid_urls(app, seller):
    app.config["WEBHOOKS_REQUIRE_HTTPS"] = True
    try:
        response = seller.post("/api/seller/campaigns/2/clients", json={
            "client_id": 1, "bid_url": "http://bids.buyer.example/"})
    finally:
        app.config["WEBHOOKS_REQUIRE_HTTPS"] = False
    assert response.status_code == 422
    assert response.json["error"]["details"]["bid_url"] == ["Must be an https:// URL."]


def test_another_sellers_link_is_not_found(seller):
    response = seller.patch("/api/seller/campaigns/3/clients/5",
                            json={"bid_url": "https://bids.example/"})
    assert response.status_code == 404


def test_the_bid_secret_is_shown_once_and_the_ping_budget_is_a_client_rule(admin, engine):
    assert admin.get("/api/admin/clients/1").json["has_bid_secret"] is False
    made = admin.post("/api/admin/clients/1/bid_secret", json={})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    secret = made.json["bid_secret"]
    assert secret.startswith("bidsec_")
    shown = admin.get("/api/admin/clients/1")
    assert shown.json["has_bid_secret"] is True and secret not in shown.get_data(as_text=True)
    again = admin.post("/api/admin/clients/1/bid_secret", json={}).json["bid_secret"]
    assert again != secret
    assert admin.post("/api/admin/clients/999/bid_secret", json={}).status_code == 404
    assert admin.patch("/api/admin/clients/1", json={"ping_budget": 120}).json["ping_budget"] == 120
    bad = admin.patch("/api/admin/clients/1", json={"ping_budget": -1})
    assert bad.status_code == 422 and "ping_budget" in bad.json["error"]["details"]
    assert scalar(engine, "SELECT ping_budget FROM clients WHERE id = 1") == 120


def test_rotating_a_bid_secret_is_audited_without_the_secret(admin, caplog):
    caplog.set_level(logging.DEBUG)
    first = admin.post("/api/admin/clients/1/bid_secret", json={}).json["bid_secret"]
    second = admin.post("/api/admin/clients/1/bid_secret", json={}).json["bid_secret"]
    trail = admin.get("/api/admin/audit?entity_type=client&entity_id=1").json["items"]
    rotations = [event for event in trail if "bid_secret" in event["changes"]]
    assert [(e["action"], e["actor_id"], e["changes"]) for e in rotations] == [
        ("update", 1, {"bid_secret": "(changed)"})] * 2
    for secret in (first, second):
        assert secret not in json.dumps(trail) and secret not in caplog.text


def test_the_simulator_pings_buyers_as_a_test_and_shows_their_bids(seller, sql):
    secret = "bidsec_for_the_simulator"
    sql("UPDATE clients SET bid_secret = :s WHERE id = 2", s=secret)
    with BidServer() as bids:
        seller.patch("/api/seller/campaigns/1", json={"bid_timeout_ms": 2000})
        seller.patch("/api/seller/campaigns/1/clients/1", json={"bid_url": bids.url + "/error"})
        seller.patch("/api/seller/campaigns/1/clients/2", json={"bid_url": bids.url + "/bid/8.5"})
        seller.patch("/api/seller/campaigns/1/clients/3", json={"buyer_price": 3})
        answer = seller.post("/api/seller/campaigns/1/simulate",
                             json={"caller_id": "+13105550199"})
    assert answer.status_code == 200, answer.json
    assert answer.json["action"] == "dial" and answer.json["dial"] == "PJSIP/bluesky-cc"
    by_setting = {c["setting_id"]: c for c in answer.json["candidates"]}
    assert by_setting[2]["price"] == 8.5 and by_setting[2]["verdict"] == "would_dial"
    assert by_setting[1]["no_bid"] == "http 500" and by_setting[1]["verdict"] == "no_bid"
    assert by_setting[3]["price"] == 3.0 and by_setting[3]["price_source"] == "fixed"
    ping = bids.pings_to("/bid/")[0]
    assert ping.json["test"] is True and ping.json["caller_id"] == "+1310555****"
    assert signature.verify(secret, ping.headers[signature.HEADER], ping.body)

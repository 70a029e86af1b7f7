"""Real-time bidding through the pages: the campaign's bid settings, a link's bid URL, the
client's ping budget and bid secret, the simulator's and the call log's prices."""
import logging
import random
import re
from decimal import Decimal

from app.extensions import db
from app.services.routing import CallArrival, RoutingService
from tests.support.bid_server import BidServer
from tests.support.pages import client_form, field_error

CAMPAIGN = {"name": "Solar Leads", "description": "", "dial_timeout": "30", "status": "active"}
ROW = {"forwarding_priority": "1", "weight": "70", "max_concurrency": "5",
       "total_calls_allowed": "100", "status": "active", "hourly_cap": "", "daily_cap": "",
       "monthly_cap": "", "cap_counts": "answered", "buyer_price": ""}


def bid_settings(sql):
    return sql("SELECT bid_timeout_ms, min_bid, bid_caller_id FROM campaigns WHERE id = 1")[0]


def test_a_campaigns_bid_settings_are_edited_with_its_rules(seller, sql):
    html = seller.get("/campaigns/1").get_data(as_text=True)
    assert "Real-time bidding" in html and 'id="f-bid-timeout-ms"' in html
    assert '<option value="masked" selected>' in html
    response = seller.post("/campaigns/1", {**CAMPAIGN, "bid_timeout_ms": "1500",
                                            "min_bid": "2.50", "bid_caller_id": "full"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert bid_settings(sql) == (1500, Decimal("2.50"), "full")
    bad = seller.post("/campaigns/1", {**CAMPAIGN, "bid_timeout_ms": "5000", "min_bid": "",
                                       "bid_caller_id": "full"})
    assert bad.status_code == 422
    assert "3000" in field_error(bad.get_data(as_text=True), "f-bid-timeout-ms")
    assert bid_settings(sql) == (1500, Decimal("2.50"), "full")


def test_a_link_gets_a_bid_url_in_the_routing_table(seller, sql):
    saved = seller.post("/campaigns/1/clients/1", {**ROW, "bid_url": "https://bids.acme.example/rtb"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert sql("SELECT bid_url FROM campaign_client_settings WHERE id = 1") == [
        ("https://bids.acme.example/rtb",)]
    html = seller.get("/campaigns/1").get_data(as_text=True)
    assert re.search(r'id="s1-bid_url" name="bid_url"[^>]* value="https://bids.acme.example/rtb"', html)
    assert "priced by bid</span>" in html
    bad = seller.post("/campaigns/1/clients/1", {**ROW, "bid_url": "ftp://bids.acme.example/"})
    assert bad.status_code == 422
    assert re.search(r'id="s1-bid_url-error" data-error-for="bid_url">Must be an http:// or '
                     r'https:// URL\.</span>', bad.get_data(as_text=True))
    assert seller.post("/campaigns/1/clients/1", {**ROW, "bid_url": ""}).status_code == 302
    assert sql("SELECT bid_url FROM campaign_client_settings WHERE id = 1") == [(None,)]


def test_a_client_is_linked_priced_by_bid(seller, sql):
    form = {"client_id": "1", "forwarding_priority": "1", "weight": "100", "max_concurrency": "2",
            "total_calls_allowed": "", "status": "active", "cap_counts": "answered",
            "buyer_price": "", "bid_url": "https://bids.acme.example/medicare"}
    assert seller.post("/campaigns/2/clients", form).status_code == 302
    assert sql("SELECT bid_url FROM campaign_client_settings WHERE campaign_id = 2 "
               "AND client_id = 1") == [("https://bids.acme.example/medicare",)]


def acme(**overrides):
    return client_form(**{"client_identifier": "acme-cc", "name": "Acme Call Center",
                          "pjsip.contact_uri": "sip:agent@pbx.acme.example:5060",
                          "pjsip.outbound_auth.password": "", "pjsip.identify_ips": "",
                          "timezone": "UTC", "schedule.mode": "always", **overrides})


def test_a_clients_ping_budget_and_bid_secret(admin, sql):
    assert admin.post("/clients/1", acme(ping_budget="60")).status_code == 302
    assert sql("SELECT ping_budget FROM clients WHERE id = 1") == [(60,)]
    bad = admin.post("/clients/1", acme(ping_budget="-5"))
    assert bad.status_code == 422 and field_error(bad.get_data(as_text=True), "f-ping-budget")
    page = admin.get("/clients/1").get_data(as_text=True)
    assert "It has none yet" in page
    shown = admin.post("/clients/1/bid_secret").get_data(as_text=True)
    secret = sql("SELECT bid_secret FROM clients WHERE id = 1")[0][0]
    assert secret.startswith("bidsec_") and secret in shown
    page = admin.get("/clients/1").get_data(as_text=True)
    assert "It has one" in page and secret not in page


def test_a_bid_secret_made_on_the_clients_page_is_audited_without_it(admin, sql, caplog):
    caplog.set_level(logging.DEBUG)
    admin.post("/clients/1/bid_secret")
    secret = sql("SELECT bid_secret FROM clients WHERE id = 1")[0][0]
    trail = sql("SELECT action, u.username, changes FROM audit_events a "
                "JOIN users u ON u.id = a.actor_id "
                "WHERE entity_type = 'client' AND entity_id = '1' AND changes ? 'bid_secret'")
    assert trail == [("update", "admin", {"bid_secret": "(changed)"})]
    assert sql("SELECT count(*) FROM audit_events WHERE changes::text LIKE :s",
               s=f"%{secret}%") == [(0,)]
    assert secret not in caplog.text


def test_the_simulator_page_shows_each_buyers_bid(seller, sql):
    with BidServer() as bids:
        sql("UPDATE campaigns SET bid_timeout_ms = 2000 WHERE id = 1")
        sql("UPDATE campaign_client_settings SET bid_url = :u WHERE id = 1", u=bids.url + "/bid/12")
        sql("UPDATE campaign_client_settings SET bid_url = :u WHERE id = 2", u=bids.url + "/garbage")
        sql("UPDATE campaign_client_settings SET buyer_price = 3 WHERE id = 3")
        html = seller.post("/campaigns/1/simulate", {"caller_id": "", "at": ""}).get_data(as_text=True)
    assert "It would ring Acme Call Center" in html
    assert '<th scope="col">Price</th>' in html
    assert re.search(r'<td class="price">12\.00 bid in \d+ ms</td>', html)
    assert '<td class="price">no bid (malformed)</td>' in html
    assert '<td class="price">3.00 fixed</td>' in html
    assert all(ping.json["test"] is True for ping in bids.pings)


def test_the_call_log_shows_the_prices_a_call_was_routed_on(app, seller, sql):
    with BidServer() as bids:
        sql("UPDATE campaigns SET bid_timeout_ms = 2000 WHERE id = 1")
        sql("UPDATE campaign_client_settings SET bid_url = :u WHERE id = 2", u=bids.url + "/bid/40")
        sql("UPDATE campaign_client_settings SET bid_url = :u WHERE id = 1", u=bids.url + "/error")
        with app.app_context():
            routing = RoutingService(db.engine, rng=random.Random(1), allow_private_bid_targets=True)
        routing.route(CallArrival(uniqueid="page-bid-1.1", did="+14155550100",
                                  caller_id="+13105550166"))
    row = seller.get("/calls?caller=%2B13105550166").get_data(as_text=True)
    call_id = row.split('data-detail-url="/calls/')[1].split("/")[0]
    html = seller.get(f"/calls/{call_id}/detail").get_data(as_text=True)
    assert re.search(r'<td class="price">40\.00 bid in \d+ ms</td>', html)
    assert '<td class="price">no bid (http 500)</td>' in html

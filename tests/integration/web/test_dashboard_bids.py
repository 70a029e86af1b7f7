"""The dashboard's bid figures per client: bids won, average winning bid, no-bid rate."""
import random

import pytest

from app.extensions import db
from app.services.routing import CallArrival, RoutingService
from tests.support.bid_server import BidServer
from tests.support.routing import execute


@pytest.fixture
def bid_calls(app):
    """Seller1's Solar Leads: acme-cc wins at 10 then 20, bluesky-cc errors twice; seller2's
    Auto Insurance: acme-cc wins at 99."""
    with app.app_context():
        engine = db.engine
    routing = RoutingService(engine, default_region="US", rng=random.Random(5),
                             allow_private_bid_targets=True)

    def arrive(uniqueid, did, caller):
        decision = routing.route(CallArrival(uniqueid=uniqueid, did=did, caller_id=caller))
        assert decision.action == "dial", decision

    with BidServer() as bids:
        execute(engine, "UPDATE campaigns SET bid_timeout_ms = 2000")
        execute(engine, "UPDATE campaign_client_settings SET bid_url = :u WHERE id = 1",
                u=bids.url + "/bid/10")
        execute(engine, "UPDATE campaign_client_settings SET bid_url = :u WHERE id = 2",
                u=bids.url + "/error")
        execute(engine, "UPDATE campaign_client_settings SET bid_url = :u WHERE id = 5",
                u=bids.url + "/bid/99")
        arrive("dash-bid-1.1", "+14155550100", "+13105550101")
        execute(engine, "UPDATE campaign_client_settings SET bid_url = :u WHERE id = 1",
                u=bids.url + "/bid/20")
        arrive("dash-bid-2.1", "+14155550100", "+13105550102")
        arrive("dash-bid-3.1", "+12125550100", "+13105550103")


def by_client(data):
    return {b["client"]: b for b in data["bids"]}


def test_a_seller_sees_the_bids_of_their_own_calls(pages, bid_calls):
    pages.login("seller1")
    bids = by_client(pages.get("/dashboard/data").get_json())
    assert set(bids) == {"Acme Call Center", "Bluesky Contact"}
    acme, bluesky = bids["Acme Call Center"], bids["Bluesky Contact"]
    assert (acme["won"], acme["average_winning_bid"], acme["no_bid_rate"]) == (2, 15.0, 0.0)
    assert (bluesky["won"], bluesky["average_winning_bid"], bluesky["no_bid_rate"]) == (0, None, 1.0)


def test_the_platform_sees_every_sellers_bids(pages, bid_calls):
    pages.login("admin")
    acme = by_client(pages.get("/dashboard/data").get_json())["Acme Call Center"]
    assert (acme["won"], acme["average_winning_bid"], acme["asked"]) == (3, 43.0, 3)


def test_without_bids_the_dashboard_says_nothing_of_them(pages):
    pages.login("seller1")
    assert pages.get("/dashboard/data").get_json()["bids"] == []
    assert 'id="dash-bids-card" hidden' in pages.get("/dashboard").get_data(as_text=True)

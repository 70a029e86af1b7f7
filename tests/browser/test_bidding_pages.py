"""Bidding in a real browser: a link's bid URL edited in place in the routing table, and the
dashboard's bids per client."""
import random
import re
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import expect

from app.services.routing import CallArrival, RoutingService
from tests.support.bid_server import BidServer
from tests.support.browser import field, log_in
from tests.support.routing import execute, scalar


def test_a_link_is_priced_by_bid_in_the_routing_table(page, engine):
    log_in(page, "seller1")
    page.goto("/campaigns/1")
    row = page.locator('#routing-table tr[data-setting-id="2"]')
    row.get_by_role("button", name=re.compile("^Period caps and price for Bluesky Contact")).click()
    extra = page.locator("#extra-2")
    field(extra, "Bid URL for Bluesky Contact").fill("ftp://bids.bluesky.example/")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("#s2-bid_url-error")).to_have_text("Must be an http:// or https:// URL.")
    assert scalar(engine, "SELECT bid_url FROM campaign_client_settings WHERE id = 2") is None
    field(extra, "Bid URL for Bluesky Contact").fill("https://bids.bluesky.example/rtb")
    row.get_by_role("button", name="Save").click()
    expect(row.locator(".row-status")).to_have_text("Saved")
    expect(row.locator("[data-summary]")).to_have_text("priced by bid")
    assert scalar(engine, "SELECT bid_url FROM campaign_client_settings WHERE id = 2") == \
        "https://bids.bluesky.example/rtb"


def test_the_dashboard_shows_bids_won_and_the_no_bid_rate_per_client(page, engine):
    routing = RoutingService(engine, rng=random.Random(2), allow_private_bid_targets=True)
    with BidServer() as bids:
        execute(engine, "UPDATE campaigns SET bid_timeout_ms = 2000 WHERE id = 1")
        execute(engine, "UPDATE campaign_client_settings SET bid_url = :u WHERE id = 1",
                u=bids.url + "/bid/12.40")
        execute(engine, "UPDATE campaign_client_settings SET bid_url = :u WHERE id = 2",
                u=bids.url + "/garbage")
        # Off this thread: Playwright keeps an event loop running in it.
        with ThreadPoolExecutor(1) as pool:
            for n in range(2):
                pool.submit(routing.route, CallArrival(
                    uniqueid=f"dash-rtb-{n}.1", did="+14155550100",
                    caller_id=f"+1310555017{n}")).result()
    log_in(page, "seller1")
    page.goto("/dashboard")
    card = page.locator("#dash-bids-card")
    expect(card).to_be_visible()
    acme = card.locator('tr[data-client-id="1"]')
    expect(acme.locator("td")).to_have_text(["2", "12.40", "0 %", "2"])
    expect(card.locator('tr[data-client-id="2"] td')).to_have_text(["0", "—", "100 %", "2"])

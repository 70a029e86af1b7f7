"""A seller sets a campaign up in the browser, and calls driven through the FastAGI server show
up on the dashboard and in the call log without a reload."""
import asyncio
import csv
import dataclasses
import io
import re

from playwright.sync_api import expect

from fake_asterisk.dialplan import ANSWER, NOANSWER
from tests.support.browser import field, log_in, screenshot
from tests.support.routing import scalar

NEW_DID = "+14155550177"


def set_up_campaign(page):
    """DID, campaign, attached DID, linked client with caps — all through the pages."""
    page.get_by_role("link", name="DIDs").click()
    field(page, "Number").fill("(415) 555-0177")
    field(page, "Description").fill("Roofing radio spot")
    page.get_by_role("button", name="Add DID").click()
    expect(page.get_by_role("status")).to_contain_text(f"DID {NEW_DID} added.")
    expect(page.locator("#dids")).to_contain_text(NEW_DID)

    page.get_by_role("link", name="Campaigns").click()
    field(page, "Name").fill("Roofing")
    field(page, "Description").fill("Roof repair inbound")
    field(page, "Dial timeout (seconds)").fill("20")
    new = page.locator("#new-campaign")
    new.get_by_text("Caps, billing and repeat callers (optional)").click()
    field(new, "Billable after (seconds)").fill("60")
    field(new, "Payout per converted call").fill("12.50")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Roofing")

    page.get_by_label("Attach a DID").select_option(label=f"{NEW_DID} Roofing radio spot")
    page.get_by_role("button", name="Attach").click()
    expect(page.locator("#dids .did-list")).to_contain_text(NEW_DID)

    link = page.locator("form.link-form")
    link.get_by_label("Client").select_option(label="Acme Call Center (acme-cc)")
    field(link, "Concurrency cap").fill("2")
    field(link, "Total cap").fill("10")
    link.get_by_text("Period caps and buyer price (optional)").click()
    field(link, "Daily cap").fill("5")
    field(link, "Buyer price").fill("30")
    page.get_by_role("button", name="Link client").click()
    row = page.locator("#routing-table tbody tr").first
    expect(row).to_contain_text("Acme Call Center")
    expect(row.get_by_label("Concurrency cap for Acme Call Center")).to_have_value("2")
    expect(row.get_by_label("Total cap for Acme Call Center")).to_have_value("10")
    expect(row.locator("[data-summary]")).to_have_text("5/day · price 30.00")


def test_a_call_shows_on_the_dashboard_and_in_the_call_log_without_a_reload(page, calls, engine):
    log_in(page, "seller1")
    set_up_campaign(page)
    campaign_id = scalar(engine, "SELECT id FROM campaigns WHERE name = 'Roofing'")

    page.get_by_role("link", name="Dashboard").click()
    roofing = page.locator(f'#dash-campaigns tr.campaign-row[data-campaign-id="{campaign_id}"]')
    expect(roofing.locator("td.load")).to_have_text("0 / 2")
    answered = page.locator('#dash-outcomes [data-outcome="answered"] .bar-value')
    answered_before = int(answered.inner_text())
    converted_before = int(page.locator('[data-kpi="converted"]').inner_text())
    payout_before = float(page.locator('[data-kpi="payout"]').inner_text().replace(",", ""))
    page.evaluate("window.__notReloaded = true")

    ringing = asyncio.Event()
    call = calls(exten="14155550177", callerid="+13105550199",
                 outcomes=[dataclasses.replace(ANSWER, hold=ringing, talk_seconds=95)])
    # While the client's phone rings, the call is in flight against the cap of 2.
    expect(roofing.locator("td.load")).to_have_text("1 / 2")
    expect(page.locator('#dash-clients [data-client-id="1"] .bar-value')).to_contain_text(re.compile(r"^[1-9]"))
    expect(page.locator('[data-kpi="in_flight"]')).not_to_have_text("0")
    screenshot(page, "dashboard", full_page=True)

    call.set_threadsafe(ringing)
    record = call.finish()
    assert record.agi_scripts == ["route", "answered", "hangup"]
    expect(roofing.locator("td.load")).to_have_text("0 / 2")
    expect(answered).to_have_text(str(answered_before + 1))
    expect(page.locator('#dash-caps li', has_text="Roofing")).to_contain_text("1 / 10")
    # 95 s of talk, billable after 60 s: converted, at the campaign's payout and the link's price.
    expect(page.locator('[data-kpi="converted"]')).to_have_text(str(converted_before + 1))
    expect(page.locator('[data-kpi="payout"]')).to_have_text(f"{payout_before + 12.5:,.2f}")
    assert page.evaluate("window.__notReloaded") is True  # all of it without a reload

    # The call log, open while the next call arrives: it appears by itself.
    page.get_by_role("link", name="Calls").click()
    expect(page.locator("#call-rows")).to_contain_text("+13105550199")
    page.evaluate("window.__notReloaded = true")
    calls(exten="14155550177", callerid="+13105550198", outcomes=[NOANSWER]).finish()
    row = page.locator("tr.call-row", has_text="+13105550198")
    expect(row).to_be_visible()
    expect(row).to_contain_text("All failed")
    row.get_by_role("button").click()
    attempts = page.locator(f'#attempts-{row.get_attribute("data-call-id")}')
    expect(attempts).to_be_visible()
    expect(attempts).to_contain_text("NOANSWER")
    expect(attempts).to_contain_text("Acme Call Center")
    # Why it went there: the routing engine's decision, round by round.
    decision = attempts.locator(".decision-rounds")
    expect(decision.locator('tr[data-verdict="failed:NOANSWER"]')).to_contain_text("Acme Call Center")
    expect(decision).to_contain_text("Round 2")
    expect(decision).to_contain_text("every client tried failed to answer")
    expect(attempts).to_contain_text("Not answered: no payout, no revenue.")
    # The answered call: dialled, converted, with its payout and revenue.
    first = page.locator("tr.call-row", has_text="+13105550199")
    first.get_by_role("button").click()
    detail = page.locator(f'#attempts-{first.get_attribute("data-call-id")}')
    expect(detail.locator('tr[data-verdict="dialled"]')).to_contain_text("acme-cc")
    expect(detail.locator(".billing")).to_contain_text("converted Payout 12.50 · revenue 30.00")
    expect(first).to_contain_text("converted")
    screenshot(page.locator("#calls"), "call-decision")
    assert page.evaluate("window.__notReloaded") is True

    # The export has both calls (and only this seller's).
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = open(download.value.path()).read()
    assert "+13105550199" in text and "+13105550198" in text and "+12125550100" not in text
    exported = {row["caller_id"]: row for row in csv.DictReader(io.StringIO(text))}
    assert (exported["+13105550199"]["converted"], exported["+13105550199"]["payout"],
            exported["+13105550199"]["revenue"]) == ("true", "12.50", "30.00")

    # Where would the next call go? The simulator answers in the page, without a reload.
    page.goto(f"/campaigns/{campaign_id}")
    page.evaluate("window.__notReloaded = true")
    simulator = page.locator("#simulate")
    field(simulator, "Caller number").fill("+13105550199")
    simulator.get_by_role("button", name="Simulate").click()
    expect(simulator.locator(".simulation-outcome")).to_contain_text("It would ring Acme Call Center")
    expect(simulator.locator('tr[data-verdict="would_dial"]')).to_contain_text("acme-cc")
    expect(simulator.locator("#simulation")).to_be_focused()
    assert page.evaluate("window.__notReloaded") is True
    # Reject repeat callers within a day: the same caller is now refused, and the page says why.
    details = page.locator("#details")
    field(details, "Repeat-caller window (hours)").fill("24")
    field(details, "A repeat caller is").select_option("reject")
    details.get_by_role("button", name="Save details and rules").click()
    expect(page.get_by_role("status").first).to_contain_text("Campaign saved.")
    simulator = page.locator("#simulate")
    field(simulator, "Caller number").fill("+13105550199")
    simulator.get_by_role("button", name="Simulate").click()
    expect(simulator.locator(".simulation-outcome")).to_contain_text("It would be rejected (duplicate)")
    field(simulator, "Caller number").fill("+13105550100")
    simulator.get_by_role("button", name="Simulate").click()
    expect(simulator.locator(".simulation-outcome")).to_contain_text("It would ring Acme Call Center")
    screenshot(simulator, "simulator")
    assert scalar(engine, "SELECT in_flight FROM campaign_client_settings WHERE campaign_id = :c",
                  c=campaign_id) == 0  # nothing reserved


def test_the_routing_table_is_edited_in_place(page, engine):
    log_in(page, "seller1")
    page.goto("/campaigns/1")
    page.evaluate("window.__notReloaded = true")
    row = page.locator('#routing-table tr[data-setting-id="2"]')
    field(row, "Weight for Bluesky Contact").fill("45")
    field(row, "Total cap for Bluesky Contact").fill("500")
    row.get_by_role("button", name="Save").click()
    expect(row.locator(".row-status")).to_have_text("Saved")
    assert scalar(engine, "SELECT weight FROM campaign_client_settings WHERE id = 2") == 45
    assert scalar(engine, "SELECT total_calls_allowed FROM campaign_client_settings WHERE id = 2") == 500
    assert page.evaluate("window.__notReloaded") is True

    # The period caps and price live in the row's second row, opened by its toggle.
    extra = page.locator("#extra-2")
    expect(extra).to_be_hidden()
    toggle = row.get_by_role("button", name=re.compile("^Period caps and price for Bluesky Contact"))
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    field(extra, "Hourly cap for Bluesky Contact").fill("10")
    field(extra, "Period caps count for Bluesky Contact").select_option("converted")
    field(extra, "Buyer price for Bluesky Contact").fill("30")
    row.get_by_role("button", name="Save").click()
    expect(row.locator("[data-summary]")).to_have_text("10/hour · converted · price 30.00")
    expect(field(extra, "Buyer price for Bluesky Contact")).to_have_value("30.00")
    assert scalar(engine, "SELECT row_to_json(s) FROM (SELECT hourly_cap, daily_cap, cap_counts, "
                          "buyer_price FROM campaign_client_settings WHERE id = 2) s") == {
        "hourly_cap": 10, "daily_cap": None, "cap_counts": "converted", "buyer_price": 30}
    screenshot(page.locator("#routing"), "routing-table")

    # Bad input: the API's message beside the field, nothing saved.
    acme = page.locator('#routing-table tr[data-setting-id="1"]')
    field(acme, "Total cap for Acme Call Center").fill("1")  # 2 calls delivered already
    acme.get_by_role("button", name="Save").click()
    error = acme.locator('[data-error-for="total_calls_allowed"]')
    expect(error).to_contain_text("Cannot be below the 2 calls already delivered")
    expect(acme.get_by_label("Total cap for Acme Call Center")).to_have_attribute("aria-invalid", "true")
    expect(acme.locator(".row-status")).to_have_text("Not saved: see the message above.")
    assert scalar(engine, "SELECT total_calls_allowed FROM campaign_client_settings WHERE id = 1") == 100
    # An error in a folded period cap opens its row to show it.
    field(acme, "Total cap for Acme Call Center").fill("100")
    acme_toggle = acme.get_by_role("button", name=re.compile("^Period caps and price for Acme"))
    acme_toggle.click()
    field(page.locator("#extra-1"), "Buyer price for Acme Call Center").fill("1.234")
    acme_toggle.click()
    expect(page.locator("#extra-1")).to_be_hidden()
    acme.get_by_role("button", name="Save").click()
    expect(page.locator("#extra-1")).to_be_visible()
    expect(page.locator('#s1-buyer_price-error')).to_have_text("At most 2 decimals.")
    expect(field(page.locator("#extra-1"), "Buyer price for Acme Call Center")).to_be_focused()
    assert scalar(engine, "SELECT buyer_price FROM campaign_client_settings WHERE id = 1") is None


def test_the_routing_table_stacks_on_a_phone(new_page, engine):
    page = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    log_in(page, "seller1")
    page.goto("/campaigns/1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    row = page.locator('#routing-table tr[data-setting-id="1"]')
    expect(row.get_by_text("Concurrency cap", exact=True)).to_be_visible()  # each control named
    row.get_by_role("button", name=re.compile("^Period caps and price for Acme")).click()
    field(page.locator("#extra-1"), "Daily cap for Acme Call Center").fill("25")
    row.get_by_role("button", name="Save").click()
    expect(row.locator(".row-status")).to_have_text("Saved")
    assert scalar(engine, "SELECT daily_cap FROM campaign_client_settings WHERE id = 1") == 25
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page.locator("#routing"), "routing-table-phone")

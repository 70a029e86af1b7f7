"""A seller sets a campaign up in the browser, and calls driven through the FastAGI server show
up on the dashboard and in the call log without a reload."""
import asyncio
import dataclasses
import re

from playwright.sync_api import expect

from tests.agi_support.dialplan import ANSWER, NOANSWER
from tests.browser.conftest import field, log_in, screenshot
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
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Roofing")

    page.get_by_label("Attach a DID").select_option(label=f"{NEW_DID} Roofing radio spot")
    page.get_by_role("button", name="Attach").click()
    expect(page.locator("#dids .did-list")).to_contain_text(NEW_DID)

    link = page.locator("form.link-form")
    link.get_by_label("Client").select_option(label="Acme Call Center (acme-cc)")
    field(link, "Concurrency cap").fill("2")
    field(link, "Total cap").fill("10")
    page.get_by_role("button", name="Link client").click()
    row = page.locator("#routing-table tbody tr").first
    expect(row).to_contain_text("Acme Call Center")
    expect(row.get_by_label("Concurrency cap for Acme Call Center")).to_have_value("2")
    expect(row.get_by_label("Total cap for Acme Call Center")).to_have_value("10")


def test_a_call_shows_on_the_dashboard_and_in_the_call_log_without_a_reload(page, calls, engine):
    log_in(page, "seller1")
    set_up_campaign(page)
    campaign_id = scalar(engine, "SELECT id FROM campaigns WHERE name = 'Roofing'")

    page.get_by_role("link", name="Dashboard").click()
    roofing = page.locator(f'#dash-campaigns tr.campaign-row[data-campaign-id="{campaign_id}"]')
    expect(roofing.locator("td.load")).to_have_text("0 / 2")
    answered = page.locator('#dash-outcomes [data-outcome="answered"] .bar-value')
    answered_before = int(answered.inner_text())
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
    assert page.evaluate("window.__notReloaded") is True

    # The export has both calls (and only this seller's).
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = open(download.value.path()).read()
    assert "+13105550199" in text and "+13105550198" in text and "+12125550100" not in text


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

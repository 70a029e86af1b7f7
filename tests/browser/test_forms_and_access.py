"""Admin SIP form, tenant isolation, form errors and small screens, in the browser."""
import re

from playwright.sync_api import expect

from tests.support.browser import field, log_in, screenshot
from tests.support.responses import remember_secret
from tests.support.routing import scalar

SIP_PASSWORD = remember_secret("delta-pbx-secret-2026")


def test_an_admin_creates_a_client_with_sip_settings_and_the_ps_rows_exist(page, engine):
    log_in(page, "admin")
    page.get_by_role("link", name="Clients").click()
    page.get_by_role("link", name="New client").click()
    form = page.locator("#client-form")
    # The register-mode fields are hidden until that mode is chosen.
    expect(field(form, "Registrations allowed")).to_be_hidden()
    form.get_by_label("Registration: their PBX registers to us").check()
    expect(field(form, "Registrations allowed")).to_be_visible()
    expect(field(form, "Contact URI")).to_be_hidden()
    # Outbound auth belongs to both modes: a registering PBX may challenge our calls too.
    expect(field(form, "Their PBX challenges the calls we send it (outbound auth)")).to_be_visible()
    form.get_by_label("Static: we dial their PBX").check()

    field(form, "Identifier").fill("delta-cc")
    field(form, "Name").fill("Delta Dialers")
    field(form, "Department").fill("Roofing")
    field(form, "Contact URI").fill("sip:queue@pbx.delta.example:5060")
    field(form, "Their PBX challenges the calls we send it (outbound auth)").check()
    field(form, "Auth username").fill("capconduit")
    field(form, "Auth password").fill(SIP_PASSWORD)
    field(form, "Codecs, most preferred first").fill("alaw")
    form.locator("summary", has_text="Codec names Asterisk accepts").click()
    form.get_by_role("button", name="Add codec g722").click()
    expect(field(form, "Codecs, most preferred first")).to_have_value("alaw, g722")
    field(form, "DTMF mode").select_option("info")
    field(form, "Addresses that identify their traffic").fill("198.51.100.77")

    # Seats and hours: the weekly editor adds, copies and removes intervals in place.
    field(form, "Seats").fill("12")
    field(form, "Time zone").fill("America/Chicago")
    expect(form.locator("#schedule-days")).to_be_hidden()  # always open until weekly is chosen
    form.get_by_label("Weekly hours").check()
    field(form, "Monday, hours 1, from").fill("09:00")
    field(form, "Monday, hours 1, to").fill("12:00")
    form.get_by_role("button", name="Add hours on Monday").click()
    expect(field(form, "Monday, hours 2, from")).to_be_focused()
    field(form, "Monday, hours 2, from").fill("13:00")
    field(form, "Monday, hours 2, to").fill("18:00")
    form.get_by_role("button", name="Copy Monday to Tuesday–Friday").click()
    expect(field(form, "Friday, hours 2, to")).to_have_value("18:00")
    form.get_by_role("button", name="Remove Wednesday hours 2").click()
    expect(field(form, "Wednesday, hours 2, from")).to_have_count(0)
    field(form, "Saturday, hours 1, from").fill("10:00")
    field(form, "Saturday, hours 1, to").fill("14:00")
    form.get_by_label("Date to add to the closed dates").fill("2026-12-25")
    form.get_by_role("button", name="Add date").click()
    expect(field(form, "Closed dates")).to_have_value("2026-12-25")
    screenshot(page, "client-form", full_page=True)
    page.get_by_role("button", name="Create client").click()

    expect(page.get_by_role("status")).to_contain_text("Client delta-cc created")
    assert SIP_PASSWORD not in page.content()
    expect(page.get_by_text("A password is set; leave blank to keep it.")).to_be_visible()
    endpoint = scalar(engine, "SELECT row_to_json(e) FROM ps_endpoints e WHERE id = 'delta-cc'")
    assert (endpoint["aors"], endpoint["outbound_auth"], endpoint["context"]) == (
        "delta-cc", "delta-cc", "cc-from-clients")
    assert (endpoint["disallow"], endpoint["allow"], endpoint["dtmf_mode"]) == ("all", "alaw,g722", "info")
    assert scalar(engine, "SELECT contact FROM ps_aors WHERE id = 'delta-cc'") == \
        "sip:queue@pbx.delta.example:5060"
    assert scalar(engine, "SELECT password FROM ps_auths WHERE id = 'delta-cc'") == SIP_PASSWORD
    assert scalar(engine, "SELECT match FROM ps_endpoint_id_ips WHERE endpoint = 'delta-cc'") == \
        "198.51.100.77"
    rules = scalar(engine, "SELECT row_to_json(c) FROM (SELECT max_concurrency, timezone, schedule, "
                           "closures FROM clients WHERE client_identifier = 'delta-cc') c")
    week = [["09:00", "12:00"], ["13:00", "18:00"]]
    assert rules == {"max_concurrency": 12, "timezone": "America/Chicago", "closures": ["2026-12-25"],
                     "schedule": {"mon": week, "tue": week, "wed": week[:1], "thu": week, "fri": week,
                                  "sat": [["10:00", "14:00"]]}}


def test_a_seller_cannot_open_another_sellers_campaign(page):
    log_in(page, "seller2")
    response = page.goto("/campaigns/1")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert "Solar" not in page.content()
    assert page.goto("/admin/users").status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_a_form_with_bad_input_shows_the_error_beside_the_field_and_saves_nothing(page, engine):
    log_in(page, "seller1")
    page.goto("/campaigns")
    form = page.locator("#new-campaign")
    field(form, "Name").fill("Roofing")
    timeout = field(form, "Dial timeout (seconds)")
    timeout.fill("999")
    form.get_by_role("button", name="Create campaign").click()

    timeout = field(page.locator("#new-campaign"), "Dial timeout (seconds)")
    error = page.locator("#f-dial-timeout-error")
    expect(error).to_contain_text("Must be 5 to 120.")
    expect(timeout).to_have_attribute("aria-invalid", "true")
    expect(timeout).to_be_focused()  # keyboard users land on the first field to fix
    described = timeout.get_attribute("aria-describedby").split()
    assert "f-dial-timeout-error" in described
    # Beside the field: the error follows the input inside the same field block.
    assert page.locator(".field:has(#f-dial-timeout) #f-dial-timeout-error").count() == 1
    expect(field(page.locator("#new-campaign"), "Name")).to_have_value("Roofing")
    assert scalar(engine, "SELECT count(*) FROM campaigns WHERE name = 'Roofing'") == 0


def test_the_dashboard_fits_a_phone_and_the_menu_works_by_keyboard(new_page):
    page = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    log_in(page, "seller1")
    expect(page.locator("#dash-campaigns tbody tr").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    menu = page.get_by_role("button", name="Menu")
    expect(page.get_by_role("link", name="Campaigns")).to_be_hidden()
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Campaigns")).to_be_visible()
    page.keyboard.press("Enter")
    screenshot(page, "dashboard-phone", full_page=True)
    # The first Tab reaches the skip link, which jumps to the content.
    page.goto("/calls")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


def test_the_call_log_stacks_on_a_phone(new_page):
    page = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    log_in(page, "seller1")
    page.goto("/calls")
    row = page.locator("#call-rows tr.call-row").first
    expect(row).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Each value sits under its column's name, the time on one line, nothing cut.
    cells = row.locator("td[data-label]")
    labels = cells.evaluate_all(
        "cells => cells.map(c => getComputedStyle(c, '::before').content)")
    assert '"Started (UTC)"' in labels and '"Caller"' in labels
    started = row.locator("td.col-started time")
    line = float(started.evaluate("t => parseFloat(getComputedStyle(t).lineHeight)"))
    assert started.bounding_box()["height"] < 1.5 * line
    for cell in cells.all():
        assert cell.evaluate("c => c.scrollWidth <= c.clientWidth + 1"), cell.inner_text()
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    row.get_by_role("button").click()  # the details open under the card
    expect(page.locator("#call-rows tr.attempts-row").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "calls-phone", full_page=True)


def test_the_dashboards_times_are_in_the_viewers_zone_and_say_so(new_page):
    page = new_page(timezone_id="Asia/Kolkata")  # UTC+05:30: its hours end in ":30"
    log_in(page, "admin")
    name = "Asia/(Kolkata|Calcutta)"  # Chromium's ICU still says Calcutta
    expect(page.locator("#h-chart")).to_have_text(re.compile(rf"^Calls per hour, last 24 hours \({name}\)$"))
    expect(page.locator(".lead")).to_contain_text(re.compile(f"in your time zone, {name}"))
    zone = r"(IST|GMT\+5:30)"
    expect(page.locator("#dash-updated")).to_have_text(re.compile(rf"^Updated \d\d:\d\d:\d\d {zone}$"))
    expect(page.locator('[data-kpi="since"]')).to_contain_text(re.compile(rf"00:00 {zone}"))
    chart = page.locator("#dash-chart svg")
    expect(chart).to_have_attribute("aria-label", re.compile("calls in the last 24 hours"))
    # Each hour's tooltip names the zone; the axis (under the heading that names it) is local.
    titles = chart.locator("g.hour title").all_text_contents()
    assert len(titles) == 24
    assert all(re.fullmatch(rf"\d\d:30 {zone}: \d+ calls, \d+ answered", t) for t in titles), titles
    axis = [t for t in chart.locator("text.axis").all_text_contents() if ":" in t]
    assert axis and all(t.endswith(":30") for t in axis), axis

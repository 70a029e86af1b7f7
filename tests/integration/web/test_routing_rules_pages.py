"""The routing rules through the pages: client seats and hours, campaign rules, the
routing table's period caps and price, call decisions and billing, and the simulator."""
import csv
import io
import json
import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from app.extensions import db
from app.services import dashboard_service
from app.services.routing import CallArrival, CallEnd, RoutingService
from tests.support.pages import client_form, field_error



def hours_form(**days):
    """The weekly editor's fields: each day's intervals, then the empty row the page adds."""
    form = {"schedule.mode": "weekly"}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        intervals = days.get(day, []) + [("", "")]
        form[f"schedule.{day}.from"] = [start for start, _ in intervals]
        form[f"schedule.{day}.to"] = [end for _, end in intervals]
    return form


def acme(**overrides):
    """Client 1's form as the page shows it, with `overrides`."""
    return client_form(**{"client_identifier": "acme-cc", "name": "Acme Call Center",
                          "pjsip.contact_uri": "sip:agent@pbx.acme.example:5060",
                          "pjsip.outbound_auth.password": "", "pjsip.identify_ips": "",
                          **overrides})


def client_rules(sql, client_id=1):
    return sql("SELECT max_concurrency, timezone, schedule, closures FROM clients WHERE id = :i",
               i=client_id)[0]


# --- client: seats, time zone, weekly hours, closures ------------------------------------

def test_the_client_form_offers_seats_time_zone_hours_and_closures(admin):
    html = admin.get("/clients/1").get_data(as_text=True)
    assert 'id="f-max-concurrency"' in html and 'list="f-timezone-names"' in html
    assert '<option value="America/New_York">' in html
    assert re.search(r'id="schedule-always"[^>]*value="always" checked', html)  # sample: no schedule
    for day in ("Monday", "Sunday"):
        assert f"<legend>{day}</legend>" in html
    assert 'name="schedule.mon.from"' in html and 'id="f-closures"' in html
    admin.client.set_cookie("tz", "Europe/Paris")  # what the page's script reports
    new = admin.get("/clients/new").get_data(as_text=True)
    assert re.search(r'id="f-timezone"[^>]*value="Europe/Paris"', new)  # the viewer's zone


def test_client_seats_hours_and_closures_are_saved_and_shown_again(admin, sql):
    form = acme(**{"max_concurrency": "8", "timezone": "Europe/Paris",
                   "closures": "2026-12-25\n2027-01-01",
                   **hours_form(mon=[("09:00", "12:00"), ("13:00", "18:00")],
                                sat=[("10:00", "24:00")])})
    response = admin.post("/clients/1", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert client_rules(sql) == (8, "Europe/Paris",
                                 {"mon": [["09:00", "12:00"], ["13:00", "18:00"]],
                                  "sat": [["10:00", "24:00"]]},
                                 ["2026-12-25", "2027-01-01"])
    html = admin.get("/clients/1").get_data(as_text=True)
    assert re.search(r'id="schedule-weekly"[^>]*value="weekly" checked', html)
    assert 'id="sch-mon-2-from" name="schedule.mon.from" value="13:00"' in html
    assert 'id="sch-sat-1-to" name="schedule.sat.to" value="24:00"' in html
    assert 'id="sch-tue-1-from" name="schedule.tue.from" value=""' in html  # closed: one empty row
    assert "2026-12-25\n2027-01-01</textarea>" in html
    # Always open again, no seat limit, no closure.
    response = admin.post("/clients/1", acme(**{"max_concurrency": "", "timezone": "UTC",
                                                "closures": "", "schedule.mode": "always",
                                                **{k: v for k, v in hours_form().items()
                                                   if k != "schedule.mode"}}))
    assert response.status_code == 302
    assert client_rules(sql) == (None, "UTC", None, [])


def test_the_client_list_sums_up_seats_and_hours(admin, sql):
    sql("""UPDATE clients SET max_concurrency = 8, timezone = 'Europe/Paris',
           schedule = '{"mon": [["09:00", "17:00"]]}', closures = '["2026-12-25"]' WHERE id = 1""")
    html = admin.get("/clients").get_data(as_text=True)
    assert "8 seats · weekly hours · 1 closed date<br><span class=\"muted\">Europe/Paris" in html
    assert "no seat limit · always open<br><span class=\"muted\">UTC" in html


def test_a_weekly_schedule_with_no_hours_is_never_open(admin, sql):
    assert admin.post("/clients/3", acme(**{"client_identifier": "summit-cc", "name": "Summit",
                                            "pjsip.mode": "register",
                                            "pjsip.outbound_auth": "", **hours_form()})
                      ).status_code == 302
    assert client_rules(sql, 3)[2] == {}


def test_a_new_client_gets_its_hours(pages, sql):
    pages.login("staff")
    response = pages.post("/clients/new", client_form(**{
        "max_concurrency": "12", "timezone": "America/Chicago", "closures": "2026-11-26",
        **hours_form(mon=[("08:00", "20:00")], fri=[("08:00", "16:30")])}))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert client_rules(sql, 4) == (12, "America/Chicago",
                                    {"mon": [["08:00", "20:00"]], "fri": [["08:00", "16:30"]]},
                                    ["2026-11-26"])


def test_bad_client_rules_are_shown_beside_their_fields_and_nothing_is_saved(admin, sql):
    before = client_rules(sql)
    response = admin.post("/clients/1", acme(**{
        "max_concurrency": "0", "timezone": "Mars/Olympus_Mons", "closures": "2026-12-25 tomorrow",
        **hours_form(mon=[("09:00", "12:00")], wed=[("18:00", "09:00")])}))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Must be at least 1." in field_error(html, "f-max-concurrency")
    assert "Not an IANA time zone name" in field_error(html, "f-timezone")
    assert "'tomorrow' is not a date" in field_error(html, "f-closures")
    # The schedule's error sits beside the day it is about, and the day's fields say so.
    assert field_error(html, "f-schedule-wed") == "wed: an interval must start before it ends."
    assert 'value="18:00" class="clock mono" inputmode="numeric" maxlength="5" placeholder="HH:MM" ' \
           'autocomplete="off" aria-invalid="true" aria-describedby="f-schedule-wed-error"' in html
    assert 'name="schedule.mon.from" value="09:00"' in html  # what was typed is kept
    assert client_rules(sql) == before
    # A time that is not HH:MM, on another day.
    html = admin.post("/clients/1", acme(**hours_form(thu=[("9am", "5pm")]))).get_data(as_text=True)
    assert "HH:MM" in field_error(html, "f-schedule-thu")
    assert client_rules(sql) == before


def test_a_client_form_without_the_hours_fields_leaves_them_alone(admin, sql):
    admin.post("/clients/1", acme(**hours_form(mon=[("09:00", "17:00")])))
    assert admin.post("/clients/1", acme()).status_code == 302  # an older form: no rule fields
    assert client_rules(sql)[2] == {"mon": [["09:00", "17:00"]]}


# --- campaign: caps, billing, repeat callers ---------------------------------------------

CAMPAIGN_RULES = {"max_concurrency": "6", "daily_cap": "150", "timezone": "America/New_York",
                  "billable_after": "90", "payout": "12.50", "duplicate_window_hours": "24",
                  "duplicate_action": "sticky", "reject_concurrent_duplicate": ["", "on"]}


def campaign_rules(sql, name):
    return sql("SELECT max_concurrency, daily_cap, timezone, billable_after, payout, "
               "duplicate_window_hours, duplicate_action, reject_concurrent_duplicate "
               "FROM campaigns WHERE name = :n", n=name)[0]


def test_a_campaign_is_created_with_its_rules(seller, sql):
    html = seller.get("/campaigns").get_data(as_text=True)
    assert "Caps, billing and repeat callers (optional)" in html
    assert '<option value="sticky">' in html
    response = seller.post("/campaigns", {"name": "Roofing", "dial_timeout": "30",
                                          "status": "active", **CAMPAIGN_RULES})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert campaign_rules(sql, "Roofing") == (6, 150, "America/New_York", 90, Decimal("12.50"),
                                              24, "sticky", True)
    # Left blank, the optional rules take the API's defaults.
    seller.post("/campaigns", {"name": "Plain", "dial_timeout": "30", "status": "active",
                               "max_concurrency": "", "daily_cap": "", "timezone": "UTC",
                               "billable_after": "", "payout": "", "duplicate_window_hours": "",
                               "duplicate_action": "allow", "reject_concurrent_duplicate": ""})
    assert campaign_rules(sql, "Plain") == (None, None, "UTC", None, None, None, "allow", False)


def test_a_campaigns_rules_are_edited_with_its_details(seller, sql):
    page = seller.get("/campaigns/1").get_data(as_text=True)
    assert "Details and rules" in page and 'id="f-payout"' in page
    response = seller.post("/campaigns/1", {"name": "Solar Leads", "description": "",
                                            "dial_timeout": "30", "status": "active",
                                            **CAMPAIGN_RULES})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert campaign_rules(sql, "Solar Leads")[4:] == (Decimal("12.50"), 24, "sticky", True)
    html = seller.get("/campaigns/1").get_data(as_text=True)
    assert re.search(r'id="f-payout" name="payout"[^>]* value="12.50"', html)
    assert '<option value="sticky" selected>' in html
    assert re.search(r'id="f-reject-concurrent-duplicate" name="reject_concurrent_duplicate" '
                     r'value="on" checked', html)


@pytest.mark.parametrize("field, value, message", [
    ("max_concurrency", "0", "Must be at least 1."),
    ("daily_cap", "-1", "Must be at least 0."),
    ("timezone", "Mars/Olympus_Mons", "Not an IANA time zone name"),
    ("timezone", "", "Not an IANA time zone name"),
    ("billable_after", "ten", "Not a valid integer."),
    ("payout", "1.234", "At most 2 decimals."),
    ("payout", "-3", "Must be at least 0."),
    ("duplicate_window_hours", "0", "Must be 1 to 8760."),
    ("duplicate_action", "maybe", "Must be one of"),
])
def test_bad_campaign_rules_are_shown_beside_the_field_and_nothing_is_saved(seller, sql, field,
                                                                            value, message):
    before = campaign_rules(sql, "Solar Leads")
    response = seller.post("/campaigns/1", {"name": "Solar Leads", "dial_timeout": "30",
                                            "status": "active", **CAMPAIGN_RULES, field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in field_error(html, "f-" + field.replace("_", "-"))
    assert campaign_rules(sql, "Solar Leads") == before
    # The new-campaign form too: its rules open to show the error, and nothing is created.
    response = seller.post("/campaigns", {"name": "Roofing", "dial_timeout": "30",
                                          "status": "active", **CAMPAIGN_RULES, field: value})
    html = response.get_data(as_text=True)
    assert message in field_error(html, "f-" + field.replace("_", "-"))
    assert '<details class="more-options campaign-rules" open>' in html
    assert sql("SELECT count(*) FROM campaigns WHERE name = 'Roofing'") == [(0,)]


# --- routing table: period caps, what they count, buyer price ----------------------------

ROW = {"forwarding_priority": "1", "weight": "70", "max_concurrency": "5",
       "total_calls_allowed": "100", "status": "active"}


def link_rules(sql, setting_id):
    return sql("SELECT hourly_cap, daily_cap, monthly_cap, cap_counts, buyer_price "
               "FROM campaign_client_settings WHERE id = :s", s=setting_id)[0]


def test_the_routing_table_has_the_period_caps_and_price_in_a_row_of_their_own(seller, sql):
    sql("UPDATE campaign_client_settings SET hourly_cap = 5, daily_cap = 20, "
        "cap_counts = 'converted', buyer_price = 35 WHERE id = 1")
    html = seller.get("/campaigns/1").get_data(as_text=True)
    assert 'aria-controls="extra-1"' in html and 'id="extra-1" data-extra-for="1"' in html
    assert ('<span class="more-summary" data-summary>5/hour · 20/day · converted · price 35.00'
            '</span>') in html
    assert '<span class="more-summary" data-summary>none</span>' in html  # Bluesky: no period cap
    extra = html[html.index('id="extra-1"'):html.index('id="extra-2"')]
    for label in ("Hourly cap", "Daily cap", "Monthly cap", "Period caps count", "Buyer price"):
        assert (f'<span class="cell-name">{label}</span>'
                '<span class="visually-hidden"> for Acme Call Center</span>') in extra
    assert 'id="s1-hourly_cap" name="hourly_cap" form="setting-1" value="5"' in extra
    assert 'id="s1-buyer_price" name="buyer_price" form="setting-1" value="35.00"' in extra
    assert '<option value="converted" selected>' in extra


def test_a_rows_period_caps_and_price_are_saved(seller, sql):
    response = seller.post("/campaigns/1/clients/1", {**ROW, "hourly_cap": "4", "daily_cap": "",
                                                      "monthly_cap": "300", "cap_counts": "converted",
                                                      "buyer_price": "42.5"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert link_rules(sql, 1) == (4, None, 300, "converted", Decimal("42.50"))


def test_bad_period_caps_show_in_their_row_which_opens_and_nothing_is_saved(seller, sql):
    before = link_rules(sql, 1)
    response = seller.post("/campaigns/1/clients/1", {**ROW, "hourly_cap": "", "daily_cap": "",
                                                      "monthly_cap": "-2", "cap_counts": "dialled",
                                                      "buyer_price": "1.234"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="extra-1" data-extra-for="1" data-open' in html
    assert 'aria-controls="extra-1"' in html and 'aria-expanded="true" aria-controls="extra-1"' in html
    assert re.search(r'id="s1-monthly_cap-error" data-error-for="monthly_cap">'
                     r'Must be at least 0', html)
    assert re.search(r'id="s1-cap_counts-error" data-error-for="cap_counts">Must be one of', html)
    assert 'id="s1-buyer_price-error" data-error-for="buyer_price">At most 2 decimals.' in html
    assert 'id="extra-2" data-extra-for="2">' in html  # the other rows stay folded
    assert link_rules(sql, 1) == before


def test_a_client_is_linked_with_period_caps_and_a_price(seller, sql):
    form = {"client_id": "1", "forwarding_priority": "1", "weight": "100", "max_concurrency": "2",
            "total_calls_allowed": "", "status": "active", "hourly_cap": "3", "daily_cap": "10",
            "monthly_cap": "", "cap_counts": "answered", "buyer_price": "18"}
    bad = seller.post("/campaigns/2/clients", {**form, "daily_cap": "lots"})
    assert bad.status_code == 422
    assert field_error(bad.get_data(as_text=True), "link-daily-cap") == "Not a valid integer."
    assert sql("SELECT count(*) FROM campaign_client_settings WHERE campaign_id = 2") == [(1,)]
    assert seller.post("/campaigns/2/clients", form).status_code == 302
    setting_id = sql("SELECT id FROM campaign_client_settings "
                     "WHERE campaign_id = 2 AND client_id = 1")[0][0]
    assert link_rules(sql, setting_id) == (3, 10, None, "answered", Decimal("18.00"))


# --- decisions and billing in the call log, the CSV and the dashboard --------------------

DECISION = [
    {"attempt": 1, "at": "2026-11-23T15:10:00+00:00", "outcome": "dial", "candidates": [
        {"setting_id": 1, "client_id": 1, "client": "acme-cc", "priority": 1, "weight": 70,
         "verdict": "failed:NOANSWER"},
        {"setting_id": 2, "client_id": 2, "client": "bluesky-cc", "priority": 1, "weight": 30,
         "verdict": "standby"},
        {"setting_id": 3, "client_id": 3, "client": "summit-cc", "priority": 2, "weight": 100,
         "verdict": "capped:hourly"}]},
    {"attempt": 2, "at": "2026-11-23T15:10:10+00:00", "outcome": "dial", "candidates": [
        {"setting_id": 2, "client_id": 2, "client": "bluesky-cc", "priority": 1, "weight": 30,
         "verdict": "dialled", "sticky": True},
        {"setting_id": 3, "client_id": 3, "client": "summit-cc", "priority": 2, "weight": 100,
         "verdict": "closed"}]},
]


@pytest.fixture
def billed_call(sql):
    sql("UPDATE call_logs SET decision = CAST(:d AS jsonb), converted = true, payout = 12.5, "
        "revenue = 1234.5 WHERE id = 2", d=json.dumps(DECISION))


def test_the_expanded_call_shows_its_decision_round_by_round_and_its_billing(seller, billed_call):
    html = seller.get("/calls?caller=%2B13105550122").get_data(as_text=True)
    detail = seller.get("/calls/2/detail").get_data(as_text=True)
    assert '<span class="badge badge-converted">converted</span>' in html
    assert ('Payout <strong data-money="payout">12.50</strong> · '
            'revenue <strong data-money="revenue">1,234.50</strong>') in detail
    assert "Round 1 at 15:10:00 UTC — a client was dialled" in detail
    first, second = detail.split("Round 2 at 15:10:10 UTC")
    verdicts = re.findall(r'data-verdict="([^"]+)"', first)
    assert verdicts == ["failed:NOANSWER", "standby", "capped:hourly"]  # in the order tried
    assert re.findall(r'data-verdict="([^"]+)"', second) == ["dialled", "closed"]
    assert "at this link&#39;s hourly cap" in first and "Acme Call Center" in first
    assert 'badge-sticky' in second
    # The live rows open to it too.
    assert "/calls/2/detail" in seller.get("/calls/rows?caller=%2B13105550122").get_data(as_text=True)


def test_calls_without_a_decision_say_so(seller):
    row = seller.get("/calls?caller=3105550111").get_data(as_text=True)
    call_id = row.split('data-detail-url="/calls/')[1].split("/")[0]
    html = seller.get(f"/calls/{call_id}/detail").get_data(as_text=True)
    assert "No routing decision was recorded for this call." in html
    assert "Answered, not converted" in html


def test_a_call_routed_by_the_engine_shows_why_it_went_there(app, pages, sql):
    sql("UPDATE campaigns SET billable_after = 30, payout = 10 WHERE id = 2")
    sql("UPDATE campaign_client_settings SET buyer_price = 25 WHERE id = 4")
    with app.app_context():
        routing = RoutingService(db.engine)
        routing.route(CallArrival(uniqueid="web-bill-1", did="+14155550102", caller_id="+13105550177"))
        routing.hangup(CallEnd(uniqueid="web-bill-1", dial_status="ANSWER", attempt=1, billsec=45))
    pages.login("admin")
    row = pages.get("/calls?caller=%2B13105550177").get_data(as_text=True)
    assert row.count('class="call-row"') == 1
    call_id = row.split('data-detail-url="/calls/')[1].split("/")[0]
    html = pages.get(f"/calls/{call_id}/detail").get_data(as_text=True)
    assert '<span class="verdict verdict-dialled">dialled</span>' in html
    assert "Summit Sales Floor" in html and "summit-cc" in html
    assert 'data-money="payout">10.00' in html and 'data-money="revenue">25.00' in html


def test_the_csv_export_has_converted_payout_and_revenue(seller, billed_call):
    rows = list(csv.DictReader(io.StringIO(
        seller.get("/calls/export.csv?status=answered").get_data(as_text=True))))
    assert [(r["id"], r["converted"], r["payout"], r["revenue"]) for r in rows] == [
        ("3", "false", "", ""), ("2", "true", "12.50", "1234.50"), ("1", "false", "", "")]


def test_the_dashboard_totals_todays_converted_calls_payout_and_revenue(app, pages, billed_call, sql):
    sql("UPDATE call_logs SET converted = true, payout = 7.5, revenue = 20 WHERE id = 5")  # seller2's
    with app.test_request_context():
        evening = datetime(2026, 11, 23, 20, 0, tzinfo=timezone.utc)
        mine = dashboard_service.snapshot(seller_id=3, default_region="US", now=evening)["today"]
        platform = dashboard_service.snapshot(seller_id=None, default_region="US", now=evening)["today"]
    assert (mine["converted"], mine["payout"], mine["revenue"]) == (1, 12.5, 1234.5)
    assert (platform["converted"], platform["payout"], platform["revenue"]) == (2, 20.0, 1254.5)
    pages.login("seller1")
    html = pages.get("/dashboard").get_data(as_text=True)
    for kpi in ("converted", "payout", "revenue"):
        assert f'data-kpi="{kpi}"' in html
    assert "owed to you" in html


# --- the simulator -----------------------------------------------------------------------

def test_the_simulator_answers_on_the_campaign_page_and_reserves_nothing(seller, sql):
    html = seller.get("/campaigns/2").get_data(as_text=True)
    assert "Where would a call go?" in html and 'id="simulate-form"' in html
    response = seller.post("/campaigns/2/simulate", {"caller_id": "+13105550100", "at": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html  # without script: the whole page
    assert "It would ring Summit Sales Floor" in html and "PJSIP/summit-cc" in html
    assert '<span class="verdict verdict-dialled">would_dial</span>' in html
    assert "A call from +13105550100, now (UTC)." in html
    assert 'id="sim-caller-id" name="caller_id"' in html and 'value="+13105550100"' in html
    assert sql("SELECT count(*) FROM reservations") == [(0,)]
    assert sql("SELECT in_flight FROM campaign_client_settings WHERE id = 4") == [(0,)]


def test_the_simulator_answers_the_page_script_with_its_part_alone(seller):
    response = seller.post("/campaigns/1/simulate?part=result", {"caller_id": "", "at": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="simulate-form"' in html and "A call with no caller number" in html
    verdicts = re.findall(r'data-verdict="([^"]+)"', html)
    assert verdicts[0] == "would_dial" and sorted(verdicts[1:]) == ["standby", "standby"]


def test_the_simulator_reads_the_time_in_the_viewers_zone_and_says_who_is_closed(seller, sql):
    sql("""UPDATE clients SET timezone = 'Europe/Paris',
           schedule = '{"mon": [["09:00", "17:00"]]}' WHERE id = 3""")
    seller.client.set_cookie("tz", "America/New_York")
    # Monday 10:00 in New York is 16:00 in Paris: open.
    html = seller.post("/campaigns/2/simulate?part=result",
                       {"at": "2026-11-30T10:00"}).get_data(as_text=True)
    assert "It would ring" in html and "at 2026-11-30 10:00 (America/New_York)" in html
    # Monday 12:00 in New York is 18:00 in Paris: closed, and the page says why.
    html = seller.post("/campaigns/2/simulate?part=result",
                       {"at": "2026-11-30T12:00"}).get_data(as_text=True)
    assert "It would be rejected" in html and "closed: no client was open" in html
    assert '<span class="verdict verdict-closed">closed</span>' in html


def test_the_simulator_shows_repeat_callers_and_caps(seller, sql):
    sql("UPDATE campaigns SET duplicate_window_hours = 24, duplicate_action = 'reject' WHERE id = 1")
    sql("UPDATE call_logs SET started_at = now() - interval '1 hour' WHERE id = 1")
    html = seller.post("/campaigns/1/simulate?part=result",
                       {"caller_id": "+13105550111"}).get_data(as_text=True)
    assert "It would be rejected" in html and "repeat caller" in html
    sql("UPDATE campaign_client_settings SET hourly_cap = 0 WHERE campaign_id = 1")
    html = seller.post("/campaigns/1/simulate?part=result", {"caller_id": ""}).get_data(as_text=True)
    assert re.findall(r'data-verdict="([^"]+)"', html) == ["capped:hourly"] * 3
    assert "every client that could take it was at a cap" in html


def test_bad_simulator_input_is_shown_beside_the_field(seller):
    response = seller.post("/campaigns/1/simulate?part=result", {"caller_id": "1" * 81, "at": "soon"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Longer than maximum length 80" in field_error(html, "sim-caller-id")
    assert field_error(html, "sim-at") == "Not a valid datetime."
    assert "It would" not in html
    full = seller.post("/campaigns/1/simulate", {"at": "soon"})
    assert full.status_code == 422 and field_error(full.get_data(as_text=True), "sim-at")


def test_the_simulator_is_the_sellers_own(seller, sql):
    assert seller.post("/campaigns/3/simulate", {"caller_id": ""}).status_code == 404
    seller.post("/logout")
    seller.login("admin")
    assert seller.post("/campaigns/1/simulate", {"caller_id": ""}).status_code == 403

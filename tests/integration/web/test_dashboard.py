"""The live dashboard: the service's figures, and the JSON each role may read."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from app.services import dashboard_service

# The sample calls are on 2026-11-23 UTC: seller1's at 15:00, 15:10, 16:00 (answered) and
# 17:00 (all_failed); seller2's at 18:00 (all_capped).
EVENING = datetime(2026, 11, 23, 20, 0, tzinfo=timezone.utc)


@pytest.fixture
def snapshot(app):
    def take(seller_id, **kwargs):
        with app.test_request_context():
            return dashboard_service.snapshot(seller_id=seller_id, default_region="US", **kwargs)
    return take


@pytest.fixture
def in_flight(sql):
    def reserve(setting_id: int, uniqueid: str):
        sql("""INSERT INTO reservations (uniqueid, attempt, setting_id, client_id, campaign_id)
               SELECT :u, 1, id, client_id, campaign_id FROM campaign_client_settings WHERE id = :s""",
            u=uniqueid, s=setting_id)
        sql("UPDATE campaign_client_settings SET in_flight = in_flight + 1 WHERE id = :s", s=setting_id)
    return reserve


def test_a_sellers_snapshot_holds_only_their_campaigns(snapshot):
    data = snapshot(3, now=EVENING)
    assert [c["name"] for c in data["campaigns"]] == ["Medicare", "Solar Leads"]
    assert {c["name"] for c in data["clients"]} == {"Acme Call Center", "Bluesky Contact",
                                                    "Summit Sales Floor"}
    assert all(c["seller"] is None for c in data["campaigns"])
    assert data["today"]["outcomes"] == {"answered": 3, "no_route": 0, "all_capped": 0,
                                         "all_failed": 1, "abandoned": 0, "closed": 0,
                                         "duplicate": 0, "overload": 0}
    assert data["today"]["answer_rate"] == 0.75
    assert data["today"]["average_billsec"] == round((186 + 105 + 35) / 3, 1)


def test_the_platform_snapshot_holds_every_campaign_and_seller(snapshot):
    data = snapshot(None, now=EVENING)
    assert {(c["name"], c["seller"]) for c in data["campaigns"]} == {
        ("Solar Leads", "seller1"), ("Medicare", "seller1"), ("Auto Insurance", "seller2")}
    assert data["today"]["total"] == 5 and data["today"]["outcomes"]["all_capped"] == 1


def test_calls_in_flight_count_against_the_caps_per_campaign_and_per_client(snapshot, in_flight):
    in_flight(1, "pbx-x-1.1")
    in_flight(5, "pbx-x-2.1")  # seller2's campaign, same client (acme-cc)
    data = snapshot(3, now=EVENING)
    solar = next(c for c in data["campaigns"] if c["name"] == "Solar Leads")
    assert (solar["in_flight"], solar["capacity"]) == (1, 5 + 3 + 2)
    assert [link["in_flight"] for link in solar["links"]] == [1, 0, 0]
    acme = next(c for c in data["clients"] if c["identifier"] == "acme-cc")
    assert (acme["in_flight"], acme["capacity"]) == (1, 5)  # seller2's call is not theirs
    assert data["in_flight"] == 1
    platform = snapshot(None, now=EVENING)
    acme = next(c for c in platform["clients"] if c["identifier"] == "acme-cc")
    assert (acme["in_flight"], acme["capacity"]) == (2, 5 + 2)


def test_inactive_links_and_clients_add_no_capacity(snapshot, sql):
    sql("UPDATE campaign_client_settings SET status = 'inactive' WHERE id = 2")
    sql("UPDATE clients SET status = 'inactive' WHERE id = 3")
    solar = next(c for c in snapshot(3, now=EVENING)["campaigns"] if c["name"] == "Solar Leads")
    assert solar["capacity"] == 5


def test_calls_per_hour_cover_the_last_24_hours(snapshot):
    hours = snapshot(3, now=EVENING)["hourly"]
    assert len(hours) == 24 and hours[-1]["hour"] == datetime(2026, 11, 23, 20, tzinfo=timezone.utc)
    by_hour = {b["hour"].hour: (b["total"], b["answered"]) for b in hours if b["total"]}
    assert by_hour == {15: (2, 2), 16: (1, 1), 17: (1, 0)}


def test_today_starts_at_midnight_where_the_viewer_is(snapshot):
    # 17:30 UTC is 01:30 the next day in Shanghai: "today" there began at 16:00 UTC.
    data = snapshot(3, now=datetime(2026, 11, 23, 17, 30, tzinfo=timezone.utc),
                    tz=ZoneInfo("Asia/Shanghai"))
    assert data["today"]["total"] == 2 and data["today"]["outcomes"]["answered"] == 1


def test_total_cap_usage_lists_the_capped_links(snapshot):
    caps = snapshot(3, now=EVENING)["caps"]
    assert [(c["campaign"], c["client"], c["delivered"], c["allowed"]) for c in caps] == [
        ("Solar Leads", "Acme Call Center", 2, 100), ("Solar Leads", "Summit Sales Floor", 0, 50),
        ("Medicare", "Summit Sales Floor", 0, 200)]


def test_the_json_endpoint_answers_each_role_its_own_scope(pages):
    pages.login("seller2")
    data = pages.get("/dashboard/data?tz=Europe/Paris").get_json()
    assert [c["name"] for c in data["campaigns"]] == ["Auto Insurance"]
    assert "Solar" not in str(data) and "seller1" not in str(data)
    assert data["today"]["since"].endswith("+01:00")
    pages.post("/logout")
    pages.login("staff")
    data = pages.get("/dashboard/data?tz=Not/AZone").get_json()
    assert len(data["campaigns"]) == 3 and data["today"]["since"].endswith("+00:00")


def test_the_dashboard_page_embeds_its_first_snapshot(pages):
    pages.login("seller1")
    html = pages.get("/dashboard").get_data(as_text=True)
    assert 'id="dashboard-data"' in html and "Solar Leads" in html and "Auto Insurance" not in html


def test_the_dashboard_needs_a_login(client):
    assert client.get("/dashboard", headers={"Accept": "text/html"}).status_code == 302
    # The page's script asks for JSON: it gets a 401 (and reloads into the login page).
    assert client.get("/dashboard/data", headers={"Accept": "application/json"}).status_code == 401


def test_the_router_health_counts_overload_refusals_of_the_last_minute_and_answers_past_a_cap(snapshot, sql):
    at = datetime(2026, 11, 23, 20, 0, 30, tzinfo=timezone.utc)
    for uniqueid, seller, started, status, decision in (
            ("ov-1", 3, "2026-11-23 19:59:45+00", "overload", "[]"),
            ("ov-2", 3, "2026-11-23 19:58:00+00", "overload", "[]"),  # more than a minute ago
            ("ov-3", 4, "2026-11-23 20:00:10+00", "overload", "[]"),  # another seller's
            ("oc-1", 3, "2026-11-23 19:00:00+00", "answered",
             '[{"outcome": "dial", "candidates": []}, {"outcome": "over_cap", "candidates": []}]')):
        sql("""INSERT INTO call_logs (uniqueid, seller_id, started_at, ended_at, status, decision)
               VALUES (:u, :s, CAST(:t AS timestamptz), CAST(:t AS timestamptz), :st, CAST(:d AS jsonb))""",
            u=uniqueid, s=seller, t=started, st=status, d=decision)
    assert snapshot(3, now=at)["router"] == {"overload_last_minute": 1, "over_cap_today": 1}
    assert snapshot(None, now=at)["router"] == {"overload_last_minute": 2, "over_cap_today": 1}


def test_the_page_tells_its_script_the_outcome_bars_in_words(pages):
    import json
    import re
    from html import unescape

    from app.domain.call_status import DASHBOARD_OUTCOMES, CallStatus

    pages.login("admin")
    html = pages.get("/dashboard").get_data(as_text=True)
    outcomes = json.loads(unescape(re.search(r'data-outcomes="([^"]*)"', html).group(1)))
    assert outcomes == [[s, CallStatus(s).label] for s in DASHBOARD_OUTCOMES]
    assert pages.get("/dashboard/data").json["today"]["outcomes"].keys() == set(DASHBOARD_OUTCOMES)

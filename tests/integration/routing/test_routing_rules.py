"""The routing rules: caps in every dimension, hours, duplicates, billable calls, decisions.

Sample data (sample_data.sql): campaign 1 "Solar" (DIDs +14155550100/101) links acme-cc (s1,
tier 1), bluesky-cc (s2, tier 1), summit-cc (s3, tier 2); campaign 2 "Medicare" (+14155550102)
links summit-cc (s4); campaign 3 of seller2 (+12125550100) links acme-cc (s5), bluesky-cc (s6).
"""
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.services.routing import CallArrival, CallEnd, RoutingService
from tests.support.routing import (assert_counters_match_a_recount, counters, execute, scalar,
                                   set_setting)

SOLAR, MEDICARE, INSURANCE = "+14155550100", "+14155550102", "+12125550100"
NEW_YORK = ZoneInfo("America/New_York")


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def service(engine, clock=None, seed=1):
    return RoutingService(engine, rng=random.Random(seed), **({"clock": clock} if clock else {}))


def call(routing, uniqueid, did=MEDICARE, caller="+13105550100"):
    return routing.route(CallArrival(uniqueid=uniqueid, did=did, caller_id=caller))


def answer(routing, uniqueid, billsec=60):
    return routing.hangup(CallEnd(uniqueid=uniqueid, dial_status="ANSWER", attempt=1, billsec=billsec))


def decision(engine, uniqueid):
    return scalar(engine, "SELECT decision FROM call_logs WHERE uniqueid = :u", u=uniqueid)


def verdicts(engine, uniqueid, round_index=-1):
    return {c["client"]: c["verdict"] for c in decision(engine, uniqueid)[round_index]["candidates"]}


def only_acme_in_solar(engine):
    set_setting(engine, 2, weight=0)
    set_setting(engine, 3, status="inactive")


# -- caps -------------------------------------------------------------------------------------

def test_client_wide_seat_cap_spans_campaigns_and_sellers(engine):
    routing = service(engine)
    only_acme_in_solar(engine)
    execute(engine, "UPDATE clients SET max_concurrency = 2 WHERE id = 1")
    assert call(routing, "seat-1", SOLAR).dial == "PJSIP/acme-cc"
    assert call(routing, "seat-2", SOLAR).dial == "PJSIP/acme-cc"
    # Seller2's campaign links acme-cc too: its seats are full, so tier 2 (bluesky) takes it.
    assert call(routing, "seat-3", INSURANCE).dial == "PJSIP/bluesky-cc"
    assert verdicts(engine, "seat-3")["acme-cc"] == "capped:client_concurrency"
    assert scalar(engine, "SELECT in_flight FROM clients WHERE id = 1") == 2
    answer(routing, "seat-1")
    assert scalar(engine, "SELECT in_flight FROM clients WHERE id = 1") == 1
    assert call(routing, "seat-4", INSURANCE).dial == "PJSIP/acme-cc"
    assert_counters_match_a_recount(engine)


def test_campaign_concurrency_cap_whatever_client_takes_the_call(engine):
    routing = service(engine)
    execute(engine, "UPDATE campaigns SET max_concurrency = 2 WHERE id = 1")
    assert call(routing, "cc-1", SOLAR).action == "dial"
    assert call(routing, "cc-2", SOLAR).action == "dial"
    rejected = call(routing, "cc-3", SOLAR)
    assert rejected.reason == "all_capped"
    assert set(verdicts(engine, "cc-3").values()) == {"capped:campaign_concurrency"}


def test_campaign_daily_cap_counts_answered_calls_per_day(engine):
    clock = Clock(datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc))
    routing = service(engine, clock)
    execute(engine, "UPDATE campaigns SET daily_cap = 1 WHERE id = 2")
    set_setting(engine, 4, max_concurrency=10)
    assert call(routing, "cd-1").action == "dial"
    # In flight counts against the cap: the answer may still come.
    assert call(routing, "cd-2").reason == "all_capped"
    answer(routing, "cd-1")
    assert call(routing, "cd-3").reason == "all_capped"
    assert verdicts(engine, "cd-3") == {"summit-cc": "capped:campaign_daily"}
    clock.at += timedelta(days=1)
    assert call(routing, "cd-4").action == "dial"


@pytest.mark.parametrize("cap, first, blocked, next_period", [
    # Calendar periods in the client's zone (New York), across daylight-saving changes.
    ("daily_cap", datetime(2026, 3, 8, 23, 30, tzinfo=NEW_YORK),   # spring-forward day (23 h)
     datetime(2026, 3, 8, 23, 59, tzinfo=NEW_YORK), datetime(2026, 3, 9, 0, 1, tzinfo=NEW_YORK)),
    ("daily_cap", datetime(2026, 11, 1, 23, 0, tzinfo=NEW_YORK),   # fall-back day (25 h)
     datetime(2026, 11, 1, 23, 59, tzinfo=NEW_YORK), datetime(2026, 11, 2, 0, 0, tzinfo=NEW_YORK)),
    ("monthly_cap", datetime(2026, 1, 31, 23, 0, tzinfo=NEW_YORK),
     datetime(2026, 1, 31, 23, 59, tzinfo=NEW_YORK), datetime(2026, 2, 1, 0, 0, tzinfo=NEW_YORK)),
    ("hourly_cap", datetime(2026, 6, 1, 9, 10, tzinfo=NEW_YORK),
     datetime(2026, 6, 1, 9, 59, tzinfo=NEW_YORK), datetime(2026, 6, 1, 10, 0, tzinfo=NEW_YORK)),
    # The repeated hour of the fall-back night: 01:xx EDT and 01:xx EST are two real hours.
    ("hourly_cap", datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc),   # 01:30 EDT
     datetime(2026, 11, 1, 5, 59, tzinfo=timezone.utc), datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)),
])
def test_link_period_caps_follow_the_clients_calendar(engine, cap, first, blocked, next_period):
    execute(engine, "UPDATE clients SET timezone = 'America/New_York' WHERE id = 3")
    set_setting(engine, 4, max_concurrency=10, **{cap: 1})
    clock = Clock(first)
    routing = service(engine, clock)
    assert call(routing, "p-1").action == "dial"
    answer(routing, "p-1")
    clock.at = blocked
    assert call(routing, "p-2").reason == "all_capped"
    assert verdicts(engine, "p-2")["summit-cc"] == f"capped:{cap.removesuffix('_cap')}"
    clock.at = next_period
    assert call(routing, "p-3").action == "dial"


def test_period_cap_counting_converted_calls_ignores_short_calls(engine):
    execute(engine, "UPDATE campaigns SET billable_after = 60, payout = 12.50 WHERE id = 2")
    set_setting(engine, 4, max_concurrency=10, daily_cap=1, cap_counts="converted", buyer_price=20)
    routing = service(engine)
    call(routing, "conv-1")
    answer(routing, "conv-1", billsec=30)  # answered, not converted
    row = scalar(engine, "SELECT row_to_json(c) FROM call_logs c WHERE uniqueid = 'conv-1'")
    assert row["converted"] is False and row["payout"] is None and row["revenue"] is None
    assert call(routing, "conv-2").action == "dial"
    answer(routing, "conv-2", billsec=90)
    row = scalar(engine, "SELECT row_to_json(c) FROM call_logs c WHERE uniqueid = 'conv-2'")
    assert row["converted"] is True and row["payout"] == 12.5 and row["revenue"] == 20
    assert call(routing, "conv-3").reason == "all_capped"
    # The total still counts every answered call.
    assert counters(engine)[4] == (0, 2)


def test_answered_count_is_the_default_for_period_caps(engine):
    execute(engine, "UPDATE campaigns SET billable_after = 60 WHERE id = 2")
    set_setting(engine, 4, max_concurrency=10, daily_cap=1)
    routing = service(engine)
    call(routing, "ans-1")
    answer(routing, "ans-1", billsec=5)
    assert call(routing, "ans-2").reason == "all_capped"


# -- hours of operation ------------------------------------------------------------------------

WEEKDAYS_9_TO_5 = '{"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], ' \
                  '"wed": [["09:00", "17:00"]], "thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]}'


@pytest.mark.parametrize("local, open_", [
    (datetime(2026, 11, 24, 9, 0), True),     # Tuesday 09:00 New York
    (datetime(2026, 11, 24, 16, 59), True),
    (datetime(2026, 11, 24, 17, 0), False),
    (datetime(2026, 11, 24, 8, 59), False),
    (datetime(2026, 11, 28, 12, 0), False),   # Saturday
    (datetime(2026, 11, 26, 12, 0), False),   # Thanksgiving closure
])
def test_a_closed_client_is_skipped_and_the_decision_says_so(engine, local, open_):
    execute(engine, f"UPDATE clients SET timezone = 'America/New_York', schedule = '{WEEKDAYS_9_TO_5}', "
                    "closures = '[\"2026-11-26\"]' WHERE id = 3")
    routing = service(engine, Clock(local.replace(tzinfo=NEW_YORK)))
    decision_ = call(routing, "hours-1")
    if open_:
        assert decision_.dial == "PJSIP/summit-cc"
    else:
        assert decision_.reason == "closed" and decision_.hangup_cause == 34
        assert verdicts(engine, "hours-1") == {"summit-cc": "closed"}


def test_closed_tier_one_fails_over_to_an_open_client(engine):
    execute(engine, "UPDATE clients SET schedule = '{}' WHERE id IN (1, 2)")  # never open
    decision_ = call(service(engine), "hours-2", SOLAR)
    assert decision_.dial == "PJSIP/summit-cc"
    assert verdicts(engine, "hours-2") == {"acme-cc": "closed", "bluesky-cc": "closed",
                                           "summit-cc": "dialled"}


# -- duplicate callers -------------------------------------------------------------------------

def test_repeat_caller_inside_the_window_is_rejected(engine):
    execute(engine, "UPDATE campaigns SET duplicate_window_hours = 24, duplicate_action = 'reject' WHERE id = 2")
    # Calls are stamped with the database's clock; the window is read at the engine's.
    clock = Clock(datetime.now(timezone.utc))
    routing = service(engine, clock)
    call(routing, "dup-1")
    answer(routing, "dup-1")
    clock.at += timedelta(hours=23)
    rejected = call(routing, "dup-2")
    assert rejected.reason == "duplicate" and rejected.hangup_cause == 21
    assert scalar(engine, "SELECT status FROM call_logs WHERE uniqueid = 'dup-2'") == "duplicate"
    assert decision(engine, "dup-2")[0]["outcome"] == "duplicate"
    assert call(routing, "dup-3", caller="+13105559999").action == "dial"  # another caller
    clock.at += timedelta(hours=2)  # outside the window
    assert call(routing, "dup-4").action == "dial"


def test_sticky_sends_a_repeat_caller_back_to_the_client_that_answered(engine):
    execute(engine, "UPDATE campaigns SET duplicate_window_hours = 48, duplicate_action = 'sticky' WHERE id = 1")
    routing = service(engine)
    first = call(routing, "sticky-1", SOLAR)
    answer(routing, "sticky-1")
    for i in range(8):
        again = call(routing, f"sticky-r{i}", SOLAR)
        assert again.dial == first.dial
        assert decision(engine, f"sticky-r{i}")[0]["sticky_client_id"] in (1, 2)
        answer(routing, f"sticky-r{i}")


def test_sticky_falls_back_to_normal_order_when_the_client_is_full(engine):
    execute(engine, "UPDATE campaigns SET duplicate_window_hours = 48, duplicate_action = 'sticky' WHERE id = 1")
    routing = service(engine)
    only_acme_in_solar(engine)
    call(routing, "sf-1", SOLAR)
    answer(routing, "sf-1")
    set_setting(engine, 2, weight=30)
    set_setting(engine, 1, max_concurrency=1)
    call(routing, "sf-busy", SOLAR, caller="+13105550000")  # takes acme's only seat... or bluesky
    held_by_acme = scalar(engine, "SELECT in_flight FROM campaign_client_settings WHERE id = 1") == 1
    decision_ = call(routing, "sf-2", SOLAR)
    assert decision_.action == "dial"
    if held_by_acme:
        assert decision_.dial == "PJSIP/bluesky-cc"
        assert verdicts(engine, "sf-2")["acme-cc"] == "capped:concurrency"


def test_a_second_live_call_from_the_same_caller_can_be_refused(engine):
    execute(engine, "UPDATE campaigns SET reject_concurrent_duplicate = true WHERE id = 2")
    set_setting(engine, 4, max_concurrency=10)
    routing = service(engine)
    assert call(routing, "live-1").action == "dial"
    assert call(routing, "live-2").reason == "duplicate"
    answer(routing, "live-1")
    assert call(routing, "live-3").action == "dial"


def test_anonymous_callers_are_never_duplicates(engine):
    execute(engine, "UPDATE campaigns SET reject_concurrent_duplicate = true, duplicate_window_hours = 5, "
                    "duplicate_action = 'reject' WHERE id = 2")
    set_setting(engine, 4, max_concurrency=10)
    routing = service(engine)
    assert call(routing, "anon-1", caller="anonymous").action == "dial"
    assert call(routing, "anon-2", caller="anonymous").action == "dial"
    assert call(routing, "anon-3", caller=None).action == "dial"


# -- decisions and the simulator ---------------------------------------------------------------

def test_the_decision_records_every_round_and_failed_attempts(engine):
    routing = service(engine)
    set_setting(engine, 2, weight=0)
    first = call(routing, "why-1", SOLAR)
    assert first.dial == "PJSIP/acme-cc"
    routing.attempt_result("why-1", 1, "NOANSWER")
    second = call(routing, "why-1", SOLAR)
    assert second.dial == "PJSIP/summit-cc"
    rounds = decision(engine, "why-1")
    assert [r["attempt"] for r in rounds] == [1, 2]
    assert {c["client"]: c["verdict"] for c in rounds[0]["candidates"]} == {
        "acme-cc": "failed:NOANSWER", "bluesky-cc": "zero_weight", "summit-cc": "standby"}
    assert {c["client"]: c["verdict"] for c in rounds[1]["candidates"]} == {
        "bluesky-cc": "zero_weight", "summit-cc": "dialled"}
    assert rounds[1]["outcome"] == "dial"


def test_simulator_answers_with_the_same_decision_without_reserving(engine):
    routing = service(engine)
    only_acme_in_solar(engine)
    before = counters(engine)
    simulation = routing.simulate(1, caller_id="+13105550100")
    assert simulation.action == "dial" and simulation.dial == "PJSIP/acme-cc"
    assert {c["client"]: c["verdict"] for c in simulation.candidates} == {
        "acme-cc": "would_dial", "bluesky-cc": "zero_weight", "summit-cc": "inactive"}
    assert counters(engine) == before
    assert scalar(engine, "SELECT count(*) FROM reservations") == 0
    set_setting(engine, 1, max_concurrency=1, in_flight=1)
    capped = routing.simulate(1)
    assert capped.action == "reject" and capped.reason == "all_capped"
    execute(engine, "UPDATE clients SET schedule = '{}' WHERE id = 1")
    closed = routing.simulate(1, at=datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc))
    assert {c["client"]: c["verdict"] for c in closed.candidates}["acme-cc"] == "closed"


# -- concurrency in every dimension ------------------------------------------------------------

def race(engine, calls: list[tuple[str, str]], clock=None) -> list:
    services = [service(engine, clock, seed=i) for i in range(len(calls))]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda item: call(services[item[0]], item[1][0], item[1][1]),
                             enumerate(calls)))


@pytest.mark.parametrize("setup, limit", [
    ("UPDATE clients SET max_concurrency = 3 WHERE id = 3", 3),                       # client seats
    ("UPDATE campaigns SET max_concurrency = 4 WHERE id = 2", 4),                     # campaign
    ("UPDATE campaigns SET daily_cap = 2 WHERE id = 2", 2),                           # campaign day
    ("UPDATE campaign_client_settings SET hourly_cap = 5 WHERE id = 4", 5),           # link hour
    ("UPDATE campaign_client_settings SET daily_cap = 3, monthly_cap = 4 WHERE id = 4", 3),
    ("UPDATE campaign_client_settings SET total_calls_allowed = 6 WHERE id = 4", 6),
])
def test_each_cap_holds_exactly_under_concurrent_calls(engine, setup, limit):
    set_setting(engine, 4, max_concurrency=100)
    execute(engine, setup)
    decisions = race(engine, [(f"race-{i}", MEDICARE) for i in range(24)])
    assert sum(d.action == "dial" for d in decisions) == limit
    assert_counters_match_a_recount(engine)
    assert scalar(engine, "SELECT count(*) FROM reservations WHERE client_id = 3") == limit
    assert scalar(engine, "SELECT count(*) FROM reservations WHERE campaign_id = 2") == limit


def test_client_seats_hold_across_campaigns_of_different_sellers_at_once(engine):
    """acme-cc (client 1) has 3 seats, linked by campaign 1 (seller1) and campaign 3
    (seller2) with 5 each: calls to both campaigns at once never put 4 calls on acme."""
    execute(engine, "UPDATE clients SET max_concurrency = 3 WHERE id = 1")
    only_acme_in_solar(engine)
    set_setting(engine, 6, status="inactive")
    set_setting(engine, 1, max_concurrency=5)
    set_setting(engine, 5, max_concurrency=5, total_calls_allowed=None)
    calls = [(f"mix-{i}", SOLAR if i % 2 else INSURANCE) for i in range(20)]
    decisions = race(engine, calls)
    assert sum(d.action == "dial" for d in decisions) == 3
    assert scalar(engine, "SELECT in_flight FROM clients WHERE id = 1") == 3
    assert_counters_match_a_recount(engine)


def test_releases_and_reservations_racing_keep_every_counter_exact(engine):
    execute(engine, "UPDATE clients SET max_concurrency = 4 WHERE id = 3")
    execute(engine, "UPDATE campaigns SET max_concurrency = 5 WHERE id = 2")
    set_setting(engine, 4, max_concurrency=100)
    routing = service(engine)

    def life(i):
        uniqueid = f"life-{i}"
        decision_ = call(routing, uniqueid)
        if decision_.action == "dial":
            if i % 3:
                routing.attempt_result(uniqueid, 1, "BUSY")
                call(routing, uniqueid)
            routing.hangup(CallEnd(uniqueid=uniqueid, dial_status="ANSWER" if i % 2 else "CANCEL",
                                   attempt=1))
        else:
            routing.hangup(CallEnd(uniqueid=uniqueid))
        return decision_.action

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(life, range(60)))
    assert scalar(engine, "SELECT count(*) FROM reservations") == 0
    assert scalar(engine, "SELECT in_flight FROM clients WHERE id = 3") == 0
    assert scalar(engine, "SELECT in_flight FROM campaigns WHERE id = 2") == 0
    assert_counters_match_a_recount(engine)

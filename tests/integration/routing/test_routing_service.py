"""The routing engine against the sample data (see sample_data.sql for the settings)."""
import collections
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.services.routing import CallArrival, CallEnd, RoutingService
from tests.support.routing import (assert_counters_match_a_recount, counters, execute, scalar,
                                   set_setting)

SOLAR_DID = "+14155550100"      # campaign 1: acme-cc (s1) + bluesky-cc (s2) tier 1, summit-cc (s3) tier 2
MEDICARE_DID = "+14155550102"   # campaign 2: summit-cc (s4)
INSURANCE_DID = "+12125550100"  # campaign 3 (seller2): acme-cc (s5) tier 1, bluesky-cc (s6) tier 2


def arrive(routing, uniqueid, did=SOLAR_DID, caller="+13105550199"):
    return routing.route(CallArrival(uniqueid=uniqueid, did=did, caller_id=caller, linkedid=uniqueid))


def call_row(engine, uniqueid):
    return scalar(engine, "SELECT row_to_json(c) FROM call_logs c WHERE uniqueid = :u", u=uniqueid)


def test_a_call_is_dialled_to_a_tier_one_client_and_holds_a_slot(routing, engine):
    decision = arrive(routing, "pbx-a-1.1")
    assert decision.action == "dial"
    assert decision.dial in ("PJSIP/acme-cc", "PJSIP/bluesky-cc")
    assert decision.timeout == 30 and decision.attempt == 1
    assert decision.channel_variables()["CC_ACTION"] == "dial"
    setting = 1 if decision.dial == "PJSIP/acme-cc" else 2
    assert counters(engine)[setting][0] == 1
    row = call_row(engine, "pbx-a-1.1")
    assert row["status"] == "in_progress" and row["campaign_id"] == 1 and row["seller_id"] == 3
    assert row["did"] == SOLAR_DID and row["caller_id"] == "+13105550199"
    assert_counters_match_a_recount(engine)


@pytest.mark.parametrize("did", ["14155550100", "4155550100", "+1 (415) 555-0100", "+14155550100"])
def test_carrier_number_formats_are_normalized(routing, did):
    assert arrive(routing, f"fmt-{did}", did=did).action == "dial"


@pytest.mark.parametrize("did", ["+19999999999", "12", "", None, "+12125550101", "garbage\x00"])
def test_unknown_inactive_or_invalid_numbers_are_no_route(routing, engine, did):
    decision = arrive(routing, "pbx-a-2.1", did=did)
    assert decision.action == "reject" and decision.reason == "no_route"
    assert decision.channel_variables() == {"CC_ACTION": "reject", "CC_REASON": "no_route",
                                            "CC_HANGUP_CAUSE": "1"}
    assert call_row(engine, "pbx-a-2.1")["status"] == "no_route"
    assert scalar(engine, "SELECT count(*) FROM reservations") == 0


@pytest.mark.parametrize("statement", [
    "UPDATE campaigns SET status = 'inactive' WHERE id = 1",
    "UPDATE users SET status = 'suspended' WHERE id = 3",
    "DELETE FROM campaign_dids WHERE did_id = 1",
])
def test_inactive_campaign_or_seller_or_unattached_did_is_no_route(routing, engine, statement):
    execute(engine, statement)
    assert arrive(routing, "pbx-a-3.1").reason == "no_route"


def test_failover_walks_tier_one_then_tier_two_then_ends_all_failed(routing, engine):
    dialled = []
    for attempt in (1, 2, 3):
        decision = arrive(routing, "pbx-a-4.1")
        assert decision.action == "dial" and decision.attempt == attempt
        dialled.append(decision.dial)
        routing.attempt_result("pbx-a-4.1", attempt, "NOANSWER")
        assert scalar(engine, "SELECT count(*) FROM reservations") == 0
    assert set(dialled[:2]) == {"PJSIP/acme-cc", "PJSIP/bluesky-cc"}
    assert dialled[2] == "PJSIP/summit-cc"
    final = arrive(routing, "pbx-a-4.1")
    assert final.reason == "all_failed" and final.hangup_cause == 34
    assert routing.hangup(CallEnd(uniqueid="pbx-a-4.1", dial_status="NOANSWER", attempt=3,
                                  hangup_cause=34)) == "all_failed"
    assert_counters_match_a_recount(engine)


def test_answered_call_is_counted_once_at_hangup_and_releases_its_slot(routing, engine):
    before = counters(engine)
    decision = arrive(routing, "pbx-a-5.1")
    setting = 1 if decision.dial == "PJSIP/acme-cc" else 2
    end = CallEnd(uniqueid="pbx-a-5.1", dial_status="ANSWER", attempt=1, hangup_cause=16, billsec=42)
    assert routing.hangup(end) == "answered"
    assert counters(engine)[setting] == (0, before[setting][1] + 1)
    row = call_row(engine, "pbx-a-5.1")
    assert row["status"] == "answered" and row["billsec"] == 42 and row["hangup_cause"] == 16
    assert row["client_id"] == (1 if setting == 1 else 2) and row["answered_at"] is not None
    # Duplicate and late hangups change nothing.
    assert routing.hangup(end) is None
    routing.attempt_result("pbx-a-5.1", 1, "ANSWER")
    assert counters(engine)[setting] == (0, before[setting][1] + 1)
    assert_counters_match_a_recount(engine)


def test_caller_hanging_up_while_ringing_is_abandoned_and_frees_the_slot(routing, engine):
    arrive(routing, "pbx-a-6.1")
    assert routing.hangup(CallEnd(uniqueid="pbx-a-6.1", dial_status="CANCEL", attempt=1,
                                  hangup_cause=0)) == "abandoned"
    assert scalar(engine, "SELECT count(*) FROM reservations") == 0
    attempt = scalar(engine, "SELECT dial_status FROM call_attempts a JOIN call_logs c "
                             "ON c.id = a.call_log_id WHERE c.uniqueid = 'pbx-a-6.1'")
    assert attempt == "CANCEL"
    assert_counters_match_a_recount(engine)


def test_a_full_client_is_skipped_for_the_next_one(routing, engine):
    set_setting(engine, 5, max_concurrency=1)  # INSURANCE: acme-cc tier 1, bluesky-cc tier 2
    assert arrive(routing, "cap-1", did=INSURANCE_DID).dial == "PJSIP/acme-cc"
    assert arrive(routing, "cap-2", did=INSURANCE_DID).dial == "PJSIP/bluesky-cc"
    assert arrive(routing, "cap-3", did=INSURANCE_DID).dial == "PJSIP/bluesky-cc"
    rejected = arrive(routing, "cap-4", did=INSURANCE_DID)
    assert rejected.reason == "all_capped" and rejected.hangup_cause == 34
    routing.hangup(CallEnd(uniqueid="cap-1", dial_status="ANSWER", attempt=1))
    assert arrive(routing, "cap-5", did=INSURANCE_DID).dial == "PJSIP/acme-cc"
    assert_counters_match_a_recount(engine)


def test_total_calls_cap_counts_delivered_plus_in_flight(routing, engine):
    set_setting(engine, 4, total_calls_allowed=2, current_total_calls=1, max_concurrency=10)
    assert arrive(routing, "tot-1", did=MEDICARE_DID).action == "dial"
    assert arrive(routing, "tot-2", did=MEDICARE_DID).reason == "all_capped"
    routing.hangup(CallEnd(uniqueid="tot-1", dial_status="ANSWER", attempt=1))
    assert counters(engine)[4] == (0, 2)
    assert arrive(routing, "tot-3", did=MEDICARE_DID).reason == "all_capped"


def test_a_failed_attempt_gives_its_total_cap_room_back(routing, engine):
    set_setting(engine, 4, total_calls_allowed=1, current_total_calls=0, max_concurrency=10)
    assert arrive(routing, "tf-1", did=MEDICARE_DID).action == "dial"
    routing.attempt_result("tf-1", 1, "BUSY")
    assert arrive(routing, "tf-2", did=MEDICARE_DID).action == "dial"


def test_weight_zero_and_inactive_clients_or_links_are_never_dialled(routing, engine):
    set_setting(engine, 1, weight=0)
    execute(engine, "UPDATE clients SET status = 'inactive' WHERE id = 3")
    for i in range(20):
        decision = arrive(routing, f"w0-{i}")
        assert decision.dial == "PJSIP/bluesky-cc"
        routing.attempt_result(f"w0-{i}", 1, "BUSY")
        assert arrive(routing, f"w0-{i}").reason == "all_failed"


def test_a_client_without_a_pjsip_endpoint_is_not_a_candidate(routing, engine):
    execute(engine, "DELETE FROM ps_endpoints WHERE id = 'summit-cc'")
    assert arrive(routing, "noep-1", did=MEDICARE_DID).reason == "no_route"


def test_weights_share_traffic_inside_a_tier(engine):
    """The planner's order (cc_plan): tier by tier, and inside a tier each link comes first in
    proportion to its weight."""
    set_setting(engine, 1, weight=70)
    set_setting(engine, 2, weight=30)
    set_setting(engine, 3, weight=1000)  # tier 2: however heavy, after tier 1
    orders = scalar(engine, """
        SELECT array_agg(o.clients) FROM generate_series(1, 20000) g
        CROSS JOIN LATERAL (SELECT array_agg(p.client) AS clients
                            FROM cc_plan(1, NULL, now(), (g - g)::int) p) o""")
    firsts = collections.Counter(order[0] for order in orders)
    assert 0.67 < firsts["acme-cc"] / 20000 < 0.73
    assert firsts["summit-cc"] == 0
    assert all(order[-1] == "summit-cc" and len(order) == 3 for order in orders)


def test_expiry_frees_a_dialling_slot_once(routing, engine):
    decision = arrive(routing, "exp-1")
    execute(engine, "UPDATE reservations SET expires_at = now() - interval '1 second'")
    assert routing.expire() == 1
    assert routing.expire() == 0
    routing.attempt_result("exp-1", decision.attempt, "NOANSWER")  # late: frees nothing more
    routing.hangup(CallEnd(uniqueid="exp-1"))
    assert_counters_match_a_recount(engine)


def test_expiry_never_frees_a_slot_of_a_call_asterisk_still_has(routing, engine):
    """Given Asterisk's live channels, a dialling slot past its hold stays held while its call
    is listed (its Dial may not even have started); the others past their hold go."""
    arrive(routing, "slow-1")
    arrive(routing, "lost-1")
    execute(engine, "UPDATE reservations SET expires_at = now() - interval '1 second'")
    assert routing.expire(["pbx-a-1.7", "slow-1"]) == 1
    assert scalar(engine, "SELECT array_agg(uniqueid) FROM reservations") == ["slow-1"]
    assert routing.expire(["slow-1"]) == 0
    assert routing.expire() == 1  # unknown live channels: the hold alone decides
    for uniqueid in ("slow-1", "lost-1"):
        routing.hangup(CallEnd(uniqueid=uniqueid))
    assert_counters_match_a_recount(engine)


def test_a_dialling_slot_is_held_for_the_dial_timeout_plus_the_backstop_margin(routing, engine):
    arrive(routing, "hold-1")
    held = scalar(engine, "SELECT extract(epoch FROM expires_at - created_at) FROM reservations "
                          "WHERE uniqueid = 'hold-1'")
    timeout = scalar(engine, "SELECT dial_timeout FROM campaigns WHERE id = 1")
    assert held == timeout + 300
    routing.hangup(CallEnd(uniqueid="hold-1"))


def test_a_call_answered_after_its_slot_expired_takes_the_slot_back_past_the_cap(routing, engine):
    """Asterisk fell behind: the Dial started after the dialling slot had expired and another
    call took it. The answer is real, so the slot comes back even past the cap, and the
    decision says so."""
    set_setting(engine, 4, max_concurrency=1, total_calls_allowed=None)
    # The client's and the campaign's caps are far: their counters are kept, and follow too.
    execute(engine, "UPDATE clients SET max_concurrency = 10 WHERE id = 3")
    execute(engine, "UPDATE campaigns SET max_concurrency = 10 WHERE id = 2")
    late = arrive(routing, "late-1", did=MEDICARE_DID)
    execute(engine, "UPDATE reservations SET expires_at = now() - interval '1 second'")
    assert routing.expire() == 1
    assert arrive(routing, "next-1", did=MEDICARE_DID).action == "dial"  # the freed slot
    routing.answered("late-1", late.attempt)
    assert counters(engine)[4][0] == 2  # over the cap of 1: both calls are up
    assert scalar(engine, "SELECT in_flight FROM clients WHERE id = 3") == 2
    assert scalar(engine, "SELECT in_flight FROM campaigns WHERE id = 2") == 2
    rounds = call_row(engine, "late-1")["decision"]
    assert rounds[-1]["outcome"] == "over_cap" and rounds[-1]["setting_id"] == 4
    assert arrive(routing, "third-1", did=MEDICARE_DID).reason == "all_capped"
    routing.answered("late-1", late.attempt)  # a duplicate answer takes nothing more
    assert counters(engine)[4][0] == 2
    routing.hangup(CallEnd(uniqueid="late-1", dial_status="ANSWER", attempt=late.attempt, billsec=5))
    routing.hangup(CallEnd(uniqueid="next-1", dial_status="NOANSWER", attempt=1))
    routing.hangup(CallEnd(uniqueid="third-1"))
    assert counters(engine)[4][0] == 0
    assert call_row(engine, "late-1")["status"] == "answered"
    assert_counters_match_a_recount(engine)


def test_an_answered_call_whose_answered_session_was_lost_is_counted_from_the_channel(routing, engine):
    """`answered` never reached the router (its FastAGI session failed) and the slot expired;
    the h extension still knows the call talked: it is logged answered and delivered."""
    decision = arrive(routing, "lost-answer-1", did=MEDICARE_DID)
    execute(engine, "UPDATE reservations SET expires_at = now() - interval '1 second'")
    assert routing.expire() == 1
    delivered = counters(engine)[4][1]
    assert routing.hangup(CallEnd(uniqueid="lost-answer-1", dial_status=None,
                                  attempt=decision.attempt, billsec=42)) == "answered"
    row = call_row(engine, "lost-answer-1")
    assert row["billsec"] == 42 and row["client_id"] == 3
    assert counters(engine)[4] == (0, delivered + 1)
    assert_counters_match_a_recount(engine)


def test_an_answer_after_the_call_ended_takes_nothing(routing, engine):
    decision = arrive(routing, "gone-1", did=MEDICARE_DID)
    routing.hangup(CallEnd(uniqueid="gone-1", dial_status="CANCEL", attempt=1))
    routing.answered("gone-1", decision.attempt)
    assert counters(engine)[4][0] == 0
    assert_counters_match_a_recount(engine)


def test_an_answered_call_is_not_expired_but_reconcile_frees_it_when_asterisk_lost_it(routing, engine):
    decision = arrive(routing, "rec-1")
    routing.answered("rec-1", decision.attempt)
    execute(engine, "UPDATE reservations SET created_at = now() - interval '1 hour'")
    assert routing.expire() == 0
    assert routing.reconcile(["rec-1"], grace_seconds=60) == []
    assert scalar(engine, "SELECT count(*) FROM reservations") == 1
    assert routing.reconcile(["some-other-call"], grace_seconds=60) == ["rec-1"]
    assert scalar(engine, "SELECT count(*) FROM reservations") == 0
    assert call_row(engine, "rec-1")["status"] == "answered"
    routing.hangup(CallEnd(uniqueid="rec-1", dial_status="ANSWER", attempt=1))  # late, duplicate
    assert_counters_match_a_recount(engine)


def test_hangup_before_route_still_logs_the_call(routing, engine):
    assert routing.hangup(CallEnd(uniqueid="early-1", did="4155550100", hangup_cause=16)) == "abandoned"
    assert call_row(engine, "early-1")["did"] == SOLAR_DID


@pytest.mark.parametrize("cap, calls", [(1, 8), (3, 24), (5, 40)])
def test_concurrent_calls_admit_exactly_the_cap(engine, cap, calls):
    set_setting(engine, 4, max_concurrency=cap, total_calls_allowed=None)
    services = [RoutingService(engine, rng=random.Random(i)) for i in range(calls)]
    with ThreadPoolExecutor(max_workers=calls) as pool:
        decisions = list(pool.map(lambda i: services[i].route(
            CallArrival(uniqueid=f"race-{i}", did=MEDICARE_DID)), range(calls)))
    admitted = [d for d in decisions if d.action == "dial"]
    assert len(admitted) == cap
    assert {d.reason for d in decisions if d.action == "reject"} == {"all_capped"}
    assert counters(engine)[4][0] == cap
    assert_counters_match_a_recount(engine)


def test_concurrent_hangups_and_duplicates_keep_counters_exact(engine):
    set_setting(engine, 4, max_concurrency=50, total_calls_allowed=None)
    routing = RoutingService(engine)
    ids = [f"dup-{i}" for i in range(30)]
    for uniqueid in ids:
        assert routing.route(CallArrival(uniqueid=uniqueid, did=MEDICARE_DID)).action == "dial"
    ends = [CallEnd(uniqueid=u, dial_status="ANSWER" if i % 2 else "CANCEL", attempt=1)
            for i, u in enumerate(ids)] * 3
    random.Random(3).shuffle(ends)
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(routing.hangup, ends))
    assert counters(engine)[4] == (0, 15)
    assert_counters_match_a_recount(engine)


def test_a_lost_attempt_result_is_not_logged_as_answered_when_a_later_attempt_answers(routing, engine):
    first = arrive(routing, "lost-1")
    assert first.attempt == 1
    # attempt_result for attempt 1 never arrives; Asterisk loops to route anyway.
    second = arrive(routing, "lost-1")
    assert second.attempt == 2
    routing.hangup(CallEnd(uniqueid="lost-1", dial_status="ANSWER", attempt=2, billsec=10))
    statuses = scalar(engine, "SELECT array_agg(dial_status ORDER BY attempt_no) FROM call_attempts a "
                              "JOIN call_logs c ON c.id = a.call_log_id WHERE c.uniqueid = 'lost-1'")
    assert statuses == ["UNKNOWN", "ANSWER"]
    assert_counters_match_a_recount(engine)

"""Callers as E.164 for every rule and filter: the same caller sent as
+14155559701, 4155559701 and 14155559701 is one caller; what the carrier sent is kept;
anonymous and withheld callers have no number and are never duplicates of one another.

Sample data: campaign 1 "Solar" (+14155550100) links acme-cc (s1), bluesky-cc (s2), summit-cc
(s3, tier 2); campaign 2 "Medicare" (+14155550102) links summit-cc (s4).
"""
import csv
import io
import random

import pytest

from app.services.routing import CallArrival, CallEnd, RoutingService
from app.services.routing.steps import caller_number
from tests.support.routing import assert_counters_match_a_recount, execute, scalar, set_setting

SOLAR, MEDICARE = "+14155550100", "+14155550102"
SPELLINGS = ("+14155559701", "4155559701", "14155559701")  # one caller, as carriers send it


def service(engine, seed=1):
    return RoutingService(engine, default_region="US", rng=random.Random(seed))


def call(routing, uniqueid, caller, did=MEDICARE):
    return routing.route(CallArrival(uniqueid=uniqueid, did=did, caller_id=caller))


def answer(routing, uniqueid, billsec=60):
    return routing.hangup(CallEnd(uniqueid=uniqueid, dial_status="ANSWER", attempt=1,
                                  billsec=billsec))


def logged(engine, uniqueid):
    return scalar(engine, "SELECT row_to_json(c) FROM call_logs c WHERE uniqueid = :u", u=uniqueid)


@pytest.mark.parametrize("raw, expected", [
    ("+14155559701", "+14155559701"), ("4155559701", "+14155559701"),
    ("14155559701", "+14155559701"), (" +1 (415) 555-9701 ", "+14155559701"),
    ("anonymous", None), ("Anonymous", None), ("unknown", None), ("restricted", None),
    ("withheld", None), ("private", None), ("", None), (None, None),
    ("555", None),  # not a valid number
    ("1-800-FLOWERS", None),  # letters: a name, never a vanity reading
])
def test_a_caller_number_is_e164_or_nothing(raw, expected):
    assert caller_number(raw, "US") == expected


def test_the_call_log_keeps_what_the_carrier_sent_and_the_e164_number(engine):
    routing = service(engine)
    for uniqueid, raw in zip(("keep-1", "keep-2", "keep-3"), SPELLINGS):
        call(routing, uniqueid, raw)
        row = logged(engine, uniqueid)
        assert (row["caller_id"], row["caller_number"]) == (raw, "+14155559701")
    call(routing, "keep-anon", "anonymous")
    row = logged(engine, "keep-anon")
    assert (row["caller_id"], row["caller_number"]) == ("anonymous", None)


def test_a_call_opened_by_hangup_gets_its_caller_number_too(engine):
    routing = service(engine)
    routing.hangup(CallEnd(uniqueid="hang-only", did=MEDICARE, caller_id="4155559701"))
    assert logged(engine, "hang-only")["caller_number"] == "+14155559701"


def test_reject_rule_sees_one_caller_in_every_spelling(engine):
    execute(engine, "UPDATE campaigns SET duplicate_window_hours = 24, duplicate_action = 'reject' "
                    "WHERE id = 2")
    set_setting(engine, 4, max_concurrency=10)
    routing = service(engine)
    first, *again = SPELLINGS
    assert call(routing, "rej-1", first).action == "dial"
    answer(routing, "rej-1")
    for n, raw in enumerate(again):
        refused = call(routing, f"rej-{n + 2}", raw)
        assert (refused.action, refused.reason, refused.hangup_cause) == ("reject", "duplicate", 21)
    assert call(routing, "rej-other", "+14155559702").action == "dial"  # another caller


def test_sticky_rule_sends_every_spelling_back_to_the_client_that_answered(engine):
    execute(engine, "UPDATE campaigns SET duplicate_window_hours = 48, duplicate_action = 'sticky' "
                    "WHERE id = 1")
    routing = service(engine)
    first = call(routing, "stk-1", SPELLINGS[0], SOLAR)
    answer(routing, "stk-1")
    for seed in range(6):
        for n, raw in enumerate(SPELLINGS[1:]):
            uniqueid = f"stk-{seed}-{n}"
            again = service(engine, seed).route(CallArrival(uniqueid=uniqueid, did=SOLAR,
                                                            caller_id=raw))
            assert again.dial == first.dial
            answer(routing, uniqueid)
    assert_counters_match_a_recount(engine)


def test_concurrent_rule_sees_one_caller_in_every_spelling(engine):
    execute(engine, "UPDATE campaigns SET reject_concurrent_duplicate = true WHERE id = 2")
    set_setting(engine, 4, max_concurrency=10)
    routing = service(engine)
    assert call(routing, "live-a", SPELLINGS[0]).action == "dial"
    assert call(routing, "live-b", SPELLINGS[1]).reason == "duplicate"
    assert call(routing, "live-c", SPELLINGS[2]).reason == "duplicate"
    answer(routing, "live-a")
    assert call(routing, "live-d", SPELLINGS[2]).action == "dial"


def test_anonymous_and_withheld_callers_are_never_duplicates_of_one_another(engine):
    execute(engine, "UPDATE campaigns SET reject_concurrent_duplicate = true, "
                    "duplicate_window_hours = 5, duplicate_action = 'reject' WHERE id = 2")
    set_setting(engine, 4, max_concurrency=20)
    routing = service(engine)
    for n, raw in enumerate(("anonymous", "Anonymous", "restricted", "unknown", "withheld",
                             None, "", "555", "anonymous")):
        assert call(routing, f"anon-{n}", raw).action == "dial", raw
        if n % 2:
            answer(routing, f"anon-{n}")


def test_the_simulator_compares_caller_numbers_too(engine):
    execute(engine, "UPDATE campaigns SET duplicate_window_hours = 24, duplicate_action = 'reject' "
                    "WHERE id = 2")
    routing = service(engine)
    call(routing, "sim-1", "4155559701")
    answer(routing, "sim-1")
    assert routing.simulate(2, caller_id="+14155559701").reason == "duplicate"
    assert routing.simulate(2, caller_id="anonymous").action == "dial"


def test_the_caller_filter_finds_every_spelling_by_any_spelling(app, engine, client, auth):
    routing = service(engine)
    for n, raw in enumerate(SPELLINGS):
        call(routing, f"flt-{n}", raw, SOLAR)
        answer(routing, f"flt-{n}")
    call(routing, "flt-anon", "anonymous", SOLAR)
    auth.login("admin")
    for raw in SPELLINGS + ("(415) 555-9701",):
        page = client.get("/api/admin/call_logs", query_string={"caller": raw}).json
        assert sorted(item["uniqueid"] for item in page["items"]) == ["flt-0", "flt-1", "flt-2"]
        assert {item["caller_number"] for item in page["items"]} == {"+14155559701"}
        assert sorted(item["caller_id"] for item in page["items"]) == sorted(SPELLINGS)
        summary = client.get("/api/admin/call_logs/summary", query_string={"caller": raw}).json
        assert summary["total"] == 3
    # Not a number: nothing (the anonymous caller has no number to match).
    assert client.get("/api/admin/call_logs", query_string={"caller": "anonymous"}).json["items"] == []
    rows = list(csv.DictReader(io.StringIO(
        client.get("/calls/export.csv", query_string={"caller": "4155559701"}).get_data(as_text=True))))
    assert {(row["caller_id"], row["caller_number"]) for row in rows} == {
        (raw, "+14155559701") for raw in SPELLINGS}

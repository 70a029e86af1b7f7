"""Whole calls through the shipped extensions.conf with Asterisk's CDRs written the way
cdr_pgsql writes them (the harness, `cdr_database`), FastAGI steps lost on the way (the
router unreachable for some scripts: `unreachable`), and the CDR reconciliation repairing
what was lost. Also the optional static overflow of the dialplan (CC_OVERFLOW).

Sample data: "Medicare" (+14155550102, dial timeout 25) links summit-cc (s4, client 3); "Solar"
(+14155550100) links acme-cc (s1), bluesky-cc (s2), summit-cc (s3, tier 2).
"""
import asyncio
import dataclasses
import re
from datetime import datetime, timedelta, timezone

import pytest

from app.services.routing import RoutingService
from app.services.routing.async_service import libpq_conninfo
from fake_asterisk.dialplan import ANSWER, BUSY, NOANSWER, Channel, load_dialplan
from tests.support.routing import (assert_counters_match_a_recount, async_routing, counters,
                                   routing_agi_server, scalar)

MEDICARE, SOLAR = "14155550102", "14155550100"
DSTCHANNEL = re.compile(r"^PJSIP/(?P<client>[a-z0-9-]+)-[0-9a-f]{8}$")


@pytest.fixture
def place_call(engine):
    """place_call(**channel_kwargs) -> CallRecord, with the call's CDRs written into `cdr`."""
    dialplan = load_dialplan()
    conninfo = libpq_conninfo(engine.url)

    def place(**kwargs):
        async def main():
            server = routing_agi_server(engine, port=0)
            await server.start()
            try:
                return await Channel(dialplan, "127.0.0.1", server.port,
                                     cdr_database=conninfo, **kwargs).run()
            finally:
                await server.stop(grace_seconds=5)
        return asyncio.run(main())
    return place


def cdr_rows(engine, uniqueid):
    return scalar(engine, "SELECT coalesce(json_agg(row_to_json(d) ORDER BY d.sequence), '[]') "
                          "FROM cdr d WHERE uniqueid = :u", u=uniqueid)


def call_log(engine, uniqueid):
    return scalar(engine, "SELECT row_to_json(c) FROM call_logs c WHERE uniqueid = :u", u=uniqueid)


def since():
    return datetime.now(timezone.utc) - timedelta(minutes=10)


def test_each_dial_writes_one_cdr_the_way_cdr_pgsql_does(engine, place_call):
    record = place_call(exten=SOLAR, callerid="+13105550100",
                        outcomes=[BUSY, dataclasses.replace(ANSWER, talk_seconds=7)])
    rows = cdr_rows(engine, record.uniqueid)
    assert [r["disposition"] for r in rows] == ["BUSY", "ANSWERED"]
    assert [r["cc_attempt"] for r in rows] == [1, 2]  # Set(CDR(cc_attempt)=…) before each Dial
    assert rows[0]["sequence"] < rows[1]["sequence"]
    assert all(r["uniqueid"] == r["linkedid"] == record.uniqueid for r in rows)
    clients = [DSTCHANNEL.match(r["dstchannel"]).group("client") for r in rows]
    assert [f"PJSIP/{c}" for c in clients] == [target for target, _ in record.dials]
    assert rows[1]["lastdata"] == (f"PJSIP/{clients[1]},30,"
                                   f"U(cc-answered^{record.uniqueid}^2)")
    assert (rows[0]["answer"], rows[0]["billsec"]) == (None, 0)
    assert (rows[1]["billsec"], rows[1]["lastapp"], rows[1]["src"]) == (7, "Dial", "+13105550100")
    assert rows[1]["start"] == rows[0]["end"]  # the next Dial's CDR starts where the last ended
    # Whole seconds, as Asterisk writes them.
    assert all("." not in (r[name] or "") for r in rows for name in ("start", "answer", "end"))


def test_a_call_nothing_went_wrong_with_needs_no_reconciliation(engine, place_call):
    record = place_call(exten=MEDICARE, callerid="4155559701",
                        outcomes=[dataclasses.replace(ANSWER, talk_seconds=1)])
    assert call_log(engine, record.uniqueid)["status"] == "answered"
    assert call_log(engine, record.uniqueid)["caller_number"] == "+14155559701"
    assert RoutingService(engine).reconcile_cdr(since()) == []


def test_an_outage_during_the_call_is_repaired_from_the_cdrs(engine, place_call):
    """The router answers `route`, then goes away: `answered` and `hangup` never arrive. The
    call talks 42 s; its slot stays held and its log open until the reconciliation (the
    sweeper's, through the FastAGI server's own async engine) closes it from the CDR."""
    before = counters(engine)
    record = place_call(exten=MEDICARE, outcomes=[dataclasses.replace(ANSWER, talk_seconds=42)],
                        unreachable={"answered", "hangup"})
    assert record.failed_agi == ["answered", "hangup"]
    assert call_log(engine, record.uniqueid)["ended_at"] is None
    assert counters(engine)[4][0] == 1

    async def sweep():
        routing = async_routing(engine)
        try:
            return await routing.reconcile_cdr(since()), await routing.reconcile_cdr(since())
        finally:
            await routing.close()

    first, second = asyncio.run(sweep())
    assert [c["outcome"] for c in first] == ["closed"] and second == []
    log = call_log(engine, record.uniqueid)
    assert (log["status"], log["billsec"], log["client_id"]) == ("answered", 42, 3)
    assert log["duration"] == cdr_rows(engine, record.uniqueid)[0]["duration"]
    assert counters(engine)[4] == (0, before[4][1] + 1)
    assert_counters_match_a_recount(engine)


def test_a_failover_whose_attempt_result_and_hangup_were_lost(engine, place_call):
    """No answer, its attempt_result lost (the slot waits for expiry), the next candidate
    answers, then `hangup` is lost too: the CDRs give the first attempt its result (the hangup
    would have said UNKNOWN) and close the call."""
    before = counters(engine)
    record = place_call(exten=SOLAR,
                        outcomes=[NOANSWER, dataclasses.replace(ANSWER, talk_seconds=5)],
                        unreachable={"attempt_result", "hangup"})
    assert len(record.dials) == 2
    assert scalar(engine, "SELECT count(*) FROM reservations") == 2
    [change] = RoutingService(engine).reconcile_cdr(since())
    assert change["outcome"] == "closed"
    statuses = scalar(engine, "SELECT array_agg(dial_status ORDER BY attempt_no) FROM call_attempts a "
                              "JOIN call_logs c ON c.id = a.call_log_id WHERE c.uniqueid = :u",
                      u=record.uniqueid)
    assert statuses == ["NOANSWER", "ANSWER"]
    assert call_log(engine, record.uniqueid)["billsec"] == 5
    assert scalar(engine, "SELECT count(*) FROM reservations") == 0
    answered_setting = {"PJSIP/acme-cc": 1, "PJSIP/bluesky-cc": 2}[record.dials[1][0]]
    assert counters(engine)[answered_setting][1] == before[answered_setting][1] + 1
    assert RoutingService(engine).reconcile_cdr(since()) == []
    assert_counters_match_a_recount(engine)


def test_with_the_router_down_the_call_is_refused_41_and_logged_from_its_cdr(engine, place_call):
    record = place_call(exten=MEDICARE, callerid="anonymous",
                        unreachable={"route", "hangup"})
    assert record.dials == [] and record.hangup_cause == "41"
    [row] = cdr_rows(engine, record.uniqueid)
    assert (row["dstchannel"], row["lastapp"], row["disposition"]) == (None, "Hangup", "NO ANSWER")
    assert call_log(engine, record.uniqueid) is None
    [change] = RoutingService(engine).reconcile_cdr(since())
    assert change["outcome"] == "created"
    log = call_log(engine, record.uniqueid)
    assert (log["status"], log["campaign_id"], log["caller_id"], log["caller_number"]) == (
        "error", 2, "anonymous", None)


def test_the_overflow_takes_calls_the_router_gave_no_decision_for(engine, place_call):
    """CC_OVERFLOW set: a call the router never answered is dialled there (here a client that
    is also linked to the campaign, so the reconciliation counts its delivery)."""
    before = counters(engine)
    record = place_call(exten=MEDICARE, globals={"CC_OVERFLOW": "PJSIP/summit-cc"},
                        outcomes=[dataclasses.replace(ANSWER, talk_seconds=12)],
                        unreachable={"route", "hangup"})
    assert record.dials == [("PJSIP/summit-cc", "30")]
    [row] = cdr_rows(engine, record.uniqueid)
    assert (row["disposition"], row["cc_attempt"], row["billsec"]) == ("ANSWERED", None, 12)
    [change] = RoutingService(engine).reconcile_cdr(since())
    log = call_log(engine, record.uniqueid)
    assert (change["outcome"], log["status"], log["client_id"], log["billsec"]) == (
        "created", "answered", 3, 12)
    assert counters(engine)[4] == (0, before[4][1] + 1)
    assert_counters_match_a_recount(engine)


def test_the_overflow_never_takes_a_call_the_router_refused(engine, place_call):
    record = place_call(exten="18005550000", globals={"CC_OVERFLOW": "PJSIP/summit-cc"})
    assert record.dials == [] and record.variables["CC_REASON"] == "no_route"
    assert record.hangup_cause == "1"


def test_an_unanswered_overflow_ends_in_a_temporary_failure(engine, place_call):
    record = place_call(exten=MEDICARE, globals={"CC_OVERFLOW": "PJSIP/summit-cc"},
                        outcomes=[BUSY], unreachable={"route"})
    assert record.dials == [("PJSIP/summit-cc", "30")]
    assert record.hangup_cause == "41"
    assert call_log(engine, record.uniqueid)["status"] == "abandoned"  # its hangup still ran

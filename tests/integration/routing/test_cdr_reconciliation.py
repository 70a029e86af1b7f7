"""Asterisk's CDRs as the second source of truth: the reconciliation completes or
corrects call logs from the `cdr` rows, moves the counters that depend on them, writes every
change into the audit trail, and changes nothing the second time.

CDRs are written the way cdr_pgsql writes them (fake_asterisk/cdr_pgsql.py), in rows shaped
exactly like fake_asterisk/data/cdr-rows.csv (the captured CDRs of a real Asterisk 22.10.1).

Sample data: campaign 1 "Solar" (+14155550100) links acme-cc (s1), bluesky-cc (s2), summit-cc
(s3); campaign 2 "Medicare" (+14155550102, dial timeout 25) links summit-cc (s4, client 3).
"""
import random
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from app.services.routing import CallArrival, CallEnd, RoutingService
from app.services.routing.async_service import libpq_conninfo
from fake_asterisk import cdr_pgsql
from tests.support.routing import (assert_counters_match_a_recount, counters, execute, scalar,
                                   set_setting)

MEDICARE, SOLAR = "+14155550102", "+14155550100"
CSV_FIELDS = tuple(cdr_pgsql.read_captured_cdrs()[0])
TIME = cdr_pgsql.CDR_TIME_FORMAT
_sequence = iter(range(100, 100000))


def now_second() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def cdr_row(uniqueid: str, *, start: datetime, end: datetime, disposition: str,
            answer: datetime | None = None, client: str | None = None, attempt: int = 1,
            src: str = "+13105550100", dst: str = MEDICARE, timeout: int = 25) -> dict:
    """One CDR exactly as cdr-rows.csv spells it: a Dial attempt (the B party), or, without a
    client, the caller alone (a call that dialled nobody; cdr.conf unanswered = yes)."""
    sequence = next(_sequence)
    row = {
        "uniqueid": uniqueid, "linkedid": uniqueid, "src": src, "dst": dst,
        "dcontext": "cc-inbound", "channel": f"PJSIP/carrier-2-{sequence:08x}",
        "dstchannel": f"PJSIP/{client}-{sequence + 1:08x}" if client else "",
        "lastapp": "Dial" if client else "Hangup",
        "lastdata": (f"PJSIP/{client},{timeout},U(cc-answered^{uniqueid}^{attempt})"
                     if client else "41"),
        "start": start.strftime(TIME), "answer": answer.strftime(TIME) if answer else "",
        "end": end.strftime(TIME),
        "duration": str(int((end - start).total_seconds())),
        "billsec": str(int((end - answer).total_seconds())) if answer else "0",
        "disposition": disposition, "sequence": str(sequence),
    }
    assert tuple(row) == CSV_FIELDS
    return row


@pytest.fixture
def write_cdrs(engine):
    def write(*rows):
        with psycopg.connect(libpq_conninfo(engine.url), autocommit=True) as conn:
            cdr_pgsql.write_cdrs(conn, list(rows))
    return write


@pytest.fixture
def routing(engine):
    return RoutingService(engine, default_region="US", rng=random.Random(3))


def logged(engine, uniqueid):
    return scalar(engine, "SELECT row_to_json(c) FROM call_logs c WHERE uniqueid = :u", u=uniqueid)


def attempts(engine, uniqueid):
    return scalar(engine, "SELECT array_agg(array[a.attempt_no::text, a.dial_status, "
                          "a.setting_id::text] ORDER BY a.attempt_no) FROM call_attempts a "
                          "JOIN call_logs c ON c.id = a.call_log_id WHERE c.uniqueid = :u",
                  u=uniqueid)


def audit_lines(engine, uniqueid=None):
    return scalar(engine, "SELECT coalesce(jsonb_agg(changes ORDER BY id), '[]') FROM audit_events "
                          "WHERE action = 'reconcile' AND entity_type = 'call_log' "
                          "AND (CAST(:u AS text) IS NULL OR changes ->> 'uniqueid' = :u)",
                  u=uniqueid)


def reconcile_twice(routing, since):
    """The reconciliation, then again: the second run finds nothing to change."""
    first = routing.reconcile_cdr(since)
    assert routing.reconcile_cdr(since) == []
    return first


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_an_answered_call_whose_answered_and_hangup_were_lost_is_completed(engine, routing,
                                                                          write_cdrs):
    """An outage in the middle of a call: route ran, then the router went away; Asterisk's CDR
    says the call was answered and talked 42 s."""
    before = counters(engine)
    t0 = now_second()
    decision = routing.route(CallArrival(uniqueid="rc-lost", did=MEDICARE, caller_id="4155559701"))
    assert decision.dial == "PJSIP/summit-cc"
    assert counters(engine)[4][0] == 1  # the slot is held: nobody will release it but us
    write_cdrs(cdr_row("rc-lost", start=t0, answer=t0 + timedelta(seconds=1),
                       end=t0 + timedelta(seconds=43), disposition="ANSWERED", client="summit-cc",
                       src="4155559701"))
    [change] = reconcile_twice(routing, t0 - timedelta(minutes=5))
    assert change["outcome"] == "closed" and change["uniqueid"] == "rc-lost"
    log = logged(engine, "rc-lost")
    assert (log["status"], log["billsec"], log["duration"], log["client_id"]) == ("answered", 42, 43, 3)
    assert at(log["answered_at"]) == t0 + timedelta(seconds=1)
    assert at(log["ended_at"]) == t0 + timedelta(seconds=43)
    assert log["caller_number"] == "+14155559701"
    assert attempts(engine, "rc-lost") == [["1", "ANSWER", "4"]]
    assert counters(engine)[4] == (0, before[4][1] + 1)  # released, delivered once
    assert_counters_match_a_recount(engine)
    [line] = audit_lines(engine, "rc-lost")
    assert line["outcome"] == "closed" and line["source"] == "cdr"
    assert line["status"] == ["in_progress", "answered"] and line["billsec"] == [None, 42]
    assert line["counters"] == [{"setting_id": 4, "delivered": 1, "converted": 1}]


def test_an_answered_call_closed_by_the_vanished_calls_reconcile_gets_its_billsec_and_conversion(
        engine, routing, write_cdrs):
    """`flask routing reconcile` ends a lost call with billsec 0 and a duration too long, so it
    is never converted; the CDR says 45 s of talk: converted, payout and revenue, and the link's
    period counts (it counts converted calls) follow."""
    execute(engine, "UPDATE campaigns SET billable_after = 30, payout = 10 WHERE id = 2")
    set_setting(engine, 4, buyer_price=25, cap_counts="converted", daily_cap=100)
    before = counters(engine)
    t0 = now_second()
    routing.route(CallArrival(uniqueid="rc-vanished", did=MEDICARE, caller_id="+13105550100"))
    routing.answered("rc-vanished", 1)
    assert routing.reconcile([], grace_seconds=0) == ["rc-vanished"]
    log = logged(engine, "rc-vanished")
    assert (log["status"], log["billsec"], log["converted"]) == ("answered", 0, False)
    assert scalar(engine, "SELECT day_count FROM campaign_client_settings WHERE id = 4") == 0
    write_cdrs(cdr_row("rc-vanished", start=t0, answer=t0 + timedelta(seconds=2),
                       end=t0 + timedelta(seconds=47), disposition="ANSWERED", client="summit-cc"))
    [change] = reconcile_twice(routing, t0 - timedelta(minutes=5))
    assert change["outcome"] == "corrected"
    log = logged(engine, "rc-vanished")
    assert (log["status"], log["billsec"], log["duration"]) == ("answered", 45, 47)
    assert (log["converted"], float(log["payout"]), float(log["revenue"])) == (True, 10.0, 25.0)
    assert at(log["ended_at"]) == t0 + timedelta(seconds=47)
    assert counters(engine)[4] == (0, before[4][1] + 1)  # counted once, by the reconcile
    assert scalar(engine, "SELECT day_count FROM campaign_client_settings WHERE id = 4") == 1
    assert_counters_match_a_recount(engine)
    [line] = audit_lines(engine, "rc-vanished")
    assert line["billsec"] == [0, 45] and line["converted"] == [False, True]
    assert line["counters"] == [{"setting_id": 4, "converted": 1}]


def test_a_call_logged_answered_that_asterisk_says_nobody_answered_is_taken_back(
        engine, routing, write_cdrs):
    before = counters(engine)
    t0 = now_second()
    routing.route(CallArrival(uniqueid="rc-false", did=MEDICARE, caller_id="+13105550100"))
    routing.hangup(CallEnd(uniqueid="rc-false", dial_status="ANSWER", attempt=1, billsec=0))
    assert counters(engine)[4][1] == before[4][1] + 1
    write_cdrs(cdr_row("rc-false", start=t0, end=t0, disposition="NO ANSWER", client="summit-cc"))
    [change] = reconcile_twice(routing, t0 - timedelta(minutes=5))
    log = logged(engine, "rc-false")
    assert (log["status"], log["client_id"], log["answered_at"]) == ("abandoned", None, None)
    assert attempts(engine, "rc-false") == [["1", "NOANSWER", "4"]]
    assert counters(engine)[4] == before[4]
    assert_counters_match_a_recount(engine)
    # No billable_after: it had counted as converted too.
    assert change["changes"]["counters"] == [{"setting_id": 4, "delivered": -1, "converted": -1}]


def test_calls_the_platform_never_saw_get_their_logs_from_the_cdrs(engine, routing, write_cdrs):
    """The router was down for the whole call (no route, no hangup): an answered call after a
    BUSY failover, one answered at once (the DID and the caller in national digits), and a call
    that dialled nobody (refused with cause 41)."""
    before = counters(engine)
    t0 = now_second()
    write_cdrs(
        cdr_row("rc-unseen-1", start=t0, end=t0, disposition="BUSY", client="acme-cc", attempt=1,
                dst=SOLAR, timeout=30),
        cdr_row("rc-unseen-1", start=t0, answer=t0 + timedelta(seconds=3),
                end=t0 + timedelta(seconds=20), disposition="ANSWERED", client="bluesky-cc",
                attempt=2, dst=SOLAR, timeout=30),
        cdr_row("rc-unseen-2", start=t0, answer=t0, end=t0 + timedelta(seconds=30),
                disposition="ANSWERED", client="summit-cc", src="4155559701", dst="4155550102"),
        cdr_row("rc-unseen-3", start=t0, end=t0 + timedelta(seconds=2), disposition="NO ANSWER",
                src="anonymous"),
    )
    changed = reconcile_twice(routing, t0 - timedelta(minutes=5))
    assert sorted((c["uniqueid"], c["outcome"]) for c in changed) == [
        ("rc-unseen-1", "created"), ("rc-unseen-2", "created"), ("rc-unseen-3", "created")]
    first, second, third = (logged(engine, u) for u in ("rc-unseen-1", "rc-unseen-2", "rc-unseen-3"))
    assert (first["status"], first["campaign_id"], first["seller_id"], first["client_id"],
            first["billsec"], first["duration"]) == ("answered", 1, 3, 2, 17, 20)
    assert attempts(engine, "rc-unseen-1") == [["1", "BUSY", "1"], ["2", "ANSWER", "2"]]
    assert (second["status"], second["did"], second["caller_id"], second["caller_number"],
            second["campaign_id"], second["client_id"]) == (
        "answered", MEDICARE, "4155559701", "+14155559701", 2, 3)
    assert at(second["started_at"]) == t0 and at(second["ended_at"]) == t0 + timedelta(seconds=30)
    assert (third["status"], third["caller_number"], third["client_id"]) == ("error", None, None)
    assert attempts(engine, "rc-unseen-3") is None
    after = counters(engine)
    assert after[2] == (0, before[2][1] + 1) and after[4] == (0, before[4][1] + 1)
    assert after[1] == before[1]
    assert_counters_match_a_recount(engine)
    assert len(audit_lines(engine)) == 3


def test_a_call_whose_log_agrees_with_its_cdrs_is_left_alone(engine, routing, write_cdrs):
    t0 = now_second()
    routing.route(CallArrival(uniqueid="rc-fine", did=MEDICARE, caller_id="+13105550100"))
    routing.answered("rc-fine", 1)
    routing.hangup(CallEnd(uniqueid="rc-fine", dial_status="ANSWER", attempt=1, billsec=0))
    log = logged(engine, "rc-fine")
    answered_at = at(log["answered_at"]).replace(microsecond=0)  # as Asterisk writes it
    write_cdrs(cdr_row("rc-fine", start=t0, answer=answered_at, end=answered_at,
                       disposition="ANSWERED", client="summit-cc"))
    assert routing.reconcile_cdr(t0 - timedelta(minutes=5)) == []
    assert logged(engine, "rc-fine") == log
    assert audit_lines(engine) == []


def test_the_captured_cdrs_reconcile_into_call_logs_once(engine, routing, write_cdrs):
    """The 39 real CDRs of cdr-rows.csv (35 calls, none of which this database routed: their
    clients and DIDs are the lab's) become 35 call logs; again, nothing changes."""
    captured = cdr_pgsql.read_captured_cdrs()
    write_cdrs(*captured)
    changed = reconcile_twice(routing, datetime(2026, 12, 3, tzinfo=timezone.utc))
    calls = {row["uniqueid"] for row in captured}
    assert {c["uniqueid"] for c in changed} == calls and len(calls) == 35
    answered = {row["uniqueid"] for row in captured if row["disposition"] == "ANSWERED"}
    assert scalar(engine, "SELECT count(*) FROM call_logs WHERE uniqueid = ANY(:u) "
                          "AND status = 'answered'", u=list(calls)) == len(answered)
    # The failover of pbx-a-1796285304.12: BUSY, then answered on attempt 2 with 5 s of talk.
    log = logged(engine, "pbx-a-1796285304.12")
    assert (log["status"], log["billsec"], log["duration"]) == ("answered", 5, 5)
    assert attempts(engine, "pbx-a-1796285304.12") == [["1", "BUSY", None], ["2", "ANSWER", None]]
    # The same caller in three spellings is one caller number.
    assert scalar(engine, "SELECT array_agg(DISTINCT caller_number) FROM call_logs WHERE uniqueid IN "
                          "('pbx-a-1796285750.35', 'pbx-a-1796285754.37', 'pbx-a-1796285757.39')"
                  ) == ["+14155559701"]
    assert logged(engine, "pbx-a-1796285735.31")["did"] == "+14155550190"  # national DID
    assert_counters_match_a_recount(engine)


def test_the_internal_api_and_the_command_line_reconcile_on_demand(app, engine, client, auth,
                                                                   write_cdrs):
    t0 = now_second()
    write_cdrs(cdr_row("rc-api", start=t0, answer=t0, end=t0 + timedelta(seconds=9),
                       disposition="ANSWERED", client="summit-cc"))
    token = {"Authorization": "Bearer testing-internal-token-not-for-production"}
    answer = client.post("/api/internal/reconcile_cdr", headers=token,
                         json={"since": (t0 - timedelta(minutes=5)).isoformat()})
    assert answer.status_code == 200, answer.json
    [change] = answer.json["changed"]
    assert (change["uniqueid"], change["outcome"]) == ("rc-api", "created")
    assert client.post("/api/internal/reconcile_cdr", headers=token, json={}).json == {"changed": []}
    write_cdrs(cdr_row("rc-cli", start=t0, end=t0, disposition="NO ANSWER"))
    result = app.test_cli_runner().invoke(args=["calls", "reconcile-cdr", "--since", "2h"])
    assert result.exit_code == 0, result.output
    assert "1 call log(s) changed" in result.output and "created rc-cli" in result.output
    again = app.test_cli_runner().invoke(args=["calls", "reconcile-cdr", "--since", "2h"])
    assert "0 call log(s) changed" in again.output
    assert logged(engine, "rc-cli")["status"] == "error"
    # The audit trail shows both, as the system's changes.
    auth.login("admin")
    trail = client.get("/api/admin/audit", query_string={"entity_type": "call_log"}).json["items"]
    assert sorted(e["changes"]["uniqueid"] for e in trail) == ["rc-api", "rc-cli"]
    assert {(e["action"], e["actor_id"]) for e in trail} == {("reconcile", None)}

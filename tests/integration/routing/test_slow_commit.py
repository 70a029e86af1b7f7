"""A call's slow commit pauses only the calls that need a row it changed: its own link's. The
other links of its campaign, called on the same DID, go on while its end is still uncommitted.

Sample data: campaign 1 "Solar" (DID +14155550100) links acme-cc (s1, client 1, tier 1),
bluesky-cc (s2, client 2, tier 1) and summit-cc (s3, client 3, tier 2); no cap on the campaign
or its clients.
"""
import threading
import time

import pytest
from sqlalchemy import text

from app.services.routing import CallArrival, CallEnd
from tests.integration.api.test_reports_at_scale import assert_rollup_is_exact
from tests.support.routing import assert_counters_match_a_recount, scalar, set_setting

SOLAR = "+14155550100"


def _pid(conn) -> int:
    return conn.execute(text("SELECT pg_backend_pid()")).scalar()


def _hangup_left_open(engine, uniqueid: str, answered: bool):
    """The call's end, in a transaction left open: every row it changed stays locked as long as
    a slow commit would keep it."""
    conn = engine.connect()
    status = conn.execute(text(
        "SELECT cc_hangup(:u, :u, :did, :did, '+13105550199', '+13105550199', :dial, 1, 16, "
        ":billsec)"), {"u": uniqueid, "did": SOLAR, "dial": "ANSWER" if answered else "CANCEL",
                       "billsec": 42 if answered else 0}).scalar()
    assert status == ("answered" if answered else "abandoned")
    return conn


def _call_in_thread(routing, uniqueid: str, answered: bool):
    """A whole call on Solar's DID in a thread: route, then answered and hangup, or the caller
    hanging up while it rings."""
    outcome = {}

    def run():
        try:
            outcome["decision"] = routing.route(CallArrival(uniqueid=uniqueid, did=SOLAR,
                                                            caller_id="+13105550177"))
            if answered:
                routing.answered(uniqueid, 1)
            outcome["status"] = routing.hangup(CallEnd(
                uniqueid=uniqueid, dial_status="ANSWER" if answered else "CANCEL", attempt=1,
                hangup_cause=16, billsec=30 if answered else 0, did=SOLAR))
        except Exception as exc:  # noqa: BLE001 - asserted by the caller
            outcome["error"] = exc
    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _waits_for(engine, thread, blocker_pid: int) -> str | None:
    """The statement of the call in `thread` found waiting for backend `blocker_pid`, if it
    ever does before it finishes."""
    while thread.is_alive():
        waiting = scalar(engine, """
            SELECT min(left(a.query, 40) || ' on ' || coalesce(
                       (SELECT string_agg(DISTINCT l.relation::regclass::text, ', ')
                        FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'tuple'), '?'))
            FROM pg_stat_activity a WHERE :blocker = ANY(pg_blocking_pids(a.pid))""",
                         blocker=blocker_pid)
        if waiting:
            return waiting
        time.sleep(0.01)
    return None


# (the slow call answered, the next one answered): each ended call lands in the rollup's rows
# of its own client; both unanswered, in the one row of the campaign, DID, day and status.
OUTCOMES = {"both answered": (True, True), "both abandoned": (False, False),
            "slow one abandoned": (False, True)}


@pytest.mark.parametrize("outcomes", OUTCOMES)
def test_a_call_on_another_link_of_the_campaign_ends_while_one_calls_end_is_uncommitted(
        routing, engine, sql, outcomes):
    slow_answered, next_answered = OUTCOMES[outcomes]
    set_setting(engine, 2, status="inactive")
    first = routing.route(CallArrival(uniqueid="slow-1", did=SOLAR, caller_id="+13105550199"))
    assert first.dial == "PJSIP/acme-cc"
    if slow_answered:
        routing.answered("slow-1", 1)
    # The next call goes to bluesky-cc: same campaign, same DID, another link and client.
    set_setting(engine, 1, status="inactive")
    set_setting(engine, 2, status="active")
    conn = _hangup_left_open(engine, "slow-1", slow_answered)
    try:
        thread, outcome = _call_in_thread(routing, "next-1", next_answered)
        waited = _waits_for(engine, thread, _pid(conn))
        assert waited is None, f"the second call waited for the first's commit: {waited}"
        thread.join(timeout=30)
        assert not thread.is_alive(), "the second call never finished"
        assert "error" not in outcome, outcome.get("error")
        assert outcome["decision"].dial == "PJSIP/bluesky-cc"
        assert outcome["status"] == ("answered" if next_answered else "abandoned")
    finally:
        conn.commit()
        conn.close()
    assert scalar(engine, "SELECT count(*) FROM call_logs WHERE uniqueid IN ('slow-1', 'next-1') "
                          "AND ended_at IS NOT NULL") == 2
    assert_counters_match_a_recount(engine)
    assert_rollup_is_exact(sql)

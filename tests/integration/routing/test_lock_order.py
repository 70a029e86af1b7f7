"""A route holds the counters of one candidate at a time, taken in the global order (clients,
campaigns, links), even when its first candidate is lost to a race and it fails over.

Found by bench/soak.py on the earlier engine: a route whose first candidate filled up between
planning and reserving kept that candidate's campaign lock while it waited for the next
candidate's client; a release of that second client in the same campaign takes the client,
then the campaign, and the two deadlocked. The candidate that lost the race is now tried in a
subtransaction that is rolled back, which gives its row locks back before the next candidate.
"""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from app.services.routing import CallArrival, CallEnd
from app.services.routing import service as routing_service
from tests.support.routing import assert_counters_match_a_recount, execute, scalar

INSURANCE_DID = "+12125550100"  # campaign 3: acme-cc (setting 5, client 1) tier 1, bluesky-cc (6, client 2) tier 2


def _route_backend_waits_for(engine, blocker_pid: int, deadline: float) -> int:
    while True:
        pid = scalar(engine, """SELECT pid FROM pg_stat_activity
                                WHERE query LIKE '%cc_route%' AND :blocker = ANY(pg_blocking_pids(pid))""",
                     blocker=blocker_pid)
        if pid:
            return pid
        assert time.monotonic() < deadline, f"the route never waited for backend {blocker_pid}"
        time.sleep(0.01)


def test_failing_over_after_a_lost_race_cannot_deadlock_with_the_next_clients_release(
        routing, engine, monkeypatch):
    monkeypatch.setattr(routing_service, "RETRIES", 1)  # a deadlock must not hide behind a retry
    # Caps on bluesky-cc's seats and on campaign 3: their counters are kept, so a route and a
    # release write (and lock) those rows.
    execute(engine, "UPDATE clients SET max_concurrency = 10 WHERE id = 2")
    execute(engine, "UPDATE campaigns SET max_concurrency = 10 WHERE id = 3")
    # A seller switches acme-cc's link off: the route planned it admissible, then finds it off.
    seller = engine.connect()
    seller.execute(text("UPDATE campaign_client_settings SET status = 'inactive' WHERE id = 5"))
    seller_pid = seller.execute(text("SELECT pg_backend_pid()")).scalar()
    # A release of a bluesky-cc call of campaign 3 has taken bluesky-cc's client row.
    release = engine.connect()
    release.execute(text("SET lock_timeout = '10s'"))
    release.execute(text("SELECT 1 FROM clients WHERE id = 2 FOR NO KEY UPDATE"))
    release_pid = release.execute(text("SELECT pg_backend_pid()")).scalar()

    outcome = {}

    def route():
        try:
            outcome["decision"] = routing.route(CallArrival(
                uniqueid="lock-order.1", did=INSURANCE_DID, caller_id="+13105550100",
                linkedid="lock-order.1"))
        except Exception as exc:  # noqa: BLE001 - asserted below
            outcome["error"] = exc

    thread = threading.Thread(target=route)
    thread.start()
    try:
        _route_backend_waits_for(engine, seller_pid, time.monotonic() + 10)
        seller.commit()  # acme-cc's link is now inactive: the route fails over to bluesky-cc
        _route_backend_waits_for(engine, release_pid, time.monotonic() + 10)
        # The route waits for bluesky-cc's client. It must not hold campaign 3 meanwhile.
        started = time.monotonic()
        release.execute(text("SELECT 1 FROM campaigns WHERE id = 3 FOR NO KEY UPDATE"))
        waited = time.monotonic() - started
    finally:
        release.rollback()
        release.close()
        seller.close()
        thread.join(timeout=30)

    assert "error" not in outcome, f"the route deadlocked: {outcome['error']!r}"
    assert waited < 0.5, f"campaign 3 was held by the waiting route for {waited:.2f} s"
    decision = outcome["decision"]
    assert decision.action == "dial" and decision.dial == "PJSIP/bluesky-cc"
    trace = scalar(engine, "SELECT decision FROM call_logs WHERE uniqueid = 'lock-order.1'")
    assert {c["client"]: c["verdict"] for c in trace[-1]["candidates"]} == {
        "acme-cc": "inactive", "bluesky-cc": "dialled"}
    assert routing.hangup(CallEnd(uniqueid="lock-order.1", dial_status="NOANSWER", attempt=1,
                                  hangup_cause=16)) == "abandoned"
    assert_counters_match_a_recount(engine)


def test_one_call_routed_twice_at_once_opens_one_log_and_holds_one_slot_per_round(engine):
    """The dialplan asking `route` again while its first ask is still working (a retry after a
    timeout): both plan the call as new, one opens its log, and the other, finding it opened
    a moment ago, gives back the slot it took and routes as the call's next round."""
    holder = engine.connect()  # acme-cc's link, the first candidate of both, is busy a moment
    holder.execute(text("SELECT 1 FROM campaign_client_settings WHERE id = 5 FOR NO KEY UPDATE"))
    arrival = CallArrival(uniqueid="twice.1", did=INSURANCE_DID, caller_id="+13105550101",
                          linkedid="twice.1")
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            asks = [pool.submit(routing_service.RoutingService(engine).route, arrival)
                    for _ in range(2)]
            deadline = time.monotonic() + 10
            while scalar(engine, """SELECT count(*) FROM pg_stat_activity
                                    WHERE query LIKE '%cc_route%' AND wait_event_type = 'Lock'
                                      AND pid <> pg_backend_pid()""") < 2:
                assert time.monotonic() < deadline, "the two routes never both waited"
                time.sleep(0.01)
            holder.rollback()
            decisions = sorted((ask.result(timeout=30) for ask in asks), key=lambda d: d.attempt)
    finally:
        holder.close()

    assert [(d.action, d.dial, d.attempt) for d in decisions] == [
        ("dial", "PJSIP/acme-cc", 1), ("dial", "PJSIP/bluesky-cc", 2)]
    assert scalar(engine, "SELECT count(*) FROM call_logs WHERE uniqueid = 'twice.1'") == 1
    rounds = scalar(engine, "SELECT decision FROM call_logs WHERE uniqueid = 'twice.1'")
    assert [(r["attempt"], r["outcome"]) for r in rounds] == [(1, "dial"), (2, "dial")]
    assert scalar(engine, "SELECT array_agg(setting_id ORDER BY attempt) FROM reservations "
                          "WHERE uniqueid = 'twice.1'") == [5, 6]
    assert_counters_match_a_recount(engine)


def test_a_caller_gone_while_the_first_route_waits_leaves_no_slot_held(engine):
    """The caller hangs up while the call's first route waits for its candidate: whichever
    ends first, the call is logged once, ended, and holds no slot."""
    holder = engine.connect()
    holder.execute(text("SELECT 1 FROM campaign_client_settings WHERE id = 5 FOR NO KEY UPDATE"))
    arrival = CallArrival(uniqueid="gone.1", did=INSURANCE_DID, caller_id="+13105550102",
                          linkedid="gone.1")

    def waiting(step: str) -> int:
        return scalar(engine, """SELECT count(*) FROM pg_stat_activity
                                 WHERE query LIKE :step AND wait_event_type = 'Lock'
                                   AND pid <> pg_backend_pid()""", step=f"%{step}%")

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            route = pool.submit(routing_service.RoutingService(engine).route, arrival)
            deadline = time.monotonic() + 10
            while waiting("cc_route") < 1:
                assert time.monotonic() < deadline, "the route never waited"
                time.sleep(0.01)
            hangup = pool.submit(routing_service.RoutingService(engine).hangup,
                                 CallEnd(uniqueid="gone.1", did=INSURANCE_DID, hangup_cause=16))
            while not hangup.done() and waiting("cc_hangup") < 1:
                assert time.monotonic() < deadline, "the hangup neither ended nor waited"
                time.sleep(0.01)
            holder.rollback()
            route.result(timeout=30)
            hangup.result(timeout=30)
    finally:
        holder.close()

    assert scalar(engine, "SELECT count(*) FROM call_logs WHERE uniqueid = 'gone.1'") == 1
    assert scalar(engine, "SELECT ended_at IS NOT NULL FROM call_logs WHERE uniqueid = 'gone.1'")
    assert scalar(engine, "SELECT count(*) FROM reservations WHERE uniqueid = 'gone.1'") == 0
    assert_counters_match_a_recount(engine)

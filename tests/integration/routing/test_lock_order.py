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

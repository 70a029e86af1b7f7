"""The route's advisory locks follow the one global order (clients by id, then campaigns) even
when its first candidate is lost to a race and it fails over to the next one.

Found by bench/soak.py: a route whose first candidate filled up between planning and reserving
held that candidate's client *and campaign* locks while it waited for the next candidate's
client lock; a release or route of that second client in the same campaign takes its client
lock, then the campaign's, and the two deadlocked. PostgreSQL broke the cycle after
deadlock_timeout (1 s) and the engine retried, so calls were late (route p99 of seconds under
tight caps), never wrong.
"""
import threading
import time

from sqlalchemy import text

from app.services.routing import CallArrival, CallEnd
from app.services.routing import planning
from app.services.routing import service as routing_service
from app.services.routing.statements import CAMPAIGN_LOCKS, CLIENT_LOCKS
from tests.support.routing import assert_counters_match_a_recount, execute, scalar

INSURANCE_DID = "+12125550100"  # campaign 3: acme-cc (setting 5, client 1) tier 1, bluesky-cc (6, client 2) tier 2


def test_failing_over_after_a_lost_race_cannot_deadlock_with_the_next_clients_release(
        routing, engine, monkeypatch):
    # A deadlock must not be hidden by the engine's retry: one try only.
    monkeypatch.setattr(routing_service, "DEADLOCK_RETRIES", 1)
    real_plan = planning.plan

    def plan_then_lose_the_race(conn, **kwargs):
        """Plan with setting 5 admissible; then another writer switches it off before the
        route reserves it, as a seller's edit or a call taking its last slot would."""
        plan = real_plan(conn, **kwargs)
        execute(engine, "UPDATE campaign_client_settings SET status = 'inactive' WHERE id = 5")
        return plan

    monkeypatch.setattr(planning, "plan", plan_then_lose_the_race)

    # Another transaction of the engine, in the global order: bluesky-cc's client lock first
    # (as a hangup of a bluesky-cc call of campaign 3 takes it), then the campaign's.
    other = engine.connect()
    other.execute(text("SET lock_timeout = '10s'"))
    other.execute(text("SELECT pg_advisory_xact_lock(:ns, 2)"), {"ns": CLIENT_LOCKS})

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
        deadline = time.monotonic() + 10
        while not scalar(engine, """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
                                    AND NOT granted AND classid = :ns AND objid = 2""",
                         ns=CLIENT_LOCKS):
            assert time.monotonic() < deadline, "the route never waited for bluesky-cc's lock"
            assert thread.is_alive(), outcome
            time.sleep(0.01)
        # The route now waits for bluesky-cc. It must not hold campaign 3's lock meanwhile.
        started = time.monotonic()
        other.execute(text("SELECT pg_advisory_xact_lock(:ns, 3)"), {"ns": CAMPAIGN_LOCKS})
        waited = time.monotonic() - started
    finally:
        other.rollback()
        other.close()
        thread.join(timeout=30)

    assert "error" not in outcome, f"the route deadlocked: {outcome['error']!r}"
    assert waited < 0.5, f"campaign 3's lock was held by the waiting route for {waited:.2f} s"
    decision = outcome["decision"]
    assert decision.action == "dial" and decision.dial == "PJSIP/bluesky-cc"
    assert routing.hangup(CallEnd(uniqueid="lock-order.1", dial_status="NOANSWER", attempt=1,
                                  hangup_cause=16)) == "abandoned"
    assert_counters_match_a_recount(engine)

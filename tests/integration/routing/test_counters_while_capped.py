"""A campaign's and a client's in-flight counter is kept only while a cap reads it, so an
uncapped campaign's or client's row is never written by a call: one call's slow commit
pauses nobody else's. Setting a cap recounts under the row's exclusive lock, and caps stay
exact while they are set and removed under load.

Sample data: campaign 1 "Solar" links acme-cc (s1, client 1, tier 1), bluesky-cc (s2, client
2, tier 1), summit-cc (s3, client 3, tier 2); campaign 2 "Medicare" links summit-cc (s4);
campaign 3 links acme-cc (s5), bluesky-cc (s6).
"""
import itertools
import random
import threading
import time

import pytest
from sqlalchemy import text

from app.services import campaign_service, client_service
from app.services.routing import CallArrival, CallEnd, RoutingService
from tests.support.routing import assert_counters_match_a_recount, execute, scalar, set_setting

SOLAR, MEDICARE, INSURANCE = "+14155550100", "+14155550102", "+12125550100"


def _pid(conn) -> int:
    return conn.execute(text("SELECT pg_backend_pid()")).scalar()


def _open_route(engine, uniqueid: str, did: str):
    """A call routed inside a transaction left open: its reservation and its locks are held
    as long as a slow commit would hold them."""
    conn = engine.connect()
    row = conn.execute(text("SELECT * FROM cc_route(:u, :u, :did, :did, '+13105550199', "
                            "'+13105550199')"), {"u": uniqueid, "did": did}).one()
    return conn, row


def _route_in_thread(routing, uniqueid: str, did: str):
    outcome = {}

    def run():
        try:
            outcome["decision"] = routing.route(CallArrival(uniqueid=uniqueid, did=did,
                                                            caller_id="+13105550177"))
        except Exception as exc:  # noqa: BLE001 - asserted by the caller
            outcome["error"] = exc
    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _route_waits_for(engine, thread, blocker_pid: int) -> bool:
    """Whether the route in `thread` ends up waiting for backend `blocker_pid` (False: it
    finished without ever waiting for it)."""
    while thread.is_alive():
        if scalar(engine, """SELECT count(*) FROM pg_stat_activity
                             WHERE query LIKE '%cc_route%' AND :blocker = ANY(pg_blocking_pids(pid))""",
                  blocker=blocker_pid):
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def solar_on_summit_only(engine):
    """The open call takes Solar's summit-cc link (tier 2); acme-cc's (tier 1) is then switched
    on for the next call, so the two calls share the campaign and no link."""
    set_setting(engine, 1, status="inactive")
    set_setting(engine, 2, status="inactive")
    set_setting(engine, 1, max_concurrency=10, total_calls_allowed=None)


# What the second call shares with the open one, and the cap that makes that row count.
SHARED = {
    "campaign": (SOLAR, "UPDATE campaigns SET max_concurrency = 10 WHERE id = 1"),
    "client": (MEDICARE, "UPDATE clients SET max_concurrency = 10 WHERE id = 3"),
}


@pytest.mark.parametrize("shared", SHARED)
def test_a_call_does_not_wait_for_another_calls_open_transaction_on_an_uncapped_row(
        routing, engine, solar_on_summit_only, shared):
    did, _ = SHARED[shared]
    conn, first = _open_route(engine, "open-1", SOLAR)
    try:
        assert (first.action, first.dial) == ("dial", "PJSIP/summit-cc")
        set_setting(engine, 1, status="active")
        thread, outcome = _route_in_thread(routing, "next-1", did)
        waited = _route_waits_for(engine, thread, _pid(conn))
        thread.join(timeout=30)
        assert not waited, f"the second call waited for the first's open transaction ({shared})"
        assert "error" not in outcome, outcome.get("error")
        assert outcome["decision"].action == "dial"
        # Neither call wrote the row they share: it keeps no counter.
        assert scalar(engine, f"SELECT in_flight FROM {shared}s WHERE id = :id",
                      id=1 if shared == "campaign" else 3) == 0
    finally:
        conn.commit()
        conn.close()
    for uniqueid in ("open-1", "next-1"):
        routing.hangup(CallEnd(uniqueid=uniqueid, dial_status="NOANSWER", attempt=1))
    assert_counters_match_a_recount(engine)


@pytest.mark.parametrize("shared", SHARED)
def test_with_a_cap_the_next_call_waits_for_the_open_transaction_and_counts_it(
        routing, engine, solar_on_summit_only, shared):
    did, cap = SHARED[shared]
    execute(engine, cap)
    conn, first = _open_route(engine, "open-1", SOLAR)
    try:
        assert (first.action, first.dial) == ("dial", "PJSIP/summit-cc")
        set_setting(engine, 1, status="active")
        thread, outcome = _route_in_thread(routing, "next-1", did)
        # The cap needs the calls in order: the second waits for the first's commit.
        assert _route_waits_for(engine, thread, _pid(conn))
    finally:
        conn.commit()
        conn.close()
    thread.join(timeout=30)
    assert outcome["decision"].action == "dial"
    assert scalar(engine, f"SELECT in_flight FROM {shared}s WHERE id = :id",
                  id=1 if shared == "campaign" else 3) == 2
    assert_counters_match_a_recount(engine)


def test_setting_a_cap_waits_for_a_call_in_progress_and_counts_it(routing, engine):
    """The cap is set while a call that found the campaign uncapped is still uncommitted:
    setting it waits for that call, and its recount includes the call's slot."""
    conn, first = _open_route(engine, "open-1", MEDICARE)
    assert first.action == "dial"
    setter = engine.connect()
    done = threading.Event()

    def set_cap():
        setter.execute(text("SELECT 1 FROM campaigns WHERE id = 2 FOR UPDATE"))
        setter.execute(text("UPDATE campaigns SET max_concurrency = 1 WHERE id = 2"))
        setter.commit()
        done.set()
    thread = threading.Thread(target=set_cap)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not scalar(engine, "SELECT count(*) FROM pg_stat_activity WHERE :p = ANY(pg_blocking_pids(pid))",
                         p=_pid(conn)):
            assert not done.is_set(), "the cap was set without waiting for the call in progress"
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        conn.commit()
        conn.close()
        thread.join(timeout=30)
        setter.close()
    assert scalar(engine, "SELECT in_flight FROM campaigns WHERE id = 2") == 1
    assert routing.route(CallArrival(uniqueid="over-1", did=MEDICARE,
                                     caller_id="+13105550166")).reason == "all_capped"
    routing.hangup(CallEnd(uniqueid="open-1", dial_status="NOANSWER", attempt=1))
    routing.hangup(CallEnd(uniqueid="over-1"))
    assert scalar(engine, "SELECT in_flight FROM campaigns WHERE id = 2") == 0
    # Removing the cap stops counting.
    execute(engine, "UPDATE campaigns SET max_concurrency = NULL WHERE id = 2")
    assert routing.route(CallArrival(uniqueid="free-1", did=MEDICARE,
                                     caller_id="+13105550155")).action == "dial"
    assert scalar(engine, "SELECT in_flight FROM campaigns WHERE id = 2") == 0
    routing.hangup(CallEnd(uniqueid="free-1", dial_status="NOANSWER", attempt=1))
    assert_counters_match_a_recount(engine)


# Every reservation checked when it is written, inside the reserving transaction: the slots
# then held on its campaign and its client against the caps in force (as bench/soak does).
OVERSHOOT_CHECK = """
CREATE TABLE test_overshoots (what text, id int, held int, cap int);
CREATE FUNCTION test_check_reservation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_held int;
    v_cap int;
BEGIN
    SELECT count(*) INTO v_held FROM reservations WHERE campaign_id = NEW.campaign_id;
    SELECT max_concurrency INTO v_cap FROM campaigns WHERE id = NEW.campaign_id;
    IF v_held > v_cap THEN
        INSERT INTO test_overshoots VALUES ('campaign', NEW.campaign_id, v_held, v_cap);
    END IF;
    SELECT count(*) INTO v_held FROM reservations WHERE client_id = NEW.client_id;
    SELECT max_concurrency INTO v_cap FROM clients WHERE id = NEW.client_id;
    IF v_held > v_cap THEN
        INSERT INTO test_overshoots VALUES ('client', NEW.client_id, v_held, v_cap);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER test_check_reservation AFTER INSERT ON reservations
    FOR EACH ROW EXECUTE FUNCTION test_check_reservation();
"""


@pytest.fixture
def overshoots(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql(OVERSHOOT_CHECK)
    def recorded():
        with engine.connect() as conn:  # closed at once: the teardown's DROP waits for no one
            return [tuple(row) for row in conn.execute(text("SELECT * FROM test_overshoots")).all()]

    yield recorded
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER test_check_reservation ON reservations; "
                             "DROP FUNCTION test_check_reservation(); DROP TABLE test_overshoots")


def test_caps_stay_exact_while_they_are_set_and_removed_under_load(app, engine, overshoots):
    """Four threads route and hang up calls to Solar and to campaign 3 (acme-cc is in both)
    while another sets and removes Solar's concurrency cap and acme-cc's seats, and Solar's
    daily cap: no call is ever admitted past a cap in force, no counter goes negative (a CHECK
    would fail the step), and afterwards every counter equals its recount."""
    for setting in (1, 2, 3, 5, 6):
        set_setting(engine, setting, max_concurrency=50, total_calls_allowed=None)
    stop = threading.Event()
    errors, admitted = [], []
    numbers = itertools.count(1000)

    def caller(worker: int):
        routing = RoutingService(engine, rng=random.Random(worker))
        while not stop.is_set():
            n = next(numbers)
            uniqueid = f"load-{worker}-{n}"
            try:
                decision = routing.route(CallArrival(uniqueid=uniqueid,
                                                     did=SOLAR if n % 3 else INSURANCE,
                                                     caller_id=f"+1310555{n:04d}"))
                if decision.action == "dial":
                    admitted.append(uniqueid)
                    answered = n % 2 == 0
                    routing.hangup(CallEnd(uniqueid=uniqueid,
                                           dial_status="ANSWER" if answered else "NOANSWER",
                                           attempt=decision.attempt, billsec=30 if answered else 0))
                else:
                    routing.hangup(CallEnd(uniqueid=uniqueid))
            except Exception as exc:  # noqa: BLE001 - asserted below
                errors.append(repr(exc))

    def cap_changes():
        # Through the services, as the API, the pages and the CLI change them.
        changes = itertools.cycle([
            ("campaign", {"max_concurrency": 2}),
            ("client", {"max_concurrency": 1}),
            ("campaign", {"max_concurrency": None, "daily_cap": 1000}),
            ("client", {"max_concurrency": None}),
            ("campaign", {"daily_cap": None}),
        ])
        with app.app_context():
            for what, data in itertools.islice(changes, 10):
                try:
                    if what == "campaign":
                        campaign_service.update_campaign(1, data, seller_id=3)
                    else:
                        client_service.update_client(1, data)
                except Exception as exc:  # noqa: BLE001 - asserted below
                    errors.append(repr(exc))
        stop.set()

    threads = [threading.Thread(target=caller, args=(worker,)) for worker in range(4)]
    threads.append(threading.Thread(target=cap_changes))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)

    assert not errors, f"{len(errors)} errors, first: {errors[0]}"
    assert len(admitted) > 0
    assert overshoots() == []
    assert scalar(engine, "SELECT count(*) FROM reservations") == 0
    assert_counters_match_a_recount(engine)
    assert scalar(engine, "SELECT min(in_flight) FROM clients") == 0
    assert scalar(engine, "SELECT min(in_flight) FROM campaigns") == 0


def test_a_daily_cap_set_during_the_day_counts_the_calls_answered_today(engine):
    """Calls count on the day they end (the campaign's day): the recount when the cap is set
    takes a call answered today that started yesterday, not one that ended yesterday, nor
    today's calls that were not answered."""
    today = scalar(engine, "SELECT cc_period_start('day', timezone, now()) FROM campaigns "
                           "WHERE id = 2")
    execute(engine, """
        INSERT INTO call_logs (uniqueid, seller_id, campaign_id, started_at, ended_at, status,
                               billsec)
        SELECT u, (SELECT seller_id FROM campaigns WHERE id = 2), 2, :t + s, :t + e, status, 60
        FROM (VALUES ('day-across', interval '-2 hours', interval '1 second', 'answered'),
                     ('day-before', interval '-3 hours', interval '-2 hours', 'answered'),
                     ('day-today', interval '0', interval '1 second', 'answered'),
                     ('day-failed', interval '0', interval '1 second', 'all_failed'))
             AS v (u, s, e, status)""", t=today)
    execute(engine, "UPDATE campaigns SET daily_cap = 100 WHERE id = 2")
    assert scalar(engine, "SELECT day_count FROM campaigns WHERE id = 2") == 2
    assert scalar(engine, "SELECT day_start FROM campaigns WHERE id = 2") == today

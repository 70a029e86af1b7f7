"""Whole calls: the shipped extensions.conf, executed by the harness, against the real
FastAGI server and routing engine on PostgreSQL."""
import asyncio
import dataclasses
import socket

import pytest

from app.services.routing import RoutingService
from app.agi.handlers import build_handlers
from app.agi.server import AGIServer
from tests.support.routing import async_routing, routing_agi_server
from tests.agi_support.dialplan import (ANSWER, BUSY, CALLER_HANGS_UP_WHILE_RINGING, NOANSWER,
                                        Channel, load_dialplan)
from tests.support.routing import (assert_counters_match_a_recount, counters, execute, scalar,
                                   set_setting)
from tests.conftest import engine_of

SOLAR = "14155550100"
MEDICARE = "14155550102"


@pytest.fixture
def engine(app):
    return engine_of(app)


@pytest.fixture
def place_calls(engine):
    """place_calls(channel_kwargs, …) -> [CallRecord]: runs the calls concurrently."""
    dialplan = load_dialplan()

    def place(*calls):
        async def main():
            server = routing_agi_server(engine, port=0, max_sessions=256)
            await server.start()
            try:
                channels = [Channel(dialplan, "127.0.0.1", server.port, **kwargs) for kwargs in calls]
                return await asyncio.gather(*(channel.run() for channel in channels))
            finally:
                await server.stop(grace_seconds=5)
        return asyncio.run(main())
    return place


def call_log(engine, uniqueid):
    return scalar(engine, "SELECT row_to_json(c) FROM call_logs c WHERE uniqueid = :u", u=uniqueid)


def test_answered_call_end_to_end(engine, place_calls):
    before = counters(engine)
    [record] = place_calls(dict(exten=SOLAR, callerid="+13105550100",
                                outcomes=[dataclasses.replace(ANSWER, talk_seconds=42)]))
    assert record.agi_scripts == ["route", "answered", "hangup"]
    assert record.dials[0][0] in ("PJSIP/acme-cc", "PJSIP/bluesky-cc") and record.dials[0][1] == "30"
    log = call_log(engine, record.uniqueid)
    assert log["status"] == "answered" and log["billsec"] == 42 and log["hangup_cause"] == 16
    assert log["caller_id"] == "+13105550100" and log["did"] == "+14155550100"
    setting = 1 if record.dials[0][0] == "PJSIP/acme-cc" else 2
    assert counters(engine)[setting] == (0, before[setting][1] + 1)
    # Every session ended the way Asterisk expects: the server closed, HANGUP followed.
    assert all(s.eof_from_server and s.trailing_hangup_sent for s in record.agi_sessions)
    assert_counters_match_a_recount(engine)


def test_no_answer_fails_over_then_the_next_client_answers(engine, place_calls):
    [record] = place_calls(dict(exten=SOLAR, outcomes=[NOANSWER, ANSWER]))
    assert record.agi_scripts == ["route", "attempt_result", "route", "answered", "hangup"]
    assert {record.dials[0][0], record.dials[1][0]} == {"PJSIP/acme-cc", "PJSIP/bluesky-cc"}
    log = call_log(engine, record.uniqueid)
    assert log["status"] == "answered"
    statuses = scalar(engine, "SELECT array_agg(dial_status ORDER BY attempt_no) FROM call_attempts a "
                              "JOIN call_logs c ON c.id = a.call_log_id WHERE c.uniqueid = :u",
                      u=record.uniqueid)
    assert statuses == ["NOANSWER", "ANSWER"]
    assert_counters_match_a_recount(engine)


def test_every_client_busy_ends_all_failed_with_cause_34(engine, place_calls):
    [record] = place_calls(dict(exten=SOLAR, outcomes=[BUSY, BUSY, BUSY]))
    assert [d[0] for d in record.dials][2] == "PJSIP/summit-cc"
    assert record.variables["CC_REASON"] == "all_failed"
    assert record.hangup_cause == "34"
    log = call_log(engine, record.uniqueid)
    assert log["status"] == "all_failed" and log["hangup_cause"] == 34
    assert scalar(engine, "SELECT count(*) FROM reservations") == 0
    assert_counters_match_a_recount(engine)


def test_caller_hanging_up_while_ringing_frees_the_slot(engine, place_calls):
    [record] = place_calls(dict(exten=MEDICARE, outcomes=[CALLER_HANGS_UP_WHILE_RINGING]))
    assert record.agi_scripts == ["route", "hangup"]
    assert call_log(engine, record.uniqueid)["status"] == "abandoned"
    assert counters(engine)[4][0] == 0
    assert_counters_match_a_recount(engine)


def test_unknown_number_is_rejected_with_cause_1(engine, place_calls):
    [record] = place_calls(dict(exten="18005550000"))
    assert record.dials == []
    assert record.variables["CC_ACTION"] == "reject" and record.variables["CC_REASON"] == "no_route"
    assert record.hangup_cause == "1"
    assert call_log(engine, record.uniqueid)["status"] == "no_route"


def test_concurrent_calls_through_the_dialplan_never_exceed_the_cap(engine):
    set_setting(engine, 4, max_concurrency=3, total_calls_allowed=None)
    release = asyncio.Event()
    # Every admitted call keeps ringing until all calls have been routed.
    outcomes = [dataclasses.replace(ANSWER, hold=release)]
    calls = [dict(exten=MEDICARE, outcomes=list(outcomes)) for _ in range(12)]

    async def release_when_routed():
        while scalar(engine, "SELECT count(*) FROM call_logs WHERE status <> 'in_progress' "
                             "OR id IN (SELECT call_log_id FROM call_attempts)") < 5 + 12:
            await asyncio.sleep(0.02)
        release.set()

    dialplan = load_dialplan()

    async def main():
        server = routing_agi_server(engine, port=0)
        await server.start()
        try:
            channels = [Channel(dialplan, "127.0.0.1", server.port, **kw) for kw in calls]
            waiter = asyncio.create_task(release_when_routed())
            records = await asyncio.gather(*(c.run() for c in channels))
            await waiter
            return records
        finally:
            await server.stop(grace_seconds=5)

    records = asyncio.run(main())
    dialled = [r for r in records if r.dials]
    assert len(dialled) == 3
    assert {r.variables.get("CC_REASON") for r in records if not r.dials} == {"all_capped"}
    assert counters(engine)[4][0] == 0
    assert_counters_match_a_recount(engine)


def test_a_dial_held_past_the_expiry_is_answered_with_its_slot_taken_back(engine):
    """The dialplan harness holds the Dial longer than the dialling slot lives; the expiry
    sweep frees the slot meanwhile; the answer takes it back and hangup releases it."""
    set_setting(engine, 4, max_concurrency=1, total_calls_allowed=None)
    release = asyncio.Event()
    dialplan = load_dialplan()

    async def main():
        server = routing_agi_server(engine, port=0)
        await server.start()
        try:
            channel = Channel(dialplan, "127.0.0.1", server.port, exten=MEDICARE,
                              outcomes=[dataclasses.replace(ANSWER, hold=release)])
            call = asyncio.create_task(channel.run())
            while not scalar(engine, "SELECT count(*) FROM reservations"):
                await asyncio.sleep(0.02)
            execute(engine, "UPDATE reservations SET expires_at = now() - interval '1 second'")
            assert RoutingService(engine).expire() == 1
            assert counters(engine)[4][0] == 0
            release.set()
            record = await call
            return record
        finally:
            await server.stop(grace_seconds=5)

    record = asyncio.run(main())
    assert record.agi_scripts == ["route", "answered", "hangup"]
    row = call_log(engine, record.uniqueid)
    assert row["status"] == "answered"
    assert [r["outcome"] for r in row["decision"]] == ["dial", "over_cap"]
    assert counters(engine)[4] == (0, 1)
    assert_counters_match_a_recount(engine)


def test_with_the_router_unreachable_the_call_is_refused_as_a_temporary_failure():
    """AGI() cannot connect (AGISTATUS=FAILURE): no decision, so cause 41, never the 603 of an
    empty Hangup() or the cause of an earlier Dial."""
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    record = asyncio.run(Channel(load_dialplan(), "127.0.0.1", port, exten=MEDICARE).run())
    assert record.dials == [] and record.agi_scripts == []
    assert record.hangup_cause == "41"


def test_a_route_that_cannot_start_within_its_budget_is_refused_as_overload(engine):
    """Admission control: the database is slow (its only connection busy), so the route is
    refused at once with reason overload and cause 41, and the call is logged as such."""
    routing = async_routing(engine, pool_size=1, route_budget=0.2, connection_wait=5.0)
    dialplan = load_dialplan()

    async def main():
        server = AGIServer(build_handlers(routing), port=0, on_stop=routing.close)
        await server.start()
        try:
            async def slow_query():
                async with routing._pool.connection() as conn:  # noqa: SLF001 - the slow database
                    await conn.execute("SELECT pg_sleep(1.0)")
            await routing.open()
            busy = asyncio.create_task(slow_query())
            await asyncio.sleep(0.1)
            started = asyncio.get_running_loop().time()
            record = await Channel(dialplan, "127.0.0.1", server.port, exten=MEDICARE).run()
            await busy
            return record, started
        finally:
            await server.stop(grace_seconds=5)

    record, _ = asyncio.run(main())
    assert record.dials == []
    assert record.variables["CC_REASON"] == "overload"
    assert record.hangup_cause == "41"
    assert call_log(engine, record.uniqueid)["status"] == "overload"
    assert_counters_match_a_recount(engine)

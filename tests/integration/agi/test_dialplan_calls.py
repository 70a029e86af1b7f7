"""Whole calls: the shipped extensions.conf, executed by the harness, against the real
FastAGI server and routing engine on PostgreSQL."""
import asyncio
import contextlib
import dataclasses
import socket

import pytest

from app.agi import runner
from app.agi.handlers import build_handlers
from app.agi.server import AGIServer
from fake_asterisk.dialplan import (ANSWER, BUSY, CALLER_HANGS_UP_WHILE_RINGING, NOANSWER,
                                    Channel, load_dialplan)
from tests.support.routing import (assert_counters_match_a_recount, async_routing, counters,
                                   execute, routing_agi_server, scalar, set_setting)

SOLAR = "14155550100"
MEDICARE = "14155550102"


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


class LiveChannels:
    """What `core show channels concise` lists: the harness's channels still up (a channel
    is up from before its first `route` until its `h` has run)."""

    def __init__(self):
        self.ids: set[str] = set()
        self.answers = True  # False: the listing command fails (Asterisk cannot be asked)

    async def run(self, channel: Channel):
        self.ids.add(channel.record.uniqueid)
        try:
            return await channel.run()
        finally:
            self.ids.discard(channel.record.uniqueid)

    async def __call__(self) -> list[str] | None:
        return sorted(self.ids) if self.answers else None


def age_call(engine, uniqueid: str) -> None:
    """Ten minutes pass for this call: its dialling hold and every grace have run out."""
    execute(engine, "UPDATE reservations SET expires_at = now() - interval '1 second', "
                    "created_at = now() - interval '10 minutes' WHERE uniqueid = :u", u=uniqueid)
    execute(engine, "UPDATE call_logs SET started_at = now() - interval '10 minutes' "
                    "WHERE uniqueid = :u", u=uniqueid)


@contextlib.asynccontextmanager
async def server_and_sweeper(engine):
    """A FastAGI server on the routing engine, and the sweeper's own engine beside it."""
    server = routing_agi_server(engine, port=0)
    sweeper = async_routing(engine)
    await server.start()
    try:
        yield server, sweeper
    finally:
        await sweeper.close()
        await server.stop(grace_seconds=5)


async def wait_for_reservation(engine, uniqueid: str) -> None:
    while not scalar(engine, "SELECT count(*) FROM reservations WHERE uniqueid = :u", u=uniqueid):
        await asyncio.sleep(0.02)


def test_a_dial_held_past_its_hold_keeps_its_slot_while_asterisk_still_has_the_call(engine):
    """Asterisk, far behind, holds the Dial longer than the dialling slot's hold: the sweep
    asks for the live channels, sees the call still there and keeps its slot; the cap stays
    exact (another call is refused), the answer needs no slot taken back, and nothing is
    left once the call ends."""
    set_setting(engine, 4, max_concurrency=1, total_calls_allowed=None)
    delivered = counters(engine)[4][1]
    release = asyncio.Event()
    dialplan = load_dialplan()
    live = LiveChannels()

    async def main():
        async with server_and_sweeper(engine) as (server, sweeper):
            late = Channel(dialplan, "127.0.0.1", server.port, exten=MEDICARE,
                           outcomes=[dataclasses.replace(ANSWER, hold=release)])
            call = asyncio.create_task(live.run(late))
            await wait_for_reservation(engine, late.record.uniqueid)
            age_call(engine, late.record.uniqueid)
            assert await runner.sweep(sweeper, live) == (0, [])
            assert counters(engine)[4][0] == 1
            refused = await live.run(Channel(dialplan, "127.0.0.1", server.port, exten=MEDICARE,
                                             outcomes=[ANSWER]))
            release.set()
            record = await call
            after = await runner.sweep(sweeper, live)
            return record, refused, after

    record, refused, after = asyncio.run(main())
    assert refused.dials == [] and refused.variables["CC_REASON"] == "all_capped"
    assert record.agi_scripts == ["route", "answered", "hangup"]
    row = call_log(engine, record.uniqueid)
    assert row["status"] == "answered"
    assert [r["outcome"] for r in row["decision"]] == ["dial"]  # never over a cap
    assert after == (0, [])
    assert counters(engine)[4] == (0, delivered + 1)
    assert scalar(engine, "SELECT count(*) FROM reservations") == 0
    assert_counters_match_a_recount(engine)


def test_without_the_live_channels_the_backstop_expires_the_slot_and_the_answer_takes_it_back(engine):
    """When Asterisk cannot be asked (no command, or it failed), the clock alone decides: a
    Dial held past the backstop loses its slot, and its answer takes the slot back, past the
    cap if it must, recorded as over_cap."""
    set_setting(engine, 4, max_concurrency=1, total_calls_allowed=None)
    release = asyncio.Event()
    dialplan = load_dialplan()
    live = LiveChannels()
    live.answers = False

    async def main():
        async with server_and_sweeper(engine) as (server, sweeper):
            channel = Channel(dialplan, "127.0.0.1", server.port, exten=MEDICARE,
                              outcomes=[dataclasses.replace(ANSWER, hold=release)])
            call = asyncio.create_task(live.run(channel))
            await wait_for_reservation(engine, channel.record.uniqueid)
            assert await runner.sweep(sweeper, live) == (0, [])  # the hold has not run out
            age_call(engine, channel.record.uniqueid)
            assert await runner.sweep(sweeper, live) == (1, [])
            assert counters(engine)[4][0] == 0
            release.set()
            return await call

    record = asyncio.run(main())
    assert record.agi_scripts == ["route", "answered", "hangup"]
    row = call_log(engine, record.uniqueid)
    assert row["status"] == "answered"
    assert [r["outcome"] for r in row["decision"]] == ["dial", "over_cap"]
    assert counters(engine)[4][0] == 0
    assert_counters_match_a_recount(engine)


def test_the_sweep_ends_a_call_asterisk_no_longer_has_and_frees_its_slot(engine):
    """The caller hung up while it rang and `h` could not reach the router: the call is gone
    from Asterisk's channels, so the sweep ends it and frees its slot; a listing that fails
    says nothing (the slot is kept until the listing works or the backstop runs out)."""
    set_setting(engine, 4, max_concurrency=1, total_calls_allowed=None)
    dialplan = load_dialplan()
    live = LiveChannels()

    async def main():
        async with server_and_sweeper(engine) as (server, sweeper):
            record = await live.run(Channel(dialplan, "127.0.0.1", server.port, exten=MEDICARE,
                                            outcomes=[CALLER_HANGS_UP_WHILE_RINGING],
                                            unreachable={"hangup"}))
            assert counters(engine)[4][0] == 1  # nobody told the router
            age_call(engine, record.uniqueid)
            execute(engine, "UPDATE reservations SET expires_at = now() + interval '1 minute'")
            live.answers = False
            failed = await runner.sweep(sweeper, live)
            held = counters(engine)[4][0]
            live.answers = True
            return record, failed, held, await runner.sweep(sweeper, live)

    record, failed, held, swept = asyncio.run(main())
    assert record.failed_agi == ["hangup"]
    assert failed == (0, []) and held == 1
    assert swept == (0, [record.uniqueid])
    assert counters(engine)[4][0] == 0
    row = call_log(engine, record.uniqueid)
    assert row["status"] == "abandoned" and row["ended_at"] is not None
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


def test_a_route_that_queued_in_a_busy_server_past_its_budget_is_refused_as_overload(engine):
    """The budget counts from the connection's arrival: a route the server only reads after
    its budget ran out (the server busy) is refused at once, before any database work, and
    the call is logged as an overload refusal."""
    routing = async_routing(engine, route_budget=0.2)
    handlers = build_handlers(routing)
    route = handlers["route"]

    async def route_read_late(session):
        session.arrived_at -= 1.0  # the server was busy for a second before reading it
        await route(session)

    handlers["route"] = route_read_late

    async def main():
        server = AGIServer(handlers, port=0, on_stop=routing.close)
        await server.start()
        try:
            return await Channel(load_dialplan(), "127.0.0.1", server.port, exten=MEDICARE).run()
        finally:
            await server.stop(grace_seconds=5)

    record = asyncio.run(main())
    assert record.dials == [] and record.variables["CC_REASON"] == "overload"
    assert record.hangup_cause == "41"
    row = call_log(engine, record.uniqueid)
    assert row["status"] == "overload" and row["decision"] == []
    assert counters(engine)[4][0] == 0
    assert_counters_match_a_recount(engine)

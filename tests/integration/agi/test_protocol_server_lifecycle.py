"""Server lifecycle: graceful stop, the session cap, timeouts, blocking work, signals, logs."""
import asyncio
import logging
import os
import signal
import threading
import time

import pytest

from app.agi import AGIServer, AGISession, Outcome, parse_bind, run_forever, serve
from fake_asterisk.fastagi import FakeAsterisk, make_env
from tests.support.agi_harness import HOST, running_server


def test_graceful_stop_lets_the_session_in_progress_finish():
    started = None

    async def slow_route(session_: AGISession) -> None:
        started.set()
        await asyncio.sleep(0.4)
        await session_.set_variable("CC_ACTION", "dial")

    async def scenario():
        nonlocal started
        started = asyncio.Event()
        async with running_server({"route": slow_route}) as running:
            call = asyncio.create_task(running.call(FakeAsterisk(make_env(uniqueid="u.1"))))
            await started.wait()
            stopping = asyncio.create_task(running.server.stop(grace_seconds=5))
            await asyncio.sleep(0.05)
            with pytest.raises(OSError):  # no longer accepting
                await asyncio.open_connection(HOST, running.port)
            fake = await call
            await stopping
            return fake, running.records

    fake, records = asyncio.run(scenario())
    assert fake.variables == {"CC_ACTION": "dial"} and fake.trailing_hangup_sent
    assert [(r.uniqueid, r.outcome, r.trailing_hangup) for r in records] == [("u.1", Outcome.OK, True)]


def test_stop_cancels_what_outlives_the_grace():
    async def stuck(session_: AGISession) -> None:
        await asyncio.sleep(30)

    async def scenario():
        async with running_server({"route": stuck}) as running:
            call = asyncio.create_task(running.call(FakeAsterisk(make_env(uniqueid="u.2"))))
            await asyncio.sleep(0.1)
            began = time.monotonic()
            await running.server.stop(grace_seconds=0.3)
            took = time.monotonic() - began
            fake = await call
            return fake, took, running.records

    fake, took, records = asyncio.run(scenario())
    assert 0.25 <= took < 2.0
    assert fake.eof_from_server and fake.variables == {}
    assert [(r.uniqueid, r.outcome) for r in records] == [("u.2", Outcome.CANCELLED)]


def test_stop_refuses_connections_still_waiting_for_a_slot():
    async def slow(session_: AGISession) -> None:
        await asyncio.sleep(0.3)
        await session_.noop()

    async def scenario():
        async with running_server({"route": slow}, max_sessions=1, admission_timeout=5) as running:
            first = asyncio.create_task(running.call(FakeAsterisk(make_env(uniqueid="first"))))
            await asyncio.sleep(0.05)
            second = asyncio.create_task(running.call(FakeAsterisk(make_env(uniqueid="second"))))
            await asyncio.sleep(0.05)
            await running.server.stop(grace_seconds=5)
            return await first, await second, running.records

    first, second, records = asyncio.run(scenario())
    assert first.commands == [b"NOOP"] and second.commands == []
    # The header is read before a slot is taken, so even the refused one is named.
    assert sorted((r.uniqueid, r.outcome) for r in records) == [("first", Outcome.OK), ("second", Outcome.REFUSED)]


def test_concurrent_session_cap_holds_and_excess_is_refused():
    active, peak = 0, 0
    gate = None

    async def held(session_: AGISession) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        try:
            await gate.wait()
            await session_.set_variable("CC_ACTION", "dial")
        finally:
            active -= 1

    async def scenario():
        nonlocal gate
        gate = asyncio.Event()
        async with running_server({"route": held}, max_sessions=2, admission_timeout=0.2) as running:
            calls = [asyncio.create_task(running.call(FakeAsterisk(make_env(uniqueid=f"u.{n}"))))
                     for n in range(3)]
            await running.wait_records(1)  # the third waits 0.2 s, then is refused
            assert running.server.active_sessions == 2
            gate.set()
            fakes = await asyncio.gather(*calls)
            await running.wait_records(3)
            return fakes, running.records

    fakes, records = asyncio.run(scenario())
    assert peak == 2
    assert sorted(len(f.variables) for f in fakes) == [0, 1, 1]
    refused = [f for f in fakes if not f.variables][0]
    assert refused.commands == [] and refused.eof_from_server
    assert sorted(r.outcome for r in records) == [Outcome.OK, Outcome.OK, Outcome.REFUSED]


def test_queued_connections_are_served_when_a_slot_frees_in_time():
    active, peak = 0, 0

    async def short(session_: AGISession) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.05)
        await session_.set_variable("CC_ACTION", "dial")
        active -= 1

    async def scenario():
        async with running_server({"route": short}, max_sessions=1, admission_timeout=2.0) as running:
            fakes = await asyncio.gather(*(running.call(FakeAsterisk(make_env(uniqueid=f"q.{n}")))
                                           for n in range(4)))
            await running.wait_records(4)
            return fakes, running.records

    fakes, records = asyncio.run(scenario())
    assert peak == 1
    assert all(f.variables == {"CC_ACTION": "dial"} for f in fakes)
    assert all(r.outcome == Outcome.OK for r in records)


def test_session_timeout_still_answers_the_dialplan():
    async def too_slow(session_: AGISession) -> None:
        await session_.set_variable("CC_ACTION", "dial")
        await asyncio.sleep(5)

    async def scenario():
        async with running_server({"route": too_slow}, session_timeout=0.3) as running:
            fake = await running.call(FakeAsterisk(make_env()))
            return fake, await running.last_record()

    fake, record = asyncio.run(scenario())
    assert fake.variables == {"CC_ACTION": "reject", "CC_REASON": "error", "CC_HANGUP_CAUSE": "41"}
    assert record.outcome == Outcome.TIMEOUT and record.error_reported


def test_blocking_work_runs_on_the_bounded_pool():
    lock = threading.Lock()
    running_now, peak, threads = 0, 0, set()

    def blocking_lookup(number: str) -> str:
        nonlocal running_now, peak
        with lock:
            running_now += 1
            peak = max(peak, running_now)
            threads.add(threading.current_thread().name)
        time.sleep(0.15)
        with lock:
            running_now -= 1
        return f"client-for-{number}"

    async def route(session_: AGISession) -> None:
        assert threading.current_thread() is threading.main_thread()
        client = await session_.run_blocking(blocking_lookup, session_.extension)
        await session_.set_variable("CC_DIAL", f"PJSIP/{client}")

    async def scenario():
        async with running_server({"route": route}, blocking_workers=2) as running:
            assert await running.server.run_blocking(str.upper, "x") == "X"
            fakes = await asyncio.gather(*(running.call(FakeAsterisk(make_env(extension=f"1415555010{n}")))
                                           for n in range(5)))
            return fakes

    fakes = asyncio.run(scenario())
    assert [f.variables["CC_DIAL"] for f in fakes] == [f"PJSIP/client-for-1415555010{n}" for n in range(5)]
    assert peak == 2
    assert threads and all(name.startswith("agi-blocking") for name in threads)


def test_serve_stops_gracefully_on_sigterm():
    servers = []

    async def route(session_: AGISession) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # delivered to serve()'s handler, not to pytest
        await asyncio.sleep(0.2)
        await session_.set_variable("CC_ACTION", "dial")

    async def scenario():
        ready = asyncio.Event()

        def on_ready(server: AGIServer) -> None:
            servers.append(server)
            ready.set()

        serving = asyncio.create_task(serve({"route": route}, bind="127.0.0.1:0", grace_seconds=5, ready=on_ready))
        await ready.wait()
        fake = await FakeAsterisk(make_env()).run(HOST, servers[0].port)
        await asyncio.wait_for(serving, 5)
        return fake

    previous = signal.getsignal(signal.SIGTERM)
    fake = asyncio.run(scenario())
    assert fake.variables == {"CC_ACTION": "dial"}
    assert servers[0].outcomes == {Outcome.OK: 1}
    assert signal.getsignal(signal.SIGTERM) == previous


def test_session_log_lines_name_uniqueid_script_and_outcome(caplog):
    async def route(session_: AGISession) -> None:
        raise RuntimeError("nope")

    async def scenario():
        async with running_server({"route": route}) as running:
            await running.call(FakeAsterisk(make_env(uniqueid="pbx-a-42.7")))
            await running.last_record()

    with caplog.at_level(logging.INFO, logger="app.agi.server"):
        asyncio.run(scenario())
    session_lines = [r for r in caplog.records if "uniqueid=pbx-a-42.7" in r.getMessage()]
    assert len(session_lines) == 2  # the handler failure (with traceback) and the summary
    for line in session_lines:
        assert "script=route" in line.getMessage() and "outcome=error" in line.getMessage()
    assert session_lines[0].exc_info is not None
    summary = session_lines[-1]
    assert (summary.agi_uniqueid, summary.agi_script, summary.agi_outcome) == ("pbx-a-42.7", "route", "error")


def test_handlers_are_explicit_and_validated():
    async def route(session_: AGISession) -> None:
        pass

    with pytest.raises(TypeError):
        AGIServer({"route": "not callable"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        AGIServer({"": route})
    with pytest.raises(ValueError):
        run_forever("127.0.0.1:0", handlers={})
    server = AGIServer({"route": route}, blocking_workers=3)
    assert dict(server.handlers) == {"route": route}
    assert server.executor._max_workers == 3
    server.executor.shutdown()


@pytest.mark.parametrize("bind, expected", [
    ("127.0.0.1:4573", ("127.0.0.1", 4573)),
    ("[::1]:4573", ("::1", 4573)),
    (":4573", ("0.0.0.0", 4573)),
    ("agi.local:0", ("agi.local", 0)),
])
def test_parse_bind(bind, expected):
    assert parse_bind(bind) == expected


@pytest.mark.parametrize("bind", ["4573", "host:", "host:port"])
def test_parse_bind_rejects(bind):
    with pytest.raises(ValueError):
        parse_bind(bind)

"""FastAGI has no authentication of its own and talks to callers' data: who may connect,
sessions stalled on a silent peer, and what reaches the logs."""
import asyncio
import json
import logging

import pytest

from app.agi import Outcome
from app.agi.handlers import build_handlers
from app.logs import EscapingFormatter, JSONFormatter, TEXT_FORMAT
from app.services.routing import RoutingService
from fake_asterisk.dialplan import ANSWER, Channel, load_dialplan
from fake_asterisk.fastagi import FakeAsterisk, make_env
from tests.support.agi_harness import env_block, running_server
from tests.support.routing import assert_counters_match_a_recount, async_routing, set_setting

MEDICARE = "14155550102"  # campaign 2: summit-cc (setting 4)


@pytest.fixture
def engine(engine):
    """The test database, the Medicare link's caps out of the way."""
    set_setting(engine, 4, max_concurrency=1000, total_calls_allowed=None)
    return engine


async def noop_route(session):
    await session.set_variable("CC_ACTION", "reject")


def test_a_peer_outside_the_allow_list_is_refused_before_a_byte_is_read():
    async def scenario():
        async with running_server({"route": noop_route}, allowed_peers=("192.0.2.0/24",)) as running:
            reader, writer = await asyncio.open_connection("127.0.0.1", running.server.port)
            writer.write(env_block(make_env()))
            try:
                received = await asyncio.wait_for(reader.read(), 5)
            except ConnectionResetError:
                received = b""
            writer.close()
            return received, await running.last_record()

    received, record = asyncio.run(scenario())
    assert received == b""  # not one command
    assert record.outcome == Outcome.FORBIDDEN and record.script == "-"


def test_loopback_and_listed_networks_are_served():
    async def scenario():
        async with running_server({"route": noop_route}, allowed_peers=("10.0.0.0/8", "127.0.0.1/32")) as running:
            fake = await running.call(FakeAsterisk(make_env()))
            return fake, await running.last_record()

    fake, record = asyncio.run(scenario())
    assert record.outcome == Outcome.OK and fake.variables["CC_ACTION"] == "reject"


def test_silent_sessions_holding_every_slot_do_not_lock_real_calls_out(engine):
    """Connections that send a whole `route` header and then never answer hold every session
    slot; a real call must still be routed, well before their command timeout."""
    routing = async_routing(engine)
    dialplan = load_dialplan()

    async def scenario():
        async with running_server(build_handlers(routing), max_sessions=4, command_timeout=30.0,
                                  admission_timeout=2.0, on_stop=routing.close) as running:
            port = running.server.port
            silent = []
            for number in range(4):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(env_block(make_env(uniqueid=f"silent-{number}.1", extension=MEDICARE,
                                                args=[f"silent-{number}.1"])))
                silent.append((reader, writer))
            while running.server.active_sessions < 4 or any(
                    c.waiting_since is None for c in running.server._sessions):  # noqa: SLF001
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.6)  # past shed_stalled_after: they are stalled now
            record = await asyncio.wait_for(
                Channel(dialplan, "127.0.0.1", port, exten=MEDICARE, outcomes=[ANSWER]).run(), 10)
            for _, writer in silent:
                writer.close()
            await running.wait_records(7)
            return record, list(running.records)

    record, sessions = asyncio.run(scenario())
    assert record.dials and record.agi_scripts == ["route", "answered", "hangup"]
    assert [s.outcome for s in sessions].count(Outcome.SHED) >= 1
    # The shed calls never reached Asterisk's dialplan; reconcile frees what they reserved.
    RoutingService(engine).reconcile([], grace_seconds=0)
    assert_counters_match_a_recount(engine)


@pytest.mark.parametrize("formatter", [EscapingFormatter(TEXT_FORMAT), JSONFormatter()],
                         ids=["text", "json"])
def test_caller_controlled_text_never_reaches_the_log_raw(engine, formatter):
    forged = "4155559999\r2026-01-01 00:00:00 CRITICAL forged line\x1b[2J\x07"
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(formatter.format(record))

    collector = Collect(level=logging.INFO)
    loggers = [logging.getLogger("app.agi.handlers"), logging.getLogger("app.agi.server")]
    for logger in loggers:
        logger.addHandler(collector)
        logger.setLevel(logging.INFO)
    routing = async_routing(engine)
    try:
        async def scenario():
            async with running_server(build_handlers(routing), on_stop=routing.close) as running:
                env = make_env(uniqueid="forged\x1b]0;x\x07.1", extension=forged, callerid=forged)
                await running.call(FakeAsterisk(env))
                await running.last_record()
        asyncio.run(scenario())
    finally:
        for logger in loggers:
            logger.removeHandler(collector)
    assert lines and any("forged" in line for line in lines)
    for line in lines:
        assert not any(ch in line for ch in "\r\n\x1b\x07"), repr(line)
    if isinstance(formatter, JSONFormatter):
        entries = [json.loads(line) for line in lines]
        assert any(entry.get("uniqueid") == "forged\x1b]0;x\x07.1" and entry["logger"] == "app.agi.handlers"
                   for entry in entries)
    RoutingService(engine).reconcile([], grace_seconds=0)

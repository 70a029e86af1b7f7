"""Our AGIServer + AGISession against the fake, for every captured session.

The handler replays the captured server script through the public session API
(get_variable, set_variable, exec, …; ``command`` for the rest) and must see what the real
Asterisk answered: values, 510/511/520 as exceptions, inline HANGUPs (B1, E1), the slow 520
lines, the trailing HANGUP after our half-close. Lines our encoder refuses to produce
(a trailing CR, an empty line) must raise AGIArgumentError and never reach the channel.
"""
import asyncio
import re

import pytest

from app.agi import (
    AGIArgumentError,
    AGIDeadChannel,
    AGIInvalidCommand,
    AGISession,
    AGIUsageError,
    Outcome,
)
from fake_asterisk.captures import CapturedSession, fake_config, load_sessions, session
from fake_asterisk.fastagi import FakeAsterisk, split_arguments
from tests.support.agi_harness import running_server

LABELS = [captured.label for captured in load_sessions()]
_VALUE = re.compile(rb"200 result=(-?\d+)(?: \((.*)\))?(?: .*)?\n", re.DOTALL)


def expected_outcome(reply: bytes) -> tuple[str, object]:
    """What the session API should yield for a captured reply."""
    reply = reply.replace(b"HANGUP\n", b"")
    if reply.startswith(b"510 "):
        return ("raises", AGIInvalidCommand)
    if reply.startswith(b"511 "):
        return ("raises", AGIDeadChannel)
    if reply.startswith(b"520-"):
        return ("raises", AGIUsageError)
    match = _VALUE.fullmatch(reply)
    assert match, reply
    result, data = int(match[1]), match[2]
    return ("ok", (result, None if data is None else data.decode()))


def captured_steps(captured: CapturedSession) -> list[tuple[bytes, tuple[str, object]]]:
    """(server line, what our API must yield for it) for each captured command."""
    return [(line, ("raises", AGIArgumentError) if _unsendable(line) else expected_outcome(reply))
            for line, reply in captured.exchanges()]


def _unsendable(line: bytes) -> bool:
    """Lines our encoder refuses: a CR inside (NOOP<CR>), or an empty command."""
    return b"\r" in line or line.strip() == b""


async def perform(session: AGISession, line: bytes) -> tuple[str, object]:
    """Send one captured command through the public API; report result or exception."""
    argv = [word.decode("latin-1") for word in split_arguments(line.removesuffix(b"\n"))]
    words = [word.upper() for word in argv]
    try:
        if words[:2] == ["GET", "VARIABLE"] and len(argv) == 3:
            value = await session.get_variable(argv[2])
            return ("ok", (0 if value is None else 1, value))
        if words[:3] == ["GET", "FULL", "VARIABLE"] and len(argv) == 4:
            value = await session.get_full_variable(argv[3])
            return ("ok", (0 if value is None else 1, value))
        if words[:2] == ["SET", "VARIABLE"] and len(argv) == 4:
            await session.set_variable(argv[2], argv[3])
            return ("ok", (1, None))
        if words[:1] == ["VERBOSE"] and len(argv) == 3:
            await session.verbose(argv[1], int(argv[2]))
            return ("ok", (1, None))
        if words[:1] == ["EXEC"] and len(argv) == 3:
            return ("ok", (await session.exec(argv[1], argv[2]), None))
        if words == ["NOOP"] and argv == ["NOOP"]:
            await session.noop()
            return ("ok", (0, None))
        if not argv:
            reply = await session.command("")
        else:
            reply = await session.command(argv[0], *argv[1:])
        return ("ok", (reply.result, reply.data))
    except (AGIArgumentError, AGIInvalidCommand, AGIDeadChannel, AGIUsageError) as exc:
        return ("raises", type(exc))


def run_captured_script(captured: CapturedSession, **fake_overrides):
    observed: list[tuple[str, object]] = []
    hung_up_after: list[bool] = []

    async def replay_script(session_: AGISession) -> None:
        assert session_.uniqueid == captured.env["agi_uniqueid"]
        for line in captured.server_lines:
            observed.append(await perform(session_, line))
            hung_up_after.append(session_.hung_up)

    async def scenario():
        handlers = {"route": replay_script, "attempt_result": replay_script, "hangup": replay_script}
        async with running_server(handlers, command_timeout=2.0) as running:
            fake = FakeAsterisk(captured.env, **{**fake_config(captured), **fake_overrides})
            await running.call(fake)
            record = await running.last_record()
            return fake, record

    fake, record = asyncio.run(scenario())
    return fake, record, observed, hung_up_after


@pytest.mark.parametrize("label", LABELS)
def test_server_handles_captured_session(label):
    captured = session(label)
    fake, record, observed, hung_up_after = run_captured_script(captured)

    expected = [outcome for _, outcome in captured_steps(captured)]
    assert observed == expected

    sent = [line for line in captured.server_lines if not _unsendable(line)]
    assert [split_arguments(c) for c in fake.commands] == [split_arguments(l.removesuffix(b"\n")) for l in sent]
    assert all(b"\r" not in c for c in fake.commands)

    assert record.outcome == Outcome.OK, record
    assert record.uniqueid == captured.env["agi_uniqueid"] and record.script == captured.script
    assert record.trailing_hangup, "the trailing HANGUP after our half-close was not read"
    assert fake.eof_from_server and fake.trailing_hangup_sent
    inline_hangup = label in ("B1", "E1")
    dead_reply = any(outcome == ("raises", AGIDeadChannel) for outcome in expected)
    assert record.hung_up == (inline_hangup or dead_reply)
    if label == "E1":  # HANGUP arrived right before the reply to command 2
        assert hung_up_after == [False, True, True, True, True]


def test_route_env_accessors_on_captured_environments():
    seen = {}

    async def route(session_: AGISession) -> None:
        seen[session_.uniqueid] = (session_.callerid, session_.calleridname, session_.dnid,
                                   session_.extension, session_.context, session_.script, session_.args)

    async def scenario():
        async with running_server({"route": route, "attempt_result": route, "hangup": route}) as running:
            for label in ("A1", "C2", "F1", "F2"):
                await running.call(FakeAsterisk(session(label).env))

    asyncio.run(scenario())
    assert seen["pbx-a-1795512212.1"] == (None, None, None, "14155550100", "cc-inbound", "route", [])
    assert seen["pbx-a-1795512258.9"] == (None, None, None, "14155550100", "cc-inbound", "attempt_result",
                                          ["NOANSWER"])
    # F: a SIP call keeps caller id and dnid; F2 is its h run (same uniqueid, last wins).
    assert seen["pbx-a-1795512472.16"] == ("+14155551234", "Alice Caller", "14155550100", "h",
                                           "cc-inbound", "hangup", [])


def test_slow_usage_reply_stays_paired_with_its_command():
    """A1's script with 520 body lines arriving 400 ms late (well inside command_timeout)."""
    fake, record, observed, _ = run_captured_script(session("A1"), usage_delay=0.4)
    assert observed[7] == ("raises", AGIInvalidCommand)  # FOO BAR
    assert observed[8] == ("raises", AGIUsageError)  # SET VARIABLE ONLYTHREE
    assert observed[9] == ("ok", (0, None))  # NOOP's own reply, not a leftover 520 line
    assert record.outcome == Outcome.OK

"""The server survives whatever arrives and still answers the dialplan when it can.

After every misbehaving peer, the same server must serve a well-formed session correctly.
"""
import asyncio

import pytest

from app.agi import (
    AGIArgumentError,
    AGIConnectionLost,
    AGIDeadChannel,
    AGIInvalidCommand,
    AGIProtocolError,
    AGISession,
    AGITimeout,
    AGIUsageError,
    Outcome,
)
from fake_asterisk.captures import session
from fake_asterisk.fastagi import FakeAsterisk, make_env, split_arguments
from tests.support.agi_harness import HOST, RunningServer, env_block, raw_peer, running_server

REJECT_ERROR = {"CC_ACTION": "reject", "CC_REASON": "error", "CC_HANGUP_CAUSE": "41"}


async def toy_route(session_: AGISession) -> None:
    linkedid = await session_.get_variable("CHANNEL(linkedid)")
    await session_.set_variable("CC_ACTION", "dial")
    await session_.set_variable("CC_DIAL", "PJSIP/acme-cc")
    await session_.set_variable("CC_LINKEDID", linkedid or "")


async def toy_hangup(session_: AGISession) -> None:
    await session_.set_variable("CC_SEEN_STATUS", await session_.get_variable("DIALSTATUS") or "-")


HANDLERS = {"route": toy_route, "hangup": toy_hangup}


async def assert_still_serving(running: RunningServer, uniqueid: str = "pbx-a-1.99") -> None:
    before = len(running.records)
    fake = await running.call(FakeAsterisk(make_env(uniqueid=uniqueid), functions={"CHANNEL(linkedid)": "L-1"}))
    assert fake.variables == {"CC_ACTION": "dial", "CC_DIAL": "PJSIP/acme-cc", "CC_LINKEDID": "L-1"}
    assert fake.trailing_hangup_sent
    records = await running.wait_records(before + 1)
    assert records[-1].outcome == Outcome.OK and records[-1].uniqueid == uniqueid
    assert records[-1].trailing_hangup


def run(coro_factory, *, extra_handlers=None, **server_options):
    async def scenario():
        async with running_server({**HANDLERS, **(extra_handlers or {})}, **server_options) as running:
            result = await coro_factory(running)
            await assert_still_serving(running)
            return result, running.records
    return asyncio.run(scenario())


# ---------------------------------------------------------------- the header block


@pytest.mark.parametrize("payload, error", [
    (b"\x00\xff\xfe garbage\r\n\n", "not an AGI environment line"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not an AGI environment line"),
    (b"agi_network: " + b"x" * 9000 + b"\n\n", "longer than 8192 bytes"),
    (b"".join(b"agi_x%d: y\n" % n for n in range(200)), "longer than 128 lines"),
])
def test_bad_header_is_refused_and_the_server_keeps_serving(payload, error):
    async def bad_peer(running):
        answer = await raw_peer(running.port, payload)
        record = (await running.wait_records(1))[0]
        return answer, record

    (answer, record), _ = run(bad_peer)
    assert answer == b""  # nothing sent back, just closed
    assert record.outcome == Outcome.BAD_HEADER and error in record.error


def test_header_that_never_ends_times_out():
    async def stalling_peer(running):
        reader, writer = await asyncio.open_connection(HOST, running.port)
        writer.write(b"agi_network: yes\nagi_network_script: route\n")
        started = asyncio.get_running_loop().time()
        closed_by_server = await asyncio.wait_for(reader.read(), 3.0)
        elapsed = asyncio.get_running_loop().time() - started
        writer.close()
        return closed_by_server, elapsed, (await running.wait_records(1))[0]

    (data, elapsed, record), _ = run(stalling_peer, header_timeout=0.3)
    assert data == b"" and 0.25 <= elapsed < 2.0
    assert record.outcome == Outcome.BAD_HEADER and "not complete" in record.error


def test_peer_that_connects_and_leaves_is_just_a_dropped_session():
    async def ghost(running):
        await raw_peer(running.port, b"", close_after_send=True)
        return (await running.wait_records(1))[0]

    record, _ = run(ghost)
    assert record.outcome == Outcome.DROPPED


# ---------------------------------------------------------------- replies mid-session


async def evil_peer(port: int, reply: bytes | None, *, hold: float = 0.0) -> list[bytes]:
    """A peer that sends a proper env block, then answers the first command with ``reply``
    (None: never answers). Returns the command lines it received before the server closed."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(env_block(make_env(uniqueid="pbx-a-evil.1")))
    await writer.drain()
    lines = [await reader.readline()]
    if reply is not None:
        writer.write(reply)
        await writer.drain()
    try:
        async with asyncio.timeout(5):
            while line := await reader.readline():
                lines.append(line)
    except ConnectionResetError:
        pass
    writer.close()
    return lines


@pytest.mark.parametrize("reply, outcome, error", [
    (b"200 result=1 (" + b"x" * 9000 + b")\n", Outcome.PROTOCOL_ERROR, "longer than 8192 bytes"),
    (b"hello there\n", Outcome.PROTOCOL_ERROR, "not an AGI reply line"),
    (b"200 resolt=1\n", Outcome.PROTOCOL_ERROR, "without result=N"),
    (b"\n", Outcome.PROTOCOL_ERROR, "not an AGI reply line"),
    (None, Outcome.TIMEOUT, "no complete reply"),
])
def test_unusable_reply_never_gets_another_command(reply, outcome, error):
    """After a reply we could not read, any further line could answer the wrong command:
    the server sends nothing more (not even the error variables) and closes."""
    async def scenario(running):
        lines = await evil_peer(running.port, reply)
        return lines, (await running.wait_records(1))[0]

    (lines, record), _ = run(scenario, command_timeout=0.3)
    assert lines == [b"GET VARIABLE CHANNEL(linkedid)\n"]
    assert record.outcome == outcome and error in record.error
    assert not record.error_reported


def test_usage_reply_slower_than_the_command_timeout():
    seen = []

    async def usage_then_more(session_: AGISession) -> None:
        try:
            await session_.command("SET VARIABLE", "ONLYTHREE")
        except AGITimeout:
            seen.append("timeout")
            with pytest.raises(AGIProtocolError):  # the late 520 lines must not pair with this
                await session_.noop()
            raise

    async def scenario(running):
        fake = await running.call(FakeAsterisk(make_env("slow520"), usage_delay=0.6))
        return fake, (await running.wait_records(1))[0]

    (fake, record), _ = run(scenario, extra_handlers={"slow520": usage_then_more}, command_timeout=0.3)
    assert seen == ["timeout"]
    assert fake.commands == [b"SET VARIABLE ONLYTHREE"]
    assert record.outcome == Outcome.TIMEOUT and not record.error_reported


# ---------------------------------------------------------------- drops at every step


@pytest.mark.parametrize("abort_at, abort_command, outcome", [
    ("mid_env", 1, Outcome.DROPPED),
    ("after_env", 1, Outcome.DROPPED),
    ("on_command", 1, Outcome.DROPPED),
    ("on_command", 3, Outcome.DROPPED),
    ("mid_reply", 1, Outcome.DROPPED),
    ("mid_reply", 2, Outcome.DROPPED),
    ("before_trailing_hangup", 1, Outcome.OK),
])
def test_connection_dropped_at_each_step(abort_at, abort_command, outcome):
    async def scenario(running):
        fake = FakeAsterisk(make_env(uniqueid="pbx-a-drop.1"), abort_at=abort_at, abort_command=abort_command)
        await running.call(fake)
        return fake, (await running.wait_records(1))[0]

    (fake, record), _ = run(scenario)
    assert fake.aborted
    assert record.outcome == outcome, record
    assert not record.error_reported
    if outcome == Outcome.OK:
        assert not record.trailing_hangup


def test_connection_dropped_in_the_middle_of_a_usage_reply():
    captured = session("A1")
    lost = []

    async def script(session_: AGISession) -> None:
        for line in captured.server_lines:
            words = [w.decode() for w in split_arguments(line.removesuffix(b"\n"))]
            try:
                await session_.command(words[0], *words[1:])
            except (AGIInvalidCommand, AGIUsageError):
                pass
            except AGIConnectionLost as exc:
                lost.append(exc)
                raise

    async def scenario():
        async with running_server({"probe": script, **HANDLERS}) as running:
            # Command 9 is SET VARIABLE ONLYTHREE: only "520-Invalid…" arrives, then RST.
            env = {**captured.env, "agi_network_script": "probe"}
            fake = FakeAsterisk(env, abort_at="mid_reply", abort_command=9)
            await running.call(fake)
            record = await running.last_record()
            await assert_still_serving(running)
            return fake, record

    fake, record = asyncio.run(scenario())
    assert fake.commands[-1] == b"SET VARIABLE ONLYTHREE" and len(fake.commands) == 9
    assert fake.asterisk_bytes.endswith(b"510 Invalid or unknown command\n"
                                        b"520-Invalid command syntax.  Proper usage follows:\n")
    assert len(lost) == 1
    assert record.outcome == Outcome.DROPPED and not record.error_reported


# ---------------------------------------------------------------- handler failures


def failing_after(step: str):
    async def handler(session_: AGISession) -> None:
        await session_.set_variable("CC_ACTION", "dial")
        if step == "runtime":
            raise RuntimeError("database exploded")
        if step == "unknown_command":
            await session_.command("FOO BAR")
        if step == "dead":
            await session_.command("STREAM FILE", "beep", "")
    return handler


@pytest.mark.parametrize("step", ["runtime", "unknown_command"])
def test_handler_error_rejects_the_call(step):
    async def scenario():
        async with running_server({"route": failing_after(step)}) as running:
            fake = await running.call(FakeAsterisk(make_env()))
            return fake, await running.last_record()

    fake, record = asyncio.run(scenario())
    assert fake.variables == REJECT_ERROR
    # One command sets all three, CC_ACTION last (Asterisk's ARRAY function).
    assert fake.commands[-1] == b'SET VARIABLE ARRAY(CC_REASON,CC_HANGUP_CAUSE,CC_ACTION) "error,41,reject"'
    assert record.outcome == Outcome.ERROR and record.error_reported and record.trailing_hangup
    assert fake.trailing_hangup_sent


def test_handler_error_after_caller_hangup_still_sets_the_variables():
    """SET VARIABLE is allowed on a dead channel: the reject still lands (h can read it)."""
    async def scenario():
        async with running_server({"route": failing_after("dead")}) as running:
            fake = await running.call(FakeAsterisk(make_env(), caller_hangup_before=2))
            return fake, await running.last_record()

    fake, record = asyncio.run(scenario())
    assert fake.variables == REJECT_ERROR
    assert record.outcome == Outcome.ERROR and record.error_reported and record.hung_up
    assert "AGIDeadChannel" in record.error
    assert fake.agistatus == "HANGUP" and fake.hangups_sent == 2


def test_handler_error_inside_h_is_reported_too():
    async def broken_hangup(session_: AGISession) -> None:
        await session_.get_variable("DIALSTATUS")
        raise ValueError("cannot write call log")

    async def scenario():
        async with running_server({"hangup": broken_hangup}) as running:
            fake = await running.call(FakeAsterisk(session("A2").env, variables={"DIALSTATUS": "ANSWER"}))
            return fake, await running.last_record()

    fake, record = asyncio.run(scenario())
    assert fake.variables == {"DIALSTATUS": "ANSWER", **REJECT_ERROR}
    assert record.outcome == Outcome.ERROR and record.error_reported


def test_one_bad_session_never_affects_another():
    gate = None

    async def slow_good(session_: AGISession) -> None:
        await gate.wait()
        await toy_route(session_)

    async def crashing(session_: AGISession) -> None:
        raise KeyError("boom")

    async def scenario():
        nonlocal gate
        gate = asyncio.Event()
        async with running_server({"route": slow_good, "crash": crashing}) as running:
            good = asyncio.create_task(running.call(FakeAsterisk(make_env(uniqueid="good.1"))))
            await asyncio.sleep(0.05)
            bad = await running.call(FakeAsterisk(make_env("crash", uniqueid="bad.1")))
            garbage = await raw_peer(running.port, b"\xff\xfe\n\n")
            gate.set()
            good_fake = await good
            await running.wait_records(3)
            return good_fake, bad, garbage, {r.uniqueid: r.outcome for r in running.records}

    good, bad, garbage, outcomes = asyncio.run(scenario())
    assert good.variables["CC_ACTION"] == "dial"
    assert bad.variables == REJECT_ERROR
    assert garbage == b""
    assert outcomes == {"good.1": Outcome.OK, "bad.1": Outcome.ERROR, "-": Outcome.BAD_HEADER}


# ---------------------------------------------------------------- dead channels, hangups


def test_dead_channel_in_h_answers_511_but_variables_work():
    seen = {}

    async def hangup(session_: AGISession) -> None:
        seen["before"] = session_.hung_up
        with pytest.raises(AGIDeadChannel) as excinfo:
            await session_.command("ANSWER")
        seen["reply"] = excinfo.value.reply.lines
        seen["after"] = session_.hung_up
        seen["exec"] = await session_.exec("Verbose", "in h")
        await session_.set_variable("CC_DONE", "yes")
        seen["status"] = await session_.get_variable("DIALSTATUS")

    async def scenario():
        async with running_server({"hangup": hangup}) as running:
            fake = await running.call(FakeAsterisk(make_env("hangup", extension="h"),
                                                   variables={"DIALSTATUS": "CANCEL"}))
            return fake, await running.last_record()

    fake, record = asyncio.run(scenario())
    assert seen == {"before": False, "reply": ("511 Command Not Permitted on a dead channel or intercept routine",),
                    "after": True, "exec": 0, "status": "CANCEL"}
    assert fake.variables["CC_DONE"] == "yes" and fake.inline_hangups_sent == 0
    assert record.outcome == Outcome.OK and record.trailing_hangup


def test_hangup_while_the_server_is_silent_is_seen_with_the_next_reply():
    seen = []

    async def slow_route(session_: AGISession) -> None:
        await asyncio.sleep(0.3)  # the caller hangs up 0.1 s into this
        seen.append(session_.hung_up)  # nothing read yet
        seen.append(await session_.get_variable("CHANNEL(linkedid)"))
        seen.append(session_.hung_up)
        await session_.set_variable("CC_ACTION", "dial")

    async def scenario():
        async with running_server({"route": slow_route}) as running:
            fake = FakeAsterisk(make_env(uniqueid="u.1"), caller_hangup_before=1, hangup_delay=0.1)
            await running.call(fake)
            return fake, await running.last_record()

    fake, record = asyncio.run(scenario())
    assert seen == [False, "u.1", True]
    assert fake.variables == {"CC_ACTION": "dial"} and fake.agistatus == "HANGUP"
    assert fake.asterisk_bytes.count(b"HANGUP\n") == 2  # inline + trailing, both consumed
    assert record.outcome == Outcome.OK and record.hung_up and record.trailing_hangup


def test_hangup_long_before_the_reply_within_one_command_timeout():
    async def route(session_: AGISession) -> None:
        assert await session_.exec("Wait", "5") == -1
        assert await session_.get_variable("CHANNEL(linkedid)") == "L"
        assert session_.hung_up

    async def scenario():
        async with running_server({"route": route}, command_timeout=2.0) as running:
            fake = FakeAsterisk(make_env(), functions={"CHANNEL(linkedid)": "L"}, apps={"Wait": -1},
                                caller_hangup_before=2, hangup_timing="before_reply",
                                reply_delay_after_hangup=0.5)
            await running.call(fake)
            return await running.last_record()

    record = asyncio.run(scenario())
    assert record.outcome == Outcome.OK and record.hung_up


# ---------------------------------------------------------------- values on the wire


def test_cr_lf_nul_never_reach_the_channel():
    refused = []

    async def route(session_: AGISession) -> None:
        for attempt in (
            lambda: session_.set_variable("CC_ACTION", 'dial"\nEXEC Hangup'),
            lambda: session_.set_variable("CC_ACTION\r", "dial"),
            lambda: session_.get_variable("CC_ACTION\r"),
            lambda: session_.verbose("two\nlines"),
            lambda: session_.exec("Set", "X=\0"),
            lambda: session_.command("NOOP\r"),
            lambda: session_.command(""),
        ):
            with pytest.raises(AGIArgumentError):
                await attempt()
            refused.append(True)
        await session_.noop()

    async def scenario():
        async with running_server({"route": route}) as running:
            fake = await running.call(FakeAsterisk(make_env()))
            return fake, await running.last_record()

    fake, record = asyncio.run(scenario())
    assert len(refused) == 7
    assert fake.commands == [b"NOOP"] and fake.variables == {}
    assert record.outcome == Outcome.OK


@pytest.mark.parametrize("value", ['a "b" \\c', "tab\there", "  spaced  ", "", "é ☎ 你好", "(x) y)",
                                   '\\"', "\\", '"', "${UNIQUEID}"])
def test_values_survive_the_round_trip(value):
    async def route(session_: AGISession) -> None:
        await session_.set_variable("V", value)
        assert await session_.get_variable("V") == value

    async def scenario():
        async with running_server({"route": route}) as running:
            fake = await running.call(FakeAsterisk(make_env()))
            return fake, await running.last_record()

    fake, record = asyncio.run(scenario())
    assert fake.variables == {"V": value}
    assert record.outcome == Outcome.OK, record.error


def test_long_values_are_truncated_by_asterisk_not_by_us():
    seen = []

    async def route(session_: AGISession) -> None:
        await session_.set_variable("LONG", "x" * 3000)
        seen.append(await session_.get_variable("LONG"))
        seen.append(await session_.get_full_variable("${LONG}"))

    async def scenario():
        async with running_server({"route": route}) as running:
            fake = await running.call(FakeAsterisk(make_env()))
            return fake, await running.last_record()

    fake, record = asyncio.run(scenario())
    assert len(fake.variables["LONG"]) == 3000
    assert seen == ["x" * 1023, "x" * 3000]
    assert record.outcome == Outcome.OK


def test_unknown_script_is_closed_cleanly():
    async def scenario():
        async with running_server(HANDLERS) as running:
            fake = await running.call(FakeAsterisk(make_env("nope?x=1", uniqueid="u.404")))
            record = await running.last_record()
            await assert_still_serving(running)
            return fake, record

    fake, record = asyncio.run(scenario())
    assert fake.commands == [] and fake.eof_from_server and fake.trailing_hangup_sent
    assert record.outcome == Outcome.UNKNOWN_SCRIPT and record.script == "nope"
    assert record.uniqueid == "u.404" and record.trailing_hangup


def test_query_and_arguments_reach_the_handler():
    seen = {}

    async def route(session_: AGISession) -> None:
        seen.update(script=session_.script, query=dict(session_.query), args=session_.args)

    async def scenario():
        async with running_server({"route": route}) as running:
            await running.call(FakeAsterisk(make_env("route?x=1&y=two%20words&z="), args=["NOANSWER", "a b", ""]))

    asyncio.run(scenario())
    assert seen == {"script": "route", "query": {"x": "1", "y": "two words", "z": ""},
                    "args": ["NOANSWER", "a b", ""]}

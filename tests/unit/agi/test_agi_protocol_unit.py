"""app.agi.protocol without sockets: env block, encoding, reply parsing, the connection."""
import asyncio

import pytest

from app.agi.protocol import (
    AGIArgumentError,
    AGICommandError,
    AGIConnection,
    AGIConnectionLost,
    AGIDeadChannel,
    AGIEnvironment,
    AGIInvalidCommand,
    AGIProtocolError,
    AGIReply,
    AGITimeout,
    AGIUsageError,
    encode_command,
    format_argument,
    parse_environment_line,
    parse_result,
    quote_argument,
    AGIStream,
    read_environment,
)
from fake_asterisk.captures import load_sessions
from tests.support.agi_harness import env_block
from tests.support.agi_streams import feed, memory_stream


def reader_with(data: bytes, *, eof: bool = True) -> AGIStream:
    """A stream holding `data` (call inside a running loop: reads wait on it)."""
    return memory_stream(data, eof=eof)[0]


# ---------------------------------------------------------------- environment


@pytest.mark.parametrize("captured", load_sessions(), ids=lambda s: s.label)
def test_reads_every_captured_environment(captured):
    raw = captured.asterisk_bytes
    block = raw[: raw.index(b"\n\n") + 2]

    async def read():
        return await read_environment(reader_with(block + b"GARBAGE AFTER"))

    env = asyncio.run(read())
    assert list(env.values.items()) == list(captured.env.items())
    assert env.script == captured.script
    assert env["agi_accountcode"] == ""


def test_script_query_and_args():
    env = AGIEnvironment({"agi_network_script": "route?x=1&y=a%20b&x=2&flag",
                          "agi_arg_1": "NOANSWER", "agi_arg_2": "", "agi_arg_4": "gap"})
    assert env.script == "route"
    assert dict(env.query) == {"x": "2", "y": "a b", "flag": ""}
    assert env.args == ["NOANSWER", ""]  # stops at the first missing index
    assert AGIEnvironment({}).script == "" and AGIEnvironment({}).args == []


@pytest.mark.parametrize("line, expected", [
    ("agi_network: yes", ("agi_network", "yes")),
    ("agi_accountcode: ", ("agi_accountcode", "")),
    ("agi_calleridname: Alice: Caller", ("agi_calleridname", "Alice: Caller")),
    ("agi_x:y", ("agi_x", "y")),
    ("agi_channel: PJSIP/carrier-00000006\r", ("agi_channel", "PJSIP/carrier-00000006\r")),
])
def test_parse_environment_line(line, expected):
    assert parse_environment_line(line) == expected


@pytest.mark.parametrize("line", ["hello", "agi_: x", "agi network: yes", "AGI_network yes", ": x", "200 result=1"])
def test_parse_environment_line_rejects(line):
    with pytest.raises(AGIProtocolError):
        parse_environment_line(line)


def test_environment_errors():
    async def scenario():
        with pytest.raises(AGIConnectionLost):
            await read_environment(reader_with(b"agi_network: yes\n"))
        with pytest.raises(AGIConnectionLost):
            await read_environment(reader_with(b"agi_network: y"))
        with pytest.raises(AGITimeout):
            await read_environment(reader_with(b"agi_network: yes\n", eof=False), timeout=0.05)
        with pytest.raises(AGIProtocolError, match="longer than 3 lines"):
            await read_environment(reader_with(b"agi_a: 1\n" * 5 + b"\n"), max_lines=3)
        with pytest.raises(AGIProtocolError, match="longer than 8192"):
            await read_environment(reader_with(b"agi_a: " + b"x" * 9000 + b"\n\n"))
        with pytest.raises(AGIProtocolError, match="longer than 100"):
            await read_environment(reader_with(b"agi_a: " + b"x" * 200 + b"\n\n"), max_line_bytes=100)
        env = await read_environment(reader_with(b"\n"))
        assert dict(env.values) == {}

    asyncio.run(scenario())


def test_a_flooding_peer_is_paused_until_its_bytes_are_read():
    async def scenario():
        stream, transport = memory_stream(max_buffer=100)
        feed(stream, b"200 result=1\n" * 10)  # 140 bytes waiting: no more is read
        paused = not transport.reading
        replies = [await stream.read_line() for _ in range(4)]  # 56 read, 84 left
        return paused, transport.reading, replies

    paused, reading_again, replies = asyncio.run(scenario())
    assert paused and reading_again and replies == ["200 result=1"] * 4


def test_a_wait_past_its_deadline_fails_and_the_next_wait_has_its_own():
    async def scenario():
        stream, _ = memory_stream()
        with pytest.raises(AGITimeout, match="slow peer"):
            with stream.deadline(0.05, "slow peer"):
                await stream.read_line()
        feed(stream, b"late\n")
        with stream.deadline(1.0, "never"):
            return await stream.read_line()

    assert asyncio.run(scenario()) == "late"


def test_an_inner_deadline_gives_the_outer_one_back():
    async def scenario():
        stream, _ = memory_stream()
        with stream.deadline(0.15, "outer"):
            with pytest.raises(AGITimeout, match="inner"):
                with stream.deadline(0.05, "inner"):
                    await stream.read_line()
            with pytest.raises(AGITimeout, match="outer"):
                await stream.read_line()

    asyncio.run(scenario())


def test_environment_block_split_over_slow_writes():
    async def scenario():
        reader, _ = memory_stream()
        block = env_block({"agi_network": "yes", "agi_network_script": "route"})

        async def trickle():
            for byte in block:
                feed(reader, bytes([byte]))
                await asyncio.sleep(0.001)

        feeding = asyncio.create_task(trickle())
        env = await read_environment(reader, timeout=5)
        await feeding
        return env

    assert asyncio.run(scenario()).script == "route"


# ---------------------------------------------------------------- encoding


@pytest.mark.parametrize("value, quoted", [
    ("dial", '"dial"'),
    ("", '""'),
    ('routing "quoted" value', '"routing \\"quoted\\" value"'),
    ("a\\b\"c", '"a\\\\b\\"c"'),
    ("tab\tand space", '"tab\tand space"'),
])
def test_quote_argument(value, quoted):
    assert quote_argument(value) == quoted


@pytest.mark.parametrize("value, formatted", [
    ("CC_ACTION", "CC_ACTION"),
    ("CHANNEL(linkedid)", "CHANNEL(linkedid)"),
    ("${UNIQUEID}-${CHANNEL}", "${UNIQUEID}-${CHANNEL}"),
    ("CDR(start,u)", "CDR(start,u)"),
    (10, "10"),
    ("", '""'),
    ("two words", '"two words"'),
    ('a"b', '"a\\"b"'),
])
def test_format_argument(value, formatted):
    assert format_argument(value) == formatted


def test_encode_command_matches_the_captured_lines():
    assert encode_command("GET VARIABLE", format_argument("CHANNEL(linkedid)")) == b"GET VARIABLE CHANNEL(linkedid)\n"
    assert (encode_command("SET VARIABLE", "CC_ACTION", quote_argument("dial"))
            == b'SET VARIABLE CC_ACTION "dial"\n')
    assert (encode_command("VERBOSE", quote_argument('routing "quoted" value'), "1")
            == b'VERBOSE "routing \\"quoted\\" value" 1\n')
    assert encode_command("EXEC", "NoSuchAppXYZ", quote_argument("")) == b'EXEC NoSuchAppXYZ ""\n'
    assert encode_command("NOOP") == b"NOOP\n"


@pytest.mark.parametrize("call", [
    lambda: quote_argument("a\nb"),
    lambda: quote_argument("a\rb"),
    lambda: quote_argument("a\0b"),
    lambda: format_argument("X\r"),
    lambda: encode_command("NOOP\r"),
    lambda: encode_command(""),
    lambda: encode_command(" NOOP"),
    lambda: encode_command("SET VARIABLE", "X", '"' + "x" * 8200 + '"'),
])
def test_encoding_refuses_what_could_break_the_line(call):
    with pytest.raises(AGIArgumentError):
        call()
    assert issubclass(AGIArgumentError, ValueError)


# ---------------------------------------------------------------- replies


def read_replies(data: bytes, count: int = 1) -> tuple[list[AGIReply], AGIConnection]:
    async def scenario():
        connection = AGIConnection(reader_with(data))
        return [await connection.read_reply(1.0) for _ in range(count)], connection

    return asyncio.run(scenario())


@pytest.mark.parametrize("line, result, data, extra", [
    (b"200 result=1\n", 1, None, ""),
    (b"200 result=0\n", 0, None, ""),
    (b"200 result=1 ()\n", 1, "", ""),
    (b"200 result=1 (pbx-a-1795512212.0)\n", 1, "pbx-a-1795512212.0", ""),
    (b"200 result=1 (a\\b\"c)\n", 1, 'a\\b"c', ""),
    (b"200 result=1 (x) y (z)\n", 1, "x) y (z", ""),
    (b"200 result=-1 endpos=0\n", -1, None, "endpos=0"),
    (b"200 result=-2\n", -2, None, ""),
    (b"200 result=1 (speech) endpos=1234 results=foo bar\n", 1, "speech", "endpos=1234 results=foo bar"),
    (b"200 result=1 (2026-11-24 09:23:35)\n", 1, "2026-11-24 09:23:35", ""),
    (b"200 result=1 (\xc3\xa9)\n", 1, "é", ""),
])
def test_success_replies(line, result, data, extra):
    [reply], _ = read_replies(line)
    assert (reply.code, reply.result, reply.data, reply.extra) == (200, result, data, extra)
    assert reply.lines == (line[:-1].decode(),) and reply.is_success


def test_error_replies_and_multiline_usage():
    data = (b"510 Invalid or unknown command\n"
            b"511 Command Not Permitted on a dead channel or intercept routine\n"
            b"520-Invalid command syntax.  Proper usage follows:\n"
            b"Sets a variable to the current channel.\n"
            b"520 End of proper usage.\n"
            b"520 Invalid command syntax.  Proper usage not available.\n")
    replies, _ = read_replies(data, 4)
    assert [r.code for r in replies] == [510, 511, 520, 520]
    assert replies[2].lines == ("520-Invalid command syntax.  Proper usage follows:",
                                "Sets a variable to the current channel.", "520 End of proper usage.")
    assert len(replies[3].lines) == 1


def test_hangup_lines_are_skipped_and_counted_anywhere():
    data = (b"HANGUP\n200 result=-1\nHANGUP\n200 result=1 (x)\n"
            b"520-Invalid command syntax.  Proper usage follows:\nHANGUP\nusage\n520 End of proper usage.\n")
    replies, connection = read_replies(data, 3)
    assert [(r.code, r.result, r.data) for r in replies] == [(200, -1, None), (200, 1, "x"), (520, None, None)]
    assert replies[2].lines[1] == "usage"
    assert connection.hangup_count == 3


@pytest.mark.parametrize("data, error", [
    (b"hello\n", AGIProtocolError),
    (b"\n", AGIProtocolError),
    (b"200\n", AGIProtocolError),
    (b"200 result=abc\n", AGIProtocolError),
    (b"2000 result=1\n", AGIProtocolError),
    (b"HANGUP\n", AGIConnectionLost),
    (b"200 result=1", AGIConnectionLost),
    (b"520-Invalid command syntax.  Proper usage follows:\nonly\n", AGIConnectionLost),
    (b"520-x\n" + b"more\n" * 200, AGIProtocolError),
    (b"200 result=1 (" + b"x" * 9000 + b")\n", AGIProtocolError),
])
def test_malformed_replies(data, error):
    with pytest.raises(error):
        read_replies(data)


def test_usage_lines_arriving_40ms_apart_are_one_reply():
    async def scenario():
        reader, _ = memory_stream()
        connection = AGIConnection(reader)

        async def asterisk():
            feed(reader, b"520-Invalid command syntax.  Proper usage follows:\n")
            for line in (b"Sets a variable to the current channel.\n", b"520 End of proper usage.\n",
                         b"200 result=0\n"):
                await asyncio.sleep(0.04)
                feed(reader, line)

        feeding = asyncio.create_task(asterisk())
        first = await connection.read_reply(1.0)
        second = await connection.read_reply(1.0)
        await feeding
        return first, second

    first, second = asyncio.run(scenario())
    assert first.code == 520 and len(first.lines) == 3
    assert (second.code, second.result) == (200, 0)


def test_reply_timeout_is_one_deadline_for_the_whole_reply():
    async def scenario():
        reader, _ = memory_stream()
        connection = AGIConnection(reader)
        feed(reader, b"520-Invalid command syntax.  Proper usage follows:\n")
        with pytest.raises(AGITimeout):
            await connection.read_reply(0.1)

    asyncio.run(scenario())


# ---------------------------------------------------------------- executing commands


def test_execute_maps_codes_and_keeps_the_stream_paired():
    async def scenario():
        reader = reader_with(b"510 Invalid or unknown command\n"
                             b"511 Command Not Permitted on a dead channel or intercept routine\n"
                             b"520-Invalid command syntax.  Proper usage follows:\nx\n520 End of proper usage.\n"
                             b"404 nope\n"
                             b"200 result=1 (ok)\n")
        connection = AGIConnection(reader)
        raised = []
        for command, error in [(b"FOO BAR\n", AGIInvalidCommand), (b"ANSWER\n", AGIDeadChannel),
                               (b"SET VARIABLE X\n", AGIUsageError), (b"ODD\n", AGICommandError)]:
            with pytest.raises(error) as excinfo:
                await connection.execute(command)
            raised.append((excinfo.value.command, excinfo.value.code))
        reply = await connection.execute(b"GET VARIABLE X\n")
        return raised, reply, reader.transport.sent, connection

    raised, reply, sent, connection = asyncio.run(scenario())
    assert raised == [("FOO BAR", 510), ("ANSWER", 511), ("SET VARIABLE X", 520), ("ODD", 404)]
    assert reply.data == "ok" and connection.usable and connection.dead_seen
    assert sent == b"FOO BAR\nANSWER\nSET VARIABLE X\nODD\nGET VARIABLE X\n"


def test_usage_error_exposes_the_usage_text():
    async def scenario():
        connection = AGIConnection(reader_with(b"520-Invalid command syntax.  Proper usage follows:\n"
                                               b"Sets a variable to the current channel.\n"
                                               b"520 End of proper usage.\n"))
        with pytest.raises(AGIUsageError) as excinfo:
            await connection.execute(b"SET VARIABLE X\n")
        return excinfo.value

    assert asyncio.run(scenario()).usage == "Sets a variable to the current channel."


def test_after_a_timeout_or_garbage_the_connection_refuses_commands():
    async def scenario():
        reader, writer = memory_stream()
        connection = AGIConnection(reader, command_timeout=0.05)
        with pytest.raises(AGITimeout):
            await connection.execute(b"NOOP\n")
        feed(reader, b"200 result=0\n")  # the late reply must not be taken for the next one
        with pytest.raises(AGIProtocolError, match="unusable"):
            await connection.execute(b"GET VARIABLE X\n")
        return writer.sent, connection

    sent, connection = asyncio.run(scenario())
    assert sent == b"NOOP\n" and not connection.usable


def test_cancellation_mid_command_also_breaks_the_pairing():
    async def scenario():
        connection = AGIConnection(memory_stream()[0])
        task = asyncio.create_task(connection.execute(b"NOOP\n"))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return connection.usable

    assert asyncio.run(scenario()) is False


def test_concurrent_commands_are_serialized():
    async def scenario():
        reader, writer = memory_stream()
        connection = AGIConnection(reader)

        async def asterisk():
            for value in (b"a", b"b", b"c"):
                while writer.sent.count(b"\n") < {b"a": 1, b"b": 2, b"c": 3}[value]:
                    await asyncio.sleep(0.001)
                assert writer.sent.count(b"\n") == {b"a": 1, b"b": 2, b"c": 3}[value]
                feed(reader, b"200 result=1 (" + value + b")\n")

        answering = asyncio.create_task(asterisk())
        replies = await asyncio.gather(*(connection.execute(b"GET VARIABLE %d\n" % n) for n in range(3)))
        await answering
        return [r.data for r in replies]

    assert asyncio.run(scenario()) == ["a", "b", "c"]


def test_parse_result_edge_cases():
    assert parse_result("result=1 (") == (1, None, "(")
    assert parse_result("result=1 ())") == (1, ")", "")
    with pytest.raises(AGIProtocolError):
        parse_result("result=")

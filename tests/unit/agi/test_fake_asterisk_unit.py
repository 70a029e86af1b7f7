"""The fake Asterisk's own rules (parse_args, find_command, dead mode, values), checked
directly and over TCP, beyond what the golden replay exercises."""
import asyncio

import pytest

from fake_asterisk.fastagi import (
    REPLY_DEAD,
    REPLY_INVALID,
    USAGE_HEAD,
    FakeAsterisk,
    find_command,
    make_env,
    split_arguments,
)
from tests.support.agi_harness import HOST


@pytest.mark.parametrize("line, argv", [
    (b'SET VARIABLE CC_ACTION "dial"', [b"SET", b"VARIABLE", b"CC_ACTION", b"dial"]),
    (b"SET VARIABLE SPACED two words", [b"SET", b"VARIABLE", b"SPACED", b"two", b"words"]),
    (b'SET VARIABLE EMPTYQ ""', [b"SET", b"VARIABLE", b"EMPTYQ", b""]),
    (b'SET VARIABLE ESC "a\\\\b\\"c"', [b"SET", b"VARIABLE", b"ESC", b'a\\b"c']),
    (b'VERBOSE "routing \\"quoted\\" value" 1', [b"VERBOSE", b'routing "quoted" value', b"1"]),
    (b"NOOP\r", [b"NOOP\r"]),
    (b"", []),
    (b"   \t ", []),
    (b'a"b c"d', [b"ab cd"]),
    (b'"a"b', [b"ab"]),
    (b"a\\ b", [b"a b"]),
    (b"\\x\\", [b"x"]),
    (b'\\"x\\"', [b'"x"']),
    (b"a\t\tb", [b"a", b"b"]),
    (b'"unterminated quote', [b"unterminated quote"]),
])
def test_split_arguments_like_parse_args(line, argv):
    assert split_arguments(line) == argv


def test_split_arguments_truncates_at_128():
    argv = split_arguments(b" ".join(b"a%d" % n for n in range(200)))
    assert len(argv) == 127 and argv[-1] == b"a126"


@pytest.mark.parametrize("argv, words", [
    ([b"noop"], (b"noop",)),
    ([b"NoOp", b"extra"], (b"noop",)),
    ([b"GET", b"FULL", b"VARIABLE", b"x"], (b"get", b"full", b"variable")),
    ([b"SET", b"VARIABLE"], (b"set", b"variable")),
    ([b"GET"], None),
    ([b"NOOP\r"], None),
    ([], None),
    ([b"FOO", b"BAR"], None),
])
def test_find_command(argv, words):
    command = find_command(argv)
    assert (command.words if command else None) == words


def handle(fake: FakeAsterisk, line: bytes) -> bytes:
    return b"".join(fake._handle(line))


def test_dead_channel_rules():
    fake = FakeAsterisk(make_env("hangup", extension="h"), variables={"DIALSTATUS": "ANSWER"})
    assert fake.dead
    assert handle(fake, b"ANSWER") == REPLY_DEAD
    assert handle(fake, b"ANSWER with wrong args") == REPLY_DEAD  # permission before arguments
    assert handle(fake, b"STREAM FILE beep \"\"") == REPLY_DEAD
    assert handle(fake, b"FOO BAR") == REPLY_INVALID  # unknown beats dead
    assert handle(fake, b"GET VARIABLE DIALSTATUS") == b"200 result=1 (ANSWER)\n"
    assert handle(fake, b"SET VARIABLE A b") == b"200 result=1\n"
    assert handle(fake, b"EXEC Verbose x") == b"200 result=0\n"
    assert handle(fake, b"VERBOSE hi 3") == b"200 result=1\n"
    assert handle(fake, b"NOOP") == b"200 result=0\n"
    assert handle(fake, b"DATABASE PUT fam key val") == b"200 result=1\n"
    assert handle(fake, b"DATABASE GET fam key") == b"200 result=1 (val)\n"
    assert handle(fake, b"DATABASE DEL fam key") == b"200 result=1\n"
    assert handle(fake, b"DATABASE DEL fam key") == b"200 result=0\n"
    assert handle(fake, b"DATABASE DELTREE fam") == b"200 result=0\n"
    assert fake.unmodelled == []


def test_usage_replies_and_argument_counts():
    fake = FakeAsterisk(make_env())
    assert handle(fake, b"GET VARIABLE").startswith(USAGE_HEAD)
    assert handle(fake, b"GET VARIABLE A B").startswith(USAGE_HEAD)
    assert handle(fake, b"GET FULL VARIABLE").startswith(USAGE_HEAD)
    assert handle(fake, b"EXEC").startswith(USAGE_HEAD)
    assert handle(fake, b"VERBOSE").startswith(USAGE_HEAD)
    assert handle(fake, b"SET VARIABLE A").endswith(b"520 End of proper usage.\n")
    assert handle(fake, b"NOOP with args") == b"200 result=0\n"


def test_values_builtins_functions_and_truncation():
    fake = FakeAsterisk(make_env(uniqueid="u.1", callerid="+1415", calleridname="Bob"),
                        variables={"LONG": "y" * 2000, "UNIQUEID": "shadowed", "NAME": "CC_X"},
                        functions={"CDR(answer)": "", "CDR(start,u)": "1.5", "BROKEN()": None},
                        hangup_cause="16")
    assert handle(fake, b"GET VARIABLE UNIQUEID") == b"200 result=1 (u.1)\n"  # builtins win
    assert handle(fake, b"GET VARIABLE HANGUPCAUSE") == b"200 result=1 (16)\n"
    assert handle(fake, b"GET VARIABLE EXTEN") == b"200 result=1 (14155550100)\n"
    assert handle(fake, b"GET VARIABLE CDR(answer)") == b"200 result=1 ()\n"
    assert handle(fake, b"GET VARIABLE CDR(start,u)") == b"200 result=1 (1.5)\n"
    assert handle(fake, b"GET VARIABLE BROKEN()") == b"200 result=0\n"
    assert handle(fake, b"GET VARIABLE NOSUCHFUNC(x)") == b"200 result=0\n"
    assert handle(fake, b"GET VARIABLE CALLERID(num)") == b"200 result=1 (+1415)\n"
    assert handle(fake, b"GET VARIABLE LONG") == b"200 result=1 (" + b"y" * 1023 + b")\n"
    assert handle(fake, b"GET FULL VARIABLE ${LONG}") == b"200 result=1 (" + b"y" * 2000 + b")\n"
    assert handle(fake, b"GET FULL VARIABLE ${${NAME}}|${UNSET}|${CALLERID(name)}") == b"200 result=1 (||Bob)\n"
    assert handle(fake, b"GET FULL VARIABLE a${UNIQUEID") == b"200 result=1 (a${UNIQUEID)\n"
    assert handle(fake, b"GET FULL VARIABLE x other-channel") == b"200 result=0\n"
    assert handle(fake, b"SET VARIABLE __INHERITED yes") == b"200 result=1\n"
    assert handle(fake, b"GET VARIABLE INHERITED") == b"200 result=1 (yes)\n"
    assert handle(fake, b"SET VARIABLE CDR(userfield) hello") == b"200 result=1\n"
    assert handle(fake, b"GET VARIABLE CDR(userfield)") == b"200 result=1 (hello)\n"
    assert handle(fake, b"EXEC Set CC_X=1") == b"200 result=0\n"
    assert fake.variables["CC_X"] == "1"


async def converse(fake: FakeAsterisk, commands: bytes) -> tuple[bytes, FakeAsterisk]:
    """Play a minimal server: read the env, send ``commands`` then half-close, read all."""
    received = asyncio.get_running_loop().create_future()

    async def server(reader, writer):
        await reader.readuntil(b"\n\n")  # the environment
        writer.write(commands)
        writer.write_eof()
        received.set_result(await reader.read())
        writer.close()

    listener = await asyncio.start_server(server, HOST, 0)
    async with listener:
        await fake.run(HOST, listener.sockets[0].getsockname()[1])
        return await received, fake


def test_hangup_command_then_inline_hangup_then_dead():
    data, fake = asyncio.run(converse(FakeAsterisk(make_env()), b"HANGUP\nANSWER\nNOOP\n"))
    assert data == b"200 result=1\nHANGUP\n" + REPLY_DEAD + b"200 result=0\nHANGUP\n"
    assert fake.agistatus == "HANGUP" and fake.hangups_sent == 2


def test_agisighup_no_suppresses_hangup_lines():
    fake = FakeAsterisk(make_env(), variables={"AGISIGHUP": "no"}, caller_hangup_before=1)
    data, fake = asyncio.run(converse(fake, b"ANSWER\n"))
    assert data == REPLY_DEAD and not fake.trailing_hangup_sent and fake.dead


def test_failure_line_ends_the_session():
    data, fake = asyncio.run(converse(FakeAsterisk(make_env()), b"NOOP\nFAILURE: cannot run\nNOOP\n"))
    assert data == b"200 result=0\nHANGUP\n" and fake.agistatus == "FAILURE"


def test_last_line_without_lf_is_still_executed():
    data, fake = asyncio.run(converse(FakeAsterisk(make_env()), b"NOOP\nSET VARIABLE X y"))
    assert data == b"200 result=0\n200 result=1\nHANGUP\n" and fake.variables == {"X": "y"}


def test_overlong_line_is_cut_like_fgets():
    line = b"SET VARIABLE X " + b"z" * 9000 + b"\n"
    data, fake = asyncio.run(converse(FakeAsterisk(make_env()), line))
    assert len(fake.commands) == 2 and len(fake.commands[0]) == 8192
    assert data.startswith(b"200 result=1\n" + REPLY_INVALID)


def test_strict_fake_refuses_to_invent_media_commands():
    with pytest.raises(AssertionError, match="does not model"):
        asyncio.run(converse(FakeAsterisk(make_env()), b"SAY DIGITS 123 \"\"\n"))


def test_stream_file_on_live_channel():
    fake = FakeAsterisk(make_env(), sound_files={"beep": 8000})
    data, fake = asyncio.run(converse(fake, b"STREAM FILE beep \"\"\nSTREAM FILE nope \"\"\nSTREAM FILE\n"))
    assert data.startswith(b"200 result=0 endpos=8000\n200 result=-1 endpos=0\n" + USAGE_HEAD)
    assert fake.agistatus == "FAILURE"


def test_env_block_order_and_args():
    fake = FakeAsterisk(make_env("attempt_result"), args=["NOANSWER", "x y"])
    asyncio.run(converse(fake, b""))
    keys = [line.split(b":")[0] for line in fake.asterisk_bytes.split(b"\n\n")[0].split(b"\n")]
    assert keys[-3:] == [b"agi_threadid", b"agi_arg_1", b"agi_arg_2"]
    assert b"agi_arg_2: x y\n" in fake.asterisk_bytes

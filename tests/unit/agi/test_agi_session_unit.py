"""AGISession's environment accessors and command encoding, over an in-memory stream."""
import asyncio

import pytest

from app.agi.protocol import AGIConnection, AGIEnvironment
from app.agi.session import AGISession
from fake_asterisk.captures import session as captured
from tests.support.agi_streams import RecordingTransport, memory_stream


def make_session(env: dict, replies: bytes = b"") -> tuple[AGISession, RecordingTransport]:
    """A session whose Asterisk has already sent `replies`; what it writes lands in the
    transport's `sent`."""
    stream, transport = memory_stream(replies)
    return AGISession(AGIConnection(stream), AGIEnvironment(env)), transport


def offline_session(env: dict) -> AGISession:
    """A session for accessor checks: built in a loop, read outside it."""
    async def build():
        return make_session(env)[0]
    return asyncio.run(build())


def test_accessors_on_a_local_channel():
    s = offline_session(captured("A1").env)
    assert s.uniqueid == "pbx-a-1795512212.1"
    assert s.channel == "Local/14155550100@cc-inbound-00000000;2"
    assert (s.callerid, s.calleridname, s.dnid, s.rdnis) == (None, None, None, None)  # all "unknown"
    assert (s.extension, s.context, s.priority) == ("14155550100", "cc-inbound", "2")
    assert (s.script, dict(s.query), s.args) == ("route", {}, [])
    assert s.request == "agi://127.0.0.1:4573/route"
    assert s.hung_up is False


def test_accessors_on_a_sip_call_and_in_h():
    s = offline_session(captured("F1").env)
    assert (s.callerid, s.calleridname, s.dnid) == ("+14155551234", "Alice Caller", "14155550100")
    h = offline_session(captured("F2").env)
    assert (h.extension, h.priority, h.script) == ("h", "1", "hangup")


def test_anonymous_caller_is_kept():
    s = offline_session({"agi_callerid": "anonymous", "agi_calleridname": "Anonymous"})
    assert (s.callerid, s.calleridname) == ("anonymous", "Anonymous")


def test_commands_are_encoded_like_the_captures():
    replies = (b"200 result=1 (pbx-a-1795512212.0)\n200 result=1 ()\n200 result=1\n200 result=1\n"
               b"200 result=1\n200 result=0\n200 result=-2\n200 result=0\n200 result=0\n")

    async def scenario():
        s, writer = make_session(captured("A1").env, replies)
        values = [
            await s.get_variable("CHANNEL(linkedid)"),
            await s.get_full_variable("${CALLERID(num)}"),
        ]
        await s.set_variable("CC_ACTION", "dial")
        await s.set_variable("CC_TIMEOUT", 10)
        await s.verbose('routing "quoted" value', 1)
        values.append(await s.get_variable("EMPTYVAR_NEVER_SET"))
        values.append(await s.exec("NoSuchAppXYZ"))
        values.append(await s.exec("Dial", ["PJSIP/acme-cc", "10", "g"]))
        await s.noop()
        return values, writer.sent

    values, sent = asyncio.run(scenario())
    assert values == ["pbx-a-1795512212.0", "", None, -2, 0]
    assert sent.decode().splitlines() == [
        "GET VARIABLE CHANNEL(linkedid)",
        "GET FULL VARIABLE ${CALLERID(num)}",
        'SET VARIABLE CC_ACTION "dial"',
        'SET VARIABLE CC_TIMEOUT "10"',
        'VERBOSE "routing \\"quoted\\" value" 1',
        "GET VARIABLE EMPTYVAR_NEVER_SET",
        'EXEC NoSuchAppXYZ ""',
        'EXEC Dial "PJSIP/acme-cc,10,g"',
        "NOOP",
    ]


def test_hung_up_follows_inline_hangup_lines():
    async def scenario():
        s, _ = make_session({}, b"HANGUP\n200 result=1 (x)\n")
        before = s.hung_up
        value = await s.get_variable("X")
        return before, value, s.hung_up

    assert asyncio.run(scenario()) == (False, "x", True)


def test_run_blocking_without_a_server_uses_the_default_pool():
    async def scenario():
        s, _ = make_session({})
        return await s.run_blocking(sorted, [3, 1, 2], reverse=True)

    assert asyncio.run(scenario()) == [3, 2, 1]


@pytest.mark.parametrize("method, args", [
    ("get_variable", ("X\n",)),
    ("set_variable", ("X", "a\rb")),
    ("verbose", ("a\0b",)),
    ("exec", ("App", ["a", "b\nc"])),
])
def test_nothing_is_sent_for_unsafe_values(method, args):
    async def scenario():
        s, writer = make_session({})
        with pytest.raises(ValueError):
            await getattr(s, method)(*args)
        return writer.sent

    assert asyncio.run(scenario()) == b""

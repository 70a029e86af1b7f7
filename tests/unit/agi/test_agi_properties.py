"""Property tests: our encoder against Asterisk's splitter, our parsers against any bytes."""
import asyncio

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.agi.protocol import (
    AGIArgumentError,
    AGIConnection,
    AGIError,
    AGIReply,
    encode_command,
    format_argument,
    parse_environment_line,
    parse_result,
    parse_status_line,
    quote_argument,
    read_environment,
)
from fake_asterisk.fastagi import split_arguments
from tests.support.agi_streams import memory_stream

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Anything a handler might want to send: every character but the three that cannot be on
# one AGI line (CR, LF, NUL), and no lone surrogates (not encodable).
sendable_text = st.text(st.characters(blacklist_characters="\r\n\0", blacklist_categories=("Cs",)), max_size=200)
unsendable_text = st.builds(lambda a, bad, b: a + bad + b, sendable_text, st.sampled_from(["\r", "\n", "\0"]),
                            sendable_text)


@PROPERTY_SETTINGS
@given(value=sendable_text)
@example(value='a\\b"c')
@example(value="")
@example(value="\\")
@example(value='" "')
@example(value="tab\there")
def test_quoted_value_survives_asterisk_splitting(value):
    line = encode_command("SET VARIABLE", "CC_X", quote_argument(value))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert split_arguments(line[:-1]) == [b"SET", b"VARIABLE", b"CC_X", value.encode()]


@PROPERTY_SETTINGS
@given(values=st.lists(st.one_of(sendable_text, st.integers()), min_size=1, max_size=20))
def test_formatted_arguments_survive_asterisk_splitting(values):
    line = encode_command("EXEC", *(format_argument(v) for v in values))
    assert split_arguments(line[:-1]) == [b"EXEC", *(str(v).encode() for v in values)]


@PROPERTY_SETTINGS
@given(value=unsendable_text)
def test_cr_lf_nul_are_always_refused(value):
    for encode in (quote_argument, format_argument, lambda v: encode_command("NOOP", v)):
        try:
            encode(value)
        except AGIArgumentError:
            continue
        raise AssertionError(f"{value!r} was encoded")


@PROPERTY_SETTINGS
@given(value=st.binary(max_size=300).filter(lambda b: b"\n" not in b))
def test_get_variable_reply_gives_back_the_exact_value(value):
    """However the value looks (parentheses, spaces), Asterisk's ``(%s)`` parses back to it."""
    async def parse():
        stream, _ = memory_stream(b"200 result=1 (" + value + b")\n", eof=True)
        return await AGIConnection(stream).read_reply(1.0)

    reply = asyncio.run(parse())
    assert reply.result == 1 and reply.data == value.decode("utf-8", errors="replace") and reply.extra == ""


def _only_agi_errors(call):
    try:
        return call()
    except AGIError:
        return None


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=2000))
@example(data=b"HANGUP\n" * 3)
@example(data=b"520-x\n" + b"y\n" * 300)
@example(data=b"200 result=99999999999999999999999 (x)\n")
@example(data=b"\xff\xfe\x00\n")
def test_reply_reader_raises_only_agi_errors_on_any_bytes(data):
    async def read_all():
        stream, _ = memory_stream(data, eof=True)
        connection = AGIConnection(stream, max_line_bytes=512)
        replies = []
        while True:
            try:
                replies.append(await connection.read_reply(1.0))
            except AGIError:
                return replies

    for reply in asyncio.run(read_all()):
        assert isinstance(reply, AGIReply) and 0 <= reply.code <= 999
        assert (reply.result is not None) == (reply.code == 200)


@PROPERTY_SETTINGS
@given(text=st.text(max_size=300))
def test_line_parsers_raise_only_agi_errors(text):
    _only_agi_errors(lambda: parse_status_line(text))
    _only_agi_errors(lambda: parse_result(text))
    _only_agi_errors(lambda: parse_environment_line(text))


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=2000))
@example(data=b"agi_network: yes\n\n")
@example(data=b"agi_a: 1\n" * 200)
def test_environment_reader_raises_only_agi_errors(data):
    async def read():
        stream, _ = memory_stream(data, eof=True)
        return await read_environment(stream, timeout=1.0, max_line_bytes=256)

    env = _only_agi_errors(lambda: asyncio.run(read()))
    if env is not None:
        assert all(key.startswith("agi_") for key in env.values)

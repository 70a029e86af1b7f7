"""The fake Asterisk must answer the captured server lines with the captured bytes.

For each of the 17 real Asterisk 22.10.1 sessions, a scripted server plays the captured
``S>`` bytes (CR quirks, empty line, half-close included) at the fake, which is configured
with the captured environment and the channel values the capture observed. Every ``A>``
chunk must come back byte-identical and in step; timing is not compared, except that the
fake must space the 520 lines like Asterisk does.
"""
import asyncio

import pytest

from fake_asterisk.captures import fake_config, load_sessions, session
from fake_asterisk.fastagi import USAGE_HEAD, FakeAsterisk
from tests.support.agi_harness import replay_capture

LABELS = [captured.label for captured in load_sessions()]


def replay(label: str, **overrides) -> tuple[FakeAsterisk, list[tuple[bytes, bytes]]]:
    captured = session(label)
    fake = FakeAsterisk(captured.env, **{**fake_config(captured), **overrides})
    steps = asyncio.run(replay_capture(captured, fake))
    return fake, steps


def test_all_seventeen_sessions_are_covered():
    assert len(LABELS) == 17
    assert sorted(LABELS) == sorted(set(LABELS))


@pytest.mark.parametrize("label", LABELS)
def test_fake_answers_byte_identical(label):
    captured = session(label)
    fake, steps = replay(label)

    assert [received for _, received in steps] == [expected for expected, _ in steps]
    assert len(steps) == sum(1 for _, d, _ in captured.events if d == "A>") + 1  # + EOF
    assert fake.asterisk_bytes == captured.asterisk_bytes
    assert fake.server_bytes == b"".join(captured.server_lines)
    assert fake.eof_from_server and fake.trailing_hangup_sent
    assert fake.unmodelled == []


@pytest.mark.parametrize("label", [label for label in LABELS if label.endswith("1") and label != "H1"])
def test_agistatus_matches_what_the_next_session_read(label):
    """AGISTATUS as the next AGI on the channel saw it, where a capture read it."""
    fake, _ = replay(label)
    follower = session(label[0] + "2")
    observed = fake_config(follower)["variables"].get("AGISTATUS")
    expected = {"B1": "HANGUP", "E1": "HANGUP", "G1": "SUCCESS"}.get(label, "SUCCESS")
    assert fake.agistatus == expected
    if observed is not None:  # B2, E2 and G2 read it
        assert fake.agistatus == observed


def test_missing_sound_file_on_live_channel_fails_the_agi():
    # C2: STREAM FILE of a missing file on a live channel; Asterisk logged the AGI as FAILURE.
    fake, _ = replay("C2")
    assert fake.agistatus == "FAILURE"


def test_probes_leave_the_channel_variables_asterisk_would_have():
    fake, _ = replay("G1")
    variables = fake.variables
    assert variables["CC_ACTION"] == "dial"
    assert variables["CC_DIAL"] == "PJSIP/acme-cc"
    assert variables["CC_TIMEOUT"] == "10"
    assert variables["EMPTYQ"] == ""
    assert variables["ESC"] == 'a\\b"c'
    assert "SPACED" not in variables and "ONLYTHREE" not in variables  # 520: nothing set
    assert fake.exec_calls == [("NoSuchAppXYZ", "")]
    assert fake.verbose_messages == [('routing "quoted" value', 1)]


def test_dead_channel_still_sets_variables_after_inline_hangup():
    fake, _ = replay("E1")
    assert fake.variables["CC_ACTION"] == "dial"
    assert fake.inline_hangups_sent == 1 and fake.hangups_sent == 2


def test_usage_reply_lines_are_spaced_like_asterisk():
    fake, _ = replay("A1", usage_delay=0.05)
    times = [ms for ms, direction, data in fake.transcript if direction == "A>"]
    chunks = [data for ms, direction, data in fake.transcript if direction == "A>"]
    head = chunks.index(USAGE_HEAD)
    assert chunks[head + 1] == b"Sets a variable to the current channel.\n"
    assert chunks[head + 2] == b"520 End of proper usage.\n"
    assert times[head + 1] - times[head] >= 45  # ms; each line is a separate write


def test_inline_hangup_precedes_the_reply_by_the_configured_delay():
    fake, _ = replay("E1", reply_delay_after_hangup=0.06)
    events = [(ms, data) for ms, direction, data in fake.transcript if direction == "A>"]
    hangup_index = next(i for i, (_, data) in enumerate(events) if data == b"HANGUP\n")
    assert events[hangup_index + 1][1] == b"200 result=1 (pbx-a-1795512521.24)\n"
    assert events[hangup_index + 1][0] - events[hangup_index][0] >= 55

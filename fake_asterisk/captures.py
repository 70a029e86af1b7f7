"""The 17 FastAGI sessions captured from a real Asterisk 22.10.1, as test data.

``data/fastagi-sessions.json`` is a verbatim copy of
``/work/shared/asterisk-captures/fastagi-sessions.json`` (bytes as latin-1 text), kept in
the repository so the tests do not depend on the shared folder.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fake_asterisk.fastagi import split_arguments

CAPTURES_PATH = Path(__file__).parent / "data" / "fastagi-sessions.json"

HALF_CLOSE_NOTE = "<server shut down its write side>"
EOF_NOTE = "<EOF from Asterisk>"

# Scenario facts the bytes alone do not give the fake: who hung up when, and what a
# long-running application returned.
SCENARIO_SETUP: dict[str, dict[str, Any]] = {
    # B1: the caller hung up ~1 s in, while the server stayed silent before command 1.
    "B1": {"caller_hangup_before": 1, "hangup_timing": "idle"},
    # E1: EXEC Wait "5" was cut short by the hangup (-1); HANGUP then preceded the reply
    # to command 2 by ~40 ms.
    "E1": {"caller_hangup_before": 2, "hangup_timing": "before_reply", "apps": {"Wait": -1}},
}

_BUILTINS = {b"CHANNEL", b"UNIQUEID", b"EXTEN", b"CONTEXT", b"PRIORITY"}
_REPLY_VALUE = re.compile(rb"200 result=1 \((.*)\)\n", re.DOTALL)


@dataclass(frozen=True)
class CapturedSession:
    label: str  # "A1", "B2", …
    title: str
    script: str
    env: dict[str, str]
    events: tuple[tuple[float, str, bytes | str], ...]  # bytes for A>/S>, text for -- notes

    @property
    def asterisk_bytes(self) -> bytes:
        return b"".join(data for _, direction, data in self.events if direction == "A>")

    @property
    def server_lines(self) -> list[bytes]:
        return [data for _, direction, data in self.events if direction == "S>"]

    @property
    def in_h(self) -> bool:
        return self.env.get("agi_extension") == "h"

    def exchanges(self) -> list[tuple[bytes, bytes]]:
        """Each line the server sent, with the bytes Asterisk answered it with (up to the
        server's next line; inline HANGUPs dropped)."""
        return [(data, _reply_after(self.events, index))
                for index, (_, direction, data) in enumerate(self.events) if direction == "S>"]


@cache
def load_sessions() -> tuple[CapturedSession, ...]:
    document = json.loads(CAPTURES_PATH.read_text(encoding="utf-8"))
    sessions = []
    for raw in document["sessions"]:
        events = tuple(
            (ms, direction, text if direction == "--" else text.encode("latin-1"))
            for ms, direction, text in raw["events"]
        )
        sessions.append(CapturedSession(
            label=raw["title"].split()[0], title=raw["title"], script=raw["script"],
            env=dict(raw["env"]), events=events))
    return tuple(sessions)


def session(label: str) -> CapturedSession:
    return next(s for s in load_sessions() if s.label == label)


def _reply_after(events: tuple, index: int) -> bytes:
    """The Asterisk bytes answering the S> event at ``index`` (inline HANGUPs dropped)."""
    reply = b""
    for _, direction, data in events[index + 1:]:
        if direction == "S>":
            break
        if direction == "A>":
            reply += data
    return reply.replace(b"HANGUP\n", b"")


def fake_config(captured: CapturedSession) -> dict[str, Any]:
    """FakeAsterisk keyword arguments reproducing the channel state the capture observed.

    Values come from GET VARIABLE replies for names the session had not SET itself
    (``CHANNEL(linkedid)``, ``CDR(...)``, ``DIALSTATUS``, ``AGISTATUS``, ``HANGUPCAUSE``…).
    Builtins (UNIQUEID, CHANNEL…) and ``CALLERID(num)`` are left to the fake, which derives
    them from the environment: that is part of what the replay checks.
    """
    variables: dict[str, str] = {}
    functions: dict[str, str | None] = {}
    hangup_cause = "0"
    set_so_far: set[bytes] = set()
    for data, reply in captured.exchanges():
        argv = split_arguments(data.removesuffix(b"\n"))
        words = [word.upper() for word in argv[:2]]
        if words == [b"SET", b"VARIABLE"] and len(argv) == 4:
            set_so_far.add(argv[2])
        if words != [b"GET", b"VARIABLE"] or len(argv) != 3 or argv[2] in set_so_far:
            continue
        name = argv[2]
        match = _REPLY_VALUE.fullmatch(reply)
        value = match.group(1).decode("latin-1") if match else None
        if name == b"HANGUPCAUSE":
            hangup_cause = value or "0"
        elif name in _BUILTINS:
            continue
        elif name.endswith(b")"):
            functions[name.decode("latin-1")] = value
        elif value is not None:
            variables[name.decode("latin-1")] = value
    config: dict[str, Any] = {"variables": variables, "functions": functions, "hangup_cause": hangup_cause}
    config.update(SCENARIO_SETUP.get(captured.label, {}))
    return config

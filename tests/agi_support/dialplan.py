"""Runs the shipped asterisk/extensions.conf the way Asterisk would, against a real FastAGI
server, with each Dial() outcome chosen by the test.

Only what our dialplan uses is modelled: NoOp, Set, AGI, GotoIf, Goto, Dial (with its U()
option), Hangup, Return, the `h` extension, `${VAR}` substitution and `$["a" != "b"]`.
Each AGI() is one real FastAGI session played by FakeAsterisk, which shares this channel's
variables, so a change to the dialplan or to the server that breaks the other fails here.
"""
from __future__ import annotations

import asyncio
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tests.agi_support.fake_asterisk import FakeAsterisk, make_env

EXTENSIONS_CONF = Path(__file__).resolve().parents[2] / "asterisk" / "extensions.conf"
_uniqueids = itertools.count(1)


@dataclass
class Step:
    priority: int
    label: str | None
    app: str
    data: str


def parse_extensions(text: str) -> dict[str, dict[str, list[Step]]]:
    """{context: {extension pattern: [steps in priority order]}}"""
    contexts: dict[str, dict[str, list[Step]]] = {}
    context = current = None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            context = contexts.setdefault(line[1:-1], {})
            continue
        key, _, rest = line.partition("=>")
        key = key.strip()
        if key == "exten":
            pattern, priority, command = rest.strip().split(",", 2)
            current = context.setdefault(pattern.strip(), [])
        elif key == "same":
            priority, command = rest.strip().split(",", 1)
        else:
            raise ValueError(f"unsupported line: {raw!r}")
        label = None
        priority = priority.strip()
        if "(" in priority:
            priority, label = priority[:-1].split("(")
        number = 1 if priority == "1" else len(current) + 1
        app, _, data = command.partition("(")
        current.append(Step(number, label, app.strip(), data[:-1] if data.endswith(")") else data))
    return contexts


def matches(pattern: str, exten: str) -> bool:
    if not pattern.startswith("_"):
        return pattern == exten
    regex = ""
    body = pattern[1:]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "X":
            regex += "[0-9]"
        elif ch == "Z":
            regex += "[1-9]"
        elif ch == "N":
            regex += "[2-9]"
        elif ch == ".":
            regex += ".+"
        elif ch == "!":
            regex += ".*"
        elif ch == "[":
            end = body.index("]", i)
            regex += "[" + re.escape(body[i + 1:end]).replace("\\-", "-") + "]"
            i = end
        else:
            regex += re.escape(ch)
        i += 1
    return re.fullmatch(regex, exten) is not None


@dataclass
class DialOutcome:
    """What a Dial() does: a DIALSTATUS, or the caller hanging up while it rings (CANCEL).

    ANSWER connects the call; `talk_seconds` later the callee hangs up, which (no Dial option
    g) ends the caller's dialplan too: `h` runs with DIALSTATUS=ANSWER.
    """

    status: str
    talk_seconds: int = 30
    caller_hangs_up: bool = False
    hold: "asyncio.Event | None" = None  # the Dial lasts until the test sets this


ANSWER = DialOutcome("ANSWER")
BUSY = DialOutcome("BUSY")
NOANSWER = DialOutcome("NOANSWER")
CHANUNAVAIL = DialOutcome("CHANUNAVAIL")
CONGESTION = DialOutcome("CONGESTION")
CALLER_HANGS_UP_WHILE_RINGING = DialOutcome("CANCEL", caller_hangs_up=True)


@dataclass
class CallRecord:
    uniqueid: str
    dials: list[tuple[str, str]] = field(default_factory=list)  # (CC_DIAL, timeout)
    agi_sessions: list[FakeAsterisk] = field(default_factory=list)
    agi_scripts: list[str] = field(default_factory=list)
    hangup_cause: str | None = None
    variables: dict[str, str] = field(default_factory=dict)


class Channel:
    """One inbound call executing the dialplan."""

    def __init__(self, dialplan, host: str, port: int, *, exten: str, callerid: str = "unknown",
                 outcomes: list[DialOutcome] | None = None, uniqueid: str | None = None,
                 max_steps: int = 200):
        self.dialplan, self.host, self.port = dialplan, host, port
        self.exten, self.callerid = exten, callerid
        self.outcomes = list(outcomes or [])
        self.record = CallRecord(uniqueid or f"pbx-t-{next(_uniqueids)}.1")
        self.variables: dict[str, str] = {}
        # CDR(billsec) reads 0 until a Dial is answered.
        self.functions: dict[str, str] = {"CHANNEL(linkedid)": self.record.uniqueid,
                                          "CDR(billsec)": "0"}
        self.hangup_cause = "0"
        self.max_steps = max_steps

    async def run(self, context: str = "cc-inbound") -> CallRecord:
        hung_up_by = await self._execute(context, self.exten)
        self.record.hangup_cause = self.hangup_cause
        # Whatever ended the dialplan, Asterisk now runs `h` on the dead channel.
        await self._execute(context, "h", dead=True)
        self.record.variables = dict(self.variables)
        return self.record

    async def _execute(self, context: str, exten: str, *, dead: bool = False) -> str:
        steps = next((s for p, s in self.dialplan[context].items() if matches(p, exten)), None)
        if steps is None:
            return "no-extension"
        index = 0
        for _ in range(self.max_steps):
            if index >= len(steps):
                return "fell-off"
            step = steps[index]
            data = self.substitute(step.data)
            app = step.app.lower()
            index += 1
            if app == "noop":
                continue
            if app == "set":
                name, _, value = data.partition("=")
                self.variables[name] = value
            elif app == "agi":
                status = await self._agi(data, exten=exten, context=context, dead=dead)
                if status == "HANGUP" and not dead:
                    return "caller-hangup"
            elif app == "gotoif":
                condition, _, targets = data.partition("?")
                true_label, _, false_label = targets.partition(":")
                label = true_label if self.evaluate(condition) else false_label
                if label:
                    index = self._index_of(steps, label)
            elif app == "goto":
                index = self._index_of(steps, data)
            elif app == "dial":
                ended = await self._dial(data)
                if ended:
                    return "dial-ended-call"
            elif app == "hangup":
                self.hangup_cause = data or "16"
                return "hangup-app"
            elif app == "return":
                return "return"
            else:
                raise AssertionError(f"the harness does not model {step.app}()")
        raise AssertionError("dialplan loop did not end")

    async def _agi(self, data: str, *, exten: str, context: str, dead: bool,
                   uniqueid: str | None = None) -> str:
        url, *args = data.split(",")
        parts = urlsplit(url)
        assert parts.scheme == "agi", url
        script = parts.path.lstrip("/")
        env = make_env(script, uniqueid=uniqueid or self.record.uniqueid, extension=exten,
                       callerid=self.callerid, context=context, args=args,
                       server=parts.netloc)
        fake = self.make_fake(script, env, variables=self.variables, functions=dict(self.functions),
                              dead=dead, hangup_cause=self.hangup_cause)
        try:
            await fake.run(self.host, self.port)
        except (ConnectionError, OSError):
            return "FAILURE"  # Asterisk: could not connect
        self.record.agi_sessions.append(fake)
        self.record.agi_scripts.append(script)
        if uniqueid is None:
            self.variables = {k: v for k, v in fake.variables.items()}
        return fake.agistatus

    def make_fake(self, script: str, env: dict[str, str], **options) -> FakeAsterisk:
        """The Asterisk side of one AGI() session; tests override it to misbehave."""
        return FakeAsterisk(env, **options)

    async def _dial(self, data: str) -> bool:
        """Returns True when the call ended during or after the Dial."""
        target, timeout, *options = data.split(",")
        self.record.dials.append((target, timeout))
        outcome = self.outcomes.pop(0) if self.outcomes else NOANSWER
        if outcome.hold is not None:
            await outcome.hold.wait()
        if outcome.caller_hangs_up:
            self.variables["DIALSTATUS"] = "CANCEL"
            self.hangup_cause = "0"
            return True
        self.variables["DIALSTATUS"] = outcome.status
        if outcome.status != "ANSWER":
            return False
        for option in options:
            if option.startswith("U(") and option.endswith(")"):
                routine, *gosub_args = option[2:-1].split("^")
                callee = f"{self.record.uniqueid}-callee"
                await self._gosub(routine, gosub_args, callee)
        self.functions["CDR(billsec)"] = str(outcome.talk_seconds)
        self.hangup_cause = "16"
        return True

    async def _gosub(self, context: str, args: list[str], callee_uniqueid: str) -> None:
        saved = dict(self.variables)
        for number, value in enumerate(args, start=1):
            self.variables[f"ARG{number}"] = value
        for step in self.dialplan[context]["s"]:
            if step.app.lower() == "agi":
                await self._agi(self.substitute(step.data), exten="s", context=context,
                                dead=False, uniqueid=callee_uniqueid)
            elif step.app.lower() == "return":
                break
        self.variables = saved

    def substitute(self, text: str) -> str:
        def value(match: re.Match) -> str:
            name = match.group(1)
            if name == "UNIQUEID":
                return self.record.uniqueid
            if name == "EXTEN":
                return self.exten
            if name == "HANGUPCAUSE":
                return self.hangup_cause
            if name.endswith(")"):
                return self.functions.get(name, "")
            return self.variables.get(name, "")
        return re.sub(r"\$\{([^{}]+)\}", value, text)

    @staticmethod
    def evaluate(condition: str) -> bool:
        match = re.fullmatch(r'\$\[\s*"(.*)"\s*(!=|=)\s*"(.*)"\s*\]', condition.strip())
        assert match, f"the harness does not model the expression {condition!r}"
        left, operator, right = match.groups()
        return (left != right) if operator == "!=" else (left == right)

    @staticmethod
    def _index_of(steps: list[Step], label: str) -> int:
        for position, step in enumerate(steps):
            if step.label == label:
                return position
        raise AssertionError(f"no label {label!r}")


def load_dialplan(path: Path = EXTENSIONS_CONF):
    return parse_extensions(path.read_text())

"""Runs the shipped asterisk/extensions.conf the way Asterisk would, against a real FastAGI
server, with each Dial() outcome chosen by the test.

Only what our dialplan uses is modelled: [globals], NoOp, Set (of variables and of CDR
variables, `Set(CDR(cc_attempt)=…)`), AGI, GotoIf, Goto, Dial (with its U() option), Hangup,
Return, the `h` extension, `${VAR}` substitution and `$["a" != "b"]` / `$["a" = "b"]`.
Each AGI() is one real FastAGI session played by FakeAsterisk, which shares this channel's
variables, so a change to the dialplan or to the server that breaks the other fails here.
An AGI() to a script named in `unreachable` fails as if the server could not be reached
(AGISTATUS=FAILURE, and the dialplan goes on), as Asterisk does after its connect timeout.

Asterisk's CDRs (cdr_pgsql, ASTERISK.md): when a test gives `cdr_database`, the call's CDRs are
written into that database's `cdr` table when the channel is gone (after `h`), the way
cdr_pgsql writes them (fake_asterisk/cdr_pgsql.py): one per Dial (the B party), every one
with the caller's uniqueid and linkedid, `sequence` increasing, disposition ANSWERED / BUSY /
NO ANSWER (a ring timeout or the caller giving up) / FAILED (CHANUNAVAIL, CONGESTION),
`dstchannel` PJSIP/<endpoint>-<8 hex>, `lastdata` the Dial argument string (with its U()
option), the CDR variables the dialplan set (cc_attempt), times in UTC written
'%Y-%m-%d %T' and duration/billsec in whole seconds, truncated; a call that dialled nobody
has one CDR without a dstchannel (cdr.conf `unanswered = yes`). A failover's next CDR starts
when the previous Dial ended. Time is the wall clock, except that an answered Dial talks for
its outcome's `talk_seconds` (added to the channel's clock: the CDR's end and billsec, and the
CDR(billsec) that `h` reads, say so; nothing waits).
"""
from __future__ import annotations

import asyncio
import itertools
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from fake_asterisk.fastagi import FakeAsterisk, make_env

EXTENSIONS_CONF = Path(__file__).resolve().parents[1] / "asterisk" / "extensions.conf"
_uniqueids = itertools.count(1)
_channel_serials = itertools.count(1)  # Asterisk's channel name suffixes (8 hex digits)
_cdr_sequences = itertools.count(1)
CDR_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# DIALSTATUS -> the disposition of that Dial's CDR.
DISPOSITIONS = {"ANSWER": "ANSWERED", "BUSY": "BUSY", "NOANSWER": "NO ANSWER",
                "CANCEL": "NO ANSWER", "CHANUNAVAIL": "FAILED", "CONGESTION": "FAILED"}


class Dialplan(dict):
    """{context: {extension pattern: [steps]}}, plus `globals` ([globals]: name -> value)."""

    def __init__(self):
        super().__init__()
        self.globals: dict[str, str] = {}


@dataclass
class Step:
    priority: int
    label: str | None
    app: str
    data: str


def parse_extensions(text: str) -> Dialplan:
    """{context: {extension pattern: [steps in priority order]}}, and the [globals]."""
    contexts = Dialplan()
    context = current = None
    in_globals = False
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            in_globals = line == "[globals]"
            if not in_globals:
                context = contexts.setdefault(line[1:-1], {})
            continue
        if in_globals:
            name, _, value = line.partition("=")
            contexts.globals[name.strip()] = value.strip()
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
    cdrs: list[dict[str, str]] = field(default_factory=list)  # as cdr_pgsql wrote them
    failed_agi: list[str] = field(default_factory=list)  # scripts that could not connect


class Channel:
    """One inbound call executing the dialplan."""

    def __init__(self, dialplan, host: str, port: int, *, exten: str, callerid: str = "unknown",
                 outcomes: list[DialOutcome] | None = None, uniqueid: str | None = None,
                 max_steps: int = 200, globals: dict[str, str] | None = None,
                 cdr_database: str | None = None, unreachable=()):
        self.dialplan, self.host, self.port = dialplan, host, port
        self.exten, self.callerid = exten, callerid
        self.outcomes = list(outcomes or [])
        self.record = CallRecord(uniqueid or f"pbx-t-{next(_uniqueids)}.1")
        self.globals = {**getattr(dialplan, "globals", {}), **(globals or {})}
        self.variables: dict[str, str] = {}
        # CDR(billsec) reads 0 until a Dial is answered.
        self.functions: dict[str, str] = {"CHANNEL(linkedid)": self.record.uniqueid,
                                          "CDR(billsec)": "0"}
        self.hangup_cause = "0"
        self.max_steps = max_steps
        self.cdr_database = cdr_database
        self.unreachable = set(unreachable)
        self.cdr_variables: dict[str, str] = {}
        self.name = f"PJSIP/carrier-2-{next(_channel_serials):08x}"
        self.clock_offset = 0.0  # seconds of talk time the channel's clock is ahead
        self.segment_start = self.now()  # when the current CDR began

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.clock_offset)

    async def run(self, context: str = "cc-inbound") -> CallRecord:
        await self._execute(context, self.exten)
        self.record.hangup_cause = self.hangup_cause
        if not self.record.cdrs:  # dialled nobody: one CDR of the caller alone
            self._cdr(dstchannel="", lastapp="Hangup", lastdata=self.hangup_cause,
                      answer=None, end=self.now(), disposition="NO ANSWER")
        # Whatever ended the dialplan, Asterisk now runs `h` on the dead channel.
        await self._execute(context, "h", dead=True)
        self.record.variables = dict(self.variables)
        if self.cdr_database:  # posted when the channel is gone, after `h`
            await asyncio.to_thread(write_cdrs, self.cdr_database, self.record.cdrs)
        return self.record

    def _cdr(self, *, dstchannel: str, lastapp: str, lastdata: str, answer: datetime | None,
             end: datetime, disposition: str) -> None:
        start = self.segment_start
        self.record.cdrs.append({
            "uniqueid": self.record.uniqueid, "linkedid": self.record.uniqueid,
            "src": "" if self.callerid == "unknown" else self.callerid, "dst": self.exten,
            "dcontext": "cc-inbound", "channel": self.name, "dstchannel": dstchannel,
            "lastapp": lastapp, "lastdata": lastdata,
            "start": start.strftime(CDR_TIME_FORMAT),
            "answer": answer.strftime(CDR_TIME_FORMAT) if answer else "",
            "end": end.strftime(CDR_TIME_FORMAT),
            "duration": str(math.floor((end - start).total_seconds())),
            "billsec": str(math.floor((end - answer).total_seconds())) if answer else "0",
            "disposition": disposition, "sequence": str(next(_cdr_sequences)),
            **{name: value for name, value in self.cdr_variables.items() if value},
        })
        self.segment_start = end  # the next Dial's CDR starts when this one ended

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
                if name.startswith("CDR(") and name.endswith(")"):
                    self.cdr_variables[name[4:-1]] = value
                    self.functions[name] = value
                else:
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
        if script in self.unreachable:
            self.record.failed_agi.append(script)
            return "FAILURE"  # Asterisk: could not connect; the dialplan goes on
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
        endpoint = target.split("/", 1)[-1].split(",")[0]
        cdr = dict(dstchannel=f"PJSIP/{endpoint}-{next(_channel_serials):08x}", lastapp="Dial",
                   lastdata=data)
        if outcome.hold is not None:
            await outcome.hold.wait()
        if outcome.caller_hangs_up:
            self.variables["DIALSTATUS"] = "CANCEL"
            self.hangup_cause = "0"
            self._cdr(**cdr, answer=None, end=self.now(), disposition="NO ANSWER")
            return True
        self.variables["DIALSTATUS"] = outcome.status
        if outcome.status != "ANSWER":
            self._cdr(**cdr, answer=None, end=self.now(),
                      disposition=DISPOSITIONS.get(outcome.status, "FAILED"))
            return False
        answered_at = self.now()
        for option in options:
            if option.startswith("U(") and option.endswith(")"):
                routine, *gosub_args = option[2:-1].split("^")
                callee = f"{self.record.uniqueid}-callee"
                await self._gosub(routine, gosub_args, callee)
        self.clock_offset += outcome.talk_seconds  # the call talks, nothing waits
        self._cdr(**cdr, answer=answered_at,
                  end=answered_at + timedelta(seconds=outcome.talk_seconds),
                  disposition="ANSWERED")
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
            return self.variables.get(name, self.globals.get(name, ""))
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


def write_cdrs(conninfo: str, cdrs: list[dict[str, str]]) -> None:
    """Insert the CDRs as cdr_pgsql does (its column list read from the table, one literal
    INSERT per CDR), CDR variables included (they are keys of each dict)."""
    import psycopg

    from fake_asterisk.cdr_pgsql import write_cdrs as insert

    with psycopg.connect(conninfo, autocommit=True) as conn:
        insert(conn, cdrs)

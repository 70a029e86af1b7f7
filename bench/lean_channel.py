"""The lean load generator: many Asterisk channels running the shipped dialplan, each AGI()
one real FastAGI session over TCP, at a small fraction of the CPU of what it measures.

How it stays lean, and what it still does as Asterisk does:
* asterisk/extensions.conf is parsed once (the test harness's parser) and each step's data is
  compiled into literal pieces and variable references, so a step costs a few lookups, not a
  regular expression;
* the AGI environment is pre-rendered per script: constant bytes with the few values that
  change per session (uniqueid, channel, caller id, extension, arguments) spliced in, sent in
  one write, in Asterisk's key order;
* a session is an asyncio Protocol (no StreamReader/Writer); the server's command lines are
  parsed just enough: `SET VARIABLE` is applied as Asterisk does, ARRAY(A,B,…) included
  (func_strings.c: names and value split on commas, a missing value sets ""), because the
  dialplan branches on CC_ACTION; `GET VARIABLE` is answered from the channel; anything else
  gets 510 and is counted (the shipped dialplan's server sends nothing else);
* one process per core, each with its share of the channels (bench.agi_load).

Dial: rings `dial_seconds` (the channel is then outside FastAGI), then takes the call's
planned DIALSTATUS; ANSWER runs the U() subroutine (`answered` on the callee's channel), the
callee hangs up at once and `h` runs with DIALSTATUS=ANSWER; CANCEL is the caller hanging up
while it rings (the dialplan stops, `h` runs with DIALSTATUS=CANCEL); anything else goes on
with the dialplan (attempt_result, then route again).
"""
from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass, field

from app.services.routing import dialplan_variables
from bench.scenario import plan_call
from fake_asterisk.dialplan import load_dialplan, matches

SESSION_TIMEOUT = 30.0
_VAR = re.compile(r"\$\{([^{}]+)\}")


def compile_template(text: str):
    """'a${X}b' -> ('a', ('X',), 'b'): a tuple of literal strings and 1-tuples of names."""
    pieces, position = [], 0
    for match in _VAR.finditer(text):
        if match.start() > position:
            pieces.append(text[position:match.start()])
        pieces.append((match.group(1),))
        position = match.end()
    if position < len(text):
        pieces.append(text[position:])
    return tuple(pieces)


@dataclass
class Step:
    app: str
    data: tuple
    label: str | None


class CompiledDialplan:
    def __init__(self):
        self.contexts = {}
        for context, extensions in load_dialplan().items():
            self.contexts[context] = {
                pattern: [Step(s.app.lower(), compile_template(s.data), s.label) for s in steps]
                for pattern, steps in extensions.items()}
        self._lookup = {}

    def steps(self, context: str, exten: str):
        key = (context, exten)
        found = self._lookup.get(key)
        if found is None:
            found = next((steps for pattern, steps in self.contexts[context].items()
                          if matches(pattern, exten)), [])
            if not exten.startswith("+") and len(self._lookup) < 10_000:
                self._lookup[key] = found
        return found


def _env_template(script: str, server: str, context: str) -> tuple[bytes, bytes]:
    """The bytes before and after the per-session values, Asterisk's key order."""
    head = (f"agi_network: yes\nagi_network_script: {script}\n"
            f"agi_request: agi://{server}/{script}\n").encode()
    return head, f"agi_context: {context}\n".encode()


class Session(asyncio.Protocol):
    __slots__ = ("env", "variables", "done", "transport", "buffer", "started", "unexpected")

    def __init__(self, env: bytes, variables: dict, done: asyncio.Future):
        self.env, self.variables, self.done = env, variables, done
        self.buffer = b""
        self.unexpected = 0

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.env)

    def data_received(self, data: bytes):
        buffer = self.buffer + data
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                break
            line, buffer = buffer[:end], buffer[end + 1:]
            self.transport.write(self.reply(line))
        self.buffer = buffer

    def reply(self, line: bytes) -> bytes:
        if line.startswith(b"SET VARIABLE "):
            name, _, value = line[13:].partition(b" ")
            set_variable(self.variables, unquote(name), unquote(value))
            return b"200 result=1\n"
        if line.startswith(b"GET VARIABLE "):
            value = self.variables.get(unquote(line[13:]).decode())
            return b"200 result=0\n" if value is None else b"200 result=1 (" + value.encode() + b")\n"
        self.unexpected += 1
        return b"510 Invalid or unknown command\n"

    def eof_received(self):
        if not self.done.done():
            self.done.set_result(self.unexpected)
        return False  # close

    def connection_lost(self, exc):
        if not self.done.done():
            if exc is None:
                self.done.set_result(self.unexpected)
            else:
                self.done.set_exception(exc)


def unquote(word: bytes) -> bytes:
    """res_agi's parse_args for one word: quotes group, a backslash takes the next byte."""
    if b'"' not in word and b"\\" not in word:
        return word
    out, escaped = bytearray(), False
    for byte in word:
        if escaped:
            out.append(byte)
            escaped = False
        elif byte == 0x5C:
            escaped = True
        elif byte != 0x22:
            out.append(byte)
    return bytes(out)


def set_variable(variables: dict, name: bytes, value: bytes) -> None:
    if name.startswith(b"ARRAY(") and name.endswith(b")"):
        values = value.split(b",")
        for index, each in enumerate(name[6:-1].split(b",")):
            variables[each.strip().decode()] = values[index].decode() if index < len(values) else ""
        return
    variables[name.lstrip(b"_").decode()] = value.decode()


@dataclass
class Stats:
    window_start: float
    window_end: float
    calls: int = 0
    sessions: int = 0
    outcomes: dict = field(default_factory=dict)
    route_latencies: list = field(default_factory=list)
    overload_latencies: list = field(default_factory=list)  # routes refused for overload
    hangup_latencies: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    failure_count: int = 0
    unexpected_commands: int = 0
    calls_total: int = 0


class LeanChannel:
    """One call through the compiled dialplan."""

    def __init__(self, runner: "Runner", planned, uniqueid: str, sip_channel: str):
        self.runner, self.planned, self.uniqueid = runner, planned, uniqueid
        self.exten = planned.extension
        self.variables: dict[str, str] = {}
        self.functions = {"CHANNEL(linkedid)": uniqueid, "CDR(billsec)": "0"}
        self.hangup_cause = "0"
        self.attempt = 0
        self.sip_channel = sip_channel

    def value(self, name: str) -> str:
        if name == "UNIQUEID":
            return self.uniqueid
        if name == "EXTEN":
            return self.current_exten
        if name == "HANGUPCAUSE":
            return self.hangup_cause
        if name[-1] == ")":
            return self.functions.get(name, "")
        return self.variables.get(name, "")

    def substitute(self, pieces: tuple) -> str:
        return "".join(p if p.__class__ is str else self.value(p[0]) for p in pieces)

    async def run(self) -> str:
        await self.execute("cc-inbound", self.exten)
        await self.execute("cc-inbound", "h", dead=True)
        if self.variables.get("DIALSTATUS") == "ANSWER":
            return "answered"
        if self.variables.get("DIALSTATUS") == "CANCEL":
            return "abandoned"
        return self.variables.get(dialplan_variables.REASON) or "unknown"

    async def execute(self, context: str, exten: str, *, dead: bool = False,
                      callee: bool = False) -> str:
        steps = self.runner.dialplan.steps(context, exten)
        self.current_exten = exten
        index = 0
        for _ in range(200):
            if index >= len(steps):
                return "fell-off"
            step = steps[index]
            index += 1
            app = step.app
            if app == "noop":
                continue
            data = self.substitute(step.data)
            if app == "set":
                name, _, value = data.partition("=")
                self.variables[name] = value
            elif app == "agi":
                status = await self.agi(data, context, exten, dead=dead, callee=callee)
                if status == "HANGUP" and not dead:
                    return "caller-hangup"
            elif app == "gotoif":
                condition, _, targets = data.partition("?")
                true_label, _, false_label = targets.partition(":")
                label = true_label if evaluate(condition) else false_label
                if label:
                    index = next(i for i, s in enumerate(steps) if s.label == label)
            elif app == "goto":
                index = next(i for i, s in enumerate(steps) if s.label == data)
            elif app == "dial":
                if await self.dial(data):
                    return "dial-ended-call"
            elif app == "hangup":
                self.hangup_cause = data or "16"
                return "hangup-app"
            elif app == "return":
                return "return"
            else:
                raise AssertionError(f"the lean channel does not model {app}()")
        raise AssertionError("dialplan loop did not end")

    async def dial(self, data: str) -> bool:
        target, timeout, *options = data.split(",")
        status = self.planned.outcomes[min(self.attempt, len(self.planned.outcomes) - 1)]
        self.attempt += 1
        if self.runner.dial_seconds:
            await asyncio.sleep(self.runner.dial_seconds)
        self.variables["DIALSTATUS"] = status
        if status == "CANCEL":  # the caller hung up while it rang: the dialplan stops
            self.hangup_cause = "16"
            return True
        if status != "ANSWER":
            return False
        for option in options:
            if option.startswith("U(") and option.endswith(")"):
                routine, *args = option[2:-1].split("^")
                saved = dict(self.variables)
                for number, value in enumerate(args, start=1):
                    self.variables[f"ARG{number}"] = value
                await self.execute(routine, "s", callee=True)
                self.variables = saved
        self.functions["CDR(billsec)"] = str(self.planned.talk_seconds)
        self.hangup_cause = "16"
        return True

    async def agi(self, data: str, context: str, exten: str, *, dead: bool, callee: bool) -> str:
        url, *args = data.split(",")
        script = url.rsplit("/", 1)[1]
        runner = self.runner
        head, tail = runner.env_head(script, url.split("/")[2], context)
        uniqueid = f"{self.uniqueid}-callee" if callee else self.uniqueid
        channel = f"PJSIP/{self.sip_channel}{'-callee' if callee else ''}"
        callerid = "unknown" if callee else self.planned.callerid
        env = b"".join((
            head,
            (f"agi_channel: {channel}\nagi_language: en\nagi_type: PJSIP\n"
             f"agi_uniqueid: {uniqueid}\nagi_version: 22.10.1\nagi_callerid: {callerid}\n"
             f"agi_calleridname: unknown\nagi_callingpres: {'67' if callee else '0'}\n"
             "agi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\n"
             f"agi_dnid: {'unknown' if callee else self.exten}\nagi_rdnis: unknown\n").encode(),
            tail,
            (f"agi_extension: {exten}\nagi_priority: {'1' if exten == 'h' else '2'}\n"
             "agi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 139900878350016\n"
             + "".join(f"agi_arg_{n}: {value}\n" for n, value in enumerate(args, start=1))
             + "\n").encode()))
        stats = runner.stats
        loop = runner.loop
        done = loop.create_future()
        variables = self.variables
        started = time.perf_counter()
        try:
            async with asyncio.timeout(SESSION_TIMEOUT):
                transport, _ = await loop.create_connection(
                    lambda: Session(env, variables, done), "127.0.0.1", runner.port_for(self))
                try:
                    unexpected = await done
                finally:
                    transport.close()
        except (ConnectionError, OSError, TimeoutError) as exc:
            stats.failure_count += 1
            if len(stats.failures) < 20:
                stats.failures.append(f"{script}: {type(exc).__name__}: {exc}")
            return "FAILURE"
        elapsed = time.perf_counter() - started
        stats.unexpected_commands += unexpected
        if stats.window_start <= started < stats.window_end:
            stats.sessions += 1
            if script == "route":
                stats.route_latencies.append(elapsed)
                if variables.get(dialplan_variables.REASON) == "overload":
                    stats.overload_latencies.append(elapsed)
            elif script == "hangup":
                stats.hangup_latencies.append(elapsed)
        return "SUCCESS"


def evaluate(condition: str) -> bool:
    match = re.fullmatch(r'\$\[\s*"(.*)"\s*(!=|=)\s*"(.*)"\s*\]', condition.strip())
    if not match:
        raise AssertionError(f"the lean channel does not model the expression {condition!r}")
    left, operator, right = match.groups()
    return (left != right) if operator == "!=" else (left == right)


class Runner:
    def __init__(self, ports: list[int], dial_seconds: float, stats: Stats):
        self.ports, self.dial_seconds, self.stats = ports, dial_seconds, stats
        self.dialplan = CompiledDialplan()
        self._env = {}
        self.loop = asyncio.get_running_loop()

    def env_head(self, script: str, server: str, context: str) -> tuple[bytes, bytes]:
        key = (script, server, context)
        found = self._env.get(key)
        if found is None:
            found = self._env[key] = _env_template(script, server, context)
        return found

    def port_for(self, channel: LeanChannel) -> int:
        return self.ports[hash(channel.uniqueid) % len(self.ports)]


async def run_channels(ports: list[int], channels: int, *, start_at: float, warmup: float,
                       duration: float, seed: int, tag: str, mix: str,
                       dial_seconds: float = 0.0, rate: float | None = None) -> Stats:
    """`channels` channels placing calls back to back (a closed loop), or, with `rate`, calls
    arriving at random at that many per second whatever happens to the earlier ones (an open
    loop, as carriers send them: a router that falls behind faces a growing queue)."""
    await asyncio.sleep(max(0.0, start_at - time.time()))
    now = time.perf_counter()
    stats = Stats(window_start=now + warmup, window_end=now + warmup + duration)
    runner = Runner(ports, dial_seconds, stats)

    async def place_call(number: int, sequence: int, rng: random.Random) -> None:
        planned = plan_call(rng, mix)
        uniqueid = f"{tag}-{number}-{sequence}.{number}"
        channel = LeanChannel(runner, planned, uniqueid, f"carrier-1-{number:04x}{sequence:04x}")
        try:
            outcome = await channel.run()
        except AssertionError as exc:
            stats.failure_count += 1
            stats.failures.append(f"call {uniqueid}: {exc}")
            return
        stats.calls_total += 1
        if stats.window_start <= time.perf_counter() < stats.window_end:
            stats.calls += 1
            stats.outcomes[outcome] = stats.outcomes.get(outcome, 0) + 1

    async def channel_loop(number: int) -> None:
        rng = random.Random(f"{seed}-{number}")
        if dial_seconds:  # spread the first arrivals over one ring time
            await asyncio.sleep(rng.uniform(0, dial_seconds))
        sequence = 0
        while time.perf_counter() < stats.window_end:
            sequence += 1
            await place_call(number, sequence, rng)

    async def arrivals() -> None:
        rng = random.Random(f"{seed}-arrivals")
        calls, arrival = set(), time.perf_counter()
        number = 0
        while arrival < stats.window_end:
            arrival += rng.expovariate(rate)
            await asyncio.sleep(max(0.0, arrival - time.perf_counter()))
            number += 1
            call = asyncio.create_task(place_call(number, 1, random.Random(f"{seed}-{number}")))
            calls.add(call)
            call.add_done_callback(calls.discard)
        await asyncio.gather(*calls)

    if rate:
        await arrivals()
    else:
        await asyncio.gather(*(channel_loop(n) for n in range(channels)))
    return stats


def worker(ports: list[int], channels: int, start_at: float, warmup: float, duration: float,
           seed: int, tag: str, mix: str, dial_seconds: float = 0.0,
           rate: float | None = None) -> dict:
    """Entry point of one load process (multiprocessing)."""
    stats = asyncio.run(run_channels(ports, channels, start_at=start_at, warmup=warmup,
                                     duration=duration, seed=seed, tag=tag, mix=mix,
                                     dial_seconds=dial_seconds, rate=rate))
    return {"calls": stats.calls, "sessions": stats.sessions, "outcomes": stats.outcomes,
            "route_latencies": stats.route_latencies,
            "overload_latencies": stats.overload_latencies,
            "hangup_latencies": stats.hangup_latencies, "failures": stats.failures[:20],
            "failure_count": stats.failure_count, "calls_total": stats.calls_total,
            "unexpected_commands": stats.unexpected_commands}

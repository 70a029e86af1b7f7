"""Many Asterisk channels at once, for load: the shipped dialplan over real FastAGI connections.

Each channel runs calls back to back through `asterisk/extensions.conf`, executed by the test
suite's dialplan harness (fake_asterisk/dialplan.py: `route` → Dial outcome →
`attempt_result` and `route` again on failure, `answered` from Dial's U() on answer, `h` →
`hangup`). Every AGI() is one FastAGI session over TCP that speaks the bytes of the test
suite's faithful fake Asterisk (fake_asterisk/fastagi.py):

* the env block in Asterisk's key order, in the two writes Asterisk's were captured in;
* command lines read up to LF, split by the port of res_agi's parse_args, and answered by
  FakeAsterisk's own command methods (`200 result=1`, `200 result=0`, `200 result=1 (…)`,
  510, 511 on a dead channel, 520 usage replies written line by line, …);
* once the server closes (or half-closes) the session, `HANGUP` and then our own close.

What is leaner than FakeAsterisk.run: no transcript, no scripted hangups/aborts, and the
command-table lookup is memoised (find_command depends only on the first three words,
lower-cased, so the cache returns exactly what find_command returns). `--faithful` in
agi_load uses FakeAsterisk._handle unchanged instead. This generator is the reference (`--generator
harness`); bench/lean_channel.py is the default one, several times cheaper per call.
"""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from app.services.routing import dialplan_variables
from bench.scenario import plan_call
from fake_asterisk.dialplan import Channel, DialOutcome, load_dialplan
from fake_asterisk.fastagi import (COMMAND_BUFFER, ENV_FIRST_WRITE_LINES, HANGUP, REPLY_DEAD,
                                   REPLY_INVALID, USAGE_HEAD, USAGE_TAIL, FakeAsterisk,
                                   find_command, make_env, split_arguments)

SESSION_TIMEOUT = 30.0  # what a stuck server costs one channel before the call is dropped
_commands: dict = {}


def _find_command(argv):
    key = tuple(word.lower() for word in argv[:3])  # no command has more than three words
    try:
        return _commands[key]
    except KeyError:
        command = _commands[key] = find_command(argv)
        return command


def reply_parts(fake: FakeAsterisk, line: bytes) -> list[bytes]:
    """FakeAsterisk._handle with the memoised command lookup."""
    argv = split_arguments(line)
    command = _find_command(argv)
    if command is None:
        return [REPLY_INVALID]
    if fake.dead and not command.dead_ok:
        return [REPLY_DEAD]
    if command.method is None:
        fake.unmodelled.append(line)
        return [b"200 result=0\n"]
    reply = getattr(fake, command.method)(argv)
    if reply is None:
        return [USAGE_HEAD, *(usage + b"\n" for usage in command.usage), USAGE_TAIL]
    return [reply]


async def agi_session(host: str, port: int, fake: FakeAsterisk, *, faithful: bool = False) -> float:
    """Play one FastAGI session; returns seconds from connect to the server's EOF."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port, limit=COMMAND_BUFFER - 1)
    fake._writer = writer
    try:
        lines = [f"{key}: {value}\n".encode() for key, value in fake.env.items()]
        first = b"".join(lines[:ENV_FIRST_WRITE_LINES])
        writer.write(first)
        await writer.drain()
        await asyncio.sleep(0)
        writer.write(b"".join(lines[ENV_FIRST_WRITE_LINES:]) + b"\n")
        await writer.drain()
        handle = fake._handle if faithful else (lambda command: reply_parts(fake, command))
        while True:
            at_eof = False
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                line, at_eof = exc.partial, True
            except asyncio.LimitOverrunError:
                line = await reader.readexactly(COMMAND_BUFFER)
            except (ConnectionError, OSError):
                line, at_eof = b"", True
            if not line:
                break
            command = line.removesuffix(b"\n")
            fake.commands.append(command)
            if line[:7].lower() == b"failure":
                fake.agistatus = "FAILURE"
                break
            parts = handle(command)
            writer.write(parts[0])
            await writer.drain()
            for part in parts[1:]:  # a 520's lines arrive apart, as from Asterisk
                await asyncio.sleep(fake.usage_delay)
                writer.write(part)
                await writer.drain()
            if fake._hangup_requested:
                fake._hangup_requested = False
                fake._caller_hangs_up()
            if at_eof:
                break
        fake.eof_from_server = True
        elapsed = time.perf_counter() - started
        if fake._send_sighup:  # after the server's EOF, live channel or not
            writer.write(HANGUP)
            fake.trailing_hangup_sent = True
        return elapsed
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


@dataclass
class Stats:
    """What one load process measured inside the window [window_start, window_end)."""

    window_start: float
    window_end: float
    calls: int = 0
    sessions: int = 0
    outcomes: dict = field(default_factory=dict)
    route_latencies: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    calls_total: int = 0

    def in_window(self, moment: float) -> bool:
        return self.window_start <= moment < self.window_end


class LoadChannel(Channel):
    """The harness's channel, with each AGI() played by :func:`agi_session`."""

    def __init__(self, *args, stats: Stats, faithful: bool, sip_channel: str,
                 dial_seconds: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.stats, self.faithful, self.sip_channel = stats, faithful, sip_channel
        self.dial_seconds = dial_seconds

    async def _dial(self, data: str) -> bool:
        if self.dial_seconds:  # ringing: the channel is busy elsewhere, not in FastAGI
            await asyncio.sleep(self.dial_seconds)
        return await super()._dial(data)

    async def _agi(self, data: str, *, exten: str, context: str, dead: bool,
                   uniqueid: str | None = None) -> str:
        url, *args = data.split(",")
        parts = urlsplit(url)
        script = parts.path.lstrip("/")
        callee = uniqueid is not None
        env = make_env(script, uniqueid=uniqueid or self.record.uniqueid, extension=exten,
                       callerid="unknown" if callee else self.callerid, context=context,
                       args=args, server=parts.netloc,
                       channel=f"PJSIP/{self.sip_channel}{'-callee' if callee else ''}",
                       dnid="unknown" if callee else self.exten)
        fake = FakeAsterisk(env, variables=self.variables, functions=dict(self.functions),
                            dead=dead, hangup_cause=self.hangup_cause)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(SESSION_TIMEOUT):
                elapsed = await agi_session(self.host, self.port, fake, faithful=self.faithful)
        except (ConnectionError, OSError, TimeoutError) as exc:
            self.stats.failures.append(f"{script}: {type(exc).__name__}: {exc}")
            return "FAILURE"  # what Asterisk makes of a server it cannot reach
        if self.stats.in_window(started):
            self.stats.sessions += 1
            if script == "route":
                self.stats.route_latencies.append(elapsed)
        self.record.agi_scripts.append(script)
        if not callee:
            self.variables = fake.variables
        return fake.agistatus


def call_outcome(record, variables: dict) -> str:
    if variables.get("DIALSTATUS") == "ANSWER":
        return "answered"
    if variables.get("DIALSTATUS") == "CANCEL":
        return "abandoned"
    return variables.get(dialplan_variables.REASON) or "unknown"


async def run_channels(host: str, ports: list[int], channels: int, *, start_at: float,
                       warmup: float, duration: float, seed: int, tag: str,
                       faithful: bool = False, dial_seconds: float = 0.0,
                       mix: str = "mixed") -> Stats:
    """`channels` channels placing calls back to back from `start_at` (time.time()) until the
    window ends; calls in progress then finish (so nothing is left holding a slot)."""
    await asyncio.sleep(max(0.0, start_at - time.time()))
    now = time.perf_counter()
    stats = Stats(window_start=now + warmup, window_end=now + warmup + duration)
    dialplan = load_dialplan()

    async def channel_loop(number: int) -> None:
        rng = random.Random(f"{seed}-{number}")
        port = ports[number % len(ports)]
        sequence = 0
        while time.perf_counter() < stats.window_end:
            sequence += 1
            planned = plan_call(rng, mix)
            uniqueid = f"{tag}-{number}-{sequence}.{number}"
            outcomes = [DialOutcome(status, talk_seconds=planned.talk_seconds,
                                    caller_hangs_up=status == "CANCEL")
                        for status in planned.outcomes]
            channel = LoadChannel(dialplan, host, port, exten=planned.extension,
                                  callerid=planned.callerid, outcomes=outcomes,
                                  uniqueid=uniqueid, stats=stats, faithful=faithful,
                                  dial_seconds=dial_seconds,
                                  sip_channel=f"carrier-1-{number:04x}{sequence:04x}")
            try:
                record = await channel.run()
            except AssertionError as exc:  # the harness met a dialplan state it cannot model
                stats.failures.append(f"call {uniqueid}: {exc}")
                continue
            stats.calls_total += 1
            if stats.in_window(time.perf_counter()):
                stats.calls += 1
                outcome = call_outcome(record, record.variables)
                stats.outcomes[outcome] = stats.outcomes.get(outcome, 0) + 1

    await asyncio.gather(*(channel_loop(n) for n in range(channels)))
    return stats


def worker(ports: list[int], channels: int, start_at: float, warmup: float, duration: float,
           seed: int, tag: str, mix: str, dial_seconds: float = 0.0, faithful: bool = False) -> dict:
    """Entry point of one load process (multiprocessing); bench.lean_channel.worker's signature."""
    stats = asyncio.run(run_channels("127.0.0.1", ports, channels, start_at=start_at,
                                     warmup=warmup, duration=duration, seed=seed, tag=tag,
                                     faithful=faithful, dial_seconds=dial_seconds, mix=mix))
    return {"calls": stats.calls, "sessions": stats.sessions, "outcomes": stats.outcomes,
            "route_latencies": stats.route_latencies, "failures": stats.failures[:20],
            "failure_count": len(stats.failures), "calls_total": stats.calls_total,
            "unexpected_commands": 0}

"""The Asterisk side: Poisson call arrivals, each running the shipped dialplan through the test
harness (bench/asterisk_channel.py), Dial ringing, answering, failing or abandoned."""
from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass

import psutil

from bench.soak.api import _pct
from bench.soak.config import CALL_TIMEOUT, DIAL_MIX, DID_MIX
from app.services.routing import dialplan_variables


@dataclass
class Dial:
    status: str       # DIALSTATUS, or CANCEL: the caller hangs up while it rings
    ring: float       # seconds before the outcome
    talk: float = 0.0


def plan_dials(rng: random.Random, max_talk: float, attempts: int = 8) -> list[Dial]:
    names, weights = zip(*DIAL_MIX)
    dials = []
    for status in rng.choices(names, weights, k=attempts):
        ring = {"ANSWER": rng.uniform(0.2, 2.0), "BUSY": rng.uniform(0.05, 0.4),
                "NOANSWER": rng.uniform(1.0, 3.0), "CHANUNAVAIL": rng.uniform(0.0, 0.1),
                "CANCEL": rng.uniform(0.2, 2.0)}[status]
        dials.append(Dial(status, ring, rng.uniform(1.0, max_talk) if status == "ANSWER" else 0.0))
    return dials


def _make_channel_class():
    from bench import asterisk_channel

    class SoakChannel(asterisk_channel.LoadChannel):
        """The load generator's channel; every AGI session goes to either FastAGI process, and
        Dial takes time: it rings, then talks or fails, or the caller gives up."""

        def __init__(self, *args, ports: list[int], rng: random.Random, dials: list[Dial],
                     **kwargs):
            super().__init__(*args, **kwargs)
            self.ports, self.rng, self.dials = ports, rng, dials
            self.sessions_per_port: Counter = Counter()
            self.dial_log: list[tuple[str, str]] = []

        async def _agi(self, data: str, **kwargs) -> str:
            self.port = self.rng.choice(self.ports)
            self.sessions_per_port[self.port] += 1
            return await super()._agi(data, **kwargs)

        async def _dial(self, data: str) -> bool:
            target, timeout, *options = data.split(",")
            self.record.dials.append((target, timeout))
            dial = self.dials.pop(0) if self.dials else Dial("NOANSWER", 1.0)
            self.dial_log.append((target, dial.status))
            await asyncio.sleep(dial.ring)
            if dial.status == "CANCEL":
                self.variables["DIALSTATUS"] = "CANCEL"
                self.hangup_cause = "16"
                return True
            self.variables["DIALSTATUS"] = dial.status
            if dial.status != "ANSWER":
                return False
            for option in options:
                if option.startswith("U(") and option.endswith(")"):
                    routine, *gosub_args = option[2:-1].split("^")
                    await self._gosub(routine, gosub_args, f"{self.record.uniqueid}-callee")
            await asyncio.sleep(dial.talk)
            self.functions["CDR(billsec)"] = str(int(dial.talk))
            self.hangup_cause = "16"
            return True

    return SoakChannel, asterisk_channel


def final_outcome(variables: dict) -> str:
    status = variables.get("DIALSTATUS")
    if status == "ANSWER":
        return "answered"
    if status == "CANCEL":
        return "abandoned"
    return variables.get(dialplan_variables.REASON) or "unknown"


async def drive_calls(ports: list[int], start_at: float, duration: float, rate: float,
                      max_channels: int, max_talk: float, seed: int, tag: str) -> dict:
    from fake_asterisk.dialplan import load_dialplan

    SoakChannel, asterisk_channel = _make_channel_class()
    dialplan = load_dialplan()
    stats = asterisk_channel.Stats(window_start=0.0, window_end=float("inf"))
    rng = random.Random(seed)
    dids, weights = zip(*DID_MIX)
    outcomes: Counter = Counter()
    dial_statuses: Counter = Counter()
    sessions: Counter = Counter()
    calls: dict[str, dict] = {}
    result = {"placed": 0, "dialled": 0, "skipped_full": 0, "timed_out": 0, "harness_errors": [],
              "max_channels_live": 0}
    live: set[asyncio.Task] = set()

    async def one_call(number: int, call_rng: random.Random) -> None:
        did = call_rng.choices(dids, weights)[0]
        uniqueid = f"{tag}.{number}"
        channel = SoakChannel(dialplan, "127.0.0.1", ports[0], exten=did.lstrip("+"),
                              callerid=f"+1310{call_rng.randrange(10**7):07d}",
                              uniqueid=uniqueid, stats=stats, faithful=False,
                              sip_channel=f"carrier-1-{number:08x}", ports=ports, rng=call_rng,
                              dials=plan_dials(call_rng, max_talk))
        try:
            async with asyncio.timeout(CALL_TIMEOUT):
                record = await channel.run()
        except TimeoutError:
            result["timed_out"] += 1
            return
        except Exception as exc:  # noqa: BLE001 - e.g. the harness met a state it cannot model
            result["harness_errors"].append(f"{uniqueid}: {type(exc).__name__}: {exc}")
            return
        outcome = final_outcome(record.variables)
        outcomes[outcome] += 1
        if channel.dial_log:
            result["dialled"] += 1
        for target, status in channel.dial_log:
            dial_statuses[status] += 1
        sessions.update(channel.sessions_per_port)
        calls[uniqueid] = {"outcome": outcome, "dials": channel.dial_log}

    await asyncio.sleep(max(0.0, start_at - time.time()))
    loop = asyncio.get_running_loop()
    end = loop.time() + duration
    next_arrival = loop.time()
    number = 0
    max_arrivals = int(duration * rate * 3) + 100  # bounded, whatever the clock does
    while number + result["skipped_full"] < max_arrivals:
        now = loop.time()
        if now >= end:
            break
        if now < next_arrival:
            await asyncio.sleep(min(next_arrival, end) - now)
            continue
        next_arrival += rng.expovariate(rate)
        if len(live) >= max_channels:
            result["skipped_full"] += 1
            continue
        number += 1
        task = asyncio.create_task(one_call(number, random.Random(rng.random())))
        live.add(task)
        task.add_done_callback(live.discard)
        result["max_channels_live"] = max(result["max_channels_live"], len(live))
    result["placed"] = number
    drain_started = loop.time()
    if live:
        await asyncio.wait(set(live), timeout=CALL_TIMEOUT + 10)
    result["drain_seconds"] = loop.time() - drain_started
    route = sorted(stats.route_latencies)
    result.update(route_p50_ms=_pct(route, 0.5) * 1000, route_p99_ms=_pct(route, 0.99) * 1000,
                  route_max_ms=(route[-1] * 1000 if route else 0.0), agi_sessions=stats.sessions)
    result.update(outcomes=dict(outcomes), dial_statuses=dict(dial_statuses),
                  sessions_per_port={str(k): v for k, v in sessions.items()},
                  agi_failures=len(stats.failures), agi_failure_samples=stats.failures[:10],
                  calls=calls)
    me = psutil.Process()
    times = me.cpu_times()
    result["self"] = {"rss_mb": me.memory_info().rss / 2**20, "uss_mb": me.memory_full_info().uss / 2**20,
                      "cpu_s": times.user + times.system}
    return result


def _load_process(connection, ports, start_at, duration, rate, max_channels, max_talk, seed,
                  tag) -> None:
    try:
        connection.send(asyncio.run(drive_calls(ports, start_at, duration, rate, max_channels,
                                                max_talk, seed, tag)))
    except BaseException as exc:  # noqa: BLE001 - hand the failure to the parent
        connection.send({"error": repr(exc)})
    finally:
        connection.close()

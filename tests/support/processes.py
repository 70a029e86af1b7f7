"""Real FastAGI server processes (`flask agi serve`) on the test database."""
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            process.log.seek(0)
            raise RuntimeError(f"agi server exited early: {process.log.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"agi server on {port} did not start")


# On a busy test machine a route may wait past the production budget (300 ms) and be refused
# for overload; only the overload tests want that (they pass their own --route-budget-ms).
ROOMY_ROUTE_BUDGET = ("--route-budget-ms", "2000")


@contextmanager
def agi_server_processes(database_uri: str, count: int = 2, extra_args: tuple = ("--processes", "1")):
    """Start `count` FastAGI servers (one process each unless `extra_args` say otherwise);
    yields their ports; stops them with SIGTERM."""
    env = dict(os.environ, FLASK_APP="app:create_app", FLASK_ENV="testing",
               TEST_DATABASE_URI=database_uri)
    processes, ports = [], []
    try:
        for _ in range(count):
            port = free_port()
            # A file, not a pipe: nobody reads the log while the test runs, and a full pipe
            # would block the server on its next log line.
            log = tempfile.TemporaryFile(mode="w+")
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "agi", "serve", "--bind", f"127.0.0.1:{port}",
                 *ROOMY_ROUTE_BUDGET, *extra_args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
            process.log = log
            processes.append(process)
            ports.append(port)
        for port, process in zip(ports, processes):
            wait_for_port(port, process)
        yield ports, processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

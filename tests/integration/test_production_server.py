"""The documented production setup (README "Production": gunicorn -c deploy/gunicorn.conf.py
wsgi:application, FLASK_ENV=production) under a slow-client flood.

gunicorn starts as a subprocess on 127.0.0.1 with the shipped config. A flood of sockets (FLOOD
at once, until the test stops it; FLOOD_SECONDS at most) each sends the start of a request and
then one more header line now and then, never finishing it; a socket the server closes is
opened again. Meanwhile normal requests (a page, and a login that reads the database and runs
bcrypt) must keep answering, each inside its timeout. With gunicorn's sync workers (the
README's former command), 8 such sockets stop every request. (Latencies under load are the
benchmarks' business, not this test's.)
"""
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests

from tests.support.logins import SAMPLE_LOGINS
from tests.support.processes import ROOT, free_port

pytestmark = pytest.mark.slow

CONFIG = "deploy/gunicorn.conf.py"
FLOOD = 400
FLOOD_SECONDS = 120  # a bound, should the test never stop it
ROUNDS = 5  # normal page + login rounds that must answer during the flood
WORKERS = 2


def _start_gunicorn(database_uri: str, port: int, log) -> subprocess.Popen:
    env = dict(os.environ, FLASK_ENV="production", DATABASE_URI=database_uri,
               SECRET_KEY=secrets.token_urlsafe(48), INTERNAL_API_TOKEN=secrets.token_urlsafe(48),
               GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS=str(WORKERS))
    env.pop("FLASK_APP", None)
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", CONFIG, "wsgi:application"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_until_up(base: str, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, _read(log)
        try:
            if requests.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start:\n" + _read(log))


def _read(log) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")[-4000:]


class SlowClients:
    """FLOOD sockets on 127.0.0.1 that never finish their headers; stops by itself."""

    def __init__(self, port: int):
        self.port, self.stop, self.opened, self.reopened = port, threading.Event(), 0, 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", self.port))
        self.opened += 1
        return {"sock": sock, "started": False}

    def _run(self):
        conns = [self._open() for _ in range(FLOOD)]
        deadline = time.monotonic() + FLOOD_SECONDS
        while not self.stop.is_set() and time.monotonic() < deadline:
            for i, conn in enumerate(conns):
                try:
                    if not conn["started"]:
                        conn["sock"].send(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                        conn["started"] = True
                    else:
                        conn["sock"].send(b"X-Slow: 1\r\n")
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:  # closed by the server (header timeout): come back at once
                    conn["sock"].close()
                    conns[i] = self._open()
                    self.reopened += 1
            self.stop.wait(0.5)
        for conn in conns:
            conn["sock"].close()

    def __enter__(self):
        self.thread.start()
        time.sleep(1.5)  # every socket connected and holding a half-sent request
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(30)


def _normal_requests(base: str, rounds: int) -> None:
    """`rounds` times a page and a login, each answered within its timeout."""
    for _ in range(rounds):
        page = requests.get(f"{base}/login", timeout=10)
        login = requests.post(f"{base}/api/auth/login", timeout=10, json={
            "username": "staff", "password": SAMPLE_LOGINS["staff"][1]})
        assert page.status_code == 200 and login.status_code == 200, (page.status_code,
                                                                     login.status_code)


def test_the_production_setup_keeps_answering_during_a_slow_client_flood(app, database_server):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = _start_gunicorn(database_server.uri, port, log)
        try:
            _wait_until_up(base, process, log)
            _normal_requests(base, 1)
            with SlowClients(port) as flood:
                _normal_requests(base, ROUNDS)
                assert flood.thread.is_alive()  # every round answered while the flood was on
            assert flood.opened >= FLOOD
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        assert "gevent" in _read(log).lower() or "Using worker" in _read(log)
    print(f"{ROUNDS} rounds answered during {FLOOD} slow sockets "
          f"({flood.reopened} reopened after the header timeout)")

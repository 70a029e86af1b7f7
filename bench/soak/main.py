"""The soak's run: start the stack, set the caps, drive calls and API traffic, drain, check."""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import psycopg

from bench.soak.api import Actor, AdminActor, SellerActor, Tally
from bench.soak.calls import _load_process
from bench.soak.checks import (exact_checks, leak_report, recount_report, scan_logs,
                               set_tight_caps)
from bench.soak.config import ADMIN, CALL_TIMEOUT, SELLER_CAMPAIGNS, SELLERS
from bench.soak.invariants import SOAK_SCHEMA, Sampler
from bench.soak.memory import MemoryWatch
from bench.soak.report import print_report
from bench.soak.stack import Stack


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

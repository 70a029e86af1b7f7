"""The floor: the routing engine's own SQL for each call cycle, replayed by a raw psycopg loop.

The statements are imported from app/services/routing/statements.py (compiled once by
SQLAlchemy into psycopg's `%(name)s` form) — nothing is copied, and no application code runs:
no Flask, no SQLAlchemy engine or pool, no FastAGI, no pre-ping. The loop below only mirrors
the engine's control flow (service.py, planning.py), so each call issues the same statements in
the same transactions as the engine does for the same call (scenario.py's mix):

  route           OPEN_CALL; on first sight FIND_CAMPAIGN_FOR_DID, ATTACH_CAMPAIGN,
                  CAMPAIGN_RULES (the duplicate check; the data set allows duplicates);
                  CANDIDATES, COUNT_ATTEMPTS; LOCK_CANDIDATES once if any candidate is admissible;
                  per admissible candidate RESERVE (CAP_HIT_NOW when refused); APPEND_ROUND
                  (the round recorded on the call log); MARK_REJECTED when nothing was admitted
  attempt_result  END_ATTEMPT, LOCK_ATTEMPT, RELEASE_ATTEMPT, READ_DECISION + WRITE_DECISION
  answered        MARK_ANSWERED
  hangup          OPEN_ENDED_CALL, LOCK_CALL, [ANSWERED_RESERVATION unless DIALSTATUS is
                  ANSWER], CLOSE_OPEN_ATTEMPTS, FINISH_CALL, [COUNT_DELIVERED], RELEASE_CALL

each step one transaction. What planning.py decides in Python is reduced to what the data set
needs: a candidate is admissible when its link and client are active, it has an endpoint, a
weight, no cap hit (`capped_by`) and was not tried yet (the data set has no schedules); the
admissible ones are tried by priority, weighted-shuffled inside a tier. The decision JSON
written has the engine's shape (a round per routing step, a verdict per candidate).

Concurrency: `concurrency` call loops, each a thread with its own connection (non-autocommit,
psycopg's defaults, as under SQLAlchemy), split over `processes` processes so the client's
own Python does not become the bound.

Run alone: `python bench/sql_floor.py --uri postgresql://… --concurrency 50` on a database
holding scenario.py's data set (agi_load.py runs it for you).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (str(ROOT), str(Path(__file__).resolve().parent)):
    if path not in sys.path:
        sys.path.insert(0, path)

import psycopg  # noqa: E402
from psycopg.rows import namedtuple_row  # noqa: E402
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect  # noqa: E402

from app.services.routing import statements as S  # noqa: E402
from scenario import plan_call  # noqa: E402

FINAL_REJECTIONS = ("no_route", "all_capped", "all_failed", "error", "duplicate", "closed")
DIAL_HOLD_MARGIN = 30


def _compile(clause) -> str:
    return clause.compile(dialect=psycopg_dialect()).string


class Q:
    """Each statement of statements.py, in psycopg's paramstyle."""


for _name in dir(S):
    _value = getattr(S, _name)
    if _name.isupper() and hasattr(_value, "compile"):
        setattr(Q, _name, _compile(_value))

# What the loop below replays, and what the engine runs outside a call cycle (housekeeping) or
# only for rules the data set does not use (duplicate callers).
REPLAYED = {"OPEN_CALL", "FIND_CAMPAIGN_FOR_DID", "ATTACH_CAMPAIGN", "CAMPAIGN_RULES",
            "CANDIDATES", "COUNT_ATTEMPTS", "LOCK_CANDIDATES", "RESERVE", "CAP_HIT_NOW",
            "APPEND_ROUND", "READ_DECISION", "WRITE_DECISION", "MARK_REJECTED", "END_ATTEMPT", "LOCK_ATTEMPT",
            "RELEASE_ATTEMPT", "MARK_ANSWERED", "OPEN_ENDED_CALL", "LOCK_CALL",
            "ANSWERED_RESERVATION", "CLOSE_OPEN_ATTEMPTS", "FINISH_CALL", "COUNT_DELIVERED",
            "RELEASE_CALL"}
NOT_PER_CALL = {"EXPIRE_DIALING", "LOCK_EXPIRED", "VANISHED_CALLS", "CONCURRENT_DUPLICATE",
                "RECENT_CALL"}


def statements_not_replayed() -> list[str]:
    """Statements in statements.py this loop does not know: the engine changed, and this
    file must follow it (the figures would otherwise understate the floor's work)."""
    known = {name for name in vars(Q) if name.isupper()}
    return sorted(known - REPLAYED - NOT_PER_CALL)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _record_round(cur, uniqueid: str, round_: dict) -> None:
    cur.execute(Q.APPEND_ROUND, {"uniqueid": uniqueid, "round": json.dumps(round_, default=str)})


def _round(attempt: int, now: datetime, outcome: str, rows, verdicts: dict) -> dict:
    return {"attempt": attempt, "at": now.isoformat(), "outcome": outcome,
            "candidates": [{"setting_id": r.setting_id, "client_id": r.client_id,
                            "client": r.client_identifier, "priority": r.forwarding_priority,
                            "weight": r.weight, "verdict": verdicts.get(r.setting_id) or "standby"}
                           for r in rows if not r.attempted]}


def route(conn, uniqueid: str, planned, rng: random.Random):
    """One `route` transaction; returns (attempt, None) when admitted, else (None, reason)."""
    now = _now()
    with conn.cursor(row_factory=namedtuple_row) as cur:
        call = cur.execute(Q.OPEN_CALL, {"uniqueid": uniqueid, "linkedid": uniqueid,
                                         "did": planned.did, "caller_id": planned.callerid}).fetchone()
        if call.ended_at is not None or call.status in FINAL_REJECTIONS:
            conn.commit()
            return None, call.status
        campaign_id = call.campaign_id
        if call.is_new or campaign_id is None:
            campaign = cur.execute(Q.FIND_CAMPAIGN_FOR_DID, {"number": planned.did}).fetchone()
            if campaign is None:
                return _reject(conn, cur, call.id, "no_route")
            campaign_id = campaign.campaign_id
            cur.execute(Q.ATTACH_CAMPAIGN, {"campaign_id": campaign_id,
                                            "seller_id": campaign.seller_id, "call_id": call.id})
            cur.execute(Q.CAMPAIGN_RULES, {"campaign_id": campaign_id}).fetchone()
        rows = cur.execute(Q.CANDIDATES, {"campaign_id": campaign_id, "call_id": call.id,
                                          "now": now}).fetchall()
        attempts_so_far = cur.execute(Q.COUNT_ATTEMPTS, {"call_id": call.id}).fetchone()[0]
        attempt = attempts_so_far + 1
        verdicts = {}
        for r in rows:
            if r.link_status != "active" or r.client_status != "active":
                verdicts[r.setting_id] = "inactive"
            elif r.weight <= 0 or not r.has_endpoint:
                verdicts[r.setting_id] = "unusable"
            elif r.capped_by:
                verdicts[r.setting_id] = f"capped:{r.capped_by}"
        admissible = [r for r in rows if not r.attempted and r.setting_id not in verdicts]
        # Priority tiers, a weighted shuffle inside each (Efraimidis–Spirakis keys).
        admissible.sort(key=lambda r: (r.forwarding_priority,
                                       -(1.0 - rng.random()) ** (1.0 / r.weight)))
        if admissible:
            cur.execute(Q.LOCK_CANDIDATES,
                        {"setting_ids": [r.setting_id for r in admissible]}).fetchone()
        for r in admissible:
            admitted = cur.execute(Q.RESERVE, {
                "setting_id": r.setting_id, "uniqueid": uniqueid, "attempt": attempt,
                "call_id": call.id, "now": now,
                "hold_seconds": r.dial_timeout + DIAL_HOLD_MARGIN}).fetchone()
            if admitted is not None:
                verdicts[r.setting_id] = "dialled"
                _record_round(cur, uniqueid, _round(attempt, now, "dial", rows, verdicts))
                conn.commit()
                return attempt, None
            cap = cur.execute(Q.CAP_HIT_NOW, {"setting_id": r.setting_id, "now": now}).fetchone()
            verdicts[r.setting_id] = f"capped:{cap[0] if cap else 'race'}"
        if attempts_so_far:
            reason = "all_failed"
        elif any(v.startswith("capped:") for v in verdicts.values()):
            reason = "all_capped"
        else:
            reason = "no_route"
        _record_round(cur, uniqueid, _round(attempt, now, reason, rows, verdicts))
        return _reject(conn, cur, call.id, reason)


def _reject(conn, cur, call_id: int, reason: str):
    cur.execute(Q.MARK_REJECTED, {"call_id": call_id, "reason": reason})
    conn.commit()
    return None, reason


def attempt_result(conn, uniqueid: str, attempt: int, dial_status: str) -> None:
    with conn.cursor() as cur:
        params = {"uniqueid": uniqueid, "attempt": attempt}
        cur.execute(Q.END_ATTEMPT, {**params, "dial_status": dial_status})
        cur.execute(Q.LOCK_ATTEMPT, params).fetchall()
        cur.execute(Q.RELEASE_ATTEMPT, params).fetchall()
        decision = cur.execute(Q.READ_DECISION, {"uniqueid": uniqueid}).fetchone()
        for round_ in (decision[0] if decision else None) or []:
            if round_.get("attempt") == attempt:
                for candidate in round_["candidates"]:
                    if candidate["verdict"] == "dialled":
                        candidate["verdict"] = f"failed:{dial_status}"
                cur.execute(Q.WRITE_DECISION, {"uniqueid": uniqueid,
                                               "decision": json.dumps(decision[0])})
                break
    conn.commit()


def answered(conn, uniqueid: str, attempt: int) -> None:
    with conn.cursor() as cur:
        cur.execute(Q.MARK_ANSWERED, {"uniqueid": uniqueid, "attempt": attempt})
    conn.commit()


def hangup(conn, uniqueid: str, planned, dial_status, attempt, billsec, cause) -> str | None:
    with conn.cursor(row_factory=namedtuple_row) as cur:
        cur.execute(Q.OPEN_ENDED_CALL, {"uniqueid": uniqueid, "linkedid": uniqueid,
                                        "did": planned.did, "caller_id": planned.callerid})
        conn.execute(Q.LOCK_CALL, {"uniqueid": uniqueid}).fetchall()
        answered_attempt = attempt if dial_status == "ANSWER" else None
        if answered_attempt is None:
            row = cur.execute(Q.ANSWERED_RESERVATION, {"uniqueid": uniqueid}).fetchone()
            answered_attempt = row[0] if row else None
        cur.execute(Q.CLOSE_OPEN_ATTEMPTS, {"uniqueid": uniqueid, "answered_attempt": answered_attempt,
                                            "dial_status": dial_status})
        finished = cur.execute(Q.FINISH_CALL, {
            "uniqueid": uniqueid, "answered_attempt": answered_attempt, "billsec": billsec,
            "hangup_cause": cause, "unanswered_status": "abandoned"}).fetchone()
        if finished is not None and finished.answered_setting_id is not None:
            cur.execute(Q.COUNT_DELIVERED, {"setting_id": finished.answered_setting_id,
                                            "converted": finished.converted, "now": _now()})
        cur.execute(Q.RELEASE_CALL, {"uniqueid": uniqueid}).fetchall()
    conn.commit()
    return finished.status if finished is not None else None


RETRIED_SQLSTATES = ("40P01", "40001")  # as the engine's _in_transaction: run it again
RETRIES = 3


class Retries:
    count = 0  # per process: transactions PostgreSQL aborted (deadlock, serialisation)


def in_transaction(conn, step, *args):
    for attempt in range(1, RETRIES + 1):
        try:
            return step(conn, *args)
        except psycopg.Error as error:
            conn.rollback()
            if error.sqlstate not in RETRIED_SQLSTATES or attempt == RETRIES:
                raise
            Retries.count += 1
            time.sleep(0.005 * attempt)


def one_call(conn, uniqueid: str, planned, rng: random.Random) -> str:
    """The whole cycle the dialplan drives for one call; returns its outcome."""
    dial_status, attempt, outcome = None, None, None
    try:
        for status in planned.outcomes:
            admitted, reason = in_transaction(conn, route, uniqueid, planned, rng)
            if admitted is None:
                outcome = reason
                break
            attempt, dial_status = admitted, status
            if status == "ANSWER":
                in_transaction(conn, answered, uniqueid, attempt)
                outcome = "answered"
                break
            in_transaction(conn, attempt_result, uniqueid, attempt, status)
    except psycopg.Error:
        # The engine's handler would answer `error`; the dialplan hangs up and `h` still runs.
        outcome = "error"
    answered_call = dial_status == "ANSWER" and outcome == "answered"
    in_transaction(conn, hangup, uniqueid, planned, dial_status if outcome != "error" else None,
                   attempt, planned.talk_seconds if answered_call else None,
                   16 if answered_call else None)
    return outcome or "unknown"


def _process(connection, uri: str, threads: int, warmup: float, duration: float,
             seed: int, tag: str, switch_interval: float | None) -> None:
    """One process: open `threads` connections, say ready, wait for the start time, then run
    one call loop per connection; send the results back."""
    if switch_interval:
        sys.setswitchinterval(switch_interval)
    results = {"calls": 0, "outcomes": {}, "errors": [], "calls_total": 0}
    lock = threading.Lock()
    try:
        connections = [psycopg.connect(uri) for _ in range(threads)]
    except Exception as exc:  # noqa: BLE001 - report, do not hang the run
        connection.send({"error": repr(exc)})
        return
    connection.send("ready")
    start_at = connection.recv()
    origin = time.perf_counter() + (start_at - time.time())
    window_start, window_end = origin + warmup, origin + warmup + duration

    def loop(number: int, conn) -> None:
        rng = random.Random(f"{seed}-{number}")
        time.sleep(max(0.0, origin - time.perf_counter()))
        sequence = 0
        while time.perf_counter() < window_end:
            sequence += 1
            planned = plan_call(rng)
            uniqueid = f"{tag}-{number}-{sequence}.{number}"
            try:
                outcome = one_call(conn, uniqueid, planned, rng)
            except psycopg.Error as exc:  # even the hangup failed
                conn.rollback()
                with lock:
                    results["errors"].append(repr(exc))
                continue
            finished = time.perf_counter()
            with lock:
                results["calls_total"] += 1
                if window_start <= finished < window_end:
                    results["calls"] += 1
                    results["outcomes"][outcome] = results["outcomes"].get(outcome, 0) + 1

    workers = [threading.Thread(target=loop, args=(n, conn), daemon=True)
               for n, conn in enumerate(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for conn in connections:
        conn.close()
    results["errors"] = results["errors"][:20]
    results["retried"] = Retries.count
    connection.send(results)


def run_floor(uri: str, concurrency: int, *, duration: float, warmup: float,
              processes: int = 2, seed: int = 1, tag: str = "floor",
              on_start=None, switch_interval: float | None = None) -> dict:
    """Returns {"calls_per_s", "calls", "outcomes", "errors"} for the measurement window.

    `on_start(start_at, pids)` is called once every process is connected, with the time.time()
    at which the loops start and the processes' pids (agi_load.py meters their CPU)."""
    processes = max(1, min(processes, concurrency))
    shares = [concurrency // processes + (1 if i < concurrency % processes else 0)
              for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    children, pipes = [], []
    for number, share in enumerate(shares):
        receiver, sender = context.Pipe()
        child = context.Process(target=_process, args=(
            sender, uri, share, warmup, duration, seed * 1000 + number, f"{tag}{number}",
            switch_interval),
            daemon=True)
        child.start()
        children.append(child)
        pipes.append(receiver)
    for pipe in pipes:
        ready = pipe.recv()
        if ready != "ready":
            raise RuntimeError(f"floor process failed: {ready}")
    start_at = time.time() + 0.2
    for pipe in pipes:
        pipe.send(start_at)
    if on_start is not None:
        on_start(start_at, [child.pid for child in children])
    parts = [pipe.recv() for pipe in pipes]
    for child in children:
        child.join(timeout=30)
    total = {"calls": sum(p["calls"] for p in parts), "outcomes": {}, "errors": [],
             "calls_total": sum(p["calls_total"] for p in parts),
             "retried": sum(p["retried"] for p in parts)}
    for part in parts:
        for key, value in part["outcomes"].items():
            total["outcomes"][key] = total["outcomes"].get(key, 0) + value
        total["errors"] += part["errors"]
    total["calls_per_s"] = total["calls"] / duration
    total["not_replayed"] = statements_not_replayed()
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True, help="libpq URI of a database with the data set")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    result = run_floor(args.uri, args.concurrency, duration=args.duration, warmup=args.warmup,
                       processes=args.processes)
    print(f"floor at {args.concurrency}: {result['calls_per_s']:.0f} calls/s {result['outcomes']}"
          f"{' errors: ' + str(result['errors'][:3]) if result['errors'] else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Setting the tight caps, and every check once the calls have drained."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from bench.soak.api import ApiClient, Tally, _pct
from bench.soak.config import (ADMIN, CAMPAIGN_CAPS, CLIENT_SEATS, LINK_CAPS, SELLER_CAMPAIGNS,
                               SELLERS, TOTAL_HEADROOM)
from bench.soak.invariants import CAMPAIGN_TODAY
from bench.soak.stack import Stack


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
    # A client's or campaign's counter is kept only while a cap reads it (0 otherwise).
    for table, key, counts in (("clients", "client_id", "t.max_concurrency IS NOT NULL"),
                               ("campaigns", "campaign_id",
                                "cc_campaign_counts(t.max_concurrency, t.daily_cap)")):
        for ident, in_flight, held in conn.execute(f"""
                SELECT t.id, t.in_flight,
                       CASE WHEN {counts} THEN (SELECT count(*) FROM reservations r
                                                WHERE r.{key} = t.id) ELSE 0 END
                FROM {table} t""").fetchall():
            if in_flight != held:
                problems.append(f"{table} {ident}: in_flight {in_flight} != {held} kept")
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
           for n, log in enumerate((server.log_path for server in stack.agi), start=1)}
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

"""The benchmark's data set and call mix, shared by the FastAGI load (agi_load.py) and the SQL
floor (sql_floor.py) so that both push the same calls through the same rows.

Data set (on top of an empty, migrated database):
* one seller and two campaigns;
* "Bench Open": 8 clients, two priority tiers, caps far above any load, 10 DIDs — calls are
  admitted, a failed attempt fails over to the next client;
* "Bench Capped": 3 clients with small caps (concurrency 4 and 6, a total-calls cap of 100 that
  runs out during a level) and 5 DIDs — at 50 or 200 channels most of its calls end
  `all_capped`, so the capped path (every RESERVE refused, MARK_REJECTED) is part of the load.

Call mix, per call: 78 % to an open DID, 20 % to a capped DID, 2 % to an unknown number
(`no_route`). Each dial attempt answers with 70 % probability, else NOANSWER 15 % / BUSY 10 % /
CHANUNAVAIL 5 % (then the dialplan fails over).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

OPEN_DIDS = [f"+1415555{n:04d}" for n in range(200, 210)]
CAPPED_DIDS = [f"+1415555{n:04d}" for n in range(300, 305)]
UNKNOWN_DID = "+14155559999"

# (identifier, campaign, priority, weight, max_concurrency, total_calls_allowed)
SETTINGS = [
    *((f"bench-open-{i:02d}", "open", 1, 10 * i, 1_000_000, None) for i in range(1, 7)),
    ("bench-open-07", "open", 2, 50, 1_000_000, None),
    ("bench-open-08", "open", 2, 50, 1_000_000, None),
    ("bench-cap-01", "capped", 1, 50, 4, None),
    ("bench-cap-02", "capped", 1, 50, 1_000_000, 100),
    ("bench-cap-03", "capped", 2, 100, 6, None),
]

DIAL_OUTCOMES = (("ANSWER", 0.70), ("NOANSWER", 0.15), ("BUSY", 0.10), ("CHANUNAVAIL", 0.05))
MAX_ATTEMPTS = 12  # more than any campaign has candidates


@dataclass(frozen=True)
class PlannedCall:
    did: str            # E.164, as stored
    callerid: str
    outcomes: tuple     # DIALSTATUS of attempt 1, 2, … (the dialplan stops at ANSWER)
    talk_seconds: int

    @property
    def extension(self) -> str:
        """What a carrier puts in the request URI (and so ${EXTEN}): digits without '+'."""
        return self.did.lstrip("+")


def plan_call(rng: random.Random) -> PlannedCall:
    pick = rng.random()
    if pick < 0.78:
        did = rng.choice(OPEN_DIDS)
    elif pick < 0.98:
        did = rng.choice(CAPPED_DIDS)
    else:
        did = UNKNOWN_DID
    names, weights = zip(*DIAL_OUTCOMES)
    outcomes = tuple(rng.choices(names, weights, k=MAX_ATTEMPTS))
    return PlannedCall(did=did, callerid=f"+1310555{rng.randrange(10_000):04d}",
                       outcomes=outcomes, talk_seconds=rng.randrange(5, 300))


# ---------------------------------------------------------------------------- data set

def load_dataset(conn) -> None:
    """Insert the data set with a psycopg connection (committed by the caller)."""
    seller_id = conn.execute(
        "INSERT INTO users (username, email, password_hash, role, status) "
        "VALUES ('bench-seller', 'bench-seller@bench.example', 'x', 'seller', 'active') "
        "RETURNING id").fetchone()[0]
    campaigns = {}
    for key, name in (("open", "Bench Open"), ("capped", "Bench Capped")):
        campaigns[key] = conn.execute(
            "INSERT INTO campaigns (seller_id, name, status, dial_timeout) "
            "VALUES (%s, %s, 'active', 30) RETURNING id", (seller_id, name)).fetchone()[0]
    for key, numbers in (("open", OPEN_DIDS), ("capped", CAPPED_DIDS)):
        for number in numbers:
            did_id = conn.execute(
                "INSERT INTO dids (number, seller_id, status) VALUES (%s, %s, 'active') "
                "RETURNING id", (number, seller_id)).fetchone()[0]
            conn.execute("INSERT INTO campaign_dids (did_id, campaign_id) VALUES (%s, %s)",
                         (did_id, campaigns[key]))
    for identifier, key, priority, weight, max_concurrency, total in SETTINGS:
        client_id = conn.execute(
            "INSERT INTO clients (client_identifier, name, status) VALUES (%s, %s, 'active') "
            "RETURNING id", (identifier, identifier)).fetchone()[0]
        conn.execute("INSERT INTO ps_aors (id, contact, max_contacts) VALUES (%s, %s, 1)",
                     (identifier, f"sip:agent@{identifier}.bench.example:5060"))
        conn.execute(
            "INSERT INTO ps_endpoints (id, transport, aors, context, disallow, allow, direct_media) "
            "VALUES (%s, 'transport-udp', %s, 'cc-from-clients', 'all', 'ulaw', 'no')",
            (identifier, identifier))
        conn.execute(
            "INSERT INTO campaign_client_settings (campaign_id, client_id, status, "
            "forwarding_priority, weight, max_concurrency, total_calls_allowed) "
            "VALUES (%s, %s, 'active', %s, %s, %s, %s)",
            (campaigns[key], client_id, priority, weight, max_concurrency, total))


def reset_calls(admin_conn) -> None:
    """Between phases (nothing in flight): empty the call tables, zero the counters, vacuum.

    `admin_conn` is an autocommit psycopg connection (VACUUM needs one)."""
    admin_conn.execute("TRUNCATE call_attempts, call_logs, reservations RESTART IDENTITY")
    admin_conn.execute(
        "UPDATE campaign_client_settings SET in_flight = 0, current_total_calls = 0, "
        "hour_count = 0, hour_start = NULL, day_count = 0, day_start = NULL, "
        "month_count = 0, month_start = NULL")
    admin_conn.execute("UPDATE clients SET in_flight = 0")
    admin_conn.execute("UPDATE campaigns SET in_flight = 0, day_count = 0, day_start = NULL")
    admin_conn.execute("VACUUM (ANALYZE) campaign_client_settings, clients, campaigns, call_logs, "
                       "call_attempts, reservations")


def integrity_report(conn) -> dict:
    """After a phase has drained: do the counters equal a recount, and did every cap hold?"""
    rows = conn.execute("""
        SELECT s.id, s.in_flight, s.current_total_calls, s.max_concurrency, s.total_calls_allowed,
               (SELECT count(*) FROM reservations r WHERE r.setting_id = s.id) AS held,
               (SELECT count(*) FROM call_attempts a JOIN call_logs c ON c.id = a.call_log_id
                WHERE a.setting_id = s.id AND a.dial_status = 'ANSWER'
                  AND c.ended_at IS NOT NULL) AS delivered
        FROM campaign_client_settings s ORDER BY s.id""").fetchall()
    problems = []
    for sid, in_flight, total, max_conc, allowed, held, delivered in rows:
        if in_flight != held or in_flight != 0:
            problems.append(f"setting {sid}: in_flight {in_flight}, reservations {held} after drain")
        if total != delivered:
            problems.append(f"setting {sid}: current_total_calls {total} != recount {delivered}")
        if allowed is not None and total > allowed:
            problems.append(f"setting {sid}: {total} delivered > total_calls_allowed {allowed}")
    for table in ("clients", "campaigns"):
        held = conn.execute(f"SELECT count(*) FROM {table} WHERE in_flight <> 0").fetchone()[0]
        if held:
            problems.append(f"{held} {table} row(s) with in_flight <> 0 after drain")
    open_calls = conn.execute("SELECT count(*) FROM call_logs WHERE ended_at IS NULL").fetchone()[0]
    if open_calls:
        problems.append(f"{open_calls} call log(s) never ended")
    statuses = dict(conn.execute(
        "SELECT status, count(*) FROM call_logs GROUP BY status").fetchall())
    return {"ok": not problems, "problems": problems, "call_log_statuses": statuses}

"""The benchmark's data set and call mixes, shared by the FastAGI load (bench.agi_load) and the
pgbench scripts (bench/pgbench/*.sql) so that the application, the engine's SQL and the floor
push the same calls through the same rows.

Data set (on top of an empty, migrated database):
* "spread": 100 links, each its own campaign, client and DID (SPREAD_DIDS), so that a call
  touches one link, one client and one campaign, as in the floor; links 91-100 are capped
  (concurrency 2, and link 100 also a total of 200 calls), so refusals on locked rows are part
  of every level;
* "hot": one campaign, one client, one link, one DID (HOT_DID): every call on the same rows;
* one seller and two campaigns;
* "Bench Open": 8 clients, two priority tiers, caps far above any load, 10 DIDs — calls are
  admitted, a failed attempt fails over to the next client;
* "Bench Capped": 3 clients with small caps (concurrency 4 and 6, a total-calls cap of 100 that
  runs out during a level) and 5 DIDs — at 50 or 200 channels most of its calls end
  `all_capped`, so the capped path (every RESERVE refused, MARK_REJECTED) is part of the load.

Call mixes. "spread" / "hot": every call to a random spread DID / the hot DID, answered at
the first attempt (the floor's cycle: reserve, answer, hang up). "campaign": every call to
an open DID (one campaign, 8 clients, 8 links), answered at the first attempt. "abandon": the
same, but half the callers hang up while the first attempt rings. "mixed", per call: 78 % to an open DID, 20 % to a capped DID, 2 % to an unknown number
(`no_route`). Each dial attempt answers with 70 % probability, else NOANSWER 15 % / BUSY 10 % /
CHANUNAVAIL 5 % (then the dialplan fails over).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

OPEN_DIDS = [f"+1415555{n:04d}" for n in range(200, 210)]
CAPPED_DIDS = [f"+1415555{n:04d}" for n in range(300, 305)]
UNKNOWN_DID = "+14155559999"
SPREAD_LINKS = 100
SPREAD_DID_BASE = 4155561000        # link i (0-based) has DID +1 (base + i)
SPREAD_DIDS = [f"+1{SPREAD_DID_BASE + i}" for i in range(SPREAD_LINKS)]
HOT_DID_BASE = 4155557000
HOT_DID = f"+1{HOT_DID_BASE}"
# spread link index (0-based) -> (max_concurrency, total_calls_allowed)
SPREAD_CAPS = {i: (2, 200 if i == SPREAD_LINKS - 1 else None) for i in range(90, SPREAD_LINKS)}

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


ANSWER_FIRST = ("ANSWER",) * MAX_ATTEMPTS
MIXES = ("spread", "hot", "campaign", "abandon", "mixed")
ABANDONED_WHILE_RINGING = ("CANCEL",) * MAX_ATTEMPTS


def plan_call(rng: random.Random, mix: str = "mixed") -> PlannedCall:
    callerid = f"+1310555{rng.randrange(10_000):04d}"
    if mix == "spread":
        return PlannedCall(did=rng.choice(SPREAD_DIDS), callerid=callerid, outcomes=ANSWER_FIRST,
                           talk_seconds=rng.randrange(5, 300))
    if mix == "campaign":  # one campaign, its 8 clients by priority and weight
        return PlannedCall(did=rng.choice(OPEN_DIDS), callerid=callerid, outcomes=ANSWER_FIRST,
                           talk_seconds=rng.randrange(5, 300))
    if mix == "abandon":
        return PlannedCall(did=rng.choice(OPEN_DIDS), callerid=callerid,
                           outcomes=ANSWER_FIRST if rng.random() < 0.5 else ABANDONED_WHILE_RINGING,
                           talk_seconds=rng.randrange(5, 300))
    if mix == "hot":
        return PlannedCall(did=HOT_DID, callerid=callerid, outcomes=ANSWER_FIRST,
                           talk_seconds=rng.randrange(5, 300))
    pick = rng.random()
    if pick < 0.78:
        did = rng.choice(OPEN_DIDS)
    elif pick < 0.98:
        did = rng.choice(CAPPED_DIDS)
    else:
        did = UNKNOWN_DID
    names, weights = zip(*DIAL_OUTCOMES)
    outcomes = tuple(rng.choices(names, weights, k=MAX_ATTEMPTS))
    return PlannedCall(did=did, callerid=callerid, outcomes=outcomes, talk_seconds=rng.randrange(5, 300))


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
    links = [_one_link_campaign(conn, seller_id, f"Bench Link {i:03d}", f"bench-link-{i:03d}",
                                SPREAD_DIDS[i], *SPREAD_CAPS.get(i, (1_000_000, None)))
             for i in range(SPREAD_LINKS)]
    if links != list(range(links[0], links[0] + SPREAD_LINKS)):
        raise RuntimeError("the spread links' ids are not contiguous (pgbench picks them by id)")
    _one_link_campaign(conn, seller_id, "Bench Hot", "bench-hot", HOT_DID, 1_000_000, None)


def _one_link_campaign(conn, seller_id: int, name: str, identifier: str, did: str,
                       max_concurrency: int, total: int | None) -> int:
    """A campaign with one DID and one link to its own client; returns the link's id."""
    campaign_id = conn.execute(
        "INSERT INTO campaigns (seller_id, name, status, dial_timeout) "
        "VALUES (%s, %s, 'active', 30) RETURNING id", (seller_id, name)).fetchone()[0]
    did_id = conn.execute("INSERT INTO dids (number, seller_id, status) VALUES (%s, %s, 'active') "
                          "RETURNING id", (did, seller_id)).fetchone()[0]
    conn.execute("INSERT INTO campaign_dids (did_id, campaign_id) VALUES (%s, %s)",
                 (did_id, campaign_id))
    client_id = conn.execute(
        "INSERT INTO clients (client_identifier, name, status) VALUES (%s, %s, 'active') "
        "RETURNING id", (identifier, identifier)).fetchone()[0]
    conn.execute("INSERT INTO ps_aors (id, contact, max_contacts) VALUES (%s, %s, 1)",
                 (identifier, f"sip:agent@{identifier}.bench.example:5060"))
    conn.execute(
        "INSERT INTO ps_endpoints (id, transport, aors, context, disallow, allow, direct_media) "
        "VALUES (%s, 'transport-udp', %s, 'cc-from-clients', 'all', 'ulaw', 'no')",
        (identifier, identifier))
    return conn.execute(
        "INSERT INTO campaign_client_settings (campaign_id, client_id, status, "
        "forwarding_priority, weight, max_concurrency, total_calls_allowed) "
        "VALUES (%s, %s, 'active', 1, 100, %s, %s) RETURNING id",
        (campaign_id, client_id, max_concurrency, total)).fetchone()[0]


def link_ids(conn) -> dict:
    """{"spread": first spread link id, "hot": the hot link's id}"""
    first = conn.execute("SELECT s.id FROM campaign_client_settings s JOIN clients c "
                         "ON c.id = s.client_id WHERE c.client_identifier = 'bench-link-000'"
                         ).fetchone()[0]
    hot = conn.execute("SELECT s.id FROM campaign_client_settings s JOIN clients c "
                       "ON c.id = s.client_id WHERE c.client_identifier = 'bench-hot'").fetchone()[0]
    return {"spread": first, "hot": hot}


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
    """After a phase has drained: do the counters equal a recount, did every cap hold, is no
    reservation left? The recount is from the call logs (answered calls of the link's campaign
    and client: one link per pair), which the engine and the floor both write."""
    rows = conn.execute("""
        WITH delivered AS (
            SELECT campaign_id, client_id, count(*) AS n FROM call_logs
            WHERE status = 'answered' AND ended_at IS NOT NULL GROUP BY campaign_id, client_id),
        held AS (SELECT setting_id, count(*) AS n FROM reservations GROUP BY setting_id)
        SELECT s.id, s.in_flight, s.current_total_calls, s.max_concurrency, s.total_calls_allowed,
               coalesce(h.n, 0), coalesce(d.n, 0)
        FROM campaign_client_settings s
        LEFT JOIN held h ON h.setting_id = s.id
        LEFT JOIN delivered d ON d.campaign_id = s.campaign_id AND d.client_id = s.client_id
        ORDER BY s.id""").fetchall()
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
    leaked = conn.execute("SELECT count(*) FROM reservations").fetchone()[0]
    if leaked:
        problems.append(f"{leaked} reservation(s) left after drain")
    statuses = dict(conn.execute(
        "SELECT status, count(*) FROM call_logs GROUP BY status").fetchall())
    return {"ok": not problems, "problems": problems, "call_log_statuses": statuses}

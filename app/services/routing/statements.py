"""Every SQL statement the routing engine sends, in one place.

Counters live on three kinds of rows: the link (campaign_client_settings), the client (its
seats) and the campaign. Every transaction that changes a client's or a campaign's counters
first takes transaction-scoped advisory locks on them in one global order (all clients by id,
then all campaigns by id; LOCK_* below), so reservations and releases can never deadlock and
each statement's snapshot already holds every committed change to those counters. The link row
itself is locked by the reservation (FOR UPDATE), so a seller's concurrent edit of its caps is
seen too.

RESERVE checks every cap (caps.py) and, only if all hold, raises the three in-flight counters
and writes the reservation and the attempt: all or nothing, in one statement. Releases delete
reservation rows and subtract what the DELETE returned, so a second release of the same slot
deletes nothing and subtracts nothing.
"""
from sqlalchemy import text

from app.services.routing.caps import (ALL_CAPS_HOLD, CAMPAIGN_DAY_START, FIRST_CAP_HIT,
                                       PERIOD_STARTS, count_period)

CLIENT_LOCKS, CAMPAIGN_LOCKS = 1, 2  # advisory lock namespaces

OPEN_CALL = text("""
WITH opened AS (
    INSERT INTO call_logs (uniqueid, linkedid, did, caller_id, status, started_at)
    VALUES (:uniqueid, :linkedid, :did, :caller_id, 'in_progress', now())
    ON CONFLICT (uniqueid) DO NOTHING
    RETURNING id, status, campaign_id, ended_at, true AS is_new
)
SELECT * FROM opened
UNION ALL
SELECT id, status, campaign_id, ended_at, false FROM call_logs WHERE uniqueid = :uniqueid
LIMIT 1
""")

FIND_CAMPAIGN_FOR_DID = text("""
SELECT c.id AS campaign_id, c.seller_id
FROM dids d
JOIN campaign_dids cd ON cd.did_id = d.id
JOIN campaigns c ON c.id = cd.campaign_id
JOIN users u ON u.id = c.seller_id
WHERE d.number = :number AND d.status = 'active' AND c.status = 'active' AND u.status = 'active'
""")

ATTACH_CAMPAIGN = text("""
UPDATE call_logs SET campaign_id = :campaign_id, seller_id = :seller_id WHERE id = :call_id
""")

CAMPAIGN_RULES = text("""
SELECT id, status, duplicate_window_hours, duplicate_action, reject_concurrent_duplicate
FROM campaigns WHERE id = :campaign_id
""")

# Another call of this caller to this campaign that is still up.
CONCURRENT_DUPLICATE = text("""
SELECT 1 FROM call_logs
WHERE campaign_id = :campaign_id AND caller_id = :caller_id AND ended_at IS NULL
  AND status = 'in_progress' AND uniqueid <> :uniqueid AND started_at > CAST(:now AS timestamptz) - interval '1 day'
LIMIT 1
""")

# This caller's latest earlier call to this campaign inside the window, and who answered it.
RECENT_CALL = text("""
SELECT status, client_id FROM call_logs
WHERE campaign_id = :campaign_id AND caller_id = :caller_id AND uniqueid <> :uniqueid
  AND started_at > CAST(:now AS timestamptz) - make_interval(hours => :window_hours)
  AND started_at <= CAST(:now AS timestamptz)
ORDER BY (status = 'answered') DESC, started_at DESC
LIMIT 1
""")

CANDIDATES = text(f"""
SELECT s.id AS setting_id, s.client_id, s.forwarding_priority, s.weight, s.status AS link_status,
       c.client_identifier, c.name AS client_name, c.status AS client_status, c.timezone,
       c.schedule, c.closures, cp.dial_timeout,
       EXISTS (SELECT 1 FROM ps_endpoints e WHERE e.id = c.client_identifier) AS has_endpoint,
       EXISTS (SELECT 1 FROM call_attempts a
               WHERE a.call_log_id = :call_id AND a.setting_id = s.id) AS attempted,
       {FIRST_CAP_HIT} AS capped_by
FROM campaign_client_settings s
JOIN clients c ON c.id = s.client_id
JOIN campaigns cp ON cp.id = s.campaign_id
WHERE s.campaign_id = :campaign_id
ORDER BY s.forwarding_priority, s.id
""")

COUNT_ATTEMPTS = text("SELECT count(*) FROM call_attempts WHERE call_log_id = :call_id")

RESERVE = text(f"""
WITH target AS (
    SELECT s.id AS setting_id, s.client_id, s.campaign_id
    FROM campaign_client_settings s
    JOIN clients c ON c.id = s.client_id
    JOIN campaigns cp ON cp.id = s.campaign_id
    WHERE s.id = :setting_id AND s.status = 'active' AND c.status = 'active'
      AND cp.status = 'active' AND {ALL_CAPS_HOLD}
    FOR UPDATE OF s
), raise_link AS (
    UPDATE campaign_client_settings s SET in_flight = s.in_flight + 1
    FROM target t WHERE s.id = t.setting_id RETURNING s.id
), raise_client AS (
    UPDATE clients c SET in_flight = c.in_flight + 1
    FROM target t WHERE c.id = t.client_id RETURNING c.id
), raise_campaign AS (
    UPDATE campaigns cp SET in_flight = cp.in_flight + 1
    FROM target t WHERE cp.id = t.campaign_id RETURNING cp.id
), reserved AS (
    INSERT INTO reservations (uniqueid, attempt, setting_id, client_id, campaign_id, state,
                              created_at, expires_at)
    SELECT :uniqueid, :attempt, setting_id, client_id, campaign_id, 'dialing', now(),
           now() + make_interval(secs => :hold_seconds)
    FROM target
    RETURNING setting_id, client_id
)
INSERT INTO call_attempts (call_log_id, attempt_no, client_id, setting_id, started_at)
SELECT :call_id, :attempt, client_id, setting_id, now() FROM reserved
RETURNING attempt_no
""")

# Which cap stopped a candidate that looked admissible a moment before (a race lost).
CAP_HIT_NOW = text(f"""
SELECT CASE WHEN s.status <> 'active' OR c.status <> 'active' OR cp.status <> 'active'
            THEN 'inactive' ELSE {FIRST_CAP_HIT} END
FROM campaign_client_settings s
JOIN clients c ON c.id = s.client_id
JOIN campaigns cp ON cp.id = s.campaign_id
WHERE s.id = :setting_id
""")

MARK_REJECTED = text("""
UPDATE call_logs SET status = :reason WHERE id = :call_id AND status = 'in_progress'
""")

APPEND_ROUND = text("""
UPDATE call_logs SET decision = decision || jsonb_build_array(CAST(:round AS jsonb))
WHERE uniqueid = :uniqueid
""")
READ_DECISION = text("SELECT decision FROM call_logs WHERE uniqueid = :uniqueid FOR UPDATE")
WRITE_DECISION = text("""
UPDATE call_logs SET decision = CAST(:decision AS jsonb) WHERE uniqueid = :uniqueid
""")

END_ATTEMPT = text("""
UPDATE call_attempts a
SET ended_at = now(), dial_status = :dial_status,
    duration = GREATEST(0, round(extract(epoch FROM now() - a.started_at)))::int
FROM call_logs c
WHERE c.uniqueid = :uniqueid AND a.call_log_id = c.id AND a.attempt_no = :attempt
  AND a.ended_at IS NULL
""")

MARK_ANSWERED = text("""
WITH held AS (
    UPDATE reservations SET state = 'answered', expires_at = NULL
    WHERE uniqueid = :uniqueid AND attempt = :attempt
    RETURNING client_id
)
UPDATE call_logs SET answered_at = coalesce(answered_at, now()),
                     client_id = coalesce((SELECT client_id FROM held), client_id)
WHERE uniqueid = :uniqueid AND ended_at IS NULL
""")

# Locks for every client and campaign whose counters a release of these rows will touch.
_LOCK_FOR = """
SELECT count(*) FROM (
    SELECT pg_advisory_xact_lock(kind, id) FROM (
        SELECT DISTINCT {client_locks} AS kind, client_id AS id FROM ({rows}) r
        UNION
        SELECT DISTINCT {campaign_locks}, campaign_id FROM ({rows}) r
        ORDER BY 1, 2
    ) ordered
) taken
"""


def _locks_for(rows: str):
    return text(_LOCK_FOR.format(client_locks=CLIENT_LOCKS, campaign_locks=CAMPAIGN_LOCKS,
                                 rows=rows))


def _release(where: str, final: str = ""):
    return text(f"""
WITH released AS (
    DELETE FROM reservations WHERE {where}
    RETURNING setting_id, client_id, campaign_id
), lower_link AS (
    UPDATE campaign_client_settings s SET in_flight = s.in_flight - r.n
    FROM (SELECT setting_id, count(*) AS n FROM released GROUP BY setting_id) r
    WHERE s.id = r.setting_id RETURNING s.id
), lower_client AS (
    UPDATE clients c SET in_flight = c.in_flight - r.n
    FROM (SELECT client_id, count(*) AS n FROM released GROUP BY client_id) r
    WHERE c.id = r.client_id RETURNING c.id
), lower_campaign AS (
    UPDATE campaigns cp SET in_flight = cp.in_flight - r.n
    FROM (SELECT campaign_id, count(*) AS n FROM released GROUP BY campaign_id) r
    WHERE cp.id = r.campaign_id RETURNING cp.id
)
SELECT count(*) AS n FROM released
""")


# A candidate's client, then its campaign, before its RESERVE. Each candidate is tried in a
# transaction of its own, so a route never asks for a client lock while holding a campaign's.
LOCK_CANDIDATES = _locks_for(
    "SELECT client_id, campaign_id FROM campaign_client_settings WHERE id = ANY(:setting_ids)")

LOCK_ATTEMPT = _locks_for(
    "SELECT client_id, campaign_id FROM reservations WHERE uniqueid = :uniqueid AND attempt = :attempt")
RELEASE_ATTEMPT = _release("uniqueid = :uniqueid AND attempt = :attempt")

# A call's own reservations plus the link that answered it (its counters move at hangup).
LOCK_CALL = _locks_for("""
    SELECT client_id, campaign_id FROM reservations WHERE uniqueid = :uniqueid
    UNION
    SELECT s.client_id, s.campaign_id FROM call_attempts a
    JOIN call_logs l ON l.id = a.call_log_id
    JOIN campaign_client_settings s ON s.id = a.setting_id
    WHERE l.uniqueid = :uniqueid""")
RELEASE_CALL = _release("uniqueid = :uniqueid")

LOCK_EXPIRED = _locks_for(
    "SELECT client_id, campaign_id FROM reservations WHERE state = 'dialing' AND expires_at < now()")
EXPIRE_DIALING = _release("state = 'dialing' AND expires_at < now()")

ANSWERED_RESERVATION = text("""
SELECT attempt FROM reservations WHERE uniqueid = :uniqueid AND state = 'answered'
ORDER BY attempt DESC LIMIT 1
""")

# A call that ends without ever reaching `route` (caller gone at once) still gets its log line.
OPEN_ENDED_CALL = text("""
INSERT INTO call_logs (uniqueid, linkedid, did, caller_id, status, started_at)
VALUES (:uniqueid, :linkedid, :did, :caller_id, 'in_progress', now())
ON CONFLICT (uniqueid) DO NOTHING
""")

# The call's last DIALSTATUS belongs to its latest attempt only. An earlier attempt still open
# lost its attempt_result: what its Dial ended with is unknown, and it was not answered.
CLOSE_OPEN_ATTEMPTS = text("""
UPDATE call_attempts a
SET ended_at = now(),
    dial_status = CASE
        WHEN a.attempt_no = :answered_attempt THEN 'ANSWER'
        WHEN a.attempt_no < (SELECT max(b.attempt_no) FROM call_attempts b
                             WHERE b.call_log_id = a.call_log_id) THEN 'UNKNOWN'
        WHEN :dial_status = 'ANSWER' THEN 'UNKNOWN'
        ELSE coalesce(:dial_status, 'CANCEL') END,
    duration = GREATEST(0, round(extract(epoch FROM now() - a.started_at)))::int
FROM call_logs c
WHERE c.uniqueid = :uniqueid AND a.call_log_id = c.id AND a.ended_at IS NULL
""")

# The one-time finalisation: only the first end of a call finds ended_at still NULL. An
# answered call is converted when it talked at least the campaign's billable_after.
FINISH_CALL = text("""
WITH answered AS (
    SELECT a.client_id, a.setting_id, s.buyer_price, cp.payout,
           coalesce(:billsec, 0) >= coalesce(cp.billable_after, 0) AS converted
    FROM call_attempts a
    JOIN call_logs c ON c.id = a.call_log_id
    LEFT JOIN campaign_client_settings s ON s.id = a.setting_id
    LEFT JOIN campaigns cp ON cp.id = c.campaign_id
    WHERE c.uniqueid = :uniqueid AND a.attempt_no = :answered_attempt
      AND a.dial_status = 'ANSWER'
)
UPDATE call_logs c
SET ended_at = now(),
    duration = GREATEST(0, round(extract(epoch FROM now() - c.started_at)))::int,
    billsec = CASE WHEN EXISTS (SELECT 1 FROM answered) THEN coalesce(:billsec, 0) ELSE 0 END,
    hangup_cause = :hangup_cause,
    status = CASE WHEN EXISTS (SELECT 1 FROM answered) THEN 'answered'
                  WHEN c.status = 'in_progress' THEN :unanswered_status
                  ELSE c.status END,
    answered_at = CASE WHEN EXISTS (SELECT 1 FROM answered)
                       THEN coalesce(c.answered_at, now()) END,
    client_id = coalesce((SELECT client_id FROM answered), c.client_id),
    converted = coalesce((SELECT converted FROM answered), false),
    payout = (SELECT payout FROM answered WHERE converted),
    revenue = (SELECT buyer_price FROM answered WHERE converted)
WHERE c.uniqueid = :uniqueid AND c.ended_at IS NULL
RETURNING c.id, c.status, c.converted,
          (SELECT setting_id FROM answered) AS answered_setting_id
""")

# An answered call joins its link's total and, where they count it, the period counts.
COUNT_DELIVERED = text(f"""
WITH counted AS (
    UPDATE campaign_client_settings s
    SET current_total_calls = s.current_total_calls + 1,
        {count_period("s", "hour", PERIOD_STARTS["hour"], "counts")},
        {count_period("s", "day", PERIOD_STARTS["day"], "counts")},
        {count_period("s", "month", PERIOD_STARTS["month"], "counts")}
    FROM clients c, (SELECT (:converted OR s2.cap_counts = 'answered') AS counts
                     FROM campaign_client_settings s2 WHERE s2.id = :setting_id) k
    WHERE s.id = :setting_id AND c.id = s.client_id
    RETURNING s.campaign_id
)
UPDATE campaigns cp SET {count_period("cp", "day", CAMPAIGN_DAY_START, "true")}
FROM counted WHERE cp.id = counted.campaign_id
""")

VANISHED_CALLS = text("""
SELECT uniqueid FROM reservations
WHERE created_at < now() - make_interval(secs => :grace_seconds)
  AND NOT (uniqueid = ANY(:live))
UNION
SELECT uniqueid FROM call_logs
WHERE ended_at IS NULL AND started_at < now() - make_interval(secs => :grace_seconds)
  AND NOT (uniqueid = ANY(:live))
""")

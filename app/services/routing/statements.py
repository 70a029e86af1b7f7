"""Every SQL statement the routing engine sends, in one place.

The caps are enforced by RESERVE alone: a conditional UPDATE that PostgreSQL re-checks after
taking the row lock, chained to the INSERTs of the reservation and the attempt, so admission,
the slot and the log line are one atomic statement. Releases delete reservation rows and
subtract what the DELETE returned: a second release of the same slot deletes nothing and so
subtracts nothing.
"""
from sqlalchemy import text

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

CANDIDATES = text("""
SELECT s.id AS setting_id, s.client_id, s.forwarding_priority, s.weight,
       cl.client_identifier, cp.dial_timeout
FROM campaign_client_settings s
JOIN campaigns cp ON cp.id = s.campaign_id AND cp.status = 'active'
JOIN clients cl ON cl.id = s.client_id AND cl.status = 'active'
WHERE s.campaign_id = :campaign_id
  AND s.status = 'active'
  AND s.weight > 0
  AND EXISTS (SELECT 1 FROM ps_endpoints e WHERE e.id = cl.client_identifier)
  AND NOT EXISTS (SELECT 1 FROM call_attempts a
                  WHERE a.call_log_id = :call_id AND a.setting_id = s.id)
""")

COUNT_ATTEMPTS = text("SELECT count(*) FROM call_attempts WHERE call_log_id = :call_id")

RESERVE = text("""
WITH admitted AS (
    UPDATE campaign_client_settings
    SET in_flight = in_flight + 1
    WHERE id = :setting_id
      AND status = 'active'
      AND in_flight < max_concurrency
      AND (total_calls_allowed IS NULL OR current_total_calls + in_flight < total_calls_allowed)
    RETURNING id, client_id, campaign_id
), reserved AS (
    INSERT INTO reservations (uniqueid, attempt, setting_id, client_id, campaign_id, state,
                              created_at, expires_at)
    SELECT :uniqueid, :attempt, id, client_id, campaign_id, 'dialing', now(),
           now() + make_interval(secs => :hold_seconds)
    FROM admitted
    RETURNING setting_id, client_id
)
INSERT INTO call_attempts (call_log_id, attempt_no, client_id, setting_id, started_at)
SELECT :call_id, :attempt, client_id, setting_id, now() FROM reserved
RETURNING attempt_no
""")

MARK_REJECTED = text("""
UPDATE call_logs SET status = :reason WHERE id = :call_id AND status = 'in_progress'
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

# Releases: what the DELETE returned is what gets subtracted.
RELEASE_ATTEMPT = text("""
WITH released AS (
    DELETE FROM reservations WHERE uniqueid = :uniqueid AND attempt = :attempt
    RETURNING setting_id
), per_setting AS (SELECT setting_id, count(*) AS n FROM released GROUP BY setting_id)
UPDATE campaign_client_settings s SET in_flight = s.in_flight - p.n
FROM per_setting p WHERE s.id = p.setting_id
""")

RELEASE_CALL = text("""
WITH released AS (
    DELETE FROM reservations WHERE uniqueid = :uniqueid
    RETURNING setting_id, attempt, state
), per_setting AS (SELECT setting_id, count(*) AS n FROM released GROUP BY setting_id)
UPDATE campaign_client_settings s SET in_flight = s.in_flight - p.n
FROM per_setting p WHERE s.id = p.setting_id
""")

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

CLOSE_OPEN_ATTEMPTS = text("""
UPDATE call_attempts a
SET ended_at = now(),
    dial_status = CASE WHEN a.attempt_no = :answered_attempt THEN 'ANSWER'
                       ELSE coalesce(:dial_status, 'CANCEL') END,
    duration = GREATEST(0, round(extract(epoch FROM now() - a.started_at)))::int
FROM call_logs c
WHERE c.uniqueid = :uniqueid AND a.call_log_id = c.id AND a.ended_at IS NULL
""")

# The one-time finalisation: only the first end of a call finds ended_at still NULL.
FINISH_CALL = text("""
WITH answered AS (
    SELECT a.client_id, a.setting_id
    FROM call_attempts a JOIN call_logs c ON c.id = a.call_log_id
    WHERE c.uniqueid = :uniqueid AND a.attempt_no = :answered_attempt
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
    client_id = coalesce((SELECT client_id FROM answered), c.client_id)
WHERE c.uniqueid = :uniqueid AND c.ended_at IS NULL
RETURNING c.id, c.status, (SELECT setting_id FROM answered) AS answered_setting_id
""")

COUNT_DELIVERED = text("""
UPDATE campaign_client_settings SET current_total_calls = current_total_calls + 1
WHERE id = :setting_id
""")

EXPIRE_DIALING = text("""
WITH released AS (
    DELETE FROM reservations WHERE state = 'dialing' AND expires_at < now()
    RETURNING setting_id
), per_setting AS (SELECT setting_id, count(*) AS n FROM released GROUP BY setting_id)
UPDATE campaign_client_settings s SET in_flight = s.in_flight - p.n
FROM per_setting p WHERE s.id = p.setting_id
RETURNING p.n
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

-- The floor: the least SQL a call cycle with the engine's semantics can cost, as a pgbench
-- script (one script run = one call; pgbench -M prepared, autocommit). Variables (-D): first
-- (the first link's id), links (how many, picked uniformly), didbase, run (a tag), seq=0.
--
-- 1. Reserve: lock the link, its client and its campaign; check every concurrency and total
--    cap on the locked rows (READ COMMITTED re-checks the WHERE on the newest row versions
--    after a lock wait); raise the three in-flight counters; write the reservation; open the
--    call log (ended at once when refused).
\set i random(0, :links - 1)
\set seq :seq + 1
\set did :didbase + :i
\set link :first + :i
WITH l AS (
    SELECT s.id AS setting_id, s.client_id, s.campaign_id, cp.seller_id
    FROM campaign_client_settings s
    JOIN clients c ON c.id = s.client_id
    JOIN campaigns cp ON cp.id = s.campaign_id
    WHERE s.id = :link
      AND s.status = 'active' AND c.status = 'active' AND cp.status = 'active'
      AND s.in_flight < s.max_concurrency
      AND (c.max_concurrency IS NULL OR c.in_flight < c.max_concurrency)
      AND (cp.max_concurrency IS NULL OR cp.in_flight < cp.max_concurrency)
      AND (s.total_calls_allowed IS NULL
           OR s.current_total_calls + s.in_flight < s.total_calls_allowed)
    FOR NO KEY UPDATE OF s, c, cp
), up_client AS (
    UPDATE clients SET in_flight = in_flight + 1 WHERE id = (SELECT client_id FROM l)
), up_campaign AS (
    UPDATE campaigns SET in_flight = in_flight + 1 WHERE id = (SELECT campaign_id FROM l)
), up_link AS (
    UPDATE campaign_client_settings SET in_flight = in_flight + 1
    WHERE id = (SELECT setting_id FROM l)
), reserved AS (
    INSERT INTO reservations (uniqueid, attempt, setting_id, client_id, campaign_id, state,
                              created_at, expires_at)
    SELECT 'fl-' || :run || '-' || :client_id || '-' || :seq, 1, setting_id, client_id,
           campaign_id, 'dialing', now(), now() + interval '60 seconds'
    FROM l
), logged AS (
    INSERT INTO call_logs (uniqueid, linkedid, did, caller_id, status, started_at, ended_at,
                           campaign_id, seller_id)
    SELECT 'fl-' || :run || '-' || :client_id || '-' || :seq,
           'fl-' || :run || '-' || :client_id || '-' || :seq, '+1' || :did,
           '+13105550000', CASE WHEN l.setting_id IS NULL THEN 'all_capped' ELSE 'in_progress' END,
           now(), CASE WHEN l.setting_id IS NULL THEN now() END, l.campaign_id, l.seller_id
    FROM (SELECT 1) one LEFT JOIN l ON true
)
SELECT count(*) AS admitted FROM l \gset
-- 2. The call ends (answered): delete the reservation, lower the counters (same lock order),
--    count the delivery on the link and close the call log.
\if :admitted
WITH released AS (
    DELETE FROM reservations WHERE uniqueid = 'fl-' || :run || '-' || :client_id || '-' || :seq
    RETURNING setting_id
), l AS (
    SELECT s.id AS setting_id, s.client_id, s.campaign_id
    FROM campaign_client_settings s
    JOIN clients c ON c.id = s.client_id
    JOIN campaigns cp ON cp.id = s.campaign_id
    WHERE s.id = (SELECT setting_id FROM released)
    FOR NO KEY UPDATE OF s, c, cp
), down_client AS (
    UPDATE clients SET in_flight = in_flight - 1 WHERE id = (SELECT client_id FROM l)
), down_campaign AS (
    UPDATE campaigns SET in_flight = in_flight - 1 WHERE id = (SELECT campaign_id FROM l)
), down_link AS (
    UPDATE campaign_client_settings
    SET in_flight = in_flight - 1, current_total_calls = current_total_calls + 1
    WHERE id = (SELECT setting_id FROM l)
)
-- The call is found in its month through its uniqueid's key.
UPDATE call_logs c
SET status = 'answered', answered_at = now(), ended_at = now(), billsec = 60,
    duration = 60, hangup_cause = 16, client_id = (SELECT client_id FROM l)
WHERE (c.id, c.started_at) = (
    SELECT k.call_log_id, k.started_at FROM call_log_keys k
    WHERE k.uniqueid = 'fl-' || :run || '-' || :client_id || '-' || :seq);
\endif

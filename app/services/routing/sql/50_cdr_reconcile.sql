-- Asterisk's own CDRs (table `cdr`, written by cdr_pgsql) as the second source of truth: a
-- reconciliation completes or corrects the call logs that a lost FastAGI session left wrong or
-- missing, moves the counters that depend on them, and writes every change it makes into the
-- audit trail, in the same transaction. It is not on the hot path: no FastAGI step calls it.
--
-- Python reads a call's CDRs (app/services/cdr_service.py: answered or not, when, by which
-- client, on which attempt, billsec, duration, all as Asterisk counts them) and normalises
-- its numbers; cc_reconcile_cdr applies those facts to one call in one statement. Running it
-- again with the same facts changes nothing: every correction compares first.
--
-- CDR times are `timestamp without time zone` in UTC (cdr_pgsql.conf: timezone = UTC).

-- A CDR disposition as the DIALSTATUS the call log keeps; NULL for one that says nothing.
-- "NO ANSWER" is a ring timeout or the caller giving up (NOANSWER or CANCEL).
CREATE OR REPLACE FUNCTION cc_cdr_dial_status(p_disposition text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE upper(p_disposition)
        WHEN 'ANSWERED' THEN 'ANSWER'
        WHEN 'BUSY' THEN 'BUSY'
        WHEN 'NO ANSWER' THEN 'NOANSWER'
        WHEN 'FAILED' THEN 'CHANUNAVAIL'
        WHEN 'CONGESTION' THEN 'CONGESTION'
    END
$$;

-- The calls whose CDRs ended in [p_since, p_until) and whose log disagrees with them: no log,
-- a log still open, answered or not, billsec, the client, the answer time, the end and the
-- duration (beyond the seconds that truncation explains), or an attempt whose result was lost.
-- The periodic reconciliation reads only these calls' CDRs.
CREATE OR REPLACE FUNCTION cc_cdr_suspects(p_since timestamptz, p_until timestamptz DEFAULT NULL)
RETURNS SETOF text LANGUAGE sql STABLE AS $$
    WITH recent AS (
        SELECT DISTINCT uniqueid FROM cdr
        WHERE "end" >= (p_since AT TIME ZONE 'UTC')
          AND (p_until IS NULL OR "end" < (p_until AT TIME ZONE 'UTC'))
          AND uniqueid IS NOT NULL AND uniqueid <> ''
    ), said AS (
        SELECT d.uniqueid, count(*) AS cdrs, sum(coalesce(d.duration, 0)) AS duration,
               max(d."end") AS ended,
               (array_agg(d ORDER BY d.sequence, d.start)
                    FILTER (WHERE d.disposition = 'ANSWERED' AND d.answer >= d.start
                                  AND coalesce(d.dstchannel, '') <> ''))[1] AS answer
        FROM cdr d JOIN recent r ON r.uniqueid = d.uniqueid
        GROUP BY d.uniqueid
    )
    SELECT s.uniqueid FROM said s
    LEFT JOIN call_log_keys k ON k.uniqueid = s.uniqueid
    LEFT JOIN call_logs c ON c.id = k.call_log_id AND c.started_at = k.started_at
    WHERE c.id IS NULL OR c.ended_at IS NULL
       OR (c.status = 'answered') <> ((s.answer).uniqueid IS NOT NULL)
       OR ((s.answer).uniqueid IS NOT NULL AND (
               c.billsec IS DISTINCT FROM coalesce((s.answer).billsec, 0)
            OR c.answered_at IS NULL
            OR c.answered_at < ((s.answer).answer AT TIME ZONE 'UTC')
            OR c.answered_at >= ((s.answer).answer AT TIME ZONE 'UTC') + interval '2 seconds'
            OR c.client_id IS DISTINCT FROM coalesce(
                   (SELECT cl.id FROM clients cl WHERE cl.client_identifier =
                        substring((s.answer).dstchannel FROM '^PJSIP/(.+)-[0-9a-f]{8}$')),
                   c.client_id)))
       OR abs(extract(epoch FROM c.ended_at - (s.ended AT TIME ZONE 'UTC'))) > 2
       OR abs(coalesce(c.duration, 0) - s.duration) > s.cdrs + 1
       OR EXISTS (SELECT 1 FROM call_attempts a
                  WHERE a.call_log_id = c.id AND a.call_started_at = c.started_at
                    AND (a.dial_status IS NULL OR a.dial_status = 'UNKNOWN'))
$$;

-- Apply what the CDRs say about one call (p_call, built by the Python side from the call's
-- CDR rows):
--   {"uniqueid", "linkedid", "did" (as sent), "number" (DID, E.164), "caller_id" (as sent),
--    "caller_number" (E.164 or null), "started_at", "ended_at", "answered_at" (or null),
--    "attempt" (the attempt that answered, or null), "client" (its client identifier),
--    "billsec", "duration" (whole seconds, truncated), "cdrs" (how many rows),
--    "attempts": [{"attempt", "client", "disposition", "started_at", "ended_at", "duration"}]}
-- 1. No log (the router never saw the call: unreachable, or down the whole call): the log is
--    created from the CDRs, with the DID's campaign; its attempts too.
-- 2. A log still open (its `hangup` was lost): it is ended through cc_hangup with what the
--    CDRs know, which releases every slot and counts an answered call once.
-- 3. Every ended log is then compared with the CDRs and corrected: attempts whose result was
--    lost or wrong, answered or not, answer time, billsec, the client that answered, the end
--    and the duration, converted/payout/revenue; the links' counters follow (a delivery moved,
--    added or taken back; a conversion gained or lost), in the period in which the call ended.
-- Returns what changed ({"call_log_id", "uniqueid", "outcome", "changes"}), also written to
-- audit_events (action "reconcile", entity "call_log"), or NULL when nothing changed.
-- Lock order: the call's row first, then the counters (clients, campaigns, links, by id).
CREATE OR REPLACE FUNCTION cc_reconcile_cdr(p_call jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_uniqueid text := p_call ->> 'uniqueid';
    v_ended timestamptz := (p_call ->> 'ended_at')::timestamptz;
    v_answered_at timestamptz := (p_call ->> 'answered_at')::timestamptz;
    v_answered_attempt int := (p_call ->> 'attempt')::int;
    v_billsec int := coalesce((p_call ->> 'billsec')::int, 0);
    v_duration int := coalesce((p_call ->> 'duration')::int, 0);
    v_tolerance int := coalesce((p_call ->> 'cdrs')::int, 1) + 1;
    v_outcome text := 'corrected';
    v_call call_logs;
    v_before call_logs;
    v_new call_logs;
    v_campaign_id int;
    v_seller_id int;
    v_item jsonb;
    v_attempt_no int;
    v_client_id int;
    v_setting_id int;
    v_old_status text;
    v_new_status text;
    v_attempt_changes jsonb := '[]'::jsonb;
    v_old_setting int;
    v_new_setting int;
    v_answer record;
    v_is_answered boolean;
    v_converted boolean;
    v_counters jsonb := '[]'::jsonb;
    v_changes jsonb := '{}'::jsonb;
    v_field text;
BEGIN
    IF v_uniqueid IS NULL OR v_ended IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT c.* INTO v_call FROM call_log_keys k
    JOIN call_logs c ON c.id = k.call_log_id AND c.started_at = k.started_at
    WHERE k.uniqueid = v_uniqueid FOR NO KEY UPDATE OF c;
    IF NOT FOUND THEN
        SELECT cp.id, cp.seller_id INTO v_campaign_id, v_seller_id
        FROM dids d
        JOIN campaign_dids cd ON cd.did_id = d.id
        JOIN campaigns cp ON cp.id = cd.campaign_id
        WHERE d.number = p_call ->> 'number';
        INSERT INTO call_logs (uniqueid, linkedid, did, caller_id, caller_number, status,
                               started_at, campaign_id, seller_id, decision)
        VALUES (v_uniqueid, left(p_call ->> 'linkedid', 150),
                left(coalesce(p_call ->> 'number', p_call ->> 'did'), 32),
                left(p_call ->> 'caller_id', 80), p_call ->> 'caller_number', 'in_progress',
                coalesce((p_call ->> 'started_at')::timestamptz, v_ended), v_campaign_id,
                v_seller_id, '[]'::jsonb);  -- nothing if the uniqueid was taken meanwhile (the key trigger)
        SELECT c.* INTO v_call FROM call_log_keys k
        JOIN call_logs c ON c.id = k.call_log_id AND c.started_at = k.started_at
        WHERE k.uniqueid = v_uniqueid FOR NO KEY UPDATE OF c;
        v_outcome := 'created';
    ELSIF v_call.ended_at IS NULL THEN
        v_outcome := 'closed';
    END IF;

    -- Attempts the log lacks (a call it never saw, a Dial it never heard of).
    FOR v_item IN SELECT value FROM jsonb_array_elements(coalesce(p_call -> 'attempts', '[]'::jsonb)) LOOP
        v_attempt_no := (v_item ->> 'attempt')::int;
        CONTINUE WHEN v_attempt_no IS NULL;
        v_client_id := (SELECT id FROM clients WHERE client_identifier = v_item ->> 'client');
        v_setting_id := (SELECT id FROM campaign_client_settings
                         WHERE client_id = v_client_id AND campaign_id = v_call.campaign_id);
        INSERT INTO call_attempts (call_log_id, call_started_at, attempt_no, client_id, setting_id,
                                   started_at, ended_at, dial_status, duration)
        VALUES (v_call.id, v_call.started_at, v_attempt_no, v_client_id, v_setting_id,
                coalesce((v_item ->> 'started_at')::timestamptz, v_call.started_at),
                coalesce((v_item ->> 'ended_at')::timestamptz, v_ended),
                coalesce(cc_cdr_dial_status(v_item ->> 'disposition'), 'UNKNOWN'),
                (v_item ->> 'duration')::int)
        ON CONFLICT (call_log_id, call_started_at, attempt_no) DO NOTHING;
        IF FOUND THEN
            v_attempt_changes := v_attempt_changes || jsonb_build_object(
                'attempt', v_attempt_no, 'dial_status',
                jsonb_build_array(NULL::text, coalesce(cc_cdr_dial_status(v_item ->> 'disposition'), 'UNKNOWN')));
        END IF;
    END LOOP;

    -- A log still open: end it the way `hangup` would have, with the CDRs' answer.
    IF v_call.ended_at IS NULL THEN
        PERFORM cc_hangup(v_uniqueid, NULL, NULL, NULL, NULL, NULL,
                          CASE WHEN v_answered_attempt IS NOT NULL THEN 'ANSWER' END,
                          v_answered_attempt, NULL, v_billsec,
                          CASE WHEN v_outcome = 'created' THEN 'error' ELSE 'abandoned' END,
                          v_ended);
    END IF;
    v_before := v_call;  -- the log as this run found it (or created it), for the report
    IF v_outcome <> 'corrected' THEN
        SELECT * INTO v_call FROM call_logs
        WHERE id = v_call.id AND started_at = v_call.started_at;  -- as hangup left it
    END IF;

    -- What the log counted as delivered: its answered attempt's link.
    SELECT a.setting_id INTO v_old_setting FROM call_attempts a
    WHERE a.call_log_id = v_call.id AND a.call_started_at = v_call.started_at
      AND a.dial_status = 'ANSWER'
    ORDER BY a.attempt_no LIMIT 1;
    IF v_outcome <> 'corrected' AND v_old_setting IS NOT NULL THEN
        v_counters := v_counters || jsonb_build_object(  -- counted by cc_hangup above
            'setting_id', v_old_setting, 'delivered', 1, 'converted', v_call.converted::int);
    END IF;

    -- Each attempt the CDRs cover: a result lost (UNKNOWN), answered on one side only, or, for
    -- a log this run ended, the CANCEL its hangup assumed (BUSY, say, by the CDR); "NO ANSWER"
    -- agrees with NOANSWER and CANCEL alike.
    FOR v_item IN SELECT value FROM jsonb_array_elements(coalesce(p_call -> 'attempts', '[]'::jsonb)) LOOP
        v_attempt_no := (v_item ->> 'attempt')::int;
        v_new_status := cc_cdr_dial_status(v_item ->> 'disposition');
        CONTINUE WHEN v_attempt_no IS NULL OR v_new_status IS NULL;
        SELECT dial_status INTO v_old_status FROM call_attempts
        WHERE call_log_id = v_call.id AND call_started_at = v_call.started_at
          AND attempt_no = v_attempt_no;
        CONTINUE WHEN NOT FOUND;
        CONTINUE WHEN v_old_status IS NOT DISTINCT FROM v_new_status
                   OR (v_new_status = 'NOANSWER' AND v_old_status = 'CANCEL');
        CONTINUE WHEN v_old_status IS NOT NULL AND v_old_status <> 'UNKNOWN'
                  AND (v_old_status = 'ANSWER') = (v_new_status = 'ANSWER')
                  AND NOT (v_outcome <> 'corrected' AND v_old_status = 'CANCEL');
        UPDATE call_attempts
        SET dial_status = v_new_status,
            ended_at = coalesce(ended_at, (v_item ->> 'ended_at')::timestamptz, v_ended),
            duration = coalesce((v_item ->> 'duration')::int, duration)
        WHERE call_log_id = v_call.id AND call_started_at = v_call.started_at
          AND attempt_no = v_attempt_no;
        v_attempt_changes := v_attempt_changes || jsonb_build_object(
            'attempt', v_attempt_no, 'dial_status', jsonb_build_array(v_old_status, v_new_status));
    END LOOP;

    -- The call as the CDRs tell it.
    SELECT a.client_id, a.setting_id, coalesce(a.bid, s.buyer_price) AS buyer_price, cp.payout,
           v_billsec >= coalesce(cp.billable_after, 0) AS converted
    INTO v_answer
    FROM call_attempts a
    LEFT JOIN campaign_client_settings s ON s.id = a.setting_id
    LEFT JOIN campaigns cp ON cp.id = v_call.campaign_id
    WHERE a.call_log_id = v_call.id AND a.call_started_at = v_call.started_at
      AND a.attempt_no = v_answered_attempt
      AND a.dial_status = 'ANSWER';
    v_is_answered := FOUND;
    v_new_setting := CASE WHEN v_is_answered THEN v_answer.setting_id END;
    v_converted := v_is_answered AND v_answer.converted;

    v_new := v_call;
    v_new.status := CASE WHEN v_is_answered THEN 'answered'
                         WHEN v_call.status = 'answered' THEN 'abandoned'
                         ELSE v_call.status END;
    IF v_is_answered THEN
        v_new.client_id := coalesce((SELECT id FROM clients WHERE client_identifier = p_call ->> 'client'),
                                    v_answer.client_id, v_call.client_id);
        v_new.billsec := v_billsec;
        -- The answer time `answered` recorded is more precise than the CDR's whole second,
        -- unless it is missing (lost, or only stamped by the hangup this run made) or off.
        v_new.answered_at := v_before.answered_at;
        IF v_before.answered_at IS NULL OR v_answered_at IS NOT NULL AND (
               v_before.answered_at < v_answered_at
               OR v_before.answered_at >= v_answered_at + interval '2 seconds') THEN
            v_new.answered_at := coalesce(v_answered_at, v_call.answered_at, v_ended);
        END IF;
    ELSIF v_call.status = 'answered' THEN
        v_new.client_id := NULL;
        v_new.billsec := 0;
        v_new.answered_at := NULL;
    END IF;
    -- The end and the duration: Asterisk's, unless ours (the hangup's own) agree within the
    -- seconds that truncation explains. A log this run ended has no end of its own.
    IF v_before.ended_at IS NULL
       OR abs(extract(epoch FROM v_before.ended_at - v_ended)) > 2
       OR abs(coalesce(v_before.duration, 0) - v_duration) > v_tolerance THEN
        v_new.ended_at := GREATEST(v_call.started_at, v_ended);
        v_new.duration := v_duration;
    END IF;
    v_new.converted := v_converted;
    v_new.payout := CASE WHEN v_converted THEN v_answer.payout END;
    v_new.revenue := CASE WHEN v_converted THEN v_answer.buyer_price END;

    FOREACH v_field IN ARRAY ARRAY['status', 'client_id', 'answered_at', 'ended_at', 'duration',
                                   'billsec', 'converted', 'payout', 'revenue'] LOOP
        IF (to_jsonb(v_before) -> v_field) IS DISTINCT FROM (to_jsonb(v_new) -> v_field) THEN
            v_changes := v_changes || jsonb_build_object(
                v_field, jsonb_build_array(to_jsonb(v_before) -> v_field, to_jsonb(v_new) -> v_field));
        END IF;
    END LOOP;
    IF to_jsonb(v_new) IS DISTINCT FROM to_jsonb(v_call) THEN
        PERFORM cc_write_call_end(v_call.id, v_call.started_at, v_new.status, v_new.client_id,
                                  v_new.answered_at, v_new.ended_at, v_new.duration,
                                  v_new.billsec, v_new.hangup_cause, v_new.converted,
                                  v_new.payout, v_new.revenue);  -- 40_call_end.sql
        IF v_converted AND NOT coalesce(v_call.converted, false) THEN
            PERFORM cc_call_event('call.converted', v_call.id, v_call.started_at, v_call.seller_id,
                                  v_call.campaign_id);  -- 60_events.sql
        END IF;
    END IF;

    -- The counters: a delivery moved, added or taken back; a conversion gained or lost.
    IF v_old_setting IS NOT DISTINCT FROM v_new_setting THEN
        IF v_new_setting IS NOT NULL AND v_call.converted IS DISTINCT FROM v_converted THEN
            PERFORM cc_lock_counters('{}', ARRAY(SELECT campaign_id FROM campaign_client_settings
                                                 WHERE id = v_new_setting), ARRAY[v_new_setting]);
            PERFORM cc_count_delivery(v_new_setting, 0, CASE WHEN v_converted THEN 1 ELSE -1 END,
                                      v_new.ended_at);
            v_counters := v_counters || jsonb_build_object(
                'setting_id', v_new_setting, 'converted', CASE WHEN v_converted THEN 1 ELSE -1 END);
        END IF;
    ELSE
        PERFORM cc_lock_counters('{}', ARRAY(SELECT campaign_id FROM campaign_client_settings
                                             WHERE id IN (v_old_setting, v_new_setting)),
                                 array_remove(ARRAY[v_old_setting, v_new_setting], NULL));
        IF v_old_setting IS NOT NULL THEN
            PERFORM cc_count_delivery(v_old_setting, -1, -(coalesce(v_call.converted, false)::int),
                                      v_call.ended_at);
            v_counters := v_counters || jsonb_build_object(
                'setting_id', v_old_setting, 'delivered', -1,
                'converted', -(coalesce(v_call.converted, false)::int));
        END IF;
        IF v_new_setting IS NOT NULL THEN
            PERFORM cc_count_delivery(v_new_setting, 1, v_converted::int, v_new.ended_at);
            v_counters := v_counters || jsonb_build_object(
                'setting_id', v_new_setting, 'delivered', 1, 'converted', v_converted::int);
        END IF;
    END IF;

    IF v_outcome = 'corrected' AND v_changes = '{}'::jsonb AND v_attempt_changes = '[]'::jsonb
       AND v_counters = '[]'::jsonb THEN
        RETURN NULL;  -- the log already says what the CDRs say
    END IF;
    IF v_attempt_changes <> '[]'::jsonb THEN
        v_changes := v_changes || jsonb_build_object('attempts', v_attempt_changes);
    END IF;
    IF v_counters <> '[]'::jsonb THEN
        v_changes := v_changes || jsonb_build_object('counters', v_counters);
    END IF;
    v_changes := v_changes || jsonb_build_object('source', 'cdr', 'outcome', v_outcome,
                                                 'uniqueid', v_uniqueid);
    INSERT INTO audit_events (actor_id, action, entity_type, entity_id, changes)
    VALUES (NULL, 'reconcile', 'call_log', v_call.id::text, v_changes);
    RETURN jsonb_build_object('call_log_id', v_call.id, 'uniqueid', v_uniqueid,
                              'outcome', v_outcome, 'changes', v_changes);
END
$$;

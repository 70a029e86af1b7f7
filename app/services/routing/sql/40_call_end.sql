-- The steps after `route`: a Dial's result, the callee's answer, the call's end, and the
-- housekeeping that frees slots whose calls stopped reporting.

-- `answered` (Dial option U, on the callee's channel): from now on the slot is held until
-- hangup instead of expiring. If the slot is gone (expired while Asterisk, far behind, had not
-- even started the Dial), the call is real all the same: take the slot back, raising every
-- counter even past its cap, and say so in the decision (outcome "over_cap").
CREATE OR REPLACE FUNCTION cc_answered(p_uniqueid text, p_attempt int)
RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$  -- see cc_route
DECLARE
    v_call_id bigint;
    v_started timestamptz;  -- the call's started_at: its partition key
    v_call record;
    v_lost record;
BEGIN
    SELECT call_log_id, started_at INTO v_call_id, v_started
    FROM call_log_keys WHERE uniqueid = p_uniqueid;
    -- Only answered_at, which no index covers: the row is updated in place (HOT). The client
    -- who answered is written with the rest of the call's end. (It reads which events anybody
    -- wants as well: 60_events.sql.)
    UPDATE call_logs SET answered_at = coalesce(answered_at, now())
    WHERE id = v_call_id AND started_at = v_started AND ended_at IS NULL
    RETURNING seller_id, campaign_id,
              ARRAY(SELECT w FROM cc_events_wanted(seller_id, campaign_id) w) AS wanted
    INTO v_call;
    IF NOT FOUND THEN
        RETURN;  -- unknown, or already ended: nothing can be held for it any more
    END IF;
    IF cc_wants(v_call.wanted, 'call.answered') THEN
        PERFORM cc_call_event('call.answered', v_call_id, v_started, v_call.seller_id,
                              v_call.campaign_id);  -- 60_events.sql
    END IF;
    UPDATE reservations SET state = 'answered', expires_at = NULL
    WHERE uniqueid = p_uniqueid AND attempt = p_attempt;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT a.setting_id, s.client_id, s.campaign_id INTO v_lost
    FROM call_attempts a JOIN campaign_client_settings s ON s.id = a.setting_id
    WHERE a.call_log_id = v_call_id AND a.call_started_at = v_started
      AND a.attempt_no = p_attempt AND (a.ended_at IS NULL OR a.dial_status = 'ANSWER');
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM cc_client_counters(v_lost.client_id, 1);  -- the lock order: one row per class
    PERFORM cc_campaign_counters(v_lost.campaign_id, 1);
    UPDATE campaign_client_settings SET in_flight = in_flight + 1 WHERE id = v_lost.setting_id;
    INSERT INTO reservations (uniqueid, attempt, setting_id, client_id, campaign_id, state,
                              created_at, expires_at)
    VALUES (p_uniqueid, p_attempt, v_lost.setting_id, v_lost.client_id, v_lost.campaign_id,
            'answered', now(), NULL);
    UPDATE call_logs
    SET client_id = v_lost.client_id,
        decision = decision || jsonb_build_array(jsonb_build_object(
            'attempt', p_attempt, 'at', now(), 'outcome', 'over_cap',
            'candidates', '[]'::jsonb, 'setting_id', v_lost.setting_id))
    WHERE id = v_call_id AND started_at = v_started;
END
$$;

-- `attempt_result`: a Dial() returned. Anything but ANSWER frees the attempt's slot for the
-- next candidate and marks the candidate failed in the decision trace.
CREATE OR REPLACE FUNCTION cc_attempt_result(p_uniqueid text, p_attempt int, p_dial_status text)
RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$  -- see cc_route
DECLARE
    v_call_id bigint;
    v_started timestamptz;
BEGIN
    SELECT call_log_id, started_at INTO v_call_id, v_started
    FROM call_log_keys WHERE uniqueid = p_uniqueid;
    PERFORM FROM call_logs WHERE id = v_call_id AND started_at = v_started FOR NO KEY UPDATE;
    UPDATE call_attempts a
    SET ended_at = now(), dial_status = p_dial_status,
        duration = GREATEST(0, floor(extract(epoch FROM now() - a.started_at)))::int
    WHERE a.call_log_id = v_call_id AND a.call_started_at = v_started
      AND a.attempt_no = p_attempt AND a.ended_at IS NULL;
    IF p_dial_status = 'ANSWER' THEN
        PERFORM cc_answered(p_uniqueid, p_attempt);
        RETURN;
    END IF;
    PERFORM cc_release(p_uniqueid, p_attempt);
    UPDATE call_logs c
    SET decision = (
        SELECT jsonb_agg(
                   CASE WHEN round_ ->> 'attempt' = p_attempt::text THEN jsonb_set(round_, '{candidates}', (
                       SELECT coalesce(jsonb_agg(
                                  CASE WHEN candidate ->> 'verdict' = 'dialled'
                                       THEN jsonb_set(candidate, '{verdict}',
                                                      to_jsonb('failed:' || p_dial_status))
                                       ELSE candidate END ORDER BY n), '[]'::jsonb)
                       FROM jsonb_array_elements(round_ -> 'candidates') WITH ORDINALITY x(candidate, n)))
                   ELSE round_ END ORDER BY r)
        FROM jsonb_array_elements(c.decision) WITH ORDINALITY y(round_, r))
    WHERE c.id = v_call_id AND c.started_at = v_started
      AND c.decision @> jsonb_build_array(jsonb_build_object('attempt', p_attempt));
END
$$;

-- A call's end as its log keeps it: the one write that ends a log or corrects an ended one
-- (`hangup`, the CDR reconciliation). A call that did not convert carries no money. Returns the
-- status written.
CREATE OR REPLACE FUNCTION cc_write_call_end(p_call_id bigint, p_started_at timestamptz,
                                             p_status text, p_client_id int,
                                             p_answered_at timestamptz, p_ended_at timestamptz,
                                             p_duration int, p_billsec int, p_hangup_cause int,
                                             p_converted boolean, p_payout numeric,
                                             p_revenue numeric)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    UPDATE call_logs
    SET status = p_status, client_id = p_client_id, answered_at = p_answered_at,
        ended_at = p_ended_at, duration = p_duration, billsec = p_billsec,
        hangup_cause = p_hangup_cause, converted = p_converted,
        payout = CASE WHEN p_converted THEN p_payout END,
        revenue = CASE WHEN p_converted THEN p_revenue END
    WHERE id = p_call_id AND started_at = p_started_at;
    RETURN p_status;
END
$$;

-- `hangup`: the call ended. Logs it once (the first end finds ended_at still NULL), counts an
-- answered call on its link (total and period counts) and its campaign's day, and releases
-- every slot the call still holds. Returns the final status, or NULL when the call had
-- already ended (a duplicate).
CREATE OR REPLACE FUNCTION cc_hangup(p_uniqueid text, p_linkedid text, p_did text, p_number text,
                                     p_caller_id text, p_caller_number text,
                                     p_dial_status text, p_attempt int,
                                     p_hangup_cause int, p_billsec int,
                                     p_unanswered_status text DEFAULT 'abandoned',
                                     p_now timestamptz DEFAULT NULL)
RETURNS text LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$  -- see cc_route
DECLARE
    v_now timestamptz := coalesce(p_now, now());
    v_call record;
    v_call_id bigint;
    v_started timestamptz;  -- the call's started_at: its partition key
    v_answered_attempt int;
    v_answered record;
    v_is_answered boolean := false;
    v_delivered_setting int;     -- the link that answered, counted below
    v_delivered_campaign int;
    v_converted boolean := false;
    v_status text;
    v_settings int[];
    v_clients int[];
    v_campaigns int[];
    v_client clients;
    v_campaign campaigns;
BEGIN
    SELECT call_log_id, started_at INTO v_call_id, v_started
    FROM call_log_keys WHERE uniqueid = p_uniqueid;
    IF NOT FOUND THEN
        -- A call that ends without ever reaching `route` (caller gone at once) still gets its
        -- log (nothing if another session opened it meanwhile: the key trigger).
        INSERT INTO call_logs (uniqueid, linkedid, did, caller_id, caller_number, status, started_at)
        VALUES (p_uniqueid, p_linkedid, coalesce(p_number, p_did), p_caller_id, p_caller_number,
                'in_progress', now());
        SELECT call_log_id, started_at INTO v_call_id, v_started
        FROM call_log_keys WHERE uniqueid = p_uniqueid;
    END IF;
    SELECT id, started_at, seller_id, campaign_id, ended_at, status, answered_at, client_id,
           ARRAY(SELECT w FROM cc_events_wanted(seller_id, campaign_id) w) AS wanted  -- 60_events.sql
    INTO v_call
    FROM call_logs WHERE id = v_call_id AND started_at = v_started FOR NO KEY UPDATE;

    -- What the channel knows of the answer counts even if `answered` never reached us: its
    -- last Dial ended ANSWER, or it talked (billsec > 0 only after an answer).
    IF p_dial_status = 'ANSWER' OR coalesce(p_billsec, 0) > 0 THEN
        v_answered_attempt := p_attempt;
        IF v_answered_attempt IS NULL THEN  -- (a statement of its own: run only when needed)
            SELECT max(attempt_no) INTO v_answered_attempt FROM call_attempts
            WHERE call_log_id = v_call.id AND call_started_at = v_started;
        END IF;
    END IF;
    IF v_answered_attempt IS NULL THEN
        SELECT attempt INTO v_answered_attempt FROM reservations
        WHERE uniqueid = p_uniqueid AND state = 'answered' ORDER BY attempt DESC LIMIT 1;
    END IF;

    -- The call's last DIALSTATUS belongs to its latest attempt only. An earlier attempt still
    -- open lost its attempt_result: what its Dial ended with is unknown, and it was not answered.
    UPDATE call_attempts a
    SET ended_at = now(),
        dial_status = CASE
            WHEN a.attempt_no = v_answered_attempt THEN 'ANSWER'
            WHEN EXISTS (SELECT FROM call_attempts b
                         WHERE b.call_log_id = v_call.id AND b.call_started_at = v_started
                           AND b.attempt_no > a.attempt_no) THEN 'UNKNOWN'
            WHEN p_dial_status = 'ANSWER' THEN 'UNKNOWN'
            ELSE coalesce(p_dial_status, 'CANCEL') END,
        duration = GREATEST(0, floor(extract(epoch FROM now() - a.started_at)))::int
    WHERE a.call_log_id = v_call.id AND a.call_started_at = v_started AND a.ended_at IS NULL;

    WITH released AS (
        DELETE FROM reservations WHERE uniqueid = p_uniqueid
        RETURNING setting_id, client_id, campaign_id
    )
    SELECT coalesce(array_agg(setting_id), '{}'), coalesce(array_agg(client_id), '{}'),
           coalesce(array_agg(campaign_id), '{}')
    INTO v_settings, v_clients, v_campaigns FROM released;

    IF v_call.ended_at IS NULL THEN
        -- An answered call is converted when it talked at least the campaign's billable_after.
        SELECT a.client_id, a.setting_id, s.campaign_id AS link_campaign_id,
               coalesce(a.bid, s.buyer_price) AS buyer_price,
               cp.payout, coalesce(p_billsec, 0) >= coalesce(cp.billable_after, 0) AS converted
        INTO v_answered
        FROM call_attempts a
        LEFT JOIN campaign_client_settings s ON s.id = a.setting_id
        LEFT JOIN campaigns cp ON cp.id = v_call.campaign_id
        WHERE a.call_log_id = v_call.id AND a.call_started_at = v_started
          AND a.attempt_no = v_answered_attempt AND a.dial_status = 'ANSWER';
        v_is_answered := FOUND;
        IF v_is_answered THEN
            v_delivered_setting := v_answered.setting_id;
            v_delivered_campaign := v_answered.link_campaign_id;
            v_converted := v_answered.converted;
        END IF;
        v_status := cc_write_call_end(  -- (the row is locked above: its values hold)
            v_call.id, v_started,
            CASE WHEN v_is_answered THEN 'answered'
                 WHEN v_call.status = 'in_progress' THEN p_unanswered_status
                 ELSE v_call.status END,
            CASE WHEN v_is_answered THEN coalesce(v_answered.client_id, v_call.client_id)
                 ELSE v_call.client_id END,
            CASE WHEN v_is_answered THEN coalesce(v_call.answered_at, now()) END,
            now(), GREATEST(0, floor(extract(epoch FROM now() - v_call.started_at)))::int,
            CASE WHEN v_is_answered THEN coalesce(p_billsec, 0) ELSE 0 END,
            p_hangup_cause, v_converted, v_answered.payout, v_answered.buyer_price);
        IF cc_wants(v_call.wanted, 'call.ended')
           OR v_converted AND cc_wants(v_call.wanted, 'call.converted') THEN
            PERFORM cc_call_end_events(v_call.id, v_converted, v_started, v_call.seller_id,
                                       v_call.campaign_id);  -- 60_events.sql
        END IF;
    END IF;

    IF cardinality(v_settings) = 0 AND v_delivered_setting IS NULL THEN
        RETURN v_status;
    END IF;
    IF cardinality(v_settings) = 1
       AND (v_delivered_setting IS NULL OR v_delivered_setting = v_settings[1]) THEN
        -- The usual end: the call held one slot, on the link that answered if any. One write
        -- per counter row, in the lock order; the link's delivery is counted in the same
        -- writes that release its slot.
        v_client := cc_client_counters(v_clients[1], -1);  -- (assigned: no statement of its own)
        IF v_delivered_setting IS NULL THEN
            v_campaign := cc_campaign_counters(v_campaigns[1], -1);
            UPDATE campaign_client_settings SET in_flight = in_flight - 1 WHERE id = v_settings[1];
        ELSE
            PERFORM cc_count_delivery(v_delivered_setting, 1, v_converted::int, v_now, 1);
        END IF;
        RETURN v_status;
    END IF;
    -- The in-flight counters go down by what the DELETE above returned, in the lock order
    -- (clients, campaigns, links), with the answering link's campaign and link locked among
    -- them; then that link counts the delivery.
    PERFORM cc_release_counters(v_clients, v_campaigns, v_settings, v_delivered_campaign,
                                v_delivered_setting);
    IF v_delivered_setting IS NOT NULL THEN
        PERFORM cc_count_delivery(v_delivered_setting, 1, v_converted::int, v_now);
    END IF;
    RETURN v_status;
END
$$;

-- Dialling slots whose attempt never reported back: free them once their hold (the dial
-- timeout plus a margin, counted from the reservation) ran out, except the slots of calls
-- Asterisk still has (`p_live`, its live channel ids, when known): a Dial that Asterisk, far
-- behind, has not even started yet can still be answered, so its slot follows the channel,
-- not the clock. NULL: Asterisk's channels are unknown, the hold alone decides (a backstop
-- for a lost Asterisk; an answer after it takes the slot back, see cc_answered).
CREATE OR REPLACE FUNCTION cc_expire(p_live text[] DEFAULT NULL)
RETURNS int LANGUAGE sql AS $$
    SELECT cc_release(NULL, NULL, true, p_live)
$$;

-- Calls older than the grace period that Asterisk no longer has (given the live channel ids).
-- PL/pgSQL with one generic plan, kept for the session: planning the read of the open calls
-- (every month's partial index of open calls) cost ten times its execution, and a SQL
-- function is planned again at every call.
CREATE OR REPLACE FUNCTION cc_vanished_calls(p_live text[], p_grace_seconds int)
RETURNS SETOF text LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY
    SELECT r.uniqueid::text FROM reservations r
    WHERE r.created_at < now() - make_interval(secs => p_grace_seconds)
      AND NOT (r.uniqueid = ANY(p_live))
    UNION
    SELECT c.uniqueid::text FROM call_logs c
    WHERE c.ended_at IS NULL AND c.started_at < now() - make_interval(secs => p_grace_seconds)
      AND NOT (c.uniqueid = ANY(p_live));
END
$$;

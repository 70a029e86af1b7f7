-- Events: an outbox written by the very statement that makes the change, so a rolled-back
-- change emits nothing and a committed one is never lost. The steps read which types anybody
-- wants (cc_events_wanted) inside a statement they run anyway and call these only for those;
-- each still asks for itself (one index probe) when called, and builds no JSON when nobody
-- listens. The worker (flask events deliver, app/services/webhooks/) sends what is written here.

-- The active subscriptions of the platform (scope 0) and of this seller that listen to this
-- campaign (a postback template names its campaign; a webhook names none). SQL, STABLE and
-- not STRICT, so a statement that reads FROM it gets it inlined into its own plan.
CREATE OR REPLACE FUNCTION cc_listeners(p_seller_id int, p_campaign_id int)
RETURNS TABLE (id int, events text[]) LANGUAGE sql STABLE AS $$
    SELECT s.id, s.events::text[] FROM webhook_subscriptions s
    WHERE s.status = 'active' AND s.scope_key IN (0, coalesce(p_seller_id, 0))
      AND (s.campaign_id IS NULL OR s.campaign_id = p_campaign_id)
$$;

-- The event types anybody listening wants. A step reads them once, inside a statement it runs
-- anyway (`ARRAY(SELECT w FROM cc_events_wanted(…) w)`), and calls nothing for a type nobody
-- wants: no statement of its own, no JSON built.
CREATE OR REPLACE FUNCTION cc_events_wanted(p_seller_id int, p_campaign_id int)
RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT e FROM cc_listeners(p_seller_id, p_campaign_id) s, unnest(s.events) e
$$;

-- Whether a step must call an event's function: somebody wants the type, or the step did not
-- read what is wanted (`p_wanted` NULL; the function then asks for itself).
CREATE OR REPLACE FUNCTION cc_wants(p_wanted text[], p_type text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_wanted IS NULL OR p_type = ANY (p_wanted)
$$;

-- Does anybody listening want `p_type`?
CREATE OR REPLACE FUNCTION cc_event_wanted(p_type text, p_seller_id int, p_campaign_id int)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM cc_listeners(p_seller_id, p_campaign_id) s
                   WHERE p_type = ANY (s.events))
$$;

-- Write the event and one pending delivery per subscription that wants it; returns its id.
-- `order_key` (the call) keeps one call's events in order for each subscription.
CREATE OR REPLACE FUNCTION cc_emit(p_type text, p_seller_id int, p_campaign_id int,
                                   p_call_id bigint, p_data jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_event_id bigint;
BEGIN
    INSERT INTO events (type, seller_id, campaign_id, call_id, data)
    VALUES (p_type, p_seller_id, p_campaign_id, p_call_id, p_data)
    RETURNING id INTO v_event_id;
    INSERT INTO webhook_deliveries (event_id, subscription_id, order_key)
    SELECT v_event_id, s.id, p_call_id
    FROM cc_listeners(p_seller_id, p_campaign_id) s
    WHERE p_type = ANY (s.events)
    ORDER BY s.id;
    RETURN v_event_id;
END
$$;

-- A call as its events carry it: outcome, times, billsec, conversion and money, campaign, DID,
-- caller, the client that answered, and every attempt.
-- p_started_at: the call's partition key (one month read), when known.
CREATE OR REPLACE FUNCTION cc_call_document(p_call_id bigint, p_started_at timestamptz DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'call_id', c.id, 'uniqueid', c.uniqueid, 'linkedid', c.linkedid,
        'status', c.status, 'outcome', c.status,
        'started_at', c.started_at, 'answered_at', c.answered_at, 'ended_at', c.ended_at,
        'duration', c.duration, 'billsec', c.billsec, 'hangup_cause', c.hangup_cause,
        'converted', c.converted, 'payout', c.payout, 'revenue', c.revenue,
        'seller_id', c.seller_id, 'campaign_id', c.campaign_id, 'campaign_name', cp.name,
        'did', c.did, 'caller_id', c.caller_id, 'caller_number', c.caller_number,
        'client_id', c.client_id, 'client_identifier', cl.client_identifier,
        'client_name', cl.name,
        'attempts', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'attempt_no', a.attempt_no, 'client_id', a.client_id,
                       'client_identifier', ac.client_identifier, 'setting_id', a.setting_id,
                       'started_at', a.started_at, 'ended_at', a.ended_at,
                       'dial_status', a.dial_status, 'duration', a.duration) ORDER BY a.attempt_no)
            FROM call_attempts a LEFT JOIN clients ac ON ac.id = a.client_id
            WHERE a.call_log_id = c.id AND a.call_started_at = c.started_at), '[]'::jsonb))
    FROM call_logs c
    LEFT JOIN campaigns cp ON cp.id = c.campaign_id
    LEFT JOIN clients cl ON cl.id = c.client_id
    WHERE c.id = p_call_id AND (p_started_at IS NULL OR c.started_at = p_started_at)
$$;

-- A call event (call.started, call.answered, call.ended, call.converted): at most one of each
-- type per call, so a duplicated or replayed step invents nothing.
-- The caller passes the call as it holds it (its key, seller and campaign), so asking
-- whether anybody listens reads no call.
CREATE OR REPLACE FUNCTION cc_call_event(p_type text, p_call_id bigint, p_started_at timestamptz,
                                         p_seller_id int, p_campaign_id int)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT cc_event_wanted(p_type, p_seller_id, p_campaign_id) THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM events WHERE call_id = p_call_id AND type = p_type) THEN
        RETURN;
    END IF;
    PERFORM cc_emit(p_type, p_seller_id, p_campaign_id, p_call_id,
                    cc_call_document(p_call_id, p_started_at));
END
$$;

-- The end of a call: call.ended, then call.converted when it converted.
CREATE OR REPLACE FUNCTION cc_call_end_events(p_call_id bigint, p_converted boolean,
                                              p_started_at timestamptz, p_seller_id int,
                                              p_campaign_id int)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cc_call_event('call.ended', p_call_id, p_started_at, p_seller_id, p_campaign_id);
    IF p_converted THEN
        PERFORM cc_call_event('call.converted', p_call_id, p_started_at, p_seller_id,
                              p_campaign_id);
    END IF;
END
$$;

-- cap.threshold: after a link's counts moved, every cap of the link (total, hour, day, month)
-- and of its campaign (day) that reached 80 % or 100 % emits once per period, cap value and
-- level (cap_threshold_marks remembers what was said).
CREATE OR REPLACE FUNCTION cc_cap_events(p_setting_id int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_link record;
    v_dim record;
    v_level int;
BEGIN
    SELECT s.*, cp.seller_id, cp.daily_cap AS campaign_daily_cap,
           cp.day_start AS campaign_day_start, cp.day_count AS campaign_day_count
    INTO v_link
    FROM campaign_client_settings s JOIN campaigns cp ON cp.id = s.campaign_id
    WHERE s.id = p_setting_id;
    IF NOT FOUND OR NOT cc_event_wanted('cap.threshold', v_link.seller_id, v_link.campaign_id) THEN
        RETURN;
    END IF;
    FOR v_dim IN
        SELECT * FROM (VALUES
            ('link', v_link.id, 'total', '-infinity'::timestamptz, v_link.current_total_calls,
             v_link.total_calls_allowed),
            ('link', v_link.id, 'hourly', v_link.hour_start, v_link.hour_count, v_link.hourly_cap),
            ('link', v_link.id, 'daily', v_link.day_start, v_link.day_count, v_link.daily_cap),
            ('link', v_link.id, 'monthly', v_link.month_start, v_link.month_count,
             v_link.monthly_cap),
            ('campaign', v_link.campaign_id, 'daily', v_link.campaign_day_start,
             v_link.campaign_day_count, v_link.campaign_daily_cap)
        ) d(scope, scope_id, dimension, period_start, used, cap)
        WHERE d.cap IS NOT NULL AND d.cap > 0 AND d.period_start IS NOT NULL
    LOOP
        FOREACH v_level IN ARRAY ARRAY[80, 100] LOOP
            CONTINUE WHEN v_dim.used * 100 < v_dim.cap * v_level;
            INSERT INTO cap_threshold_marks (scope, scope_id, dimension, period_start, cap, level)
            VALUES (v_dim.scope, v_dim.scope_id, v_dim.dimension, v_dim.period_start, v_dim.cap,
                    v_level)
            ON CONFLICT DO NOTHING;
            CONTINUE WHEN NOT FOUND;
            PERFORM cc_emit('cap.threshold', v_link.seller_id, v_link.campaign_id, NULL,
                jsonb_build_object(
                    'scope', v_dim.scope, 'setting_id', v_link.id,
                    'campaign_id', v_link.campaign_id, 'client_id', v_link.client_id,
                    'dimension', v_dim.dimension, 'level', v_level, 'used', v_dim.used,
                    'cap', v_dim.cap,
                    'period_start', CASE WHEN v_dim.dimension = 'total' THEN NULL
                                         ELSE v_dim.period_start END));
        END LOOP;
    END LOOP;
END
$$;

-- cap.threshold for concurrency caps (the link's, its client's, its campaign's), called by
-- cc_reserve with the rows as they were before this call took its slot. A concurrency cap has
-- no period of its own: each cap and level is said at most once per UTC day.
CREATE OR REPLACE FUNCTION cc_concurrency_events(s campaign_client_settings, c clients,
                                                 cp campaigns)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_day timestamptz := date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    v_dim record;
    v_level int;
BEGIN
    IF NOT cc_event_wanted('cap.threshold', cp.seller_id, cp.id) THEN
        RETURN;
    END IF;
    FOR v_dim IN
        SELECT * FROM (VALUES ('link', s.id, s.in_flight + 1, s.max_concurrency),
                              ('client', c.id, c.in_flight + 1, c.max_concurrency),
                              ('campaign', cp.id, cp.in_flight + 1, cp.max_concurrency)
        ) d(scope, scope_id, used, cap)
        WHERE d.cap IS NOT NULL AND d.cap > 0
    LOOP
        FOREACH v_level IN ARRAY ARRAY[80, 100] LOOP
            CONTINUE WHEN v_dim.used * 100 < v_dim.cap * v_level;
            INSERT INTO cap_threshold_marks (scope, scope_id, dimension, period_start, cap, level)
            VALUES (v_dim.scope, v_dim.scope_id, 'concurrency', v_day, v_dim.cap, v_level)
            ON CONFLICT DO NOTHING;
            CONTINUE WHEN NOT FOUND;
            PERFORM cc_emit('cap.threshold', cp.seller_id, cp.id, NULL,
                jsonb_build_object(
                    'scope', v_dim.scope, 'setting_id', s.id, 'campaign_id', cp.id,
                    'client_id', c.id, 'dimension', 'concurrency', 'level', v_level,
                    'used', v_dim.used, 'cap', v_dim.cap, 'period_start', v_day));
        END LOOP;
    END LOOP;
END
$$;

-- Planning one routing round: who may take the call, in which order, and why not the others.
-- The live router (cc_route) and the dry run (cc_simulate) both plan here.

DO $$ BEGIN
    CREATE TYPE cc_candidate AS (
        setting_id int,
        client_id int,
        client text,          -- the client's identifier, also its PJSIP endpoint id
        priority int,
        weight int,
        dial_timeout int,
        verdict text,         -- NULL: admissible and not yet tried
        sticky boolean
    );
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

-- Whether a campaign's repeat-caller rules can refuse or steer anybody (a route asks
-- cc_duplicate_check only then).
CREATE OR REPLACE FUNCTION cc_repeat_rules_apply(p_reject_concurrent boolean, p_window_hours int,
                                                 p_action text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_reject_concurrent OR (p_window_hours IS NOT NULL AND p_action <> 'allow')
$$;

-- The repeat-caller rules for a caller's first round: (rejection, sticky client).
-- Callers are compared by their E.164 number (call_logs.caller_number, computed by the step
-- from what the carrier sent, with the DIDs' region rules), so +14155559701, 4155559701 and
-- 14155559701 are one caller. A caller without a number (anonymous, withheld, unknown, or
-- not a valid number: caller_number NULL) is never a duplicate of anybody, itself included.
CREATE OR REPLACE FUNCTION cc_duplicate_check(p_campaign_id int, p_uniqueid text,
                                              p_caller_number text, p_now timestamptz,
                                              OUT rejection text, OUT sticky_client_id int)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_rules record;
    v_recent record;
BEGIN
    IF p_caller_number IS NULL THEN
        RETURN;
    END IF;
    SELECT reject_concurrent_duplicate, duplicate_window_hours, duplicate_action INTO v_rules
    FROM campaigns WHERE id = p_campaign_id;
    IF NOT cc_repeat_rules_apply(v_rules.reject_concurrent_duplicate, v_rules.duplicate_window_hours,
                                 v_rules.duplicate_action) THEN
        RETURN;
    END IF;
    IF v_rules.reject_concurrent_duplicate AND EXISTS (
        SELECT 1 FROM call_logs
        WHERE campaign_id = p_campaign_id AND caller_number = p_caller_number AND ended_at IS NULL
          AND status = 'in_progress' AND uniqueid <> p_uniqueid
          AND started_at > p_now - interval '1 day') THEN
        rejection := 'duplicate';
        RETURN;
    END IF;
    IF v_rules.duplicate_window_hours IS NULL OR v_rules.duplicate_action = 'allow' THEN
        RETURN;
    END IF;
    SELECT status, client_id INTO v_recent FROM call_logs
    WHERE campaign_id = p_campaign_id AND caller_number = p_caller_number AND uniqueid <> p_uniqueid
      AND started_at > p_now - make_interval(hours => v_rules.duplicate_window_hours)
      AND started_at <= p_now
    ORDER BY (status = 'answered') DESC, started_at DESC
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF v_rules.duplicate_action = 'reject' THEN
        rejection := 'duplicate';
    ELSIF v_recent.status = 'answered' THEN
        sticky_client_id := v_recent.client_id;  -- sticky: the client who answered last time
    END IF;
END
$$;

-- Every link of the campaign not yet tried by this call (p_tried: the links of its attempts),
-- in failover order, each with its
-- verdict. Order: the sticky client first; then by forwarding_priority, and inside a tier a
-- weighted random order (Efraimidis-Spirakis: sort by u^(1/weight), u uniform in (0, 1]); links
-- of weight 0 last. The counters are read without locks: the reservation checks them again.
-- PL/pgSQL, not SQL: a SQL function that cannot be inlined is planned again at every call,
-- a PL/pgSQL one keeps its plan for the session (the same goes for cc_candidates_json).
CREATE OR REPLACE FUNCTION cc_plan(p_campaign_id int, p_tried int[], p_now timestamptz,
                                   p_sticky_client_id int)
RETURNS SETOF cc_candidate LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN QUERY
    SELECT s.id, s.client_id, c.client_identifier::text, s.forwarding_priority, s.weight,
           cp.dial_timeout,
           CASE WHEN s.status <> 'active' OR c.status <> 'active' THEN 'inactive'
                WHEN s.weight <= 0 THEN 'zero_weight'
                WHEN NOT EXISTS (SELECT 1 FROM ps_endpoints e WHERE e.id = c.client_identifier)
                    THEN 'no_endpoint'
                WHEN NOT cc_is_open(c.schedule, c.closures, c.timezone, p_now) THEN 'closed'
                ELSE 'capped:' || cc_cap_hit(s, c, cp, p_now) END,
           s.client_id = p_sticky_client_id IS TRUE
    FROM campaign_client_settings s
    JOIN clients c ON c.id = s.client_id
    JOIN campaigns cp ON cp.id = s.campaign_id
    WHERE s.campaign_id = p_campaign_id
      AND s.id <> ALL (coalesce(p_tried, '{}'))
    ORDER BY (s.client_id = p_sticky_client_id) IS TRUE DESC, s.weight > 0 DESC,
             s.forwarding_priority,
             CASE WHEN s.weight > 0 THEN power(1.0 - random(), 1.0 / s.weight) END DESC, s.id;
END
$$;

-- (A loop of plain expressions: no query, so no statement for the executor to start.)
CREATE OR REPLACE FUNCTION cc_candidates_json(p_plan cc_candidate[])
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_candidate cc_candidate;
    v_json jsonb := '[]'::jsonb;
BEGIN
    FOREACH v_candidate IN ARRAY coalesce(p_plan, '{}') LOOP
        v_json := v_json || jsonb_build_array(
            jsonb_build_object('setting_id', v_candidate.setting_id,
                               'client_id', v_candidate.client_id,
                               'client', v_candidate.client,
                               'priority', v_candidate.priority,
                               'weight', v_candidate.weight,
                               'verdict', coalesce(v_candidate.verdict, 'standby'))
            || CASE WHEN v_candidate.sticky THEN '{"sticky": true}'::jsonb ELSE '{}'::jsonb END);
    END LOOP;
    RETURN v_json;
END
$$;

-- One round of the decision trace kept with the call (and shown by the pages).
CREATE OR REPLACE FUNCTION cc_round(p_attempt int, p_now timestamptz, p_outcome text,
                                    p_plan cc_candidate[], p_sticky_client_id int)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('attempt', p_attempt, 'at', p_now, 'outcome', p_outcome,
                              'candidates', cc_candidates_json(p_plan))
           || CASE WHEN p_sticky_client_id IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('sticky_client_id', p_sticky_client_id) END
$$;

-- Why a round admitted nobody.
CREATE OR REPLACE FUNCTION cc_reason_when_nothing_admitted(p_plan cc_candidate[], p_attempts_so_far int)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_attempts_so_far > 0 THEN 'all_failed'
        WHEN EXISTS (SELECT 1 FROM unnest(p_plan) c WHERE c.verdict LIKE 'capped:%') THEN 'all_capped'
        WHEN EXISTS (SELECT 1 FROM unnest(p_plan) c WHERE c.verdict = 'closed') THEN 'closed'
        ELSE 'no_route'
    END
$$;

-- Where would a call from p_caller_number (E.164) to this campaign go at p_now? The same
-- planning as a live call, on the live counters, reserving nothing.
CREATE OR REPLACE FUNCTION cc_simulate(p_campaign_id int, p_caller_number text,
                                       p_now timestamptz, p_seed float8 DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_check record;
    v_plan cc_candidate[];
    v_i int;
BEGIN
    IF p_seed IS NOT NULL THEN
        PERFORM setseed(p_seed);
    END IF;
    SELECT * INTO v_check FROM cc_duplicate_check(p_campaign_id, '', p_caller_number, p_now);
    IF v_check.rejection IS NOT NULL THEN
        RETURN jsonb_build_object('action', 'reject', 'reason', v_check.rejection, 'dial', NULL,
                                  'candidates', '[]'::jsonb);
    END IF;
    v_plan := ARRAY(SELECT p FROM cc_plan(p_campaign_id, NULL, p_now, v_check.sticky_client_id) p);
    FOR v_i IN 1 .. coalesce(array_length(v_plan, 1), 0) LOOP
        IF v_plan[v_i].verdict IS NULL THEN
            v_plan[v_i].verdict := 'would_dial';
            RETURN jsonb_build_object('action', 'dial', 'reason', NULL,
                                      'dial', 'PJSIP/' || v_plan[v_i].client,
                                      'candidates', cc_candidates_json(v_plan));
        END IF;
    END LOOP;
    RETURN jsonb_build_object('action', 'reject',
                              'reason', cc_reason_when_nothing_admitted(v_plan, 0),
                              'dial', NULL, 'candidates', cc_candidates_json(v_plan));
END
$$;

-- `route`: the whole routing step in one call. On first sight it opens the call, finds the
-- DID's campaign and applies the repeat-caller rules; then it plans the round and reserves the
-- first admissible candidate with every cap checked on locked rows; it appends the round to
-- the call's decision and answers what the dialplan needs.

-- Reserve one candidate: raise the in-flight counters of its client, campaign and link (the
-- global lock order: each UPDATE locks its row; a client or campaign that keeps no counter is
-- only key-share-locked, cc_campaign_counts), then check on those locked rows that all three
-- are active and every cap held before this call. A refusal raises CC001 with the
-- verdict ('inactive', 'capped:<cap>'): the caller runs this in a subtransaction, whose
-- rollback undoes the counters and gives the candidate's locks back at once. Returns
-- 'dialled'; the caller then writes the reservation and the attempt in the same
-- subtransaction. Locking by the UPDATE itself saves a statement per row: refusals are rare
-- here, the planner has filtered on fresh counters a moment before.
CREATE OR REPLACE FUNCTION cc_reserve(p_setting_id int, p_client_id int, p_campaign_id int,
                                      p_now timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    c clients;
    cp campaigns;
    s campaign_client_settings;
    v_cap text;
BEGIN
    c := cc_client_counters(p_client_id, 1);
    cp := cc_campaign_counters(p_campaign_id, 1);
    UPDATE campaign_client_settings SET in_flight = in_flight + 1 WHERE id = p_setting_id
    RETURNING * INTO s;
    IF s.id IS NULL OR c.id IS NULL OR cp.id IS NULL
       OR s.status <> 'active' OR c.status <> 'active' OR cp.status <> 'active' THEN
        RAISE EXCEPTION USING ERRCODE = 'CC001', MESSAGE = 'inactive';
    END IF;
    -- The caps are about the calls before this one (a row that keeps no counter holds 0).
    c.in_flight := c.in_flight - (c.max_concurrency IS NOT NULL)::int;
    cp.in_flight := cp.in_flight - cc_campaign_counts(cp.max_concurrency, cp.daily_cap)::int;
    s.in_flight := s.in_flight - 1;
    v_cap := cc_cap_hit(s, c, cp, p_now);
    IF v_cap IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CC001', MESSAGE = 'capped:' || v_cap;
    END IF;
    -- A concurrency cap at 80 % or 100 % with this call: say so (60_events.sql). Plain
    -- comparisons first, so a call far from its caps pays nothing more.
    IF (s.in_flight + 1) * 5 >= s.max_concurrency * 4
       OR (c.in_flight + 1) * 5 >= c.max_concurrency * 4
       OR (cp.in_flight + 1) * 5 >= cp.max_concurrency * 4 THEN
        PERFORM cc_concurrency_events(s, c, cp);
    END IF;
    RETURN 'dialled';
END
$$;

-- Open a call's log: its first write, with what `route` knows by then (its first round too,
-- when it has one), and call.started for whoever wants it (`p_wanted`: the types the step read,
-- cc_events_wanted; NULL: not read). Answers NULLs when the uniqueid is already taken (the
-- key trigger inserted nothing): another session of this call opened it a moment ago.
CREATE OR REPLACE FUNCTION cc_open_call(p_uniqueid text, p_linkedid text, p_did text,
                                        p_caller_id text, p_caller_number text, p_status text,
                                        p_campaign_id int, p_seller_id int, p_decision jsonb,
                                        p_wanted text[],
                                        OUT call_id bigint, OUT started_at timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO call_logs AS c (uniqueid, linkedid, did, caller_id, caller_number, status,
                                started_at, campaign_id, seller_id, decision)
    VALUES (p_uniqueid, p_linkedid, p_did, p_caller_id, p_caller_number, p_status, now(),
            p_campaign_id, p_seller_id, p_decision)
    RETURNING c.id, c.started_at INTO call_id, started_at;
    IF call_id IS NOT NULL AND cc_wants(p_wanted, 'call.started') THEN
        PERFORM cc_call_event('call.started', call_id, started_at, p_seller_id,
                              p_campaign_id);  -- 60_events.sql
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION cc_route(p_uniqueid text, p_linkedid text, p_did text, p_number text,
                                    p_caller_id text, p_caller_number text,
                                    p_now timestamptz DEFAULT NULL,
                                    p_hold_margin int DEFAULT 300, p_seed float8 DEFAULT NULL,
                                    p_bids jsonb DEFAULT NULL,
                                    OUT action text, OUT dial text, OUT dial_timeout int,
                                    OUT attempt int, OUT reason text, OUT bid_request jsonb)
-- Generic plans for every statement of the step (and of what it calls): a statement on the
-- partitioned call_logs / call_attempts looks N partitions dear as a generic plan, so
-- PostgreSQL would plan it again at every call; the generic plan prunes to the call's month
-- when it starts (the partition key is a parameter), for a fraction of a planning's work.
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_now timestamptz := coalesce(p_now, now());
    v_call record;
    v_call_id bigint;
    v_started timestamptz;  -- the call's started_at: its partition key
    v_opened record;        -- cc_open_call's answer
    v_opened_now boolean := false;  -- its first round is written with it
    v_campaign_id int;
    v_seller_id int;
    v_repeat_rules boolean;
    v_wanted text[];  -- the event types anybody wants (first sight only)
    v_check record;
    v_status text := 'in_progress';
    v_sticky int;
    v_bids boolean;  -- the campaign prices by bids (NULL: not asked yet)
    v_plan cc_candidate[];
    v_prices jsonb;  -- the candidates' prices, when the campaign bids
    v_attempts int := 0;
    v_tried int[];  -- the links its attempts dialled
    v_verdict text;
    v_i int;
BEGIN
    IF p_seed IS NOT NULL THEN
        PERFORM setseed(p_seed);
    END IF;
    action := 'reject';
    -- The call's row first: it stays locked for the rest of the step (the global lock order).
    -- Its key gives its partition: then one primary-key lookup in one month.
    SELECT call_log_id, started_at INTO v_call_id, v_started
    FROM call_log_keys WHERE uniqueid = p_uniqueid;
    IF FOUND THEN  -- (a new call has no key yet: nothing to read)
        SELECT id, status, campaign_id, seller_id, ended_at INTO v_call
        FROM call_logs WHERE id = v_call_id AND started_at = v_started FOR NO KEY UPDATE;
    END IF;
    v_call_id := NULL;
    IF FOUND THEN  -- a later round (the last Dial failed), or the dialplan asking again
        IF v_call.ended_at IS NOT NULL THEN
            reason := CASE WHEN v_call.status IN ('no_route', 'all_capped', 'all_failed', 'error',
                                                  'duplicate', 'closed', 'overload')
                           THEN v_call.status ELSE 'error' END;
            RETURN;
        END IF;
        IF v_call.status <> 'in_progress' THEN
            reason := v_call.status;  -- refused earlier
            RETURN;
        END IF;
        v_call_id := v_call.id;
        v_campaign_id := v_call.campaign_id;
        v_seller_id := v_call.seller_id;
        SELECT count(*), array_agg(setting_id) FILTER (WHERE setting_id IS NOT NULL)
        INTO v_attempts, v_tried FROM call_attempts
        WHERE call_log_id = v_call_id AND call_started_at = v_started;
    END IF;

    IF v_campaign_id IS NULL THEN
        -- First sight: the DID's campaign, then the repeat-caller rules. The same statement
        -- reads whether those rules can say anything and which events anybody wants.
        SELECT cp.id, cp.seller_id,
               cc_repeat_rules_apply(cp.reject_concurrent_duplicate, cp.duplicate_window_hours,
                                     cp.duplicate_action),
               ARRAY(SELECT w FROM cc_events_wanted(cp.seller_id, cp.id) w)
        INTO v_campaign_id, v_seller_id, v_repeat_rules, v_wanted
        FROM dids d
        JOIN campaign_dids cd ON cd.did_id = d.id
        JOIN campaigns cp ON cp.id = cd.campaign_id
        JOIN users u ON u.id = cp.seller_id
        WHERE d.number = p_number AND d.status = 'active' AND cp.status = 'active'
          AND u.status = 'active';
        IF v_campaign_id IS NULL THEN
            v_status := 'no_route';
        ELSIF v_repeat_rules AND p_caller_number IS NOT NULL THEN
            SELECT * INTO v_check
            FROM cc_duplicate_check(v_campaign_id, p_uniqueid, p_caller_number, v_now);
            v_status := coalesce(v_check.rejection, 'in_progress');
            v_sticky := v_check.sticky_client_id;
        END IF;
        IF v_call_id IS NOT NULL THEN  -- opened without its campaign (its hangup came first)
            UPDATE call_logs
            SET campaign_id = v_campaign_id, seller_id = v_seller_id, status = v_status,
                decision = CASE WHEN v_status IN ('in_progress', 'no_route') THEN decision
                                ELSE decision || jsonb_build_array(
                                    cc_round(1, v_now, v_status, '{}'::cc_candidate[], NULL)) END
            WHERE id = v_call_id AND started_at = v_started;
            IF cc_wants(v_wanted, 'call.started') THEN
                PERFORM cc_call_event('call.started', v_call_id, v_started, v_seller_id,
                                      v_campaign_id);  -- 60_events.sql
            END IF;
        ELSE
            IF v_status = 'in_progress' THEN
                v_bids := cc_campaign_bids(v_campaign_id);  -- 80_bidding.sql
            END IF;
            -- A call refused at once is opened with its refusal; one priced by bids now, since
            -- its bid round keeps the bids with it. Any other is opened with its first round,
            -- once that is decided (below): one write.
            IF v_status <> 'in_progress' OR v_bids THEN
                v_opened := cc_open_call(
                    p_uniqueid, p_linkedid, coalesce(p_number, p_did), p_caller_id,
                    p_caller_number, v_status, v_campaign_id, v_seller_id,
                    CASE WHEN v_status IN ('in_progress', 'no_route') THEN '[]'::jsonb
                         ELSE jsonb_build_array(cc_round(1, v_now, v_status, '{}'::cc_candidate[], NULL)) END,
                    v_wanted);
                IF v_opened.call_id IS NULL THEN
                    -- Another session of this call opened it a moment ago: route as a later round.
                    SELECT * INTO action, dial, dial_timeout, attempt, reason, bid_request
                    FROM cc_route(p_uniqueid, p_linkedid, p_did, p_number, p_caller_id,
                                  p_caller_number, p_now, p_hold_margin, NULL, p_bids);
                    RETURN;
                END IF;
                v_call_id := v_opened.call_id;
                v_started := v_opened.started_at;
            END IF;
        END IF;
        IF v_status <> 'in_progress' THEN
            reason := v_status;
            RETURN;
        END IF;
    END IF;

    v_plan := ARRAY(SELECT p FROM cc_plan(v_campaign_id, v_tried, v_now, v_sticky) p);
    attempt := v_attempts + 1;
    IF coalesce(v_bids, cc_campaign_bids(v_campaign_id)) THEN  -- priced by bids: 80_bidding.sql
        SELECT * INTO bid_request, v_prices
        FROM cc_bid_round(v_plan, v_call_id, v_started, v_campaign_id, p_caller_number, p_bids,
                          v_now);
        IF bid_request IS NOT NULL THEN  -- ping them, then route again with their bids
            action := 'bid';
            attempt := NULL;
            RETURN;
        END IF;
        v_plan := cc_bid_order(v_plan, v_prices);
    END IF;
    FOR v_i IN 1 .. coalesce(array_length(v_plan, 1), 0) LOOP
        CONTINUE WHEN v_plan[v_i].verdict IS NOT NULL;
        BEGIN
            -- Full a moment after planning (another call took the last slot): the
            -- subtransaction rolls back, giving this candidate's row locks back at once.
            v_verdict := cc_reserve(v_plan[v_i].setting_id, v_plan[v_i].client_id,
                                    v_campaign_id, v_now);
            v_plan[v_i].verdict := v_verdict;
            IF v_call_id IS NULL THEN
                -- A new call: opened now, with this round. If another session of it opened it
                -- meanwhile, the subtransaction gives this slot back and it routes again.
                v_opened := cc_open_call(
                    p_uniqueid, p_linkedid, coalesce(p_number, p_did), p_caller_id,
                    p_caller_number, 'in_progress', v_campaign_id, v_seller_id,
                    jsonb_build_array(cc_round(attempt, v_now, 'dial', v_plan, v_sticky)),
                    v_wanted);
                IF v_opened.call_id IS NULL THEN
                    RAISE EXCEPTION USING ERRCODE = 'CC002', MESSAGE = 'opened by another session';
                END IF;
                v_call_id := v_opened.call_id;
                v_started := v_opened.started_at;
                v_opened_now := true;
            END IF;
            INSERT INTO reservations (uniqueid, attempt, setting_id, client_id, campaign_id, state,
                                      created_at, expires_at)
            VALUES (p_uniqueid, attempt, v_plan[v_i].setting_id, v_plan[v_i].client_id,
                    v_campaign_id, 'dialing', now(),
                    now() + make_interval(secs => v_plan[v_i].dial_timeout + p_hold_margin));
            INSERT INTO call_attempts (call_log_id, call_started_at, attempt_no, client_id,
                                       setting_id, started_at)
            VALUES (v_call_id, v_started, attempt, v_plan[v_i].client_id, v_plan[v_i].setting_id,
                    now());
        EXCEPTION
            WHEN SQLSTATE 'CC001' THEN
                v_verdict := SQLERRM;
            WHEN SQLSTATE 'CC002' THEN
                SELECT * INTO action, dial, dial_timeout, attempt, reason, bid_request
                FROM cc_route(p_uniqueid, p_linkedid, p_did, p_number, p_caller_id,
                              p_caller_number, p_now, p_hold_margin, NULL, p_bids);
                RETURN;
        END;
        v_plan[v_i].verdict := v_verdict;
        IF v_verdict = 'dialled' THEN
            IF v_prices IS NOT NULL THEN
                PERFORM cc_bid_won(v_call_id, v_started, attempt, v_plan[v_i].setting_id, v_prices);
            END IF;
            IF NOT v_opened_now THEN
                UPDATE call_logs
                SET decision = decision || jsonb_build_array(cc_priced_round(
                        cc_round(attempt, v_now, 'dial', v_plan, v_sticky), v_prices))
                WHERE id = v_call_id AND started_at = v_started;
            END IF;
            action := 'dial';
            dial := 'PJSIP/' || v_plan[v_i].client;
            dial_timeout := v_plan[v_i].dial_timeout;
            RETURN;
        END IF;
    END LOOP;

    reason := cc_reason_when_nothing_admitted(v_plan, v_attempts);
    IF v_call_id IS NULL THEN  -- a new call nobody can take: opened, then refused as always
        v_opened := cc_open_call(p_uniqueid, p_linkedid, coalesce(p_number, p_did), p_caller_id,
                                 p_caller_number, 'in_progress', v_campaign_id, v_seller_id,
                                 '[]'::jsonb, v_wanted);
        IF v_opened.call_id IS NULL THEN
            SELECT * INTO action, dial, dial_timeout, attempt, reason, bid_request
            FROM cc_route(p_uniqueid, p_linkedid, p_did, p_number, p_caller_id,
                          p_caller_number, p_now, p_hold_margin, NULL, p_bids);
            RETURN;
        END IF;
        v_call_id := v_opened.call_id;
        v_started := v_opened.started_at;
    END IF;
    UPDATE call_logs
    SET status = reason,
        decision = decision || jsonb_build_array(cc_priced_round(
            cc_round(attempt, v_now, reason, v_plan, v_sticky), v_prices))
    WHERE id = v_call_id AND started_at = v_started;
    attempt := NULL;
END
$$;

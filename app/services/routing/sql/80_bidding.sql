-- Real-time bidding: a link with a bid_url is priced by its buyer's bid, asked ("pinged") before
-- the call is forwarded. A campaign with such links routes in two statements: cc_route plans,
-- reserves nothing and answers 'bid' with the pings to make (cc_bid_round); the server pings
-- them in parallel holding no lock nor connection, then calls cc_route again with the answers,
-- which orders the admissible candidates by price and reserves in that order with every cap
-- checked as for any call. Failover rounds reuse the call's bids; one that expired is pinged
-- again. A campaign without bidding links never comes here.
--
-- A bid, as the call keeps it (call_logs.bids, by link id) and the trace shows it:
--   {"bid": 12.50 | null, "no_bid": <reason> | null, "latency_ms": int | null,
--    "expires_at": timestamptz | null, "source": "ping" | "cache" | "fixed"}
-- A bid without expires_at is good for the whole call, and is not cached for other calls.

-- Does any link of this campaign price by bid? (cc_route asks at every round: an index probe.
-- PL/pgSQL, whose plan is kept for the session: a SQL function with a sub-select is not
-- inlined, and would be planned again at every call.)
CREATE OR REPLACE FUNCTION cc_campaign_bids(p_campaign_id int)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM campaign_client_settings
                   WHERE campaign_id = p_campaign_id AND bid_url IS NOT NULL);
END
$$;

-- The answers of a round of pings (setting id -> {"bid", "no_bid", "latency_ms",
-- "expires_in"}, as the server read them: a bid is > 0 or absent) as bids.
CREATE OR REPLACE FUNCTION cc_bid_answers(p_answers jsonb, p_now timestamptz)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(key, jsonb_build_object(
               'bid', CASE WHEN value ->> 'no_bid' IS NULL THEN (value ->> 'bid')::numeric END,
               'no_bid', value ->> 'no_bid',
               'latency_ms', (value ->> 'latency_ms')::int,
               'expires_at', CASE WHEN value ->> 'no_bid' IS NULL AND value ? 'expires_in'
                                  THEN p_now + make_interval(secs => (value ->> 'expires_in')::int)
                             END,
               'source', coalesce(value ->> 'source', 'ping'))), '{}'::jsonb)
    FROM jsonb_each(p_answers)
$$;

-- Keep a round's bids with the call, and those that say how long they stay good in the cache
-- for the caller's next call. Returns every bid the call has.
CREATE OR REPLACE FUNCTION cc_bid_keep(p_call_id bigint, p_started timestamptz,
                                       p_caller_number text, p_bids jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_bids jsonb;
BEGIN
    IF p_caller_number IS NOT NULL THEN
        INSERT INTO bid_cache AS b (setting_id, caller_number, bid, expires_at)
        SELECT key::int, p_caller_number, (value ->> 'bid')::numeric,
               (value ->> 'expires_at')::timestamptz
        FROM jsonb_each(p_bids)
        WHERE value ->> 'source' = 'ping' AND value ->> 'bid' IS NOT NULL
          AND value ->> 'expires_at' IS NOT NULL
          AND EXISTS (SELECT 1 FROM campaign_client_settings s WHERE s.id = key::int)
        ORDER BY key::int
        ON CONFLICT (setting_id, caller_number)
        DO UPDATE SET bid = EXCLUDED.bid, expires_at = EXCLUDED.expires_at;
    END IF;
    UPDATE call_logs SET bids = coalesce(bids, '{}'::jsonb) || p_bids
    WHERE id = p_call_id AND started_at = p_started RETURNING bids INTO v_bids;
    RETURN v_bids;
END
$$;

-- The price of every admissible candidate of a plan: a fixed link's buyer_price; a bidding
-- link's bid known to the call and still good, or cached for the caller, or else a ping to
-- make (when p_ping; otherwise it is "not pinged"). A bid under the campaign's min_bid is no
-- bid. `pings`: [{"setting_id", "client_id", "url", "secret", "budget"}], by client.
CREATE OR REPLACE FUNCTION cc_bid_prices(p_plan cc_candidate[], p_known jsonb,
                                         p_caller_number text, p_min_bid numeric,
                                         p_now timestamptz, p_ping boolean,
                                         OUT pings jsonb, OUT prices jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_link record;
    v_bid jsonb;
BEGIN
    pings := '[]'::jsonb;
    prices := '{}'::jsonb;
    FOR v_link IN
        SELECT s.id, s.client_id, s.bid_url, s.buyer_price, c.bid_secret, c.ping_budget
        FROM unnest(p_plan) p
        JOIN campaign_client_settings s ON s.id = p.setting_id
        JOIN clients c ON c.id = s.client_id
        WHERE p.verdict IS NULL
        ORDER BY s.client_id, s.id
    LOOP
        IF v_link.bid_url IS NULL THEN
            v_bid := jsonb_build_object('bid', v_link.buyer_price, 'source', 'fixed');
        ELSE
            v_bid := p_known -> v_link.id::text;
            IF (v_bid ->> 'expires_at')::timestamptz <= p_now THEN
                v_bid := NULL;  -- expired: ask again
            END IF;
            IF v_bid IS NULL AND p_caller_number IS NOT NULL THEN
                SELECT jsonb_build_object('bid', b.bid, 'expires_at', b.expires_at,
                                          'source', 'cache')
                INTO v_bid FROM bid_cache b
                WHERE b.setting_id = v_link.id AND b.caller_number = p_caller_number
                  AND b.expires_at > p_now;
            END IF;
            IF v_bid IS NULL AND p_ping THEN
                pings := pings || jsonb_build_object(
                    'setting_id', v_link.id, 'client_id', v_link.client_id,
                    'url', v_link.bid_url, 'secret', v_link.bid_secret,
                    'budget', v_link.ping_budget);
                CONTINUE;
            END IF;
            v_bid := coalesce(v_bid, '{"no_bid": "not pinged"}'::jsonb);
            IF (v_bid ->> 'bid')::numeric < p_min_bid THEN
                v_bid := v_bid || '{"no_bid": "below min_bid"}'::jsonb;
            END IF;
        END IF;
        prices := prices || jsonb_build_object(v_link.id::text, v_bid);
    END LOOP;
END
$$;

-- Spend the clients' ping budgets (pings per minute) on these pings, in client order (two
-- calls never wait on each other's budget rows in opposite orders). Returns the pings to make
-- and, for those past their client's budget, their no-bid.
CREATE OR REPLACE FUNCTION cc_bid_spend(p_pings jsonb, p_now timestamptz,
                                        OUT pings jsonb, OUT refused jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_ping jsonb;
    v_budget int;
    v_granted boolean;
    v_minute timestamptz := date_trunc('minute', p_now);
BEGIN
    pings := '[]'::jsonb;
    refused := '{}'::jsonb;
    FOR v_ping IN SELECT value FROM jsonb_array_elements(p_pings) LOOP
        v_budget := (v_ping ->> 'budget')::int;
        v_granted := v_budget IS NULL;
        IF v_budget > 0 THEN
            INSERT INTO bid_budgets AS b (client_id, minute, pings)
            VALUES ((v_ping ->> 'client_id')::int, v_minute, 1)
            ON CONFLICT (client_id) DO UPDATE
            SET pings = CASE WHEN b.minute = EXCLUDED.minute THEN b.pings + 1 ELSE 1 END,
                minute = EXCLUDED.minute
            WHERE b.minute <> EXCLUDED.minute OR b.pings < v_budget
            RETURNING true INTO v_granted;
        END IF;
        IF v_granted THEN
            pings := pings || (v_ping - 'budget');
        ELSE
            refused := refused || jsonb_build_object(v_ping ->> 'setting_id',
                                                     '{"no_bid": "ping budget"}'::jsonb);
        END IF;
    END LOOP;
END
$$;

-- The plan in the order bids set: the admissible candidates first, the sticky client ahead,
-- then by price, highest first (bids and fixed prices together; a link without a price last),
-- ties in the plan's order (priority, then weight). A bidding link without a bid is out.
CREATE OR REPLACE FUNCTION cc_bid_order(p_plan cc_candidate[], p_prices jsonb)
RETURNS cc_candidate[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_i int;
BEGIN
    FOR v_i IN 1 .. coalesce(array_length(p_plan, 1), 0) LOOP
        IF p_plan[v_i].verdict IS NULL
           AND p_prices -> p_plan[v_i].setting_id::text ->> 'no_bid' IS NOT NULL THEN
            p_plan[v_i].verdict := 'no_bid';
        END IF;
    END LOOP;
    RETURN ARRAY(
        SELECT p_plan[i] FROM generate_subscripts(p_plan, 1) i
        ORDER BY (p_plan[i]).verdict IS NULL DESC, (p_plan[i]).sticky DESC,
                 (p_prices -> (p_plan[i]).setting_id::text ->> 'bid')::numeric DESC NULLS LAST, i);
END
$$;

-- The bidding part of a round, in either statement: the bids of the pings just made
-- (p_answers, from the server; NULL in the first statement) are kept; the candidates are
-- priced. When bids are missing, `request` is what the server pings (the campaign's bid
-- settings, `pings`, and in `settled` the no-bids already known) and the round stops there;
-- otherwise `prices` orders it.
CREATE OR REPLACE FUNCTION cc_bid_round(p_plan cc_candidate[], p_call_id bigint,
                                        p_started timestamptz,
                                        p_campaign_id int, p_caller_number text,
                                        p_answers jsonb, p_now timestamptz,
                                        OUT request jsonb, OUT prices jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_campaign record;
    v_known jsonb;
    v_pings jsonb;
    v_refused jsonb;
BEGIN
    SELECT id, name, min_bid, bid_timeout_ms, bid_caller_id INTO v_campaign
    FROM campaigns WHERE id = p_campaign_id;
    IF p_answers IS NOT NULL THEN
        v_known := cc_bid_keep(p_call_id, p_started, p_caller_number,
                               cc_bid_answers(p_answers, p_now));
    ELSE
        SELECT bids INTO v_known FROM call_logs WHERE id = p_call_id AND started_at = p_started;
    END IF;
    SELECT * INTO v_pings, prices
    FROM cc_bid_prices(p_plan, coalesce(v_known, '{}'::jsonb), p_caller_number,
                       v_campaign.min_bid, p_now, p_answers IS NULL);
    IF v_pings = '[]'::jsonb THEN
        RETURN;
    END IF;
    SELECT * INTO v_pings, v_refused FROM cc_bid_spend(v_pings, p_now);
    IF v_pings = '[]'::jsonb THEN
        prices := prices || v_refused;
        RETURN;
    END IF;
    request := cc_bid_request(v_campaign.id, v_campaign.name, v_campaign.bid_caller_id,
                              v_campaign.bid_timeout_ms, v_pings, v_refused);
    prices := NULL;
END
$$;

CREATE OR REPLACE FUNCTION cc_bid_request(p_campaign_id int, p_campaign text,
                                          p_bid_caller_id text, p_timeout_ms int,
                                          p_pings jsonb, p_settled jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('campaign_id', p_campaign_id, 'campaign', p_campaign,
                              'bid_caller_id', p_bid_caller_id, 'timeout_ms', p_timeout_ms,
                              'pings', p_pings, 'settled', p_settled)
$$;

-- The trace's candidates with their prices: "price", "latency_ms", "no_bid", "price_source".
CREATE OR REPLACE FUNCTION cc_priced_candidates(p_candidates jsonb, p_prices jsonb)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(c || coalesce(jsonb_strip_nulls(jsonb_build_object(
                       'price', p_prices -> (c ->> 'setting_id') -> 'bid',
                       'latency_ms', p_prices -> (c ->> 'setting_id') -> 'latency_ms',
                       'no_bid', p_prices -> (c ->> 'setting_id') -> 'no_bid',
                       'price_source', p_prices -> (c ->> 'setting_id') -> 'source')),
                   '{}'::jsonb) ORDER BY i), '[]'::jsonb)
            FROM jsonb_array_elements(p_candidates) WITH ORDINALITY AS t(c, i));
END
$$;

-- A round of the trace, priced when the campaign bids (p_prices NULL: unchanged; an inlined
-- SQL function, so a call without bids pays nothing for it).
CREATE OR REPLACE FUNCTION cc_priced_round(p_round jsonb, p_prices jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_prices IS NULL THEN p_round
                ELSE jsonb_set(p_round, '{candidates}',
                               cc_priced_candidates(p_round -> 'candidates', p_prices)) END
$$;

-- The call was forwarded to this link: the attempt and the call keep the bid it won with
-- (none for a fixed price), which becomes the revenue if the call converts.
CREATE OR REPLACE FUNCTION cc_bid_won(p_call_id bigint, p_started timestamptz, p_attempt int,
                                      p_setting_id int, p_prices jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_price jsonb := p_prices -> p_setting_id::text;
    v_bid numeric := CASE WHEN v_price ->> 'source' <> 'fixed' THEN (v_price ->> 'bid')::numeric END;
BEGIN
    IF v_bid IS NOT NULL THEN
        UPDATE call_attempts SET bid = v_bid
        WHERE call_log_id = p_call_id AND call_started_at = p_started AND attempt_no = p_attempt;
    END IF;
    UPDATE call_logs SET winning_bid = v_bid WHERE id = p_call_id AND started_at = p_started;
END
$$;

-- The simulator with bids: like cc_simulate, but the bidding candidates are priced by the
-- answers of test pings (p_answers). Without answers, a campaign with bidding candidates
-- answers {"action": "bid", "request": …} (the pings to make; no budget spent, no cache).
CREATE OR REPLACE FUNCTION cc_simulate_bids(p_campaign_id int, p_caller_number text,
                                            p_now timestamptz, p_seed float8 DEFAULT NULL,
                                            p_answers jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_campaign record;
    v_check record;
    v_plan cc_candidate[];
    v_pings jsonb;
    v_prices jsonb;
    v_i int;
BEGIN
    IF NOT cc_campaign_bids(p_campaign_id) THEN
        RETURN cc_simulate(p_campaign_id, p_caller_number, p_now, p_seed);
    END IF;
    IF p_seed IS NOT NULL THEN
        PERFORM setseed(p_seed);
    END IF;
    SELECT * INTO v_check FROM cc_duplicate_check(p_campaign_id, '', p_caller_number, p_now);
    IF v_check.rejection IS NOT NULL THEN
        RETURN cc_simulate(p_campaign_id, p_caller_number, p_now, p_seed);
    END IF;
    SELECT id, name, min_bid, bid_timeout_ms, bid_caller_id INTO v_campaign
    FROM campaigns WHERE id = p_campaign_id;
    v_plan := ARRAY(SELECT p FROM cc_plan(p_campaign_id, NULL, p_now, v_check.sticky_client_id) p);
    SELECT * INTO v_pings, v_prices
    FROM cc_bid_prices(v_plan, coalesce(cc_bid_answers(p_answers, p_now), '{}'::jsonb), NULL,
                       v_campaign.min_bid, p_now, p_answers IS NULL);
    IF v_pings <> '[]'::jsonb THEN
        RETURN jsonb_build_object('action', 'bid', 'request', cc_bid_request(
            v_campaign.id, v_campaign.name, v_campaign.bid_caller_id, v_campaign.bid_timeout_ms,
            (SELECT jsonb_agg(value - 'budget') FROM jsonb_array_elements(v_pings)),
            '{}'::jsonb));
    END IF;
    v_plan := cc_bid_order(v_plan, v_prices);
    FOR v_i IN 1 .. coalesce(array_length(v_plan, 1), 0) LOOP
        IF v_plan[v_i].verdict IS NULL THEN
            v_plan[v_i].verdict := 'would_dial';
            RETURN jsonb_build_object('action', 'dial', 'reason', NULL,
                                      'dial', 'PJSIP/' || v_plan[v_i].client,
                                      'candidates', cc_priced_candidates(
                                          cc_candidates_json(v_plan), v_prices));
        END IF;
    END LOOP;
    RETURN jsonb_build_object('action', 'reject',
                              'reason', cc_reason_when_nothing_admitted(v_plan, 0),
                              'dial', NULL,
                              'candidates', cc_priced_candidates(cc_candidates_json(v_plan),
                                                                 v_prices));
END
$$;

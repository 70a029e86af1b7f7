-- A buyer's conversion postback (POST /api/postbacks/<token>, app/services/buyer_postbacks.py):
-- the client that answered a call confirms or rejects its conversion, in one statement. The
-- call's converted/payout/revenue change, the link's period counts that count conversions
-- follow (cc_count_delivery), the change goes to the audit trail, and call.converted is emitted
-- when the call becomes converted. The same answer twice changes nothing the second time.
-- Returns {"changed", "converted", "payout", "revenue", "call_id", "uniqueid"}.
-- The call is named by its primary key, (id, started_at): its month's partition alone is read.
-- Lock order: the call's row, then the counters (campaigns, links).
CREATE OR REPLACE FUNCTION cc_buyer_postback(p_call_id bigint, p_call_started_at timestamptz,
                                             p_client_id int, p_converted boolean,
                                             p_revenue numeric)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_call call_logs;
    v_setting_id int;
    v_campaign_payout numeric;
    v_buyer_price numeric;
    v_payout numeric;
    v_revenue numeric;
    v_changes jsonb := '{}'::jsonb;
BEGIN
    SELECT * INTO v_call FROM call_logs
    WHERE id = p_call_id AND started_at = p_call_started_at AND client_id = p_client_id
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT a.setting_id, coalesce(a.bid, s.buyer_price), cp.payout INTO v_setting_id, v_buyer_price, v_campaign_payout
    FROM call_attempts a
    LEFT JOIN campaign_client_settings s ON s.id = a.setting_id
    LEFT JOIN campaigns cp ON cp.id = v_call.campaign_id
    WHERE a.call_log_id = v_call.id AND a.call_started_at = v_call.started_at
      AND a.dial_status = 'ANSWER'
    ORDER BY a.attempt_no LIMIT 1;
    v_payout := CASE WHEN p_converted THEN coalesce(v_call.payout, v_campaign_payout) END;
    v_revenue := CASE WHEN p_converted THEN coalesce(p_revenue, v_call.revenue, v_buyer_price) END;
    IF v_call.converted IS NOT DISTINCT FROM p_converted
       AND v_call.payout IS NOT DISTINCT FROM v_payout
       AND v_call.revenue IS NOT DISTINCT FROM v_revenue THEN
        RETURN jsonb_build_object('changed', false, 'call_id', v_call.id, 'uniqueid', v_call.uniqueid,
                                  'converted', v_call.converted, 'payout', v_call.payout,
                                  'revenue', v_call.revenue);
    END IF;
    UPDATE call_logs SET converted = p_converted, payout = v_payout, revenue = v_revenue
    WHERE id = v_call.id AND started_at = v_call.started_at;
    IF v_call.converted IS DISTINCT FROM p_converted AND v_setting_id IS NOT NULL THEN
        PERFORM cc_lock_counters('{}', ARRAY[v_call.campaign_id], ARRAY[v_setting_id]);
        PERFORM cc_count_delivery(v_setting_id, 0, CASE WHEN p_converted THEN 1 ELSE -1 END,
                                  coalesce(v_call.ended_at, now()));
    END IF;
    v_changes := jsonb_build_object(
        'converted', jsonb_build_array(v_call.converted, p_converted),
        'payout', jsonb_build_array(v_call.payout, v_payout),
        'revenue', jsonb_build_array(v_call.revenue, v_revenue),
        'source', 'buyer_postback', 'client_id', p_client_id, 'uniqueid', v_call.uniqueid);
    INSERT INTO audit_events (actor_id, action, entity_type, entity_id, changes)
    VALUES (NULL, 'postback', 'call_log', v_call.id::text, v_changes);
    IF p_converted AND NOT v_call.converted THEN
        PERFORM cc_call_event('call.converted', v_call.id, v_call.started_at, v_call.seller_id,
                              v_call.campaign_id);  -- 60_events.sql
    END IF;
    RETURN jsonb_build_object('changed', true, 'call_id', v_call.id, 'uniqueid', v_call.uniqueid,
                              'converted', p_converted, 'payout', v_payout, 'revenue', v_revenue);
END
$$;

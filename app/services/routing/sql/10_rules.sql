-- The routing rules every step shares: calendar periods, the caps, hours of operation, and
-- the lock order that keeps concurrent steps deadlock-free.
--
-- Lock order (every function here follows it): the call's own call_logs row first, then
-- clients, then campaigns, then campaign_client_settings ("links"), each class by id. A route
-- holds the counters of at most one candidate at a time: a candidate that fails its caps is
-- tried inside a subtransaction that is rolled back, which gives its row locks back.

CREATE OR REPLACE FUNCTION cc_period_start(p_period text, p_zone text, p_now timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    -- The real instant the current local hour / day / month began in p_zone. For the hour,
    -- subtracting the local minutes keeps the two repeated hours of a fall-back night apart.
    SELECT CASE p_period
        WHEN 'hour' THEN p_now - ((p_now AT TIME ZONE p_zone)
                                  - date_trunc('hour', p_now AT TIME ZONE p_zone))
        WHEN 'day' THEN date_trunc('day', p_now AT TIME ZONE p_zone) AT TIME ZONE p_zone
        WHEN 'month' THEN date_trunc('month', p_now AT TIME ZONE p_zone) AT TIME ZONE p_zone
    END
$$;

-- How many calls the current period has counted (a stored count of an older period is 0).
CREATE OR REPLACE FUNCTION cc_period_count(p_stored_start timestamptz, p_stored_count int,
                                           p_current_start timestamptz)
RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_stored_start = p_current_start THEN p_stored_count ELSE 0 END
$$;

-- A period counter (its stored start and count) after `p_delta` calls that ended in the period
-- starting `p_start` are added (or taken back, when negative). A counter only moves forward:
-- calls of an older period than the one stored (a late hangup, a reconciliation of yesterday's
-- calls) leave it alone, and a count never goes below 0. Two scalar SQL functions (start, then
-- count), so the planner inlines them into the UPDATE that uses them and caches that plan.
CREATE OR REPLACE FUNCTION cc_period_add_start(p_stored_start timestamptz, p_start timestamptz,
                                               p_delta int)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_delta = 0 OR p_stored_start = p_start THEN p_stored_start
                WHEN p_delta > 0 AND (p_stored_start IS NULL OR p_stored_start < p_start) THEN p_start
                ELSE p_stored_start END
$$;

CREATE OR REPLACE FUNCTION cc_period_add_count(p_stored_start timestamptz, p_stored_count int,
                                               p_start timestamptz, p_delta int)
RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_delta = 0 THEN p_stored_count
                WHEN p_stored_start = p_start THEN GREATEST(0, coalesce(p_stored_count, 0) + p_delta)
                WHEN p_delta > 0 AND (p_stored_start IS NULL OR p_stored_start < p_start) THEN p_delta
                ELSE p_stored_count END
$$;

-- The first cap a new call would break on this link, its client and its campaign, or NULL
-- when every cap holds. Calls in flight count against every cap: each may still be answered.
-- The planner reports it, and the reservation enforces it on locked rows: one definition.
CREATE OR REPLACE FUNCTION cc_cap_hit(s campaign_client_settings, c clients, cp campaigns,
                                      p_now timestamptz)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN s.in_flight >= s.max_concurrency THEN 'concurrency'
        WHEN c.max_concurrency IS NOT NULL AND c.in_flight >= c.max_concurrency
            THEN 'client_concurrency'
        WHEN cp.max_concurrency IS NOT NULL AND cp.in_flight >= cp.max_concurrency
            THEN 'campaign_concurrency'
        WHEN s.total_calls_allowed IS NOT NULL
             AND s.current_total_calls + s.in_flight >= s.total_calls_allowed THEN 'total'
        WHEN s.hourly_cap IS NOT NULL
             AND cc_period_count(s.hour_start, s.hour_count, cc_period_start('hour', c.timezone, p_now))
                 + s.in_flight >= s.hourly_cap THEN 'hourly'
        WHEN s.daily_cap IS NOT NULL
             AND cc_period_count(s.day_start, s.day_count, cc_period_start('day', c.timezone, p_now))
                 + s.in_flight >= s.daily_cap THEN 'daily'
        WHEN s.monthly_cap IS NOT NULL
             AND cc_period_count(s.month_start, s.month_count, cc_period_start('month', c.timezone, p_now))
                 + s.in_flight >= s.monthly_cap THEN 'monthly'
        WHEN cp.daily_cap IS NOT NULL
             AND cc_period_count(cp.day_start, cp.day_count, cc_period_start('day', cp.timezone, p_now))
                 + cp.in_flight >= cp.daily_cap THEN 'campaign_daily'
    END
$$;

-- Hours of operation: open when today (in p_zone) is not a closed date and p_now falls in one
-- of today's ["HH:MM", "HH:MM"] intervals (end exclusive, "24:00" allowed). No schedule: always
-- open; a weekday missing from the schedule: closed.
CREATE OR REPLACE FUNCTION cc_is_open(p_schedule jsonb, p_closures jsonb, p_zone text,
                                      p_now timestamptz)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_local timestamp;
    v_spans jsonb;
BEGIN
    IF (p_schedule IS NULL OR jsonb_typeof(p_schedule) = 'null')
       AND (p_closures IS NULL OR p_closures = '[]'::jsonb) THEN
        RETURN true;  -- open around the clock and never closed: no clock to read
    END IF;
    v_local := p_now AT TIME ZONE p_zone;
    IF coalesce(p_closures, '[]'::jsonb) ? to_char(v_local, 'YYYY-MM-DD') THEN
        RETURN false;
    END IF;
    IF p_schedule IS NULL OR jsonb_typeof(p_schedule) = 'null' THEN
        RETURN true;
    END IF;
    v_spans := p_schedule -> (ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])
                             [extract(isodow FROM v_local)::int];
    IF jsonb_typeof(v_spans) IS DISTINCT FROM 'array' THEN
        RETURN false;  -- no hours that day
    END IF;
    RETURN EXISTS (SELECT 1 FROM jsonb_array_elements(v_spans) span
                   WHERE v_local::time >= (span ->> 0)::time AND v_local::time < (span ->> 1)::time);
END
$$;

-- Which rows keep counters. A link always counts its calls in flight (its concurrency cap is
-- never null). A campaign keeps its in-flight and day counters, and a client its in-flight
-- counter, only while a cap reads them (cc_cap_hit: the campaign's max_concurrency or
-- daily_cap, the client's seats). The steps write such a row only while it counts; otherwise
-- they take it FOR KEY SHARE, which no other step's lock or write waits for, so a call's slow
-- commit pauses nobody else's call on that campaign or client. Setting a cap takes the row
-- FOR UPDATE, the one lock that waits for those key-share locks (cc_start_counting_*), and
-- recounts under it; removing it stops counting.
CREATE OR REPLACE FUNCTION cc_campaign_counts(p_max_concurrency int, p_daily_cap int)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_max_concurrency IS NOT NULL OR p_daily_cap IS NOT NULL
$$;

-- A client's in-flight counter moved by p_in_flight, if it counts; its row as it now is. A
-- counting row is written (with p_in_flight 0, locked for writing, in the caller's lock
-- order) by one statement that decides and locks at once, so no step holds a lighter lock on
-- a row it will write, which a cap being set could otherwise deadlock with. A row that does not
-- count is taken FOR KEY SHARE: while that is held, counting cannot start (FOR UPDATE waits for
-- it), so the step may leave the row unwritten. If counting started between the two
-- statements, the call counts after all (the lock it holds then stops any further start).
CREATE OR REPLACE FUNCTION cc_client_counters(p_id int, p_in_flight int)
RETURNS clients LANGUAGE plpgsql AS $$
DECLARE
    c clients;
BEGIN
    IF p_in_flight = 0 THEN
        SELECT * INTO c FROM clients WHERE id = p_id AND max_concurrency IS NOT NULL
        FOR NO KEY UPDATE;
    ELSE
        UPDATE clients SET in_flight = in_flight + p_in_flight
        WHERE id = p_id AND max_concurrency IS NOT NULL RETURNING * INTO c;
    END IF;
    IF FOUND THEN
        RETURN c;
    END IF;
    SELECT * INTO c FROM clients WHERE id = p_id FOR KEY SHARE;
    IF c.max_concurrency IS NOT NULL THEN
        RETURN cc_client_counters(p_id, p_in_flight);
    END IF;
    RETURN c;
END
$$;

-- The same for a campaign: its in-flight counter, and `p_answered` calls ended at `p_at`
-- added to its day (or taken back), if it counts.
CREATE OR REPLACE FUNCTION cc_campaign_counters(p_id int, p_in_flight int, p_answered int DEFAULT 0,
                                                p_at timestamptz DEFAULT NULL)
RETURNS campaigns LANGUAGE plpgsql AS $$
DECLARE
    cp campaigns;
BEGIN
    IF p_in_flight = 0 AND p_answered = 0 THEN
        SELECT * INTO cp FROM campaigns
        WHERE id = p_id AND cc_campaign_counts(max_concurrency, daily_cap) FOR NO KEY UPDATE;
    ELSE
        UPDATE campaigns
        SET in_flight = in_flight + p_in_flight,
            day_start = cc_period_add_start(day_start, cc_period_start('day', timezone, p_at),
                                            p_answered),
            day_count = cc_period_add_count(day_start, day_count,
                                            cc_period_start('day', timezone, p_at), p_answered)
        WHERE id = p_id AND cc_campaign_counts(max_concurrency, daily_cap) RETURNING * INTO cp;
    END IF;
    IF FOUND THEN
        RETURN cp;
    END IF;
    SELECT * INTO cp FROM campaigns WHERE id = p_id FOR KEY SHARE;
    IF cc_campaign_counts(cp.max_concurrency, cp.daily_cap) THEN
        RETURN cc_campaign_counters(p_id, p_in_flight, p_answered, p_at);
    END IF;
    RETURN cp;
END
$$;

-- Setting a cap starts counting (a trigger on the cap columns): the row must be held FOR
-- UPDATE, which waits for every step holding it FOR KEY SHARE, each of which decided not to
-- count; the counters are then recounted, in a statement of their own so that it sees what
-- those steps committed. The writer takes FOR UPDATE *before* its UPDATE (the services do):
-- waiting for it while holding the UPDATE's own lock would deadlock with a step that holds the
-- row FOR KEY SHARE and then writes it. Here it is only checked, NOWAIT: a writer that did
-- not take it fails at once while calls hold the row, rather than miscount. Removing the last cap stops counting: a step that writes a counting row decides
-- and writes in one statement, which re-reads the row once the cap's change has committed.
-- (READ COMMITTED, as every writer of this schema.)
CREATE OR REPLACE FUNCTION cc_start_counting_client() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.max_concurrency IS NULL) = (NEW.max_concurrency IS NULL) THEN
        RETURN NEW;
    END IF;
    NEW.in_flight := 0;
    IF NEW.max_concurrency IS NOT NULL THEN
        PERFORM 1 FROM clients WHERE id = NEW.id FOR UPDATE NOWAIT;  -- see above
        NEW.in_flight := (SELECT count(*) FROM reservations WHERE client_id = NEW.id);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION cc_start_counting_campaign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF cc_campaign_counts(OLD.max_concurrency, OLD.daily_cap)
       = cc_campaign_counts(NEW.max_concurrency, NEW.daily_cap) THEN
        RETURN NEW;
    END IF;
    NEW.in_flight := 0;
    NEW.day_start := NULL;
    NEW.day_count := 0;
    IF cc_campaign_counts(NEW.max_concurrency, NEW.daily_cap) THEN
        PERFORM 1 FROM campaigns WHERE id = NEW.id FOR UPDATE NOWAIT;  -- see above
        NEW.in_flight := (SELECT count(*) FROM reservations WHERE campaign_id = NEW.id);
        -- Calls count on the day they end. One that ends today started at most a day before
        -- today (the bound assumed: no call lasts a day; a longer one is left out of this
        -- recount), which keeps the read to the campaign's last two days, not all its calls.
        NEW.day_count := (SELECT count(*) FROM call_logs
                          WHERE campaign_id = NEW.id AND status = 'answered'
                            AND started_at >= cc_period_start('day', NEW.timezone, now())
                                              - interval '1 day'
                            AND ended_at >= cc_period_start('day', NEW.timezone, now()));
        IF NEW.day_count > 0 THEN  -- no start for an empty day: the first call sets it
            NEW.day_start := cc_period_start('day', NEW.timezone, now());
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- Lock counter rows for writing in the global order (clients, campaigns, links; each by id),
-- before statements that write them out of that order. Rows that do not count are only
-- key-share-locked (see cc_campaign_counts).
CREATE OR REPLACE FUNCTION cc_lock_counters(p_clients int[], p_campaigns int[], p_settings int[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_id int;
BEGIN
    FOR v_id IN SELECT DISTINCT x FROM unnest(p_clients) x WHERE x IS NOT NULL ORDER BY x LOOP
        PERFORM cc_client_counters(v_id, 0);
    END LOOP;
    FOR v_id IN SELECT DISTINCT x FROM unnest(p_campaigns) x WHERE x IS NOT NULL ORDER BY x LOOP
        PERFORM cc_campaign_counters(v_id, 0);
    END LOOP;
    PERFORM 1 FROM campaign_client_settings WHERE id = ANY(p_settings) ORDER BY id FOR NO KEY UPDATE;
END
$$;

-- Released slots (a client, a campaign and a link id per slot) lower the counters, in the
-- lock order; `p_also_campaign`/`p_also_setting`, the link that answered, are locked with
-- them for the caller's count of the delivery.
CREATE OR REPLACE FUNCTION cc_release_counters(p_clients int[], p_campaigns int[], p_settings int[],
                                               p_also_campaign int DEFAULT NULL,
                                               p_also_setting int DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_row record;
    v_settings int[];
BEGIN
    FOR v_row IN SELECT id, count(*)::int AS n FROM unnest(p_clients) id GROUP BY id ORDER BY id LOOP
        PERFORM cc_client_counters(v_row.id, -v_row.n);
    END LOOP;
    FOR v_row IN SELECT id, sum(n)::int AS n
             FROM (SELECT unnest(p_campaigns) AS id, 1 AS n UNION ALL SELECT p_also_campaign, 0) x
             WHERE id IS NOT NULL GROUP BY id ORDER BY id LOOP
        PERFORM cc_campaign_counters(v_row.id, -v_row.n);
    END LOOP;
    v_settings := array_remove(p_settings || p_also_setting, NULL);
    IF NOT (v_settings[1] = ALL(v_settings)) THEN  -- one UPDATE per row is already in order
        PERFORM 1 FROM campaign_client_settings WHERE id = ANY(v_settings) ORDER BY id
        FOR NO KEY UPDATE;
    END IF;
    UPDATE campaign_client_settings s SET in_flight = s.in_flight - r.n
    FROM (SELECT id, count(*) AS n FROM unnest(p_settings) id GROUP BY id) r WHERE s.id = r.id;
END
$$;

-- Delete reservations (one attempt's of a call, all of a call's, or every dialling slot past
-- its hold) and lower the in-flight counters by what the DELETE returned: a second
-- release of the same slot deletes nothing and subtracts nothing. Returns how many it freed.
-- `p_live`, with `p_expired_only`: the calls Asterisk still has (its live channel ids). Their
-- slots are never expired, whatever the clock: such a call can still be answered.
CREATE OR REPLACE FUNCTION cc_release(p_uniqueid text, p_attempt int DEFAULT NULL,
                                      p_expired_only boolean DEFAULT false,
                                      p_live text[] DEFAULT NULL)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    v_settings int[];
    v_clients int[];
    v_campaigns int[];
BEGIN
    WITH released AS (
        DELETE FROM reservations r
        WHERE CASE WHEN p_expired_only THEN r.state = 'dialing' AND r.expires_at < now()
                                            AND NOT (r.uniqueid = ANY(coalesce(p_live, '{}')))
                   ELSE r.uniqueid = p_uniqueid AND (p_attempt IS NULL OR r.attempt = p_attempt) END
        RETURNING r.setting_id, r.client_id, r.campaign_id
    )
    SELECT array_agg(setting_id), array_agg(client_id), array_agg(campaign_id)
    INTO v_settings, v_clients, v_campaigns FROM released;
    IF v_settings IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM cc_release_counters(v_clients, v_campaigns, v_settings);
    RETURN array_length(v_settings, 1);
END
$$;

-- Count delivered calls on a link (the one definition; `hangup` and the CDR reconciliation
-- both call it): `p_answered` answered calls (+1, or -1 to take one back) go to the link's
-- total and to its campaign's day (in the campaign's zone); the link's hour, day and month (in
-- its client's zone) count `p_answered` when the link counts answered calls, `p_converted`
-- when it counts converted ones (the campaign's day only while it counts, cc_campaign_counts). `p_at` is when the call ended: calls count in the period in
-- which they end. `p_release` slots of this link end in the same writes (its and its
-- campaign's in-flight counters; the caller lowers the client's). The caller holds (or takes
-- here, campaign then link) the row locks.
CREATE OR REPLACE FUNCTION cc_count_delivery(p_setting_id int, p_answered int, p_converted int,
                                             p_at timestamptz, p_release int DEFAULT 0)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_link record;
    v_periods int;
    v_campaign campaigns;
BEGIN
    -- (whether anybody wants cap.threshold is read here too: 60_events.sql)
    SELECT s.campaign_id, s.cap_counts, c.timezone AS zone,
           'cap.threshold' IN (SELECT w FROM cc_events_wanted(cp.seller_id, s.campaign_id) w)
               AS cap_events_wanted
    INTO v_link
    FROM campaign_client_settings s JOIN clients c ON c.id = s.client_id
    JOIN campaigns cp ON cp.id = s.campaign_id
    WHERE s.id = p_setting_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_periods := CASE WHEN v_link.cap_counts = 'answered' THEN p_answered ELSE p_converted END;
    IF p_answered <> 0 OR p_release <> 0 THEN
        v_campaign := cc_campaign_counters(v_link.campaign_id, -p_release, p_answered, p_at);
    END IF;
    IF p_answered = 0 AND v_periods = 0 AND p_release = 0 THEN
        RETURN;
    END IF;
    UPDATE campaign_client_settings s
    SET in_flight = s.in_flight - p_release,
        current_total_calls = GREATEST(0, s.current_total_calls + p_answered),
        hour_start = cc_period_add_start(s.hour_start, cc_period_start('hour', v_link.zone, p_at),
                                         v_periods),
        hour_count = cc_period_add_count(s.hour_start, s.hour_count, cc_period_start('hour', v_link.zone, p_at),
                                         v_periods),
        day_start = cc_period_add_start(s.day_start, cc_period_start('day', v_link.zone, p_at),
                                         v_periods),
        day_count = cc_period_add_count(s.day_start, s.day_count, cc_period_start('day', v_link.zone, p_at),
                                         v_periods),
        month_start = cc_period_add_start(s.month_start, cc_period_start('month', v_link.zone, p_at),
                                         v_periods),
        month_count = cc_period_add_count(s.month_start, s.month_count, cc_period_start('month', v_link.zone, p_at),
                                         v_periods)
    WHERE s.id = p_setting_id;
    IF v_link.cap_events_wanted THEN
        PERFORM cc_cap_events(p_setting_id);  -- 60_events.sql
    END IF;
END
$$;

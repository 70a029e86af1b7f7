"""The caps, checked two ways while the soak runs: a trigger on every reservation (exact) and a
sampler of every counter (what an operator would see)."""
from __future__ import annotations

import threading
import time
from collections import Counter

import psycopg


# Installed into the soak's own throw-away database. The trigger runs inside each RESERVE
# statement's transaction, after the statement, while the engine still holds the advisory locks
# of the link's client and campaign (every reservation and release of those takes them), so the
# counts it reads are exactly the reservations held at that moment, and the caps it reads are the
# ones in force (a link's caps are row-locked by RESERVE; client seats and campaign caps are only
# ever raised during the soak, see SellerActor).
SOAK_SCHEMA = r"""
CREATE SCHEMA soak;
CREATE TABLE soak.peaks (
    kind text, id int, checked bigint NOT NULL, peak int NOT NULL, cap_at_peak int,
    worst int, at_cap bigint NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE soak.overshoots (
    at timestamptz NOT NULL DEFAULT clock_timestamp(), kind text, id int, held int, cap int,
    uniqueid text);

CREATE FUNCTION soak.note(p_kind text, p_id int, p_held int, p_cap int, p_uniqueid text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO soak.peaks AS p (kind, id, checked, peak, cap_at_peak, worst, at_cap)
    VALUES (p_kind, p_id, 1, p_held, p_cap, p_held - p_cap, coalesce((p_held = p_cap)::int, 0))
    ON CONFLICT (kind, id) DO UPDATE SET
        checked = p.checked + 1,
        cap_at_peak = CASE WHEN excluded.peak > p.peak THEN excluded.cap_at_peak ELSE p.cap_at_peak END,
        peak = GREATEST(p.peak, excluded.peak),
        worst = GREATEST(p.worst, excluded.worst),
        at_cap = p.at_cap + excluded.at_cap;
    IF p_cap IS NOT NULL AND p_held > p_cap THEN
        INSERT INTO soak.overshoots (kind, id, held, cap, uniqueid)
        VALUES (p_kind, p_id, p_held, p_cap, p_uniqueid);
    END IF;
END $$;

CREATE FUNCTION soak.check_reservation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    link_held int; client_held int; campaign_held int;
    s record; c record; cp record;
BEGIN
    SELECT count(*) INTO link_held FROM public.reservations WHERE setting_id = NEW.setting_id;
    SELECT count(*) INTO client_held FROM public.reservations WHERE client_id = NEW.client_id;
    SELECT count(*) INTO campaign_held FROM public.reservations WHERE campaign_id = NEW.campaign_id;
    SELECT max_concurrency, total_calls_allowed, current_total_calls, in_flight INTO s
        FROM public.campaign_client_settings WHERE id = NEW.setting_id;
    SELECT max_concurrency, in_flight INTO c FROM public.clients WHERE id = NEW.client_id;
    SELECT max_concurrency, daily_cap, in_flight,
           CASE WHEN day_start = (date_trunc('day', now() AT TIME ZONE timezone) AT TIME ZONE timezone)
                THEN day_count ELSE 0 END AS today
        INTO cp FROM public.campaigns WHERE id = NEW.campaign_id;
    PERFORM soak.note('link', NEW.setting_id, link_held, s.max_concurrency, NEW.uniqueid);
    PERFORM soak.note('link_total', NEW.setting_id, s.current_total_calls + link_held,
                      s.total_calls_allowed, NEW.uniqueid);
    PERFORM soak.note('client', NEW.client_id, client_held, c.max_concurrency, NEW.uniqueid);
    PERFORM soak.note('campaign', NEW.campaign_id, campaign_held, cp.max_concurrency, NEW.uniqueid);
    PERFORM soak.note('campaign_daily', NEW.campaign_id, cp.today + campaign_held, cp.daily_cap,
                      NEW.uniqueid);
    -- The counters the engine decides on must equal the reservations it holds.
    IF s.in_flight <> link_held THEN
        INSERT INTO soak.overshoots (kind, id, held, cap, uniqueid)
        VALUES ('drift:link', NEW.setting_id, link_held, s.in_flight, NEW.uniqueid);
    END IF;
    -- A client's or campaign's counter is kept only while a cap reads it (0 otherwise).
    -- (PL/pgSQL ends an IF's condition at its first THEN: a CASE inside goes in parentheses.)
    IF c.in_flight <> (CASE WHEN c.max_concurrency IS NOT NULL THEN client_held ELSE 0 END) THEN
        INSERT INTO soak.overshoots (kind, id, held, cap, uniqueid)
        VALUES ('drift:client', NEW.client_id, client_held, c.in_flight, NEW.uniqueid);
    END IF;
    IF cp.in_flight <> (CASE WHEN public.cc_campaign_counts(cp.max_concurrency, cp.daily_cap)
                             THEN campaign_held ELSE 0 END) THEN
        INSERT INTO soak.overshoots (kind, id, held, cap, uniqueid)
        VALUES ('drift:campaign', NEW.campaign_id, campaign_held, cp.in_flight, NEW.uniqueid);
    END IF;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    -- Never let the instrument fail a call; an error here fails the soak instead.
    INSERT INTO soak.overshoots (kind, id, held, cap, uniqueid)
    VALUES ('trigger_error', NEW.setting_id, NULL, NULL, left(SQLERRM, 200));
    RETURN NULL;
END $$;

CREATE TRIGGER soak_check_reservation AFTER INSERT ON public.reservations
    FOR EACH ROW EXECUTE FUNCTION soak.check_reservation();
"""

CAMPAIGN_TODAY = ("CASE WHEN cp.day_start = (date_trunc('day', now() AT TIME ZONE cp.timezone) "
                  "AT TIME ZONE cp.timezone) THEN cp.day_count ELSE 0 END")

# One statement, so one snapshot: counters, caps and the reservations held agree in it.
# `held` is what the counter must hold: the reservations, except on a client or campaign that
# keeps no counter (no cap reads it), whose counter stays 0.
SNAPSHOT = f"""
SELECT 'link' AS kind, s.id, s.in_flight, s.max_concurrency AS cap,
       s.current_total_calls AS used, s.total_calls_allowed AS quota,
       extract(epoch FROM s.updated_at) AS edited,
       (SELECT count(*) FROM reservations r WHERE r.setting_id = s.id) AS held
FROM campaign_client_settings s
UNION ALL
SELECT 'client', c.id, c.in_flight, c.max_concurrency, NULL, NULL, extract(epoch FROM c.updated_at),
       CASE WHEN c.max_concurrency IS NOT NULL
            THEN (SELECT count(*) FROM reservations r WHERE r.client_id = c.id) ELSE 0 END
FROM clients c
UNION ALL
SELECT 'campaign', cp.id, cp.in_flight, cp.max_concurrency, {CAMPAIGN_TODAY}, cp.daily_cap,
       extract(epoch FROM cp.updated_at),
       CASE WHEN cc_campaign_counts(cp.max_concurrency, cp.daily_cap)
            THEN (SELECT count(*) FROM reservations r WHERE r.campaign_id = cp.id) ELSE 0 END
FROM campaigns cp
"""


class Sampler(threading.Thread):
    """Samples every link, client and campaign while the load runs.

    A cap lowered by a seller below what is already in flight is not an overshoot: those calls
    were admitted under the old cap, and until in_flight falls below the new one no call may be
    admitted. So between two samples with the same caps (same updated_at), a count above its
    cap may only have gone down; a rise above the cap is an overshoot. Client seats and campaign
    caps are never lowered during the soak, so for them any count above the cap is one.
    """

    def __init__(self, uri: str, every: float):
        super().__init__(daemon=True, name="sampler")
        self.uri, self.every = uri, every
        self.stop_event = threading.Event()
        self.samples = 0
        self.violations: list[dict] = []
        self.drift: list[dict] = []
        self.grandfathered = 0
        self.peak: Counter = Counter()
        self.at_cap: Counter = Counter()
        self.seen: Counter = Counter()
        self.previous: dict = {}
        self.error: str | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.uri, autocommit=True) as conn:
                while not self.stop_event.is_set():
                    self.check(conn.execute(SNAPSHOT).fetchall(), time.time())
                    self.stop_event.wait(self.every)
        except Exception as exc:  # noqa: BLE001 - reported, and fails the run
            self.error = repr(exc)

    def check(self, rows, now: float) -> None:
        self.samples += 1
        for kind, ident, in_flight, cap, used, quota, edited, held in rows:
            key = (kind, ident)
            if in_flight != held:
                self.drift.append({"at": now, "entity": f"{kind} {ident}", "in_flight": in_flight,
                                   "held": held})
            measures = [(f"{kind}", in_flight, cap)]
            if kind == "link":
                measures.append(("link_total", used + in_flight, quota))
            if kind == "campaign":
                measures.append(("campaign_daily", used + in_flight, quota))
            previous = self.previous.get(key)
            for name, value, limit in measures:
                mkey = (name, ident)
                self.seen[mkey] += 1
                self.peak[mkey] = max(self.peak[mkey], value)
                if limit is None:
                    continue
                if value >= limit:
                    self.at_cap[mkey] += 1
                if value <= limit:
                    continue
                before = previous.get(name) if previous else None
                same_caps = previous is not None and previous["edited"] == edited
                if kind == "link" and (before is None or not same_caps or value <= before):
                    self.grandfathered += 1  # lowered by a seller with calls in flight
                    continue
                self.violations.append({"at": now, "measure": name, "id": ident, "value": value,
                                        "cap": limit, "previous": before})
            self.previous[key] = {"edited": edited, **{n: v for n, v, _ in measures}}

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)

"""Reports at a million calls: indexes that keep every call-log filter a range scan in keyset
order, a partial index of open calls, and a daily rollup of ended calls (and their attempts)
kept exact by triggers, so a summary over 90 days reads days, not calls.

Revision ID: 0008_reports
Revises: 0007_asterisk_cdr

The rollup (`call_log_days`, `call_attempt_days`) holds every *ended* call (ended_at set), keyed
by the UTC day the call started (an attempt: the day the attempt started) and by every column a
summary filters on. Triggers keep it exact under any write: a call's row moves between keys when
it ends, changes or is deleted; an attempt of an ended call moves when it ends, changes or is
deleted. Calls still open are never in it (summaries read them live through ix_call_logs_open).
The routing hot path gains no round trip: an open call's updates (its decision rounds) do not
even enter the trigger function (WHEN clauses); ending a call costs one upsert per table.

Indexes are created plainly (a lock on writes to call_logs while they build, seconds per million
rows); on a large live database create them beforehand with CREATE INDEX CONCURRENTLY under the
same names: IF NOT EXISTS skips them here.
"""
from alembic import op

revision = "0008_reports"
down_revision = "0007_asterisk_cdr"
branch_labels = None
depends_on = None

# (name, table, definition): each list filter's equality columns, then the keyset order.
NEW_INDEXES = (
    ("ix_call_logs_campaign_started_id", "call_logs", "(campaign_id, started_at, id)"),
    ("ix_call_logs_client_started_id", "call_logs", "(client_id, started_at, id)"),
    ("ix_call_logs_status_started_id", "call_logs", "(status, started_at, id)"),
    ("ix_call_logs_did_started_id", "call_logs", "(did, started_at, id)"),
    ("ix_call_logs_caller_started_id", "call_logs", "(caller_id, started_at, id)"),
    ("ix_call_logs_seller_status_started_id", "call_logs", "(seller_id, status, started_at, id)"),
    ("ix_call_logs_seller_client_started_id", "call_logs", "(seller_id, client_id, started_at, id)"),
    ("ix_call_logs_open", "call_logs", "(started_at) WHERE ended_at IS NULL"),
    ("ix_call_attempts_started_at", "call_attempts", "(started_at)"),
)
# Superseded by the ones above (same leading columns, plus the keyset order).
OLD_INDEXES = (
    ("ix_call_logs_campaign_started", "call_logs", "(campaign_id, started_at)"),
    ("ix_call_logs_client_started", "call_logs", "(client_id, started_at)"),
    ("ix_call_logs_status", "call_logs", "(status)"),
)

ROLLUP_TABLES = """
CREATE TABLE call_log_days (
    id BIGSERIAL CONSTRAINT pk_call_log_days PRIMARY KEY,
    day DATE NOT NULL,
    seller_id INTEGER,
    campaign_id INTEGER,
    client_id INTEGER,
    did VARCHAR(32),
    status VARCHAR(16) NOT NULL,
    calls INTEGER NOT NULL DEFAULT 0,
    billsec_sum BIGINT NOT NULL DEFAULT 0,
    billsec_n INTEGER NOT NULL DEFAULT 0,
    converted INTEGER NOT NULL DEFAULT 0,
    payout NUMERIC(14, 2) NOT NULL DEFAULT 0,
    revenue NUMERIC(14, 2) NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX uq_call_log_days_key ON call_log_days
    (day, seller_id, campaign_id, client_id, did, status) NULLS NOT DISTINCT;

CREATE TABLE call_attempt_days (
    id BIGSERIAL CONSTRAINT pk_call_attempt_days PRIMARY KEY,
    day DATE NOT NULL,
    seller_id INTEGER,
    campaign_id INTEGER,
    call_client_id INTEGER,
    did VARCHAR(32),
    call_status VARCHAR(16) NOT NULL,
    client_id INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    answered INTEGER NOT NULL DEFAULT 0,
    billsec_sum BIGINT NOT NULL DEFAULT 0,
    billsec_n INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX uq_call_attempt_days_key ON call_attempt_days
    (day, seller_id, campaign_id, call_client_id, did, call_status, client_id) NULLS NOT DISTINCT;
"""

FUNCTIONS = """
-- What one ended call (and its ended attempts) adds to the rollup, times `sign` (+1 / -1).
CREATE FUNCTION report_call_delta(c call_logs, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF c.ended_at IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO call_log_days AS d (day, seller_id, campaign_id, client_id, did, status, calls,
                                    billsec_sum, billsec_n, converted, payout, revenue)
    VALUES ((c.started_at AT TIME ZONE 'UTC')::date, c.seller_id, c.campaign_id, c.client_id,
            c.did, c.status, sign, sign * coalesce(c.billsec, 0),
            sign * (c.billsec IS NOT NULL)::int, sign * c.converted::int,
            sign * coalesce(c.payout, 0), sign * coalesce(c.revenue, 0))
    ON CONFLICT (day, seller_id, campaign_id, client_id, did, status) DO UPDATE
    SET calls = d.calls + excluded.calls, billsec_sum = d.billsec_sum + excluded.billsec_sum,
        billsec_n = d.billsec_n + excluded.billsec_n,
        converted = d.converted + excluded.converted, payout = d.payout + excluded.payout,
        revenue = d.revenue + excluded.revenue;

    INSERT INTO call_attempt_days AS d (day, seller_id, campaign_id, call_client_id, did,
                                        call_status, client_id, attempts, answered,
                                        billsec_sum, billsec_n)
    SELECT (a.started_at AT TIME ZONE 'UTC')::date, c.seller_id, c.campaign_id, c.client_id,
           c.did, c.status, a.client_id, sign * count(*),
           sign * count(*) FILTER (WHERE a.dial_status = 'ANSWER'),
           sign * coalesce(sum(c.billsec) FILTER (WHERE a.dial_status = 'ANSWER'), 0),
           sign * count(c.billsec) FILTER (WHERE a.dial_status = 'ANSWER')
    FROM call_attempts a
    WHERE a.call_log_id = c.id AND a.ended_at IS NOT NULL
    GROUP BY 1, a.client_id
    ON CONFLICT (day, seller_id, campaign_id, call_client_id, did, call_status, client_id)
    DO UPDATE
    SET attempts = d.attempts + excluded.attempts, answered = d.answered + excluded.answered,
        billsec_sum = d.billsec_sum + excluded.billsec_sum,
        billsec_n = d.billsec_n + excluded.billsec_n;
END $$;

-- What one ended attempt of an ended call adds, times `sign`.
CREATE FUNCTION report_attempt_delta(a call_attempts, c call_logs, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    answered boolean := a.dial_status IS NOT DISTINCT FROM 'ANSWER';
BEGIN
    IF a.ended_at IS NULL OR c.ended_at IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO call_attempt_days AS d (day, seller_id, campaign_id, call_client_id, did,
                                        call_status, client_id, attempts, answered,
                                        billsec_sum, billsec_n)
    VALUES ((a.started_at AT TIME ZONE 'UTC')::date, c.seller_id, c.campaign_id, c.client_id,
            c.did, c.status, a.client_id, sign, sign * answered::int,
            CASE WHEN answered THEN sign * coalesce(c.billsec, 0) ELSE 0 END,
            CASE WHEN answered AND c.billsec IS NOT NULL THEN sign ELSE 0 END)
    ON CONFLICT (day, seller_id, campaign_id, call_client_id, did, call_status, client_id)
    DO UPDATE
    SET attempts = d.attempts + excluded.attempts, answered = d.answered + excluded.answered,
        billsec_sum = d.billsec_sum + excluded.billsec_sum,
        billsec_n = d.billsec_n + excluded.billsec_n;
END $$;

CREATE FUNCTION report_call_logs_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM report_call_delta(OLD, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM report_call_delta(NEW, 1);
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;

-- An attempt's change counts only once its call has ended. The call row is read FOR SHARE:
-- a concurrent transaction ending the call either commits first (we see it ended) or waits
-- for us (its trigger then sees this attempt), so neither side misses the other.
CREATE FUNCTION report_call_attempts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c call_logs;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.ended_at IS NOT NULL THEN
        SELECT * INTO c FROM call_logs WHERE id = OLD.call_log_id FOR SHARE;
        IF FOUND THEN
            PERFORM report_attempt_delta(OLD, c, -1);
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.ended_at IS NOT NULL THEN
        IF c.id IS DISTINCT FROM NEW.call_log_id THEN
            SELECT * INTO c FROM call_logs WHERE id = NEW.call_log_id FOR SHARE;
        END IF;
        IF c.id IS NOT NULL THEN
            PERFORM report_attempt_delta(NEW, c, 1);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION report_call_logs_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM call_log_days;
    DELETE FROM call_attempt_days;
    RETURN NULL;
END $$;
"""

# The columns a call's rollup contribution depends on: an update that changes none of them
# (an open call's decision rounds, say) never enters the trigger function.
_CALL_KEY = ("started_at", "ended_at IS NULL", "seller_id", "campaign_id", "client_id", "did",
             "status", "billsec", "converted", "payout", "revenue")
_OLD = ", ".join(f"OLD.{c}" for c in _CALL_KEY)
_NEW = ", ".join(f"NEW.{c}" for c in _CALL_KEY)

TRIGGERS = f"""
CREATE TRIGGER report_call_logs_insert AFTER INSERT ON call_logs
    FOR EACH ROW WHEN (NEW.ended_at IS NOT NULL)
    EXECUTE FUNCTION report_call_logs_changed();
CREATE TRIGGER report_call_logs_update AFTER UPDATE ON call_logs
    FOR EACH ROW WHEN ((OLD.ended_at IS NOT NULL OR NEW.ended_at IS NOT NULL)
                       AND ({_OLD}) IS DISTINCT FROM ({_NEW}))
    EXECUTE FUNCTION report_call_logs_changed();
-- BEFORE: the call's attempts are still there to subtract (the cascade deletes them after).
CREATE TRIGGER report_call_logs_delete BEFORE DELETE ON call_logs
    FOR EACH ROW WHEN (OLD.ended_at IS NOT NULL)
    EXECUTE FUNCTION report_call_logs_changed();
CREATE TRIGGER report_call_logs_truncate AFTER TRUNCATE ON call_logs
    FOR EACH STATEMENT EXECUTE FUNCTION report_call_logs_truncated();
CREATE TRIGGER report_call_attempts_insert AFTER INSERT ON call_attempts
    FOR EACH ROW WHEN (NEW.ended_at IS NOT NULL)
    EXECUTE FUNCTION report_call_attempts_changed();
CREATE TRIGGER report_call_attempts_update AFTER UPDATE ON call_attempts
    FOR EACH ROW WHEN ((OLD.ended_at IS NOT NULL OR NEW.ended_at IS NOT NULL)
                       AND OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION report_call_attempts_changed();
CREATE TRIGGER report_call_attempts_delete AFTER DELETE ON call_attempts
    FOR EACH ROW WHEN (OLD.ended_at IS NOT NULL)
    EXECUTE FUNCTION report_call_attempts_changed();
"""

# The rollup of the calls already there (the triggers exist and hold their lock on the tables
# until this transaction commits, so nothing is counted twice or missed).
BACKFILL = """
INSERT INTO call_log_days (day, seller_id, campaign_id, client_id, did, status, calls,
                           billsec_sum, billsec_n, converted, payout, revenue)
SELECT (started_at AT TIME ZONE 'UTC')::date, seller_id, campaign_id, client_id, did, status,
       count(*), coalesce(sum(billsec), 0), count(billsec), count(*) FILTER (WHERE converted),
       coalesce(sum(payout), 0), coalesce(sum(revenue), 0)
FROM call_logs WHERE ended_at IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO call_attempt_days (day, seller_id, campaign_id, call_client_id, did, call_status,
                               client_id, attempts, answered, billsec_sum, billsec_n)
SELECT (a.started_at AT TIME ZONE 'UTC')::date, c.seller_id, c.campaign_id, c.client_id, c.did,
       c.status, a.client_id, count(*), count(*) FILTER (WHERE a.dial_status = 'ANSWER'),
       coalesce(sum(c.billsec) FILTER (WHERE a.dial_status = 'ANSWER'), 0),
       count(c.billsec) FILTER (WHERE a.dial_status = 'ANSWER')
FROM call_attempts a JOIN call_logs c ON c.id = a.call_log_id
WHERE a.ended_at IS NOT NULL AND c.ended_at IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7;
"""


def upgrade():
    for name, table, definition in NEW_INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {definition}")
    for name, _table, _definition in OLD_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute(ROLLUP_TABLES)
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)
    op.execute(BACKFILL)


def downgrade():
    for name, table in (("report_call_logs_insert", "call_logs"),
                        ("report_call_logs_update", "call_logs"),
                        ("report_call_logs_delete", "call_logs"),
                        ("report_call_logs_truncate", "call_logs"),
                        ("report_call_attempts_insert", "call_attempts"),
                        ("report_call_attempts_update", "call_attempts"),
                        ("report_call_attempts_delete", "call_attempts")):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION report_call_logs_changed(), report_call_attempts_changed(), "
               "report_call_logs_truncated(), report_call_delta(call_logs, integer), "
               "report_attempt_delta(call_attempts, call_logs, integer)")
    op.execute("DROP TABLE call_log_days, call_attempt_days")
    for name, table, definition in OLD_INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {definition}")
    for name, _table, _definition in NEW_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")

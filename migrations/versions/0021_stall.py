"""A slow commit of one call's end no longer pauses the other calls' ends: the daily rollup
(call_log_days, call_attempt_days) may hold several rows per key, and a call's end writes one
that no other transaction in progress is writing.

Why: a call's end added itself to its rollup row under the same commit, and the row stayed
locked until that commit was durable. Every call of a campaign that ended unanswered on one
DID (abandoned, all_failed, …: no client) shares one row per day and status, whatever link it
rang, so one such end committing slowly made every other one wait (and keep its slot and its
database connection meanwhile). Now each key has slots (0, 1, …): a writer takes slot k's
advisory lock without waiting (pg_try_advisory_xact_lock), the first it gets, and writes only
that slot's row. A slot's lock is held by one transaction at a time, so its row is never
locked by another writer: no rollup write waits. A new slot appears only while the lower ones
are being written at once (for this key or another of its lock's bucket, 1 of 256), so a key
keeps a few rows at most, usually one. Summaries already add up the rows of a key; the rollup
stays exact.

Revision ID: 0021_stall
Revises: 0020_bid_housekeeping
"""
from alembic import op

from app.database.migration_history import revision_module

revision = "0021_stall"
down_revision = "0020_bid_housekeeping"
branch_labels = None
depends_on = None

# (table, its key columns, its sums)
ROLLUPS = (
    ("call_log_days", ("day", "seller_id", "campaign_id", "client_id", "did", "status"),
     ("calls", "billsec_sum", "billsec_n", "converted", "payout", "revenue")),
    ("call_attempt_days",
     ("day", "seller_id", "campaign_id", "call_client_id", "did", "call_status", "client_id"),
     ("attempts", "answered", "billsec_sum", "billsec_n")),
)

# 0016's rollup functions, each upsert aimed at the writer's own slot of its key.
FUNCTIONS = """
-- The slot of a rollup key (given as text: `p_key`) that this transaction writes: the first
-- whose advisory lock it gets at once (or already holds). Holding it, no other transaction
-- writes that slot's row, so the upsert never waits. A lock covers a slot of a bucket of keys
-- (the key's hash, modulo 256): a statement that ends or changes calls of thousands of keys at
-- once (deleting a campaign, a bulk correction) then holds at most 256 locks per slot instead
-- of one per key, which would crowd PostgreSQL's shared lock table; keys sharing a bucket only
-- make a writer take the next slot more often. Locks of the two-number form, the first number
-- naming the rollup and the slot.
CREATE FUNCTION report_slot(p_rollup text, VARIADIC p_key text[]) RETURNS smallint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_bucket int := hashtext(array_to_string(p_key, '|', '')) & 255;
    v_slot smallint := 0;
BEGIN
    WHILE NOT pg_try_advisory_xact_lock(hashtext(p_rollup || ':' || v_slot), v_bucket) LOOP
        v_slot := v_slot + 1;
    END LOOP;
    RETURN v_slot;
END $$;

-- Add to the attempts of one key (a day, the call's filter columns, the attempt's client), in
-- this transaction's slot of it.
CREATE FUNCTION report_add_attempts(p_day date, c call_logs, p_client_id int, p_attempts bigint,
                                    p_answered bigint, p_billsec_sum bigint, p_billsec_n bigint)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO call_attempt_days AS d (day, seller_id, campaign_id, call_client_id, did,
                                        call_status, client_id, slot, attempts, answered,
                                        billsec_sum, billsec_n)
    VALUES (p_day, c.seller_id, c.campaign_id, c.client_id, c.did, c.status, p_client_id,
            report_slot('call_attempt_days', p_day::text, c.seller_id::text, c.campaign_id::text,
                        c.client_id::text, c.did, c.status, p_client_id::text),
            p_attempts, p_answered, p_billsec_sum, p_billsec_n)
    ON CONFLICT (day, seller_id, campaign_id, call_client_id, did, call_status, client_id, slot)
    DO UPDATE
    SET attempts = d.attempts + excluded.attempts, answered = d.answered + excluded.answered,
        billsec_sum = d.billsec_sum + excluded.billsec_sum,
        billsec_n = d.billsec_n + excluded.billsec_n;
END $$;

-- `attempts_of`: the call_started_at under which the call's attempts are found now.
CREATE OR REPLACE FUNCTION report_call_delta(c call_logs, sign integer, attempts_of timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_day date := (c.started_at AT TIME ZONE 'UTC')::date;
BEGIN
    IF c.ended_at IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO call_log_days AS d (day, seller_id, campaign_id, client_id, did, status, slot,
                                    calls, billsec_sum, billsec_n, converted, payout, revenue)
    VALUES (v_day, c.seller_id, c.campaign_id, c.client_id, c.did, c.status,
            report_slot('call_log_days', v_day::text, c.seller_id::text, c.campaign_id::text,
                        c.client_id::text, c.did, c.status),
            sign, sign * coalesce(c.billsec, 0),
            sign * (c.billsec IS NOT NULL)::int, sign * c.converted::int,
            sign * coalesce(c.payout, 0), sign * coalesce(c.revenue, 0))
    ON CONFLICT (day, seller_id, campaign_id, client_id, did, status, slot) DO UPDATE
    SET calls = d.calls + excluded.calls, billsec_sum = d.billsec_sum + excluded.billsec_sum,
        billsec_n = d.billsec_n + excluded.billsec_n,
        converted = d.converted + excluded.converted, payout = d.payout + excluded.payout,
        revenue = d.revenue + excluded.revenue;

    PERFORM report_add_attempts(
        (a.started_at AT TIME ZONE 'UTC')::date, c, a.client_id, sign * count(*),
        sign * count(*) FILTER (WHERE a.dial_status = 'ANSWER'),
        sign * coalesce(sum(c.billsec) FILTER (WHERE a.dial_status = 'ANSWER'), 0),
        sign * count(c.billsec) FILTER (WHERE a.dial_status = 'ANSWER'))
    FROM call_attempts a
    WHERE a.call_log_id = c.id AND a.call_started_at = attempts_of AND a.ended_at IS NOT NULL
    GROUP BY (a.started_at AT TIME ZONE 'UTC')::date, a.client_id;
END $$;

CREATE OR REPLACE FUNCTION report_attempt_delta(a call_attempts, c call_logs, sign integer)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    answered boolean := a.dial_status IS NOT DISTINCT FROM 'ANSWER';
BEGIN
    IF a.ended_at IS NULL OR c.ended_at IS NULL THEN
        RETURN;
    END IF;
    PERFORM report_add_attempts(
        (a.started_at AT TIME ZONE 'UTC')::date, c, a.client_id, sign, sign * answered::int,
        CASE WHEN answered THEN sign * coalesce(c.billsec, 0) ELSE 0 END,
        CASE WHEN answered AND c.billsec IS NOT NULL THEN sign ELSE 0 END);
END $$;
"""


def _key_index(table: str, key: tuple[str, ...]) -> str:
    return (f"CREATE UNIQUE INDEX uq_{table}_key ON {table} ({', '.join(key)}) "
            "NULLS NOT DISTINCT")


def upgrade():
    for table, key, _ in ROLLUPS:
        op.execute(f"ALTER TABLE {table} ADD COLUMN slot SMALLINT NOT NULL DEFAULT 0")
        op.execute(f"DROP INDEX uq_{table}_key")
        op.execute(_key_index(table, (*key, "slot")))
    op.execute(FUNCTIONS)


def downgrade():
    # Each key's slots folded into slot 0, then the old key and functions.
    for table, key, sums in ROLLUPS:
        columns = ", ".join(key)
        op.execute(f"""
            WITH folded AS (
                DELETE FROM {table} WHERE slot > 0
                RETURNING {columns}, {', '.join(sums)})
            INSERT INTO {table} AS d ({columns}, slot, {', '.join(sums)})
            SELECT {columns}, 0, {', '.join(f'sum({s})' for s in sums)}
            FROM folded GROUP BY {columns}
            ON CONFLICT ({columns}, slot) DO UPDATE
            SET {', '.join(f'{s} = d.{s} + excluded.{s}' for s in sums)}""")
        op.execute(f"DROP INDEX uq_{table}_key")
        op.execute(f"ALTER TABLE {table} DROP COLUMN slot")
        op.execute(_key_index(table, key))
    op.execute(revision_module("0016_monthly_partitions").ROLLUP_FUNCTIONS_PARTITIONED.replace(
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    op.execute("DROP FUNCTION report_add_attempts(date, call_logs, int, bigint, bigint, bigint, "
               "bigint), report_slot(text, text[])")

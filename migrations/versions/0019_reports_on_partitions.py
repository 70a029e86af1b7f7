"""Reports on the monthly partitions: retention one month per transaction, and the routing
functions that read a call without its month given one.

- Retention drops one month per transaction, so the parent tables are held exclusively only
  while one month's partitions leave, not for the whole run. `partition_month_drop(month)`
  counts the month's rows and forgets its calls' keys first (nothing but that month is locked
  meanwhile), then takes call_logs, call_attempts and cdr exclusively (in that order, the
  routing engine's) and drops the partitions; the caller sets `lock_timeout` and commits.
  `partition_months_before(before)` lists the months a retention would drop and
  `partition_month_counts(month)` counts one (the dry run). They replace
  `partitions_drop_before`, which dropped every month in one transaction.
- The routing functions are installed again: a buyer's postback locks its call by its month
  (`cc_buyer_postback` takes the call's started_at), a campaign's daily cap that starts
  counting recounts today's answered calls from the calls of the last two days (see
  cc_start_counting_campaign), and the reconcile's question about open calls
  (`cc_vanished_calls`) keeps one plan for the session instead of being planned at every call.

Revision ID: 0019_reports_on_partitions
"""
from alembic import op

from app.database.migration_history import revision_module
from app.services.routing import sql as routing_sql

revision = "0019_reports_on_partitions"
down_revision = "0018_fewer_statements"
branch_labels = None
depends_on = None

# routing_sql.fingerprint() of the files this revision installs (tests compare it).
INSTALLS_ROUTING_SQL = "0769b86ce60e226c"

RETENTION_FUNCTIONS = r"""
-- The months (first days) before p_before that have a monthly partition of call_logs,
-- call_attempts or cdr, oldest first. The default partitions are never listed.
CREATE FUNCTION partition_months_before(p_before date) RETURNS SETOF date
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT to_date(substring(c.relname FROM '_p([0-9]{6})$'), 'YYYYMM')
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent IN ('call_logs'::regclass, 'call_attempts'::regclass, 'cdr'::regclass)
      AND c.relname ~ '^(call_logs|call_attempts|cdr)_p[0-9]{6}$'
      AND to_date(substring(c.relname FROM '_p([0-9]{6})$'), 'YYYYMM')
          < date_trunc('month', p_before)::date
    ORDER BY 1
$$;

-- The rows of one month's partitions (NULL: that table has no partition for the month).
CREATE FUNCTION partition_month_counts(p_month date, OUT month date, OUT call_logs bigint,
                                       OUT call_attempts bigint, OUT cdr bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_suffix text := '_p' || to_char(p_month, 'YYYYMM');
BEGIN
    month := date_trunc('month', p_month)::date;
    IF to_regclass('call_logs' || v_suffix) IS NOT NULL THEN
        EXECUTE format('SELECT count(*) FROM %I', 'call_logs' || v_suffix) INTO call_logs;
    END IF;
    IF to_regclass('call_attempts' || v_suffix) IS NOT NULL THEN
        EXECUTE format('SELECT count(*) FROM %I', 'call_attempts' || v_suffix) INTO call_attempts;
    END IF;
    IF to_regclass('cdr' || v_suffix) IS NOT NULL THEN
        EXECUTE format('SELECT count(*) FROM %I', 'cdr' || v_suffix) INTO cdr;
    END IF;
END $$;

-- Retention of one month, in the caller's transaction: its counts and its calls' keys first
-- (reads of that month's partitions and deletes of its keys: routing of the current month
-- does not wait for them), then the three parent tables exclusively, in the engine's order
-- (call_logs, call_attempts, cdr), while the partitions leave: the attempts' (nothing may
-- reference a call's partition when it is detached), the calls' (detached, then dropped), the
-- CDRs'. The caller sets lock_timeout (routing waits at most that long) and commits at once:
-- the parents stay locked until then. A lock not granted raises lock_not_available and the
-- whole month stays, keys included. The daily rollup and the links' counters are kept (see the
-- README); the month is written to audit_events.
CREATE FUNCTION partition_month_drop(p_month date, OUT month date, OUT call_logs bigint,
                                     OUT call_attempts bigint, OUT cdr bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_suffix text := '_p' || to_char(p_month, 'YYYYMM');
BEGIN
    SELECT * INTO month, call_logs, call_attempts, cdr FROM partition_month_counts(p_month);
    IF call_logs IS NOT NULL THEN
        EXECUTE format('DELETE FROM call_log_keys k USING %I c '
                       'WHERE k.uniqueid = c.uniqueid AND k.call_log_id = c.id',
                       'call_logs' || v_suffix);
    END IF;
    LOCK TABLE ONLY call_logs, ONLY call_attempts, ONLY cdr IN ACCESS EXCLUSIVE MODE;
    IF call_attempts IS NOT NULL THEN
        EXECUTE format('DROP TABLE %I', 'call_attempts' || v_suffix);
    END IF;
    IF call_logs IS NOT NULL THEN
        EXECUTE format('ALTER TABLE call_logs DETACH PARTITION %I', 'call_logs' || v_suffix);
        EXECUTE format('DROP TABLE %I', 'call_logs' || v_suffix);
    END IF;
    IF cdr IS NOT NULL THEN
        EXECUTE format('DROP TABLE %I', 'cdr' || v_suffix);
    END IF;
    INSERT INTO audit_events (actor_id, action, entity_type, entity_id, changes)
    VALUES (NULL, 'retention', 'call_logs', to_char(month, 'YYYY-MM'),
            jsonb_build_object('dropped', jsonb_build_object(
                'call_logs', call_logs, 'call_attempts', call_attempts, 'cdr', cdr)));
END $$;
"""
NEW_FUNCTIONS = ("partition_months_before(date)", "partition_month_counts(date)",
                 "partition_month_drop(date)")


def upgrade():
    op.execute("DROP FUNCTION partitions_drop_before(date, boolean)")
    op.execute(RETENTION_FUNCTIONS)
    for signature in routing_sql.SUPERSEDED:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    routing_sql.install(op.execute)


def downgrade():
    for signature in NEW_FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    # 0016's retention, the last of its partition functions.
    partition_functions = revision_module("0016_monthly_partitions").PARTITION_FUNCTIONS
    op.execute(partition_functions[partition_functions.index("-- Retention:"):])

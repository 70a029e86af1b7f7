"""Call logs, their attempts and Asterisk's CDRs partitioned by month, so old months leave
by dropping a table and every read of one call or one time range touches one month.

Revision ID: 0016_monthly_partitions
Revises: 0013_hot_path_writes

- `call_logs` is partitioned by RANGE (started_at), one partition per UTC month
  (`call_logs_pYYYYMM`), plus `call_logs_default` for anything outside them. Its primary key
  becomes (id, started_at): a unique index of a partitioned table must hold the partition key.
- A call's uniqueid stays unique platform-wide in a small table of its own, `call_log_keys`
  (uniqueid → call_log_id, started_at), the routing engine's way in: it finds a call by its
  uniqueid there, then reads the call with its partition key (one partition, one primary-key
  lookup). Triggers keep it: a BEFORE INSERT trigger on call_logs claims the uniqueid and,
  when it is already taken, skips the row (what `ON CONFLICT (uniqueid) DO NOTHING` did, for
  every writer); a change of uniqueid or started_at moves the key (a uniqueid taken by another
  call fails); a deleted call gives its key back; TRUNCATE empties the keys too.
- `call_attempts` carry their call's start (`call_started_at`), are partitioned by it, and
  reference the call by (call_log_id, call_started_at) (ON DELETE / ON UPDATE CASCADE): a
  call's attempts live in its month's partition and leave with it.
- `cdr` (Asterisk's table, cdr_pgsql INSERTs into it by column name) is partitioned by RANGE
  (start) the same way (`cdr_pYYYYMM`, `cdr_default`): same columns, same order, same types,
  so cdr_pgsql's INSERTs are routed to their month.
- `partitions_ensure(months_ahead)` creates the months from the current one to
  `months_ahead` later that are missing (the FastAGI sweeper calls it periodically);
  `partitions_drop_before(month)` drops every whole month before it (`flask calls retention`).
  The daily rollup keeps the months dropped (see the README: summaries of them still answer).
- The rollup triggers of 0008_reports (with 0013's short conditions) and the routing functions
  are installed again, reading attempts and calls with their partition key.

Existing rows are copied into the new tables in this migration (the old tables are renamed,
copied and dropped), indexes built after the copy. Downgrading copies them back into plain
tables and restores the rollup as 0013 left it; like 0009's, it cannot give back the previous
versions of the routing functions (the files are always the newest): go down past 0006 or up
again.
"""
from alembic import op

from app.database.migration_history import revision_module
from app.services.routing import sql as routing_sql

revision = "0016_monthly_partitions"
down_revision = "0015_verdict_spelling"
branch_labels = None
depends_on = None

# routing_sql.fingerprint() of the files this revision installs (tests compare it).
INSTALLS_ROUTING_SQL = "48601f69ebef0831"

# Months created ahead when migrating (the sweeper keeps this many ahead afterwards).
MONTHS_AHEAD = 2


ROLLUP_TRIGGERS = ("report_call_logs_insert", "report_call_logs_update", "report_call_logs_delete",
                   "report_call_logs_truncate", "report_call_attempts_insert",
                   "report_call_attempts_update", "report_call_attempts_delete")
ROLLUP_FUNCTIONS = ("report_call_logs_changed()", "report_call_attempts_changed()",
                    "report_call_logs_truncated()", "report_call_delta(call_logs, integer)",
                    "report_call_delta(call_logs, integer, timestamptz)",
                    "report_attempt_delta(call_attempts, call_logs, integer)")

# Partition management, in SQL so the sweeper, the CLI and the tests share it.
PARTITION_FUNCTIONS = r"""
-- The partition of `p_parent` (call_logs, call_attempts or cdr) for the UTC month of p_month,
-- created if missing: a table like the parent, then ATTACHed (which locks the parent only
-- against other schema changes, not against reads and writes; the default partition is
-- checked for rows of that month). Returns whether it created one.
CREATE FUNCTION partition_month_create(p_parent text, p_month date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_month date := date_trunc('month', p_month)::date;
    v_name text := p_parent || '_p' || to_char(v_month, 'YYYYMM');
    v_zone text := CASE WHEN p_parent = 'cdr' THEN '' ELSE '+00' END;  -- cdr: local time, UTC
BEGIN
    IF to_regclass(v_name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   v_name, p_parent);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   p_parent, v_name, v_month::timestamp::text || v_zone,
                   (v_month + interval '1 month')::timestamp::text || v_zone);
    RETURN true;
END $$;

-- Every month from the current UTC month to p_months_ahead later, for the three tables.
-- A month that cannot be made now (a lock not granted within lock_timeout, rows of that
-- month waiting in a default partition) is reported as a warning and left for the next call.
CREATE FUNCTION partitions_ensure(p_months_ahead int DEFAULT 2) RETURNS int
LANGUAGE plpgsql SET lock_timeout = '500ms' AS $$
DECLARE
    v_created int := 0;
    v_month date;
    v_parent text;
BEGIN
    FOR v_month IN SELECT generate_series(date_trunc('month', now() AT TIME ZONE 'UTC'),
                                          date_trunc('month', now() AT TIME ZONE 'UTC')
                                              + make_interval(months => p_months_ahead),
                                          interval '1 month')::date LOOP
        -- A call and its attempts always have their month's partitions, or neither has.
        FOREACH v_parent IN ARRAY ARRAY['call_logs call_attempts', 'cdr'] LOOP
            BEGIN
                v_created := v_created
                    + (SELECT count(*) FILTER (WHERE partition_month_create(t, v_month))
                       FROM unnest(string_to_array(v_parent, ' ')) t)::int;
            EXCEPTION WHEN lock_not_available OR check_violation THEN
                RAISE WARNING 'partition of % for % not created: %', v_parent, v_month, SQLERRM;
            END;
        END LOOP;
    END LOOP;
    RETURN v_created;
END $$;

-- Retention: drop every monthly partition of a month before p_before (the first day of a
-- month), for the three tables; the calls' keys go with them. The default partitions are
-- not touched. With p_dry_run, only says what it would drop. The daily rollup and the links'
-- counters are kept: summaries of the dropped days still answer from the rollup, and caps
-- and billing keep counting every delivery. Each dropped month is written to audit_events.
CREATE FUNCTION partitions_drop_before(p_before date, p_dry_run boolean DEFAULT false)
RETURNS TABLE (month date, call_logs bigint, call_attempts bigint, cdr bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_month date;
    v_suffix text;
BEGIN
    FOR v_month IN
        SELECT DISTINCT to_date(substring(c.relname FROM '_p([0-9]{6})$'), 'YYYYMM') AS m
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent IN ('call_logs'::regclass, 'call_attempts'::regclass, 'cdr'::regclass)
          AND c.relname ~ '^(call_logs|call_attempts|cdr)_p[0-9]{6}$'
        ORDER BY 1
    LOOP
        EXIT WHEN v_month >= date_trunc('month', p_before)::date;
        v_suffix := '_p' || to_char(v_month, 'YYYYMM');
        month := v_month;
        call_logs := NULL; call_attempts := NULL; cdr := NULL;
        IF to_regclass('call_logs' || v_suffix) IS NOT NULL THEN
            EXECUTE format('SELECT count(*) FROM %I', 'call_logs' || v_suffix) INTO call_logs;
        END IF;
        IF to_regclass('call_attempts' || v_suffix) IS NOT NULL THEN
            EXECUTE format('SELECT count(*) FROM %I', 'call_attempts' || v_suffix) INTO call_attempts;
        END IF;
        IF to_regclass('cdr' || v_suffix) IS NOT NULL THEN
            EXECUTE format('SELECT count(*) FROM %I', 'cdr' || v_suffix) INTO cdr;
        END IF;
        IF NOT p_dry_run THEN
            IF call_logs IS NOT NULL THEN
                EXECUTE format('DELETE FROM call_log_keys k USING %I c '
                               'WHERE k.uniqueid = c.uniqueid AND k.call_log_id = c.id',
                               'call_logs' || v_suffix);
            END IF;
            -- Attempts first: a call_logs partition can leave only once nothing references it.
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
            VALUES (NULL, 'retention', 'call_logs', to_char(v_month, 'YYYY-MM'),
                    jsonb_build_object('dropped', jsonb_build_object(
                        'call_logs', call_logs, 'call_attempts', call_attempts, 'cdr', cdr)));
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;
"""

KEY_FUNCTIONS = r"""
-- call_log_keys: the uniqueid of every call, unique platform-wide (see the module docstring).
CREATE FUNCTION call_log_key_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO call_log_keys (uniqueid, call_log_id, started_at)
    VALUES (NEW.uniqueid, NEW.id, NEW.started_at)
    ON CONFLICT (uniqueid) DO NOTHING;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    RETURN NULL;  -- the uniqueid is another call's: insert nothing
END $$;

CREATE FUNCTION call_log_key_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.uniqueid, OLD.started_at) IS NOT DISTINCT FROM (NEW.uniqueid, NEW.started_at) THEN
        RETURN NULL;
    END IF;
    UPDATE call_log_keys SET uniqueid = NEW.uniqueid, started_at = NEW.started_at
    WHERE uniqueid = OLD.uniqueid AND call_log_id = OLD.id;
    RETURN NULL;
END $$;

-- BEFORE DELETE: also runs when an UPDATE moves a call to another month's partition (a
-- DELETE there, then an INSERT that claims the key again).
CREATE FUNCTION call_log_key_released() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM call_log_keys WHERE uniqueid = OLD.uniqueid AND call_log_id = OLD.id;
    RETURN OLD;
END $$;

CREATE FUNCTION call_log_keys_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM call_log_keys;
    RETURN NULL;
END $$;

CREATE TRIGGER call_log_key_claim BEFORE INSERT ON call_logs
    FOR EACH ROW EXECUTE FUNCTION call_log_key_claim();
-- Only for an UPDATE that names these columns (the engine's never do), and without a WHEN:
-- a trigger's condition is read back from its stored text by every statement that fires it.
CREATE TRIGGER call_log_key_moved AFTER UPDATE OF uniqueid, started_at ON call_logs
    FOR EACH ROW EXECUTE FUNCTION call_log_key_moved();
CREATE TRIGGER call_log_key_released BEFORE DELETE ON call_logs
    FOR EACH ROW EXECUTE FUNCTION call_log_key_released();
CREATE TRIGGER call_log_keys_truncate AFTER TRUNCATE ON call_logs
    FOR EACH STATEMENT EXECUTE FUNCTION call_log_keys_truncated();
"""

# 0008's rollup functions, reading a call's attempts and an attempt's call with the partition
# key (one partition each). A change of a call's started_at reaches its attempts by the foreign
# key's ON UPDATE CASCADE: inside one month's partition, that cascade runs before the call's
# AFTER UPDATE trigger (PostgreSQL fires a table's AFTER triggers by name, and its own "RI_…"
# triggers sort first), so the call's trigger finds the attempts under the new started_at and
# the attempts' own trigger ignores an update of call_started_at alone. A move to another month
# is a DELETE (its BEFORE trigger subtracts the call with its attempts, not yet moved) and an
# INSERT (whose AFTER trigger runs before the cascade: the call alone), then the cascade moves
# the attempts to their new month (DELETE + INSERT there: each attempt added back by its own
# trigger). Months are always made for call_logs and call_attempts together.
ROLLUP_FUNCTIONS_PARTITIONED_TEMPLATE = """
-- `attempts_of`: the call_started_at under which the call's attempts are found now.
CREATE FUNCTION report_call_delta(c call_logs, sign integer, attempts_of timestamptz)
RETURNS void
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
    WHERE a.call_log_id = c.id AND a.call_started_at = attempts_of AND a.ended_at IS NOT NULL
    GROUP BY 1, a.client_id
    ON CONFLICT (day, seller_id, campaign_id, call_client_id, did, call_status, client_id)
    DO UPDATE
    SET attempts = d.attempts + excluded.attempts, answered = d.answered + excluded.answered,
        billsec_sum = d.billsec_sum + excluded.billsec_sum,
        billsec_n = d.billsec_n + excluded.billsec_n;
END $$;

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
    IF TG_OP = 'UPDATE' AND (%(old_call)s) IS NOT DISTINCT FROM (%(new_call)s) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM report_call_delta(OLD, -1, OLD.started_at);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM report_call_delta(OLD, -1, NEW.started_at);
        PERFORM report_call_delta(NEW, 1, NEW.started_at);
    ELSE
        PERFORM report_call_delta(NEW, 1, NEW.started_at);
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE FUNCTION report_call_attempts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c call_logs;
BEGIN
    -- call_started_at changes only with its call's started_at, counted by the call's trigger.
    IF TG_OP = 'UPDATE' AND (%(old_attempt)s) IS NOT DISTINCT FROM (%(new_attempt)s) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.ended_at IS NOT NULL THEN
        SELECT * INTO c FROM call_logs
        WHERE id = OLD.call_log_id AND started_at = OLD.call_started_at FOR SHARE;
        IF FOUND THEN
            PERFORM report_attempt_delta(OLD, c, -1);
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.ended_at IS NOT NULL THEN
        IF c.id IS DISTINCT FROM NEW.call_log_id OR c.started_at IS DISTINCT FROM NEW.call_started_at THEN
            SELECT * INTO c FROM call_logs
            WHERE id = NEW.call_log_id AND started_at = NEW.call_started_at FOR SHARE;
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

_CALL_KEY = ("started_at", "ended_at IS NULL", "seller_id", "campaign_id", "client_id", "did",
             "status", "billsec", "converted", "payout", "revenue")
_ATTEMPT_KEY = ("call_log_id", "attempt_no", "client_id", "setting_id", "started_at", "ended_at",
                "dial_status", "duration")
ROLLUP_FUNCTIONS_PARTITIONED = ROLLUP_FUNCTIONS_PARTITIONED_TEMPLATE % {
    f"{row}_{what}": ", ".join(f"{row.upper()}.{c}" for c in columns)
    for row in ("old", "new")
    for what, columns in (("call", _CALL_KEY), ("attempt", _ATTEMPT_KEY))}

# 0008's triggers with 0013's short update conditions (what changed is compared inside).
_ENDED = "OLD.ended_at IS NOT NULL OR NEW.ended_at IS NOT NULL"
ROLLUP_TRIGGERS_SQL = f"""
CREATE TRIGGER report_call_logs_insert AFTER INSERT ON call_logs
    FOR EACH ROW WHEN (NEW.ended_at IS NOT NULL)
    EXECUTE FUNCTION report_call_logs_changed();
CREATE TRIGGER report_call_logs_update AFTER UPDATE ON call_logs
    FOR EACH ROW WHEN ({_ENDED}) EXECUTE FUNCTION report_call_logs_changed();
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
    FOR EACH ROW WHEN ({_ENDED}) EXECUTE FUNCTION report_call_attempts_changed();
CREATE TRIGGER report_call_attempts_delete AFTER DELETE ON call_attempts
    FOR EACH ROW WHEN (OLD.ended_at IS NOT NULL)
    EXECUTE FUNCTION report_call_attempts_changed();
"""

# Constraints whose columns change (the rest of each table's indexes are re-created as they
# were, from pg_get_indexdef).
KEYS_UP = {
    "call_logs": ["ALTER TABLE call_logs ADD CONSTRAINT pk_call_logs PRIMARY KEY (id, started_at)"],
    "call_attempts": [
        "ALTER TABLE call_attempts ADD CONSTRAINT pk_call_attempts "
        "PRIMARY KEY (id, call_started_at)",
        "ALTER TABLE call_attempts ADD CONSTRAINT uq_call_attempts_call_log_id_call_started_at_attempt_no "
        "UNIQUE (call_log_id, call_started_at, attempt_no)",
        "ALTER TABLE call_attempts ADD CONSTRAINT fk_call_attempts_call_log_id_call_logs "
        "FOREIGN KEY (call_log_id, call_started_at) REFERENCES call_logs (id, started_at) "
        "ON UPDATE CASCADE ON DELETE CASCADE",
    ],
    "cdr": [],
}
KEYS_DOWN = {
    "call_logs": ["ALTER TABLE call_logs ADD CONSTRAINT pk_call_logs PRIMARY KEY (id)",
                  "ALTER TABLE call_logs ADD CONSTRAINT uq_call_logs_uniqueid UNIQUE (uniqueid)"],
    "call_attempts": [
        "ALTER TABLE call_attempts ADD CONSTRAINT pk_call_attempts PRIMARY KEY (id)",
        "ALTER TABLE call_attempts ADD CONSTRAINT uq_call_attempts_call_log_id_attempt_no "
        "UNIQUE (call_log_id, attempt_no)",
        "ALTER TABLE call_attempts ADD CONSTRAINT fk_call_attempts_call_log_id_call_logs "
        "FOREIGN KEY (call_log_id) REFERENCES call_logs (id) ON DELETE CASCADE",
    ],
    "cdr": [],
}
PARTITION_KEYS = {"call_logs": "started_at", "call_attempts": "call_started_at", "cdr": "start"}
# FKs to other tables, re-created on the new tables with their names.
OTHER_FKS = {
    "call_logs": [
        "ADD CONSTRAINT fk_call_logs_campaign_id_campaigns FOREIGN KEY (campaign_id) "
        "REFERENCES campaigns (id) ON DELETE SET NULL",
        "ADD CONSTRAINT fk_call_logs_client_id_clients FOREIGN KEY (client_id) "
        "REFERENCES clients (id) ON DELETE SET NULL",
        "ADD CONSTRAINT fk_call_logs_seller_id_users FOREIGN KEY (seller_id) "
        "REFERENCES users (id) ON DELETE RESTRICT",
    ],
    "call_attempts": [
        "ADD CONSTRAINT fk_call_attempts_client_id_clients FOREIGN KEY (client_id) "
        "REFERENCES clients (id) ON DELETE SET NULL",
        "ADD CONSTRAINT fk_call_attempts_setting_id_campaign_client_settings "
        "FOREIGN KEY (setting_id) REFERENCES campaign_client_settings (id) ON DELETE SET NULL",
    ],
    "cdr": [],
}
TABLES = ("call_logs", "call_attempts", "cdr")


def _scalar_list(sql: str) -> list:
    return [row[0] for row in op.get_bind().exec_driver_sql(sql)]


def _plain_indexes(table: str) -> list[str]:
    """CREATE INDEX statements of `table`'s indexes that back no constraint."""
    return [definition.replace(" ON ONLY ", " ON ") for definition in _scalar_list(f"""
        SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid = '{table}'::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY i.indexrelid""")]


def _set_aside(table: str) -> list[str]:
    """Rename `table` to <table>_old, without its indexes and constraints other than CHECK
    and NOT NULL (their names are taken again by the new table); returns its plain indexes."""
    indexes = _plain_indexes(table)
    for name in _scalar_list(f"""SELECT conname FROM pg_constraint
                                 WHERE conrelid = '{table}'::regclass AND contype IN ('f', 'p', 'u')
                                 ORDER BY contype = 'f' DESC"""):
        op.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name in _scalar_list(f"""SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                                 WHERE i.indrelid = '{table}'::regclass"""):
        op.execute(f'DROP INDEX "{name}"')
    op.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
    return indexes


def _months_of(table: str, key: str) -> list[str]:
    """Every month (YYYY-MM-01) from the oldest row of `table` to MONTHS_AHEAD months ahead."""
    return _scalar_list(f"""
        SELECT to_char(m, 'YYYY-MM-DD') FROM generate_series(
            date_trunc('month', least(
                (SELECT min({key}) FROM {table}_old)::timestamp,
                now() AT TIME ZONE 'UTC')),
            date_trunc('month', now() AT TIME ZONE 'UTC') + interval '{MONTHS_AHEAD} months',
            interval '1 month') m""")


def _drop_dependants() -> None:
    for name in ROLLUP_TRIGGERS:
        table = "call_logs" if "call_logs" in name else "call_attempts"
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {', '.join(ROLLUP_FUNCTIONS)}")


def upgrade():
    _drop_dependants()
    op.execute("ALTER TABLE call_attempts DROP CONSTRAINT fk_call_attempts_call_log_id_call_logs")
    indexes = {table: _set_aside(table) for table in TABLES}
    op.execute("""
        CREATE TABLE call_log_keys (
            uniqueid VARCHAR(150) NOT NULL CONSTRAINT pk_call_log_keys PRIMARY KEY,
            call_log_id BIGINT NOT NULL,
            started_at TIMESTAMP WITH TIME ZONE NOT NULL
        )""")
    for table in TABLES:
        key = PARTITION_KEYS[table]
        extra = ", call_started_at TIMESTAMP WITH TIME ZONE NOT NULL" if table == "call_attempts" else ""
        op.execute(f"CREATE TABLE {table} (LIKE {table}_old INCLUDING DEFAULTS INCLUDING "
                   f"CONSTRAINTS{extra}) PARTITION BY RANGE ({key})")
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    op.execute(PARTITION_FUNCTIONS)
    for table in TABLES:
        month_source = "call_logs" if table == "call_attempts" else table
        month_key = "started_at" if table == "call_attempts" else PARTITION_KEYS[table]
        for month in _months_of(month_source, month_key):
            op.execute(f"SELECT partition_month_create('{table}', DATE '{month}')")
    op.execute("INSERT INTO call_logs SELECT * FROM call_logs_old")
    op.execute("INSERT INTO call_log_keys (uniqueid, call_log_id, started_at) "
               "SELECT uniqueid, id, started_at FROM call_logs_old")
    op.execute("INSERT INTO call_attempts SELECT a.*, c.started_at FROM call_attempts_old a "
               "JOIN call_logs_old c ON c.id = a.call_log_id")
    op.execute("INSERT INTO cdr SELECT * FROM cdr_old")
    for table in TABLES:
        for statement in KEYS_UP[table]:
            op.execute(statement)
        for clause in OTHER_FKS[table]:
            op.execute(f"ALTER TABLE {table} {clause}")
        for definition in indexes[table]:
            op.execute(definition)
    op.execute("ALTER SEQUENCE call_logs_id_seq OWNED BY call_logs.id")
    op.execute("ALTER SEQUENCE call_attempts_id_seq OWNED BY call_attempts.id")
    for table in ("call_attempts", "call_logs", "cdr"):
        op.execute(f"DROP TABLE {table}_old")
    op.execute(KEY_FUNCTIONS)
    op.execute(ROLLUP_FUNCTIONS_PARTITIONED)
    op.execute(ROLLUP_TRIGGERS_SQL)
    for signature in routing_sql.SUPERSEDED:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    routing_sql.install(op.execute)


def downgrade():
    _drop_dependants()
    for name in ("call_log_key_claim", "call_log_key_moved", "call_log_key_released",
                 "call_log_keys_truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON call_logs")
    op.execute("DROP FUNCTION call_log_key_claim(), call_log_key_moved(), "
               "call_log_key_released(), call_log_keys_truncated(), "
               "partitions_drop_before(date, boolean), partitions_ensure(int), "
               "partition_month_create(text, date)")
    op.execute("ALTER TABLE call_attempts DROP CONSTRAINT fk_call_attempts_call_log_id_call_logs")
    indexes = {table: _set_aside(table) for table in TABLES}
    for table in TABLES:
        columns = _scalar_list(f"""SELECT quote_ident(attname) FROM pg_attribute
                                   WHERE attrelid = '{table}_old'::regclass AND attnum > 0
                                     AND NOT attisdropped AND attname <> 'call_started_at'
                                   ORDER BY attnum""")
        op.execute(f"CREATE TABLE {table} (LIKE {table}_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        if table == "call_attempts":
            op.execute("ALTER TABLE call_attempts DROP COLUMN call_started_at")
        op.execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                   f"SELECT {', '.join(columns)} FROM {table}_old")
    for table in TABLES:
        for statement in KEYS_DOWN[table]:
            op.execute(statement)
        for clause in OTHER_FKS[table]:
            op.execute(f"ALTER TABLE {table} {clause}")
        for definition in indexes[table]:
            op.execute(definition)
    op.execute("ALTER SEQUENCE call_logs_id_seq OWNED BY call_logs.id")
    op.execute("ALTER SEQUENCE call_attempts_id_seq OWNED BY call_attempts.id")
    for table in ("call_attempts", "call_logs", "cdr"):
        op.execute(f"DROP TABLE {table}_old CASCADE")
    op.execute("DROP TABLE call_log_keys")
    op.execute(revision_module("0008_reports").FUNCTIONS)
    op.execute(revision_module("0008_reports").TRIGGERS)
    for statement in revision_module("0013_hot_path_writes")._report_triggers(short=True):
        op.execute(statement)

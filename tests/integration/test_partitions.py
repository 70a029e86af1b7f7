"""Monthly partitions of call_logs, call_attempts and cdr: the uniqueid kept unique through
call_log_keys, calls and attempts moving between months, the engine's statements reading one
partition, partitions made ahead, retention, and the migration converting a database with data."""
import threading
import time
from datetime import date, datetime, timezone

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app import create_app
from app.extensions import db
from app.services.routing import CallArrival, CallEnd, RoutingService
from tests.integration.api.test_reports_at_scale import (RECOUNT_ATTEMPT_DAYS, RECOUNT_DAYS,
                                                          ROLLUP_ATTEMPT_DAYS, ROLLUP_DAYS)
from fake_asterisk.cdr_pgsql import read_captured_cdrs, write_cdrs
from tests.support.routing import assert_counters_match_a_recount, execute, scalar

OLD_MONTHS = (date(2020, 1, 1), date(2020, 2, 1), date(2020, 3, 1))


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


@pytest.fixture
def rows(engine):
    def run(statement: str, **params):
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    return run


@pytest.fixture
def old_months(engine):
    """Partitions of three months of 2020 for the three tables, dropped again afterwards."""
    for month in OLD_MONTHS:
        for table in ("call_logs", "call_attempts", "cdr"):
            execute(engine, "SELECT partition_month_create(:t, :m)", t=table, m=month)
    yield OLD_MONTHS
    execute(engine, "SELECT partition_month_drop(m) FROM partition_months_before(DATE '2020-04-01') m")
    execute(engine, "DELETE FROM audit_events WHERE action = 'retention'")


def partition_of(rows, table: str, where: str, **params) -> list[str]:
    return [name for (name,) in rows(f"SELECT DISTINCT tableoid::regclass::text FROM {table} "
                                     f"WHERE {where}", **params)]


def assert_rollup_is_exact(rows):
    assert sorted(rows(ROLLUP_DAYS), key=repr) == sorted(rows(RECOUNT_DAYS), key=repr)
    assert sorted(rows(ROLLUP_ATTEMPT_DAYS), key=repr) == sorted(rows(RECOUNT_ATTEMPT_DAYS), key=repr)


def add_ended_call(rows, uniqueid: str, started: str, attempts: int = 2) -> int:
    (call_id,), = rows("""
        INSERT INTO call_logs (uniqueid, seller_id, campaign_id, client_id, did, started_at,
                               answered_at, ended_at, status, billsec)
        VALUES (:u, 3, 1, 1, '+14155550100', CAST(:t AS timestamptz),
                CAST(:t AS timestamptz) + interval '5 seconds',
                CAST(:t AS timestamptz) + interval '2 minutes', 'answered', 100)
        RETURNING id""", u=uniqueid, t=started)
    rows("""INSERT INTO call_attempts (call_log_id, call_started_at, attempt_no, client_id,
                                       setting_id, started_at, ended_at, dial_status, duration)
            SELECT id, started_at, k, k, k, started_at, started_at + interval '1 minute',
                   CASE WHEN k = :n THEN 'ANSWER' ELSE 'BUSY' END, 60
            FROM call_logs, generate_series(1, :n) k WHERE id = :id""", id=call_id, n=attempts)
    return call_id


# ---- the schema ---------------------------------------------------------------------------------

def test_the_three_tables_are_partitioned_by_month_with_months_ahead(rows):
    assert sorted(rows("""SELECT c.relname, pg_get_partkeydef(c.oid) FROM pg_partitioned_table p
                          JOIN pg_class c ON c.oid = p.partrelid""")) == [
        ("call_attempts", "RANGE (call_started_at)"), ("call_logs", "RANGE (started_at)"),
        ("cdr", "RANGE (start)")]
    this_month = datetime.now(timezone.utc).date().replace(day=1)
    for table in ("call_logs", "call_attempts", "cdr"):
        names = {name for (name,) in rows("""SELECT inhrelid::regclass::text FROM pg_inherits
                                              WHERE inhparent = CAST(:t AS regclass)""", t=table)}
        month = this_month
        for _ in range(3):  # this month and the two after it
            assert f"{table}_p{month:%Y%m}" in names
            month = next_month(month)
        assert f"{table}_default" in names


def test_a_partition_has_every_index_of_its_table(rows):
    month = datetime.now(timezone.utc).date().replace(day=1)
    for table in ("call_logs", "call_attempts", "cdr"):
        parent = rows("SELECT count(*) FROM pg_index WHERE indrelid = CAST(:t AS regclass)", t=table)
        child = rows("SELECT count(*) FROM pg_index WHERE indrelid = CAST(:t AS regclass)",
                     t=f"{table}_p{month:%Y%m}")
        assert parent == child and parent[0][0] >= 3


# ---- the uniqueid, unique through call_log_keys -----------------------------------------------

def test_a_uniqueid_already_taken_inserts_no_second_call(rows):
    first = add_ended_call(rows, "dup-1", "2026-12-02 10:00+00")
    assert rows("""INSERT INTO call_logs (uniqueid, status, started_at)
                   VALUES ('dup-1', 'in_progress', '2027-01-05 10:00+00') RETURNING id""") == []
    assert rows("SELECT call_log_id FROM call_log_keys WHERE uniqueid = 'dup-1'") == [(first,)]
    assert rows("SELECT count(*) FROM call_logs WHERE uniqueid = 'dup-1'") == [(1,)]


def test_a_deleted_call_gives_its_uniqueid_back(rows):
    add_ended_call(rows, "gone-1", "2026-12-02 10:00+00")
    rows("DELETE FROM call_logs WHERE uniqueid = 'gone-1'")
    assert rows("SELECT count(*) FROM call_log_keys WHERE uniqueid = 'gone-1'") == [(0,)]
    assert rows("SELECT count(*) FROM call_attempts a WHERE NOT EXISTS "
                "(SELECT 1 FROM call_logs c WHERE c.id = a.call_log_id)") == [(0,)]
    again = add_ended_call(rows, "gone-1", "2026-12-03 10:00+00")
    assert rows("SELECT call_log_id FROM call_log_keys WHERE uniqueid = 'gone-1'") == [(again,)]


def test_renaming_a_call_to_a_taken_uniqueid_fails(rows):
    add_ended_call(rows, "name-1", "2026-12-02 10:00+00")
    add_ended_call(rows, "name-2", "2026-12-02 11:00+00")
    with pytest.raises(IntegrityError):
        rows("UPDATE call_logs SET uniqueid = 'name-1' WHERE uniqueid = 'name-2'")
    rows("UPDATE call_logs SET uniqueid = 'name-3' WHERE uniqueid = 'name-2'")
    assert rows("SELECT k.uniqueid FROM call_log_keys k JOIN call_logs c "
                "ON c.id = k.call_log_id AND c.started_at = k.started_at AND c.uniqueid = k.uniqueid "
                "WHERE k.uniqueid LIKE 'name-%' ORDER BY 1") == [("name-1",), ("name-3",)]


def test_truncating_the_calls_forgets_their_uniqueids(rows):
    add_ended_call(rows, "t-1", "2026-12-02 10:00+00")
    rows("TRUNCATE call_logs CASCADE")
    assert rows("SELECT count(*) FROM call_log_keys") == [(0,)]


@pytest.mark.parametrize("moved_to", ["2026-12-01 23:00+00", "2027-01-04 09:00+00",
                                      "2026-11-30 23:59:59+00"])
def test_a_call_moved_in_time_takes_its_key_and_attempts_and_the_rollup_follows(rows, moved_to):
    """Within its month, to the next month's partition, and to the default partition."""
    call_id = add_ended_call(rows, "move-1", "2026-12-02 10:00+00", attempts=3)
    add_ended_call(rows, "stay-1", "2026-12-02 10:00+00")
    rows("UPDATE call_logs SET started_at = CAST(:t AS timestamptz) WHERE id = :id",
         t=moved_to, id=call_id)
    moved = datetime.fromisoformat(moved_to)
    assert rows("SELECT call_log_id, started_at FROM call_log_keys WHERE uniqueid = 'move-1'") == [
        (call_id, moved)]
    assert rows("SELECT count(*) FROM call_attempts WHERE call_log_id = :id AND call_started_at = :t",
                id=call_id, t=moved) == [(3,)]
    month = f"_p{moved:%Y%m}" if moved >= datetime(2026, 12, 1, tzinfo=timezone.utc) else "_default"
    assert partition_of(rows, "call_logs", "id = :id", id=call_id) == [f"call_logs{month}"]
    assert partition_of(rows, "call_attempts", "call_log_id = :id", id=call_id) == [
        f"call_attempts{month}"]
    assert_rollup_is_exact(rows)
    rows("DELETE FROM call_logs WHERE id = :id", id=call_id)
    assert_rollup_is_exact(rows)


# ---- the routing engine -------------------------------------------------------------------------

def test_the_engine_opens_and_ends_a_call_in_this_months_partition(app, engine, rows):
    with app.app_context():
        routing = RoutingService(db.engine)
        decision = routing.route(CallArrival(uniqueid="part-1", did="+14155550100",
                                             caller_id="+13105550100"))
        assert decision.action == "dial"
        routing.answered("part-1", decision.attempt)
        assert routing.hangup(CallEnd(uniqueid="part-1", dial_status="ANSWER",
                                      attempt=decision.attempt, billsec=30)) == "answered"
    month = f"{datetime.now(timezone.utc):%Y%m}"
    assert partition_of(rows, "call_logs", "uniqueid = 'part-1'") == [f"call_logs_p{month}"]
    assert partition_of(rows, "call_attempts", "call_log_id = (SELECT call_log_id FROM call_log_keys "
                                               "WHERE uniqueid = 'part-1')") == [f"call_attempts_p{month}"]
    assert_counters_match_a_recount(engine)
    assert_rollup_is_exact(rows)


ENGINE_LOOKUPS = [
    # (statement as the engine runs it, parameter types) — each must read one partition.
    ("SELECT id FROM call_logs WHERE id = $1 AND started_at = $2 FOR NO KEY UPDATE",
     "bigint, timestamptz"),
    ("UPDATE call_logs SET answered_at = now() WHERE id = $1 AND started_at = $2 "
     "AND ended_at IS NULL", "bigint, timestamptz"),
    ("UPDATE call_attempts SET ended_at = now() WHERE call_log_id = $1 AND call_started_at = $2 "
     "AND ended_at IS NULL", "bigint, timestamptz"),
    ("SELECT count(*) FROM call_attempts WHERE call_log_id = $1 AND call_started_at = $2",
     "bigint, timestamptz"),
]


@pytest.mark.parametrize("statement, types", ENGINE_LOOKUPS)
def test_the_engines_per_call_statements_read_one_partition(engine, rows, statement, types):
    """Even as a generic plan (what PL/pgSQL caches): the other partitions are pruned when the
    statement starts, or never run."""
    call_id = add_ended_call(rows, "plan-1", "2026-12-02 10:00+00")
    args = f"{call_id}, '2026-12-02 10:00+00'"
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        conn.exec_driver_sql(f"PREPARE one_call({types}) AS {statement}")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(
            f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE one_call({args})"))
        conn.exec_driver_sql("DEALLOCATE one_call")
    scanned = [line for line in plan.splitlines()
               if "Scan" in line and (" on call_logs_" in line or " on call_attempts_" in line)]
    executed = [line for line in scanned if "never executed" not in line]
    assert len(executed) == 1, plan


# ---- partitions made ahead, and retention -------------------------------------------------------

def test_partitions_ensure_makes_missing_months_ahead_and_nothing_twice(app, rows):
    later = next_month(next_month(datetime.now(timezone.utc).date().replace(day=1)))
    rows(f"DROP TABLE call_attempts_p{later:%Y%m}")  # the attempts first: they reference the calls
    rows(f"ALTER TABLE call_logs DETACH PARTITION call_logs_p{later:%Y%m}")
    rows(f"DROP TABLE call_logs_p{later:%Y%m}, cdr_p{later:%Y%m}")
    with app.app_context():
        assert RoutingService(db.engine).ensure_partitions() == 3
        assert RoutingService(db.engine).ensure_partitions() == 0
    for table in ("call_logs", "call_attempts", "cdr"):
        assert rows("SELECT to_regclass(:n) IS NOT NULL", n=f"{table}_p{later:%Y%m}") == [(True,)]


def test_the_fastagi_sweeper_makes_the_months_ahead(engine, rows):
    import asyncio

    from app.agi.runner import ensure_partitions_periodically
    from tests.support.routing import async_routing

    later = next_month(next_month(datetime.now(timezone.utc).date().replace(day=1)))
    rows(f"DROP TABLE call_attempts_p{later:%Y%m}")
    rows(f"ALTER TABLE call_logs DETACH PARTITION call_logs_p{later:%Y%m}")
    rows(f"DROP TABLE call_logs_p{later:%Y%m}")

    async def first_round():
        routing = async_routing(engine)
        task = asyncio.create_task(ensure_partitions_periodically(routing, every=0.05))
        try:
            for _ in range(200):  # until a round has run
                if rows("SELECT to_regclass(:n) IS NOT NULL", n=f"call_logs_p{later:%Y%m}")[0][0]:
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            await routing.close()

    asyncio.run(first_round())
    for table in ("call_logs", "call_attempts", "cdr"):
        assert rows("SELECT to_regclass(:n) IS NOT NULL", n=f"{table}_p{later:%Y%m}") == [(True,)]


def test_retention_drops_whole_months_and_keeps_the_rollup(app, rows, old_months):
    for n, month in enumerate(old_months):
        add_ended_call(rows, f"old-{n}", f"{month:%Y-%m}-15 12:00+00")
    recent = add_ended_call(rows, "recent-1", "2026-12-02 10:00+00")
    rows("""INSERT INTO cdr (uniqueid, start, "end", disposition)
            VALUES ('old-0', '2020-01-15 12:00', '2020-01-15 12:02', 'ANSWERED'),
                   ('old-2', '2020-03-15 12:00', '2020-03-15 12:02', 'ANSWERED')""")
    rollup_before = sorted(rows(ROLLUP_DAYS), key=repr)

    dry = app.test_cli_runner().invoke(args=["calls", "retention", "--before", "2020-03", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 would drop" in dry.output and "2020-01: 1 call log(s), 2 attempt(s), 1 CDR(s)" in dry.output
    assert rows("SELECT count(*) FROM call_logs WHERE uniqueid LIKE 'old-%'") == [(3,)]

    result = app.test_cli_runner().invoke(args=["calls", "retention", "--before", "2020-03"])
    assert result.exit_code == 0, result.output
    assert "2 dropped" in result.output
    assert rows("SELECT uniqueid FROM call_logs WHERE uniqueid LIKE 'old-%'") == [("old-2",)]
    assert rows("SELECT uniqueid FROM call_log_keys WHERE uniqueid LIKE 'old-%'") == [("old-2",)]
    assert rows("SELECT uniqueid FROM cdr WHERE uniqueid LIKE 'old-%'") == [("old-2",)]
    for table in ("call_logs", "call_attempts", "cdr"):
        assert rows("SELECT to_regclass(:n)", n=f"{table}_p202001") == [(None,)]
        assert rows("SELECT to_regclass(:n) IS NOT NULL", n=f"{table}_p202003") == [(True,)]
    assert rows("SELECT entity_id, changes FROM audit_events WHERE action = 'retention' "
                "ORDER BY entity_id") == [
        ("2020-01", {"dropped": {"call_logs": 1, "call_attempts": 2, "cdr": 1}}),
        ("2020-02", {"dropped": {"call_logs": 1, "call_attempts": 2, "cdr": 0}})]
    # The rollup keeps the dropped days; everything kept still agrees with a recount.
    assert sorted(rows(ROLLUP_DAYS), key=repr) == rollup_before
    kept = [row for row in rows(ROLLUP_DAYS) if row[0] >= date(2020, 3, 1)]
    assert sorted(kept, key=repr) == sorted(rows(RECOUNT_DAYS), key=repr)
    assert rows("SELECT count(*) FROM call_logs WHERE id = :id", id=recent) == [(1,)]


def test_retention_keep_months_counts_back_from_the_current_month(app, rows, old_months):
    """--keep-months 13: the current month and the 13 before it stay; older months go."""
    add_ended_call(rows, "old-keep", "2020-02-15 12:00+00")
    result = app.test_cli_runner().invoke(args=["calls", "retention", "--keep-months", "13",
                                                "--dry-run"])
    assert result.exit_code == 0, result.output
    today = datetime.now(timezone.utc).date()
    index = today.year * 12 + today.month - 1 - 13
    assert f"months before {index // 12}-{index % 12 + 1:02d}:" in result.output
    assert "2020-02: 1 call log(s), 2 attempt(s), 0 CDR(s)" in result.output
    assert rows("SELECT count(*) FROM call_logs WHERE uniqueid = 'old-keep'") == [(1,)]  # dry run


def _retention_in_thread(app, *args):
    outcome = {}

    def run():
        outcome["result"] = app.test_cli_runner().invoke(args=["calls", "retention", *args])
    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _waits_for_a_lock(rows, query_part: str) -> bool:
    return rows("SELECT count(*) FROM pg_stat_activity WHERE query LIKE :q "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
                q=f"%{query_part}%")[0][0] > 0


def _month_kept_whole(rows, month: date, uniqueid: str) -> bool:
    suffix = f"_p{month:%Y%m}"
    return rows(f"""SELECT (SELECT count(*) FROM call_logs{suffix}),
                           (SELECT count(*) FROM call_attempts{suffix}),
                           (SELECT count(*) FROM cdr{suffix}),
                           (SELECT count(*) FROM call_log_keys WHERE uniqueid = :u)""",
                u=uniqueid) == [(1, 2, 1, 1)]


@pytest.fixture
def two_old_months(rows, old_months):
    for n, month in enumerate(old_months[:2]):
        add_ended_call(rows, f"old-{n}", f"{month:%Y-%m}-15 12:00+00")
        rows("""INSERT INTO cdr (uniqueid, start, "end", disposition)
                VALUES (:u, CAST(:t AS timestamp), CAST(:t AS timestamp) + interval '1 minute',
                        'ANSWERED')""", u=f"old-{n}", t=f"{month:%Y-%m}-15 12:00")
    return old_months[:2]


def test_retention_drops_each_month_in_its_own_transaction(app, engine, rows, two_old_months):
    """A transaction reading the second month holds it: the first month is dropped and
    committed, the second is kept whole (calls, attempts, CDRs and keys) after the lock
    timeout and the tries, and the run says so."""
    january, february = two_old_months
    with engine.connect() as reader:
        reader.execute(text(f"SELECT count(*) FROM call_attempts_p{february:%Y%m}"))
        result = app.test_cli_runner().invoke(args=[
            "calls", "retention", "--before", "2020-03", "--lock-timeout-ms", "100",
            "--tries", "2"])
        reader.rollback()
    assert result.exit_code != 0
    assert "2020-01: 1 call log(s), 2 attempt(s), 1 CDR(s)" in result.output
    assert "1 dropped; 2020-02 kept" in result.output and "Run the retention again" in result.output
    assert rows("SELECT to_regclass(:n)", n=f"call_logs_p{january:%Y%m}") == [(None,)]
    assert rows("SELECT count(*) FROM call_log_keys WHERE uniqueid = 'old-0'") == [(0,)]
    assert _month_kept_whole(rows, february, "old-1")
    assert rows("SELECT entity_id FROM audit_events WHERE action = 'retention'") == [("2020-01",)]


def test_routing_waits_for_retention_at_most_its_lock_timeout(app, engine, rows, two_old_months):
    """A routing step's transaction left open on a call of this month (its row locked, as the
    engine locks it) holds the tables: retention cannot have them. Meanwhile other calls are
    routed and end (each waits behind retention's request at most its lock timeout), nothing
    is dropped, and once the transaction ends a retention run drops both months."""
    now = datetime.now(timezone.utc).isoformat()
    current = add_ended_call(rows, "slow-1", now)
    with engine.connect() as slow_call:
        slow_call.execute(text("SELECT id FROM call_logs WHERE id = :id AND started_at = :t "
                               "FOR NO KEY UPDATE"), {"id": current, "t": now}).one()
        retention, outcome = _retention_in_thread(app, "--before", "2020-03",
                                                  "--lock-timeout-ms", "300", "--tries", "3")
        ended = []
        for n in range(3):
            while retention.is_alive() and not _waits_for_a_lock(rows, "partition_month_drop"):
                time.sleep(0.01)
            with app.app_context():
                routing = RoutingService(db.engine)
                decision = routing.route(CallArrival(uniqueid=f"during-{n}", did="+14155550100",
                                                     caller_id="+13105550100"))
                ended.append(routing.hangup(CallEnd(uniqueid=f"during-{n}", dial_status="BUSY",
                                                    attempt=decision.attempt)))
                db.session.remove()
        retention.join(timeout=60)
        assert not retention.is_alive()
        slow_call.rollback()
    assert len(ended) == 3 and rows("SELECT count(*) FROM call_logs WHERE uniqueid LIKE "
                                    "'during-%' AND ended_at IS NOT NULL") == [(3,)]
    assert outcome["result"].exit_code != 0 and "0 dropped; 2020-01 kept" in outcome["result"].output
    for n, month in enumerate(two_old_months):
        assert _month_kept_whole(rows, month, f"old-{n}")
    assert rows("SELECT count(*) FROM audit_events WHERE action = 'retention'") == [(0,)]

    again = app.test_cli_runner().invoke(args=["calls", "retention", "--before", "2020-03"])
    assert again.exit_code == 0 and "2 dropped" in again.output, again.output
    for month in two_old_months:
        assert rows("SELECT to_regclass(:n)", n=f"call_logs_p{month:%Y%m}") == [(None,)]


def test_retention_takes_the_tables_once_a_long_transaction_ends(app, engine, rows,
                                                                   two_old_months):
    """Tries again after a lock timeout: a transaction that ends within the tries does not
    stop the run."""
    slow_call = engine.connect()
    slow_call.execute(text("SELECT count(*) FROM call_logs"))
    retention, outcome = _retention_in_thread(app, "--before", "2020-03",
                                              "--lock-timeout-ms", "100", "--tries", "5")
    while retention.is_alive() and not _waits_for_a_lock(rows, "partition_month_drop"):
        time.sleep(0.01)
    slow_call.rollback()
    slow_call.close()
    retention.join(timeout=60)
    assert outcome["result"].exit_code == 0, outcome["result"].output
    assert "2 dropped" in outcome["result"].output


def test_retention_needs_one_cutoff(app):
    result = app.test_cli_runner().invoke(args=["calls", "retention"])
    assert result.exit_code != 0 and "--keep-months or --before" in result.output


def test_asterisk_cdrs_land_in_their_month(engine, rows):
    cdrs = read_captured_cdrs()
    with engine.connect() as sa_conn:
        conn = sa_conn.connection.driver_connection
        write_cdrs(conn, cdrs)
        conn.commit()
    months = {row["start"][:7].replace("-", "") for row in cdrs}
    assert sorted(partition_of(rows, "cdr", "true")) == sorted(
        f"cdr_p{m}" if rows("SELECT to_regclass(:n) IS NOT NULL", n=f"cdr_p{m}")[0][0]
        else "cdr_default" for m in months)
    assert rows("SELECT count(*) FROM cdr") == [(len(cdrs),)]
    rows("DELETE FROM cdr")


# ---- the migration, on a database with data -----------------------------------------------------

def test_the_migration_converts_a_database_with_data_and_back(empty_database_uri):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_uri})
    with app.app_context():
        try:
            upgrade(revision="0013_hot_path_writes")
            with db.engine.begin() as conn:
                conn.execute(text(open("sample_data.sql").read().split(
                    "-- call_started_at")[0]))  # everything up to the attempts
                conn.execute(text("""
                    INSERT INTO call_attempts (call_log_id, attempt_no, client_id, setting_id,
                                               started_at, ended_at, dial_status, duration)
                    SELECT id, 1, 1, 1, started_at, ended_at, 'ANSWER', 60 FROM call_logs"""))
                conn.execute(text("""
                    INSERT INTO call_logs (uniqueid, seller_id, campaign_id, started_at, ended_at,
                                           status, billsec)
                    SELECT 'conv-' || n, 3, 1, timestamptz '2026-09-01 00:00+00' + n * interval '1 day',
                           timestamptz '2026-09-01 00:01+00' + n * interval '1 day', 'all_failed', 0
                    FROM generate_series(0, 60) n"""))
                conn.execute(text("""INSERT INTO cdr (uniqueid, start, "end", disposition)
                                     VALUES ('conv-1', '2026-09-02 00:00', '2026-09-02 00:01', 'BUSY')"""))
                before = {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                          for table in ("call_logs", "call_attempts", "cdr", "call_log_days")}
                days = sorted(conn.execute(text(ROLLUP_DAYS)).all(), key=repr)

            upgrade()
            with db.engine.begin() as conn:
                for table, count in before.items():
                    assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == count
                assert conn.execute(text("SELECT count(*) FROM call_log_keys")).scalar() == before["call_logs"]
                assert sorted(conn.execute(text(ROLLUP_DAYS)).all(), key=repr) == days
                assert sorted(conn.execute(text(RECOUNT_DAYS)).all(), key=repr) == days
                assert conn.execute(text(
                    "SELECT count(*) FROM call_logs_p202610 WHERE uniqueid LIKE 'conv-%'")).scalar() == 31
                assert conn.execute(text("SELECT count(*) FROM cdr_p202609")).scalar() == 1
                assert conn.execute(text("SELECT nextval('call_logs_id_seq')")).scalar() > before["call_logs"]
            routing = RoutingService(db.engine)
            assert routing.hangup(CallEnd(uniqueid="conv-3")) is None  # already ended: found
            assert routing.route(CallArrival(uniqueid="conv-new", did="+14155550100")).action == "dial"

            downgrade(revision="0013_hot_path_writes")
            with db.engine.begin() as conn:
                assert conn.execute(text("SELECT count(*) FROM pg_partitioned_table")).scalar() == 0
                assert conn.execute(text("SELECT to_regclass('call_log_keys')")).scalar() is None
                assert conn.execute(text("SELECT count(*) FROM call_logs")).scalar() == before["call_logs"] + 1
                assert conn.execute(text(
                    "SELECT count(*) FROM pg_indexes WHERE indexname = 'uq_call_logs_uniqueid'")).scalar() == 1
            upgrade()
        finally:
            db.engine.dispose()

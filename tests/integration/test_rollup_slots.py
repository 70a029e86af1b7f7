"""The daily rollup's slots (migration 0021_stall): a key written by two transactions at once
has two slots, neither waiting for the other; one statement may end calls of thousands of
keys; going down folds the slots into the one row per key that the older schema has."""
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.integration.api.test_reports_at_scale import assert_rollup_is_exact

ENDED_CALL = """
INSERT INTO call_logs (uniqueid, did, started_at, ended_at, status, billsec)
VALUES (:u, '+14155550100', '2026-11-20 10:00+00', '2026-11-20 10:01+00', 'abandoned', 0)"""
KEY_ROWS = "SELECT calls FROM call_log_days WHERE did = '+14155550100' ORDER BY calls"


def test_two_writers_of_one_key_at_once_make_two_slots_which_the_downgrade_folds(
        empty_database_uri):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_uri})
    with app.app_context():
        try:
            upgrade()
            with db.engine.connect() as first, db.engine.connect() as second:
                first.execute(text(ENDED_CALL), {"u": "slot-1"})
                # Would wait for `first` (same key, uncommitted) without slots.
                second.execute(text("SET lock_timeout = '5s'"))
                second.execute(text(ENDED_CALL), {"u": "slot-2"})
                second.commit()
                first.commit()
            with db.engine.connect() as conn:
                assert conn.execute(text(KEY_ROWS)).scalars().all() == [1, 1]

            downgrade(revision="0017_bidding")
            with db.engine.connect() as conn:
                assert conn.execute(text(KEY_ROWS)).scalars().all() == [2]
            upgrade()
            with db.engine.begin() as conn:
                conn.execute(text(ENDED_CALL), {"u": "slot-3"})
                assert conn.execute(text(KEY_ROWS)).scalars().all() == [3]
        finally:
            db.engine.dispose()


def test_one_statement_ending_calls_of_thousands_of_keys_holds_a_few_hundred_locks(engine, sql):
    """A key's slot lock is shared by a bucket of keys: 12,000 keys (a DID each) ended in one
    transaction hold at most 256 locks per rollup, not one per key (PostgreSQL's shared lock
    table holds 64 per connection by default)."""
    with engine.connect() as conn:
        conn.execute(text("""
            INSERT INTO call_logs (uniqueid, did, started_at, ended_at, status, billsec)
            SELECT 'bulk-' || n, '+1415' || lpad(n::text, 7, '0'),
                   timestamptz '2026-11-20 10:00+00', timestamptz '2026-11-20 10:01+00',
                   'abandoned', 0
            FROM generate_series(1, 12000) n"""))
        held = conn.execute(text("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() "
                                 "AND locktype = 'advisory'")).scalar()
        assert 0 < held <= 256
        conn.commit()
    assert sql("SELECT count(DISTINCT did) FROM call_log_days WHERE day = '2026-11-20' "
               "AND status = 'abandoned'")[0][0] == 12000
    assert_rollup_is_exact(sql)

"""Migration 0021_stall: a rollup key written by two transactions at once has two slots; going
down folds them into the one row per key that the older schema has, and up again works."""
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db

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

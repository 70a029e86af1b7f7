"""Upgrading scrubs the bid secrets the audit trail had recorded in clear (they stay scrubbed
after a downgrade), and gives the bid cache the index its sweep reads."""
import json

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db

BEFORE = "0017_bidding"
REVISION = "0020_bid_housekeeping"
SECRET = "bidsec_recorded_in_clear"


def audit_lines(connection) -> dict[str, dict]:
    rows = connection.execute(text("SELECT entity_id, changes FROM audit_events ORDER BY id"))
    return dict(rows.all())


def has_index(connection) -> bool:
    return connection.execute(text(
        "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_bid_cache_expires_at'")).scalar() == 1


def test_bid_secrets_leave_the_audit_trail_and_the_cache_gets_its_index(empty_database_uri):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_uri})
    written = {
        "1": {"bid_secret": [None, SECRET]},                      # made
        "2": {"bid_secret": [SECRET, SECRET + "_2"], "name": ["A", "B"]},  # rotated, renamed
        "3": {"client_identifier": "c3", "bid_secret": None},     # made without one
        "4": {"name": ["C", "D"]},                                # nothing of bidding
    }
    with app.app_context():
        try:
            upgrade(revision=BEFORE)
            with db.engine.begin() as connection:
                for entity_id, changes in written.items():
                    connection.execute(text(
                        "INSERT INTO audit_events (action, entity_type, entity_id, changes) "
                        "VALUES ('update', 'client', :id, CAST(:c AS jsonb))"),
                        {"id": entity_id, "c": json.dumps(changes)})
                assert not has_index(connection)

            upgrade(revision=REVISION)
            with db.engine.connect() as connection:
                assert audit_lines(connection) == {
                    "1": {"bid_secret": "(changed)"},
                    "2": {"bid_secret": "(changed)", "name": ["A", "B"]},
                    "3": {"client_identifier": "c3", "bid_secret": None},
                    "4": {"name": ["C", "D"]},
                }
                assert has_index(connection)

            downgrade(revision=BEFORE)
            with db.engine.connect() as connection:
                assert SECRET not in json.dumps(audit_lines(connection))
                assert not has_index(connection)
        finally:
            db.engine.dispose()

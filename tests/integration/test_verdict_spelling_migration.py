"""Stored routing decisions follow the verdicts' spelling both ways: a call routed before the
upgrade reads `zero_weight` after it, and `weight 0` again after a downgrade."""
import json

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db

BEFORE = "0013_hot_path_writes"


def decision(verdict: str) -> list[dict]:
    """Two rounds as the engine stores them: a failed dial with the zero-weight link passed
    over, then the refusal of a call with no candidate at all."""
    return [
        {"attempt": 1, "at": "2026-12-01T10:00:00+00:00", "outcome": "dial", "sticky_client_id": 2,
         "candidates": [
             {"setting_id": 1, "client_id": 1, "client": "acme-cc", "priority": 1, "weight": 50,
              "verdict": "failed:NOANSWER"},
             {"setting_id": 2, "client_id": 2, "client": "bluesky-cc", "priority": 1, "weight": 0,
              "verdict": verdict, "sticky": True},
             {"setting_id": 3, "client_id": 3, "client": "summit-cc", "priority": 2, "weight": 10,
              "verdict": "capped:hourly"}]},
        {"attempt": 2, "at": "2026-12-01T10:00:30+00:00", "outcome": "all_failed",
         "candidates": []},
    ]


def stored(connection) -> dict[str, list]:
    rows = connection.execute(text("SELECT uniqueid, decision FROM call_logs ORDER BY uniqueid"))
    return dict(rows.all())


def planner_source(connection) -> str:
    return connection.execute(text("SELECT pg_get_functiondef('cc_plan'::regproc)")).scalar()


def test_stored_decisions_are_respelled_on_upgrade_and_back_on_downgrade(empty_database_uri):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_uri})
    with app.app_context():
        try:
            upgrade(revision=BEFORE)
            with db.engine.begin() as connection:
                for uniqueid, value in (("old-spelling", decision("weight 0")),
                                        ("other-verdicts", decision("inactive")),
                                        ("no-rounds", [])):
                    connection.execute(text(
                        "INSERT INTO call_logs (uniqueid, status, decision) "
                        "VALUES (:u, 'all_failed', CAST(:d AS jsonb))"),
                        {"u": uniqueid, "d": json.dumps(value)})

            upgrade()
            with db.engine.connect() as connection:
                assert stored(connection) == {"no-rounds": [],
                                              "old-spelling": decision("zero_weight"),
                                              "other-verdicts": decision("inactive")}
                assert "'zero_weight'" in planner_source(connection)

            downgrade(revision=BEFORE)
            with db.engine.connect() as connection:
                assert stored(connection) == {"no-rounds": [],
                                              "old-spelling": decision("weight 0"),
                                              "other-verdicts": decision("inactive")}
                assert "'weight 0'" in planner_source(connection)
                assert "'zero_weight'" not in planner_source(connection)
        finally:
            db.engine.dispose()

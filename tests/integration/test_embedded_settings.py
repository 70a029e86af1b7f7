"""The embedded PostgreSQL runs with the settings shipped for this workload (README: PostgreSQL
settings); applying them again changes nothing."""
from sqlalchemy import text

from app.database.embedded import SETTINGS, apply_settings
from app.extensions import db


def test_the_embedded_server_runs_with_the_shipped_settings(app, database_server):
    if database_server._server is None:  # TEST_DATABASE_URI: an operator's server, not ours
        return
    with app.app_context():
        shown = {name: db.session.execute(text(f"SHOW {name}")).scalar() for name in SETTINGS}
        db.session.remove()
    assert shown == SETTINGS
    assert apply_settings(database_server._server.get_uri()) == []

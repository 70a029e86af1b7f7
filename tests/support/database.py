"""The test PostgreSQL: embedded and throwaway unless TEST_DATABASE_URI names one."""
import os
import tempfile
from pathlib import Path

import psycopg
from flask_migrate import upgrade
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.services.sample_data_service import load_sample_data
from app.database.embedded import ensure_database, sqlalchemy_uri, start_embedded_server
from app.extensions import db

TEST_DATABASE = "capconduit_test"


class TestDatabaseServer:
    """Where the suite's databases live, and how to make new ones there."""

    def __init__(self):
        given = os.environ.get("TEST_DATABASE_URI")
        if given:
            url = make_url(given).set(drivername="postgresql+psycopg")
            self.uri = url.render_as_string(hide_password=False)
            self._admin_url = url.set(database="postgres")
            self._server = None
        else:
            data_dir = Path(tempfile.mkdtemp(prefix="capconduit-test-pg-")) / "data"
            self._server = start_embedded_server(data_dir, cleanup_mode="delete")
            ensure_database(self._server.get_uri(), TEST_DATABASE)
            self.uri = sqlalchemy_uri(self._server, TEST_DATABASE)
            self._admin_url = make_url(self.uri).set(database="postgres")

    def _libpq(self, url) -> str:
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def create_database(self, name: str) -> str:
        """A brand-new empty database; returns its SQLAlchemy URI."""
        with psycopg.connect(self._libpq(self._admin_url), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self._admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self._libpq(self._admin_url), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()


def migrate_from_scratch(app) -> None:
    """An empty public schema, then every migration: the app's database as a fresh install."""
    with app.app_context():
        db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.session.commit()
        upgrade()


def reset_to_sample_data(app) -> None:
    """Empty every table and load sample_data.sql."""
    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()
        load_sample_data()
        db.session.remove()


def engine_of(app):
    """The app's Engine, taken out of an app context that is popped again at once.

    Never keep an app context pushed around a test: the test client's requests would reuse
    it, its teardown would not run, and their sessions would stay idle in a transaction.
    """
    with app.app_context():
        return db.engine

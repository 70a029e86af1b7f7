"""Shared fixtures: one PostgreSQL for the session, sample data reset before each test."""
import threading

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from tests.support.database import (TestDatabaseServer, engine_of, migrate_from_scratch,
                                    reset_to_sample_data)
from tests.support.logins import SAMPLE_LOGINS
from tests.support.pages import Pages
from tests.support.responses import SecretCheckingClient



@pytest.fixture(scope="session")
def database_server():
    server = TestDatabaseServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _session_app(database_server):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_server.uri})
    app.test_client_class = SecretCheckingClient
    migrate_from_scratch(app)
    return app


@pytest.fixture(scope="session")
def db_engine(_session_app):
    return engine_of(_session_app)


@pytest.fixture
def app(_session_app):
    """The app on a database holding exactly the sample data."""
    reset_to_sample_data(_session_app)
    return _session_app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def engine(app):
    """The test database's Engine, for reading or writing rows beside the app."""
    return engine_of(app)


@pytest.fixture
def sql(app):
    """Run one SQL statement straight on the database (committed); returns its rows, if any."""
    def run(statement: str, **params):
        with app.app_context():
            result = db.session.execute(text(statement), params)
            rows = [tuple(row) for row in result] if result.returns_rows else []
            db.session.commit()
            return rows

    return run


@pytest.fixture
def pages(client):
    """The test client posting forms as a browser does (with the page's CSRF token)."""
    return Pages(client)


@pytest.fixture
def empty_database_uri(database_server, request):
    name = f"capconduit_empty_{abs(hash(request.node.nodeid)) % 10**8}"
    uri = database_server.create_database(name)
    yield uri
    database_server.drop_database(name)


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, who: str = "admin", password: str | None = None):
        username, sample_password = SAMPLE_LOGINS.get(who, (who, None))
        return self._client.post("/api/auth/login",
                                 json={"username": username, "password": password or sample_password})

    def logout(self):
        return self._client.post("/api/auth/logout", json={})


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def live_server(app):
    """The app over HTTP on 127.0.0.1:<ephemeral>, on the freshly reset test database."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)

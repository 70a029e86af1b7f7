"""Shared fixtures: one PostgreSQL for the session, sample data reset before each test."""
import pytest

from app import create_app
from app.extensions import db
from tests.support.database import TestDatabaseServer, migrate_from_scratch, reset_to_sample_data
from tests.support.responses import SecretCheckingClient, remember_secret

SAMPLE_LOGINS = {
    "admin": ("admin", remember_secret("admin-password-2026")),
    "staff": ("staff", remember_secret("staff-password-2026")),
    "seller1": ("seller1", remember_secret("seller1-password-2026")),
    "seller2": ("seller2", remember_secret("seller2-password-2026")),
}


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


def engine_of(app):
    """The app's Engine, taken out of an app context that is popped again at once.

    Never keep an app context pushed around a test: the test client's requests would reuse
    it, its teardown would not run, and their sessions would stay idle in a transaction.
    """
    with app.app_context():
        return db.engine


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

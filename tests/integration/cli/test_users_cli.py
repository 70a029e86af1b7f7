from sqlalchemy import select

from app.database.models import User
from app.extensions import db
from tests.support.responses import remember_secret

PASSWORD = remember_secret("cli-made-password-1")


def test_users_create_reads_the_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "opsadmin", "--email", "ops@example.com",
                                 "--role", "admin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "created admin opsadmin" in result.output
    client = app.test_client()
    login = client.post("/api/auth/login", json={"username": "opsadmin", "password": PASSWORD})
    assert login.status_code == 200 and login.json["role"] == "admin"


def test_users_create_refuses_a_weak_password_and_writes_nothing(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "weakling", "--email", "weak@example.com",
                                 "--role", "seller"], input="short\n")
    assert result.exit_code == 1
    assert "password" in result.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "weakling")) is None


def test_users_create_reports_a_duplicate(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "admin", "--email", "other@example.com",
                                 "--role", "admin"], input=PASSWORD + "\n")
    assert result.exit_code == 1
    assert "already exists" in result.output

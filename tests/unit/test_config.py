import pytest

from app import create_app
from app.config import ConfigError

STRONG = "s" * 40


@pytest.mark.parametrize("overrides", [
    {},
    {"SECRET_KEY": STRONG},
    {"INTERNAL_API_TOKEN": STRONG},
    {"SECRET_KEY": "short", "INTERNAL_API_TOKEN": STRONG},
    {"SECRET_KEY": "testing-secret-key-not-for-production-use", "INTERNAL_API_TOKEN": STRONG},
])
def test_production_refuses_to_start_without_real_secrets(overrides):
    config = {"SECRET_KEY": None, "INTERNAL_API_TOKEN": None,
              "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@/db?host=/nonexistent"}
    config.update(overrides)
    with pytest.raises(ConfigError):
        create_app("production", config)


def test_production_starts_with_real_secrets_and_secure_cookies():
    app = create_app("production", {"SECRET_KEY": STRONG, "INTERNAL_API_TOKEN": STRONG + "x",
                                    "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@/db?host=/nonexistent"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_unknown_environment_name_is_refused():
    with pytest.raises(ConfigError):
        create_app("staging")

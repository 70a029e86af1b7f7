#!/usr/bin/env python3
"""One entry point for newcomers and CI, needing only Python 3.11+.

    python3 dev.py run     set everything up and serve the API (+ FastAGI) with sample data
    python3 dev.py test    set everything up (Chromium for the browser tests included) and run
                           the whole test suite (extra args go to pytest)

It makes `.venv/`, installs the pinned requirements when they change, then re-runs itself
inside the venv. Without DATABASE_URI it starts the embedded PostgreSQL in `instance/` and
stops it again on Ctrl-C.
"""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
REQUIREMENTS = {"run": ["requirements.txt"], "test": ["requirements-dev.txt", "requirements.txt"]}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("run", "test"):
        print(__doc__)
        return 2
    command, extra = argv[1], argv[2:]
    if sys.version_info < (3, 11):
        print("CapConduit needs Python 3.11 or newer.", file=sys.stderr)
        return 2
    if Path(sys.prefix).resolve() != VENV.resolve():
        ensure_venv(REQUIREMENTS[command])
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(ROOT / "dev.py"), command, *extra])
    os.chdir(ROOT)
    return run(extra) if command == "run" else test(extra)


def ensure_venv(requirement_files: list[str]) -> None:
    if not VENV_PYTHON.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256()
    for name in requirement_files:
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".installed-{requirement_files[0]}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    print(f"installing {requirement_files[0]} …", flush=True)
    subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-r", str(ROOT / requirement_files[0])], check=True)
    stamp.write_text(digest.hexdigest())


def flask(*args: str, env: dict) -> None:
    subprocess.run([str(VENV / "bin" / "flask"), *args], check=True, env=env)


def run(extra: list[str]) -> int:
    env = dict(os.environ, FLASK_APP="app:create_app")
    env.setdefault("FLASK_ENV", "development")
    server = None
    if not env.get("DATABASE_URI"):
        from app.config import BaseConfig
        from app.database.embedded import ensure_database, sqlalchemy_uri, start_embedded_server

        server = start_embedded_server(ROOT / "instance" / "postgres")
        ensure_database(server.get_uri(), BaseConfig.EMBEDDED_DATABASE)
        env["DATABASE_URI"] = sqlalchemy_uri(server, BaseConfig.EMBEDDED_DATABASE)
        print("embedded PostgreSQL is up (data in instance/postgres)", flush=True)
    flask("db", "upgrade", env=env)
    if env["FLASK_ENV"] == "development":
        flask("sample-data", "load", "--if-empty", env=env)
    services = [
        ["flask", "run", "--host", "127.0.0.1", "--port", env.get("PORT", "5000"), "--no-reload"],
        ["flask", "agi", "serve"],
    ]
    children = [subprocess.Popen([str(VENV / "bin" / s[0]), *s[1:]], env=env) for s in services]
    print("Web UI and API on http://127.0.0.1:5000/ (API docs at /api/docs), FastAGI on "
          f"{env.get('AGI_BIND', '127.0.0.1:4573')}. Ctrl-C stops everything.", flush=True)
    return supervise(children)


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def supervise(children: list[subprocess.Popen]) -> int:
    """Wait until Ctrl-C, SIGTERM or any child exits; then stop all of them."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    status = 0
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        status = next(child.returncode for child in children if child.poll() is not None)
    except KeyboardInterrupt:
        pass
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    print("stopped.", flush=True)
    return status


def ensure_browser() -> None:
    """The browser tests (tests/browser) drive Debian's chromium: install it on a fresh machine."""
    chromium = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
    if chromium.exists():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing chromium for the browser tests (apt-get) …", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
        if chromium.exists():
            return
    sys.exit(f"The browser tests need Chromium at {chromium}. Install Debian's package as root "
             "(apt-get install chromium), or point CHROMIUM_PATH at a Chromium binary.")


def test(extra: list[str]) -> int:
    ensure_browser()
    quiet = [] if any(arg.startswith("-v") for arg in extra) else ["-q"]
    return subprocess.call([str(VENV_PYTHON), "-m", "pytest", *quiet, *extra])


if __name__ == "__main__":
    sys.exit(main(sys.argv))

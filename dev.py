#!/usr/bin/env python3
"""One entry point for newcomers and CI, needing only Python 3.11+.

    python3 dev.py run     set everything up and serve the API (+ FastAGI) with sample data
    python3 dev.py test    set everything up (Chromium for the browser tests included) and run
                           the whole test suite (extra args go to pytest); screenshots go to a
                           temporary directory
    python3 dev.py screenshots
                           run the browser tests and refresh the README's docs/screenshots/

`run` listens on 127.0.0.1:$PORT (default 5000) for the web UI and API and on $AGI_BIND
(default 127.0.0.1:4573) for FastAGI.

It makes `.venv/`, installs the pinned requirements when they change, then re-runs itself
inside the venv. Without DATABASE_URI it starts the embedded PostgreSQL in `instance/` and
stops it again on Ctrl-C.
"""
import errno
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
REQUIREMENTS = {"run": ["requirements.txt"], "test": ["requirements-dev.txt", "requirements.txt"],
                "screenshots": ["requirements-dev.txt", "requirements.txt"]}
SCREENSHOTS = ROOT / "docs" / "screenshots"


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in REQUIREMENTS:
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
    try:
        return {"run": run, "test": test, "screenshots": screenshots}[command](extra)
    except KeyboardInterrupt:  # Ctrl-C while setting up: what started stops at exit
        print("stopped.", file=sys.stderr)
        return 130


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


def port_problem(host: str, port: int, what: str, how: str) -> str | None:
    """None when host:port can be listened on, else one line saying which and how to move it."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        # As the servers do: a port whose last connections are in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            reason = ("is already in use" if error.errno == errno.EADDRINUSE
                      else f"cannot be used ({error.strerror})")
            return f"{what} port {host}:{port} {reason}; {how}."
    return None


def listen_addresses(env: dict) -> tuple[tuple[str, int], tuple[str, int]] | str:
    """(web, agi) addresses from PORT and AGI_BIND, or a one-line error."""
    try:
        web_port = int(env.get("PORT") or 5000)
        agi_host, _, agi_port = (env.get("AGI_BIND") or "127.0.0.1:4573").rpartition(":")
        agi = (agi_host.strip("[]") or "127.0.0.1", int(agi_port))
    except ValueError:
        return "PORT must be a port number and AGI_BIND HOST:PORT (e.g. PORT=5001 AGI_BIND=127.0.0.1:4574)."
    return ("127.0.0.1", web_port), agi


def run(extra: list[str]) -> int:
    # Started in the background by a non-interactive shell, we inherit SIGINT ignored: restore
    # the default so that Ctrl-C and `kill -INT` always stop everything.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    env = dict(os.environ, FLASK_APP="app:create_app")
    env.setdefault("FLASK_ENV", "development")
    addresses = listen_addresses(env)
    if isinstance(addresses, str):
        print(addresses, file=sys.stderr)
        return 2
    (web_host, web_port), (agi_host, agi_port) = addresses
    for problem in (port_problem(web_host, web_port, "Web UI", "choose another with PORT=5001 python3 dev.py run"),
                    port_problem(agi_host, agi_port, "FastAGI",
                                 "choose another with AGI_BIND=127.0.0.1:4574 python3 dev.py run")):
        if problem:
            print(problem, file=sys.stderr)
            return 2
    env["AGI_BIND"] = f"{agi_host}:{agi_port}"
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
        ["flask", "run", "--host", web_host, "--port", str(web_port), "--no-reload"],
        ["flask", "agi", "serve", "--bind", env["AGI_BIND"]],
        ["flask", "events", "deliver"],  # webhooks and conversion postbacks
    ]
    children = [subprocess.Popen([str(VENV / "bin" / s[0]), *s[1:]], env=env) for s in services]
    print(f"Web UI and API on http://{web_host}:{web_port}/ (API docs at /api/docs), FastAGI on "
          f"{env['AGI_BIND']}. Webhooks are sent by `flask events deliver`. Ctrl-C stops "
          "everything.", flush=True)
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
    os.environ.pop("CAPCONDUIT_SCREENSHOTS", None)  # tests never write into the repository
    quiet = [] if any(arg.startswith("-v") for arg in extra) else ["-q"]
    return subprocess.call([str(VENV_PYTHON), "-m", "pytest", *quiet, *extra])


def screenshots(extra: list[str]) -> int:
    """Refresh the README's pictures: the browser tests, writing into docs/screenshots/."""
    ensure_browser()
    env = dict(os.environ, CAPCONDUIT_SCREENSHOTS=str(SCREENSHOTS))
    return subprocess.call([str(VENV_PYTHON), "-m", "pytest", "-q", "tests/browser", *extra], env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

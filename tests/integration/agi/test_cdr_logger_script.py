"""asterisk/agi-bin/cdr_logger.agi as Asterisk runs it: a subprocess speaking AGI on its
stdin/stdout to a fake Asterisk, posting to the real API served over HTTP."""
import os
import subprocess
import sys
from pathlib import Path

from app.extensions import db
from app.services.routing import CallArrival, RoutingService
from fake_asterisk.fastagi import FakeAsterisk, make_env
from tests.support.routing import assert_counters_match_a_recount, counters, scalar

SCRIPT = Path(__file__).resolve().parents[3] / "asterisk" / "agi-bin" / "cdr_logger.agi"
TOKEN = "testing-internal-token-not-for-production"


def run_script(fake: FakeAsterisk, *, env_extra: dict, args=()) -> tuple[str, list[bytes]]:
    """Play Asterisk on the script's pipes: env block, then one reply per command line."""
    env = dict(os.environ, **env_extra)
    process = subprocess.Popen([sys.executable, str(SCRIPT)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    block = "".join(f"{k}: {v}\n" for k, v in fake.env.items()) + "\n"
    process.stdin.write(block.encode())
    process.stdin.flush()
    commands = []
    while True:
        line = process.stdout.readline()
        if not line:
            break
        commands.append(line)
        process.stdin.write(fake.reply_to(line.rstrip(b"\n")))
        process.stdin.flush()
    process.stdin.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=10) == 0, stderr
    return stderr, commands


def test_cdr_logger_posts_the_finished_call(app, live_server):
    with app.app_context():
        engine = db.engine
        before = counters(engine)
        routing = RoutingService(engine)
        decision = routing.route(CallArrival(uniqueid="pbx-a-99.1", did="+14155550102"))
        assert decision.action == "dial"
    fake = FakeAsterisk(
        make_env("hangup", uniqueid="pbx-a-99.1", extension="h", callerid="+13105550100",
                 dnid="14155550102"),
        variables={"DIALSTATUS": "ANSWER", "CC_ATTEMPT": "1", "CC_ACTION": "dial"},
        functions={"CDR(billsec)": "61", "CDR(duration)": "70", "CDR(start)": "2026-11-24 09:23:31",
                   "CDR(answer)": "2026-11-24 09:23:40", "CDR(end)": "2026-11-24 09:24:41"},
        hangup_cause="16")
    stderr, commands = run_script(fake, env_extra={"CAPCONDUIT_API_URL": live_server,
                                                   "CAPCONDUIT_INTERNAL_TOKEN": TOKEN})
    assert b"GET VARIABLE DIALSTATUS\n" in commands and b"GET VARIABLE CDR(billsec)\n" in commands
    assert all(c.endswith(b"\n") and not c.endswith(b"\r\n") for c in commands)
    assert "logged pbx-a-99.1 (200)" in stderr
    with app.app_context():
        log = scalar(db.engine, "SELECT row_to_json(c) FROM call_logs c WHERE uniqueid = 'pbx-a-99.1'")
        assert log["status"] == "answered" and log["billsec"] == 61 and log["hangup_cause"] == 16
        assert counters(db.engine)[4] == (0, before[4][1] + 1)
        assert_counters_match_a_recount(db.engine)


def test_cdr_logger_with_a_wrong_token_logs_nothing_and_still_exits_cleanly(app, live_server):
    fake = FakeAsterisk(make_env("hangup", uniqueid="pbx-a-98.1", extension="h"))
    stderr, _ = run_script(fake, env_extra={"CAPCONDUIT_API_URL": live_server,
                                            "CAPCONDUIT_INTERNAL_TOKEN": "wrong"})
    assert "could not log pbx-a-98.1" in stderr and "401" in stderr
    with app.app_context():
        assert scalar(db.engine, "SELECT count(*) FROM call_logs WHERE uniqueid = 'pbx-a-98.1'") == 0


def test_cdr_logger_survives_an_unreachable_api():
    fake = FakeAsterisk(make_env("hangup", uniqueid="pbx-a-97.1", extension="h"))
    stderr, _ = run_script(fake, env_extra={"CAPCONDUIT_API_URL": "http://127.0.0.1:9",
                                            "CAPCONDUIT_INTERNAL_TOKEN": TOKEN})
    assert "could not log pbx-a-97.1" in stderr

"""bench.soak (python -m bench.soak) for 20 s, so the soak cannot rot: it starts its own
PostgreSQL, gunicorn and two FastAGI processes, drives calls and API traffic, and must end with
exit code 0, no cap overshoot, no leaked reservation and counters that agree with a recount."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_holds_every_cap_and_leaks_nothing(tmp_path):
    report_path = tmp_path / "soak.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--duration", "20", "--max-talk", "3",
         "--json", str(report_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    output = f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, output
    report = json.loads(report_path.read_text())

    assert report["result"] == "ok", output
    assert report["overshoots"] == 0
    assert report["caps"]["exact"]["overshoots"] == 0 and report["caps"]["exact"]["drift"] == 0
    assert report["caps"]["sampled"]["violations"] == [] and report["caps"]["sampled"]["drift"] == []
    assert report["leaks"]["total"] == 0
    assert all(v == 0 for v in report["leaks"]["after_drain"].values())
    assert all(v == 0 for v in report["leaks"]["after_reconcile"].values())
    assert report["recount"]["ok"], report["recount"]["problems"]

    # It really ran: calls through both FastAGI processes, against caps that were reached,
    # and API traffic from the sellers and the admins. (How many is the soak's own report.)
    assert report["calls"]["placed"] > 0 and report["calls"]["dialled"] > 0
    assert len(report["calls"]["sessions_per_port"]) == 2
    assert report["caps"]["reservations"] > 0
    assert any(row["kind"] == "client" and row["at_cap"] > 0 for row in report["caps"]["exact"]["peaks"])
    routes = report["api"]["routes"]
    assert routes["PATCH /api/seller/campaigns/{id}/clients/{id}"]["count"] > 6  # past the setup
    assert routes["GET /api/admin/call_logs"]["count"] > 0
    assert report["errors"]["http_5xx"] == 0 and report["errors"]["http_connection"] == 0
    assert set(report["memory"]) >= {"gunicorn master", "agi 1", "agi 2", "postgres (all)"}

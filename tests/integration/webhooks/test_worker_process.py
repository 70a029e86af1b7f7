"""`flask events deliver` as a real process: killed with SIGKILL mid-batch, nothing is lost."""
import collections
import os
import signal
import subprocess
import sys
import tempfile

from tests.support.processes import ROOT
from tests.support.receiver import Receiver
from tests.support.webhooks import answered_call, drain, subscribe
from tests.support.routing import scalar


def start_worker(database_uri: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, FLASK_APP="app:create_app", FLASK_ENV="testing",
               TEST_DATABASE_URI=database_uri)
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen([sys.executable, "-m", "flask", "events", "deliver", *args],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    process.log = log
    return process


def test_a_worker_killed_mid_batch_loses_nothing_and_resends_only_what_it_had_not_marked_sent(
        client, auth, routing, make_worker, engine, database_server):
    with Receiver(delay=0.05) as receiver:
        subscribe(client, auth, "seller1", receiver.url, ["call.started", "call.ended"])
        for n in range(30):
            answered_call(routing, f"kill-{n}")
        total = scalar(engine, "SELECT count(*) FROM webhook_deliveries")
        assert total == 60
        process = start_worker(database_server.uri, "--lease", "2", "--batch", "40",
                               "--concurrency", "2")
        try:
            receiver.wait_for(12, timeout=30)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        marked_sent = set(scalar(engine, """
            SELECT coalesce(array_agg('evt_' || event_id), '{}') FROM webhook_deliveries
            WHERE status = 'sent'"""))
        received_before = len(receiver.requests)
        assert 0 < len(marked_sent) < total and received_before < total, "killed mid-batch"
        # A new worker takes over once the dead one's lease has run out.
        worker = make_worker(concurrency=8)
        drain(worker, lambda: scalar(engine, "SELECT count(*) FROM webhook_deliveries "
                                             "WHERE status <> 'sent'") == 0, timeout=60)
    counts = collections.Counter(r.headers["CapConduit-Event-Id"] for r in receiver.requests)
    every_event = set(scalar(engine, "SELECT array_agg('evt_' || id) FROM events"))
    assert set(counts) == every_event, "every event arrived"
    duplicated = {event for event, n in counts.items() if n > 1}
    assert duplicated.isdisjoint(marked_sent), "what was marked sent is never sent again"
    assert all(n <= 2 for n in counts.values())

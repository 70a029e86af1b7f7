"""Faults: the database going away mid-load, and a FastAGI process killed with SIGKILL."""
import asyncio
import dataclasses
import signal
import time

import psycopg
from sqlalchemy.engine import make_url

from app.extensions import db
from app.services.routing import RoutingService
from fake_asterisk.dialplan import ANSWER, NOANSWER, Channel, load_dialplan
from tests.support.processes import agi_server_processes
from tests.support.routing import assert_counters_match_a_recount, counters, scalar, set_setting

MEDICARE = "14155550102"


def admin_connection(database_uri: str):
    url = make_url(database_uri)
    return psycopg.connect(url.set(drivername="postgresql", database="postgres")
                           .render_as_string(hide_password=False), autocommit=True)


def test_database_outage_during_load_rejects_cleanly_then_recovers(app, database_server):
    """Connections refused and existing ones cut for a while: the calls in the gap end with
    reason `error`, nothing hangs, the server reconnects by itself, and after a reconcile the
    counters equal the reservations and the call logs again."""
    database = make_url(database_server.uri).database
    with app.app_context():
        engine = db.engine
        set_setting(engine, 4, max_concurrency=1000, total_calls_allowed=None)
        dialplan = load_dialplan()
        with agi_server_processes(database_server.uri, count=1) as (ports, _):
            async def caller(number: int, outcomes):
                channel = Channel(dialplan, "127.0.0.1", ports[0], exten=MEDICARE,
                                  uniqueid=f"outage-{number}.1", outcomes=outcomes)
                return await asyncio.wait_for(channel.run(), 30)

            async def load(seconds: float, start: int):
                records, number, deadline = [], start, time.monotonic() + seconds
                while time.monotonic() < deadline:
                    batch = [caller(number + i, [ANSWER] if i % 2 else [NOANSWER, ANSWER])
                             for i in range(8)]
                    number += 8
                    records += await asyncio.gather(*batch)
                return records, number

            before, next_number = asyncio.run(load(1.0, 0))
            with admin_connection(database_server.uri) as admin:
                admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()", (database,))
                try:
                    during, next_number = asyncio.run(load(1.0, next_number))
                finally:
                    admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
            after, _ = asyncio.run(load(1.5, next_number))

        assert all(r.dials for r in before)
        errors = [r for r in during if r.variables.get("CC_REASON") == "error"]
        assert errors, "calls during the outage should have been rejected with reason error"
        assert all(r.hangup_cause == "41" for r in errors)
        # Recovery: the last calls are all routed normally again.
        assert all(r.dials for r in after[-8:])
        db.session.remove()
        engine.dispose()
        # Hangups lost in the gap left slots behind; reconcile with no live channel frees them.
        RoutingService(engine).reconcile([], grace_seconds=0)
        assert scalar(engine, "SELECT count(*) FROM reservations") == 0
        assert scalar(engine, "SELECT count(*) FROM call_logs WHERE ended_at IS NULL") == 0
        assert_counters_match_a_recount(engine)


def test_sigkilled_agi_process_slots_are_freed_by_reconcile(app, database_server):
    with app.app_context():
        engine = db.engine
        set_setting(engine, 4, max_concurrency=3, total_calls_allowed=None)
        dialplan = load_dialplan()
        with agi_server_processes(database_server.uri, count=2) as (ports, processes):
            release = asyncio.Event()

            async def scenario():
                held = [Channel(dialplan, "127.0.0.1", ports[0], exten=MEDICARE, uniqueid=f"killed-{i}.1",
                                outcomes=[dataclasses.replace(ANSWER, hold=release)]) for i in range(3)]
                tasks = [asyncio.create_task(c.run()) for c in held]
                while scalar(engine, "SELECT count(*) FROM reservations") < 3:
                    await asyncio.sleep(0.02)
                processes[0].send_signal(signal.SIGKILL)
                processes[0].wait(timeout=10)
                # Process A is gone: these calls' hangups cannot reach it.
                release.set()
                records = await asyncio.gather(*tasks)
                capped = await Channel(dialplan, "127.0.0.1", ports[1], exten=MEDICARE,
                                       uniqueid="after-kill-1.1").run()
                return records, capped

            records, capped = asyncio.run(scenario())
            # Only `route` reached process A before it died; `answered` and `hangup` could not.
            assert all(r.agi_scripts == ["route"] for r in records)
            assert capped.variables["CC_REASON"] == "all_capped"
            assert counters(engine)[4][0] == 3

            ended = RoutingService(engine).reconcile([], grace_seconds=0)
            assert sorted(ended) == ["killed-0.1", "killed-1.1", "killed-2.1"]
            assert counters(engine)[4][0] == 0
            assert_counters_match_a_recount(engine)

            async def one_more():
                return await Channel(dialplan, "127.0.0.1", ports[1], exten=MEDICARE,
                                     uniqueid="after-reconcile.1", outcomes=[ANSWER]).run()
            assert asyncio.run(one_more()).variables["CC_ACTION"] == "dial"

"""Caps hold across processes: two `flask agi serve` processes on one database."""
import asyncio
import dataclasses

from app.extensions import db
from fake_asterisk.dialplan import ANSWER, Channel, load_dialplan
from tests.support.processes import agi_server_processes
from tests.support.routing import assert_counters_match_a_recount, counters, scalar, set_setting

MEDICARE = "14155550102"


def run_calls_across(ports, calls: int, engine, expected_routed: int, *, exten: str = MEDICARE,
                     prefix: str = "mp", callers: bool = False):
    """Every call answered and held until `expected_routed` are routed, so each keeps its
    slot; `callers`: each call from its own number (else none)."""
    release = asyncio.Event()
    dialplan = load_dialplan()

    async def release_when_all_routed():
        while scalar(engine, f"SELECT count(*) FROM call_logs WHERE uniqueid LIKE '{prefix}-%' AND "
                             "(status <> 'in_progress' OR id IN (SELECT call_log_id FROM call_attempts))"
                     ) < expected_routed:
            await asyncio.sleep(0.02)
        release.set()

    async def main():
        channels = [Channel(dialplan, "127.0.0.1", ports[i % len(ports)], exten=exten,
                            uniqueid=f"{prefix}-{i}.1",
                            **({"callerid": f"+1310555{i:04d}"} if callers else {}),
                            outcomes=[dataclasses.replace(ANSWER, hold=release)])
                    for i in range(calls)]
        waiter = asyncio.create_task(release_when_all_routed())
        records = await asyncio.gather(*(c.run() for c in channels))
        await waiter
        return records

    return asyncio.run(main())


def test_concurrency_cap_holds_across_two_agi_processes(app, database_server):
    with app.app_context():
        engine = db.engine
        set_setting(engine, 4, max_concurrency=4, total_calls_allowed=None)
        with agi_server_processes(database_server.uri, count=2) as (ports, _):
            records = run_calls_across(ports, 30, engine, expected_routed=30)
        assert sum(1 for r in records if r.dials) == 4
        assert counters(engine)[4] == (0, 4)
        assert_counters_match_a_recount(engine)


def test_total_calls_cap_holds_across_two_agi_processes(app, database_server):
    with app.app_context():
        engine = db.engine
        set_setting(engine, 4, max_concurrency=50, total_calls_allowed=7, current_total_calls=2)
        with agi_server_processes(database_server.uri, count=2) as (ports, _):
            records = run_calls_across(ports, 25, engine, expected_routed=25)
        assert sum(1 for r in records if r.dials) == 5
        assert counters(engine)[4] == (0, 7)
        assert_counters_match_a_recount(engine, baseline={4: 2})

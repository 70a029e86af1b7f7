"""Calls made through the routing engine, as Asterisk would place them."""
import asyncio
import dataclasses

from app.extensions import db
from app.services.routing import CallArrival, CallEnd, RoutingService
from fake_asterisk.dialplan import ANSWER, Channel, load_dialplan
from tests.support.routing import scalar

MEDICARE = "14155550102"


def make_calls(app, count, did="+14155550102", prefix="bulk"):
    with app.app_context():
        routing = RoutingService(db.engine)
        for i in range(count):
            uniqueid = f"{prefix}-{i}"
            routing.route(CallArrival(uniqueid=uniqueid, did=did, caller_id=f"+1310555{i:04d}"))
            routing.hangup(CallEnd(uniqueid=uniqueid, dial_status="ANSWER" if i % 2 else "NOANSWER",
                                   attempt=1, billsec=10 * i))


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

"""Under overload the steps of calls in progress go before new calls: a connection that comes
free serves a waiting hangup before a route that queued earlier."""
import asyncio

from app.services.routing import CallArrival, CallEnd, RoutingService
from tests.support.routing import (assert_counters_match_a_recount, async_routing, counters,
                                   set_setting)

MEDICARE_DID = "+14155550102"  # campaign 2: one link (setting 4)


def test_the_end_of_a_call_in_progress_gets_a_connection_before_a_new_route(engine):
    set_setting(engine, 4, max_concurrency=1, total_calls_allowed=None)
    sync = RoutingService(engine)
    assert sync.route(CallArrival(uniqueid="up-1", did=MEDICARE_DID)).action == "dial"
    sync.answered("up-1", 1)
    routing = async_routing(engine, pool_size=1, min_pool_size=1, route_budget=5.0,
                            connection_wait=5.0)

    async def main():
        await routing.open()
        finished = []

        async def database_busy():  # the only connection, taken for a moment
            async with routing._pool.connection() as conn:  # noqa: SLF001 - the slow database
                await conn.execute("SELECT pg_sleep(0.3)")

        busy = asyncio.create_task(database_busy())
        await asyncio.sleep(0.1)
        new_call = asyncio.create_task(routing.route(CallArrival(uniqueid="new-1", did=MEDICARE_DID)))
        new_call.add_done_callback(lambda _: finished.append("route"))
        await asyncio.sleep(0.05)  # the route queues first
        call_end = asyncio.create_task(routing.hangup(CallEnd(
            uniqueid="up-1", dial_status="ANSWER", attempt=1, billsec=20)))
        call_end.add_done_callback(lambda _: finished.append("hangup"))
        await asyncio.gather(busy, new_call, call_end)
        await routing.close()
        return finished, new_call.result(), call_end.result()

    finished, decision, status = asyncio.run(main())
    assert finished == ["hangup", "route"]
    assert status == "answered"
    assert decision.action == "dial"  # the slot the ended call freed, at once
    assert counters(engine)[4][0] == 1
    sync.hangup(CallEnd(uniqueid="new-1", dial_status="NOANSWER", attempt=1))
    assert_counters_match_a_recount(engine)

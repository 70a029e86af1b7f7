"""The FastAGI server's sweeper deletes the cached bids that have expired — only those — in
short batches that never wait on a call writing one."""
import asyncio

from app.agi import runner
from tests.support.routing import async_routing, execute, scalar

EXPIRED = [(1, f"+1310555{n:04d}") for n in range(6)] + [(2, "+13105550000")]
LIVE = [(1, "+14155559999"), (2, "+14155550001")]


def cache_bid(engine, setting_id: int, caller: str, seconds: int) -> None:
    """A bid cached for this caller and link, good for `seconds` more (negative: expired)."""
    execute(engine, "INSERT INTO bid_cache (setting_id, caller_number, bid, expires_at) "
                    "VALUES (:s, :c, 7.50, now() + make_interval(secs => :t))",
            s=setting_id, c=caller, t=seconds)


def cached(engine) -> set[tuple[int, str]]:
    with engine.connect() as conn:
        return {tuple(row) for row in conn.exec_driver_sql(
            "SELECT setting_id, caller_number FROM bid_cache")}


def fill(engine) -> None:
    for setting_id, caller in EXPIRED:
        cache_bid(engine, setting_id, caller, -60)
    for setting_id, caller in LIVE:
        cache_bid(engine, setting_id, caller, 3600)


def test_the_sweeper_deletes_expired_cached_bids_and_keeps_the_live_ones(engine):
    fill(engine)

    async def main():
        routing = async_routing(engine)
        sweeper = asyncio.create_task(runner.sweep_periodically(routing, 0.01, None))
        try:
            async with asyncio.timeout(30):  # a guard: the sweeper's first round is 10 ms away
                while await asyncio.to_thread(
                        scalar, engine, "SELECT count(*) FROM bid_cache WHERE expires_at <= now()"):
                    await asyncio.sleep(0.01)
        finally:
            sweeper.cancel()
            await routing.close()

    asyncio.run(main())
    assert cached(engine) == set(LIVE)


def test_a_round_sweeps_a_bounded_number_of_short_batches(engine):
    fill(engine)

    async def sweep(**bounds):
        routing = async_routing(engine)
        try:
            return await routing.sweep_bid_cache(**bounds)
        finally:
            await routing.close()

    assert asyncio.run(sweep(batch=2, most_batches=2)) == 4  # the rest waits for the next round
    assert len(cached(engine)) == len(EXPIRED) - 4 + len(LIVE)
    assert asyncio.run(sweep(batch=2, most_batches=2)) == 3
    assert cached(engine) == set(LIVE)
    assert asyncio.run(sweep()) == 0


def test_a_bid_a_call_is_renewing_is_skipped_and_kept(engine):
    """A call caching a new bid for a caller whose old one expired holds that row: the sweep
    passes over it rather than wait, deletes the others, and the renewed bid stays."""
    fill(engine)
    renewed = EXPIRED[0]

    async def sweep():
        routing = async_routing(engine)
        try:
            return await routing.sweep_bid_cache(batch=2)
        finally:
            await routing.close()

    with engine.connect() as call:
        call.exec_driver_sql(
            "UPDATE bid_cache SET bid = 9, expires_at = now() + interval '1 hour' "
            "WHERE setting_id = %(s)s AND caller_number = %(c)s",
            {"s": renewed[0], "c": renewed[1]})
        assert asyncio.run(sweep()) == len(EXPIRED) - 1  # while the call holds its row
        call.commit()
    assert cached(engine) == set(LIVE) | {renewed}
    assert asyncio.run(sweep()) == 0
    assert scalar(engine, "SELECT bid FROM bid_cache WHERE caller_number = :c", c=renewed[1]) == 9

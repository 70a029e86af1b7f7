"""With the database unreachable, every call is rejected cleanly and nothing hangs."""
import asyncio

from sqlalchemy import create_engine

from fake_asterisk.dialplan import Channel, load_dialplan
from tests.support.routing import routing_agi_server

UNREACHABLE = "postgresql+psycopg://nobody@/nowhere?host=/nonexistent-socket-dir&connect_timeout=1"


def test_calls_are_rejected_with_reason_error_while_the_database_is_down():
    engine = create_engine(UNREACHABLE, pool_pre_ping=True)
    dialplan = load_dialplan()

    async def main():
        server = routing_agi_server(engine, port=0)
        await server.start()
        try:
            channels = [Channel(dialplan, "127.0.0.1", server.port, exten="14155550100")
                        for _ in range(5)]
            return await asyncio.wait_for(asyncio.gather(*(c.run() for c in channels)), 30)
        finally:
            await server.stop(grace_seconds=2)

    for record in asyncio.run(main()):
        assert record.dials == []
        assert record.variables["CC_ACTION"] == "reject"
        assert record.variables["CC_REASON"] == "error"
        assert record.hangup_cause == "41"
        assert record.agi_scripts == ["route", "hangup"]

"""What one FastAGI session costs the server apart from the routing: CPU per session.

    .venv/bin/python -m bench.agi_sessions                 # 20,000 sessions, uvloop
    .venv/bin/python -m bench.agi_sessions --loop asyncio  # on asyncio's own event loop

A server process runs `AGIServer` with a `route` handler that answers at once (one
`SET VARIABLE` of three variables, as the real route does, and no database); a client process
plays Asterisk on `--connections` concurrent connections: the 23-line environment block, the
reply to the command, the trailing HANGUP after the server half-closes. The server measures its
own CPU time (user + system) over the sessions after a warm-up and prints it per session: the
plumbing every `route`, `answered` and `hangup` pays before any SQL.
"""
import argparse
import asyncio
import multiprocessing
import os
import time

import uvloop

ENVIRONMENT = b"".join(b"agi_%s: %s\n" % pair for pair in [
    (b"network", b"yes"), (b"network_script", b"route"), (b"request", b"agi://127.0.0.1/route"),
    (b"channel", b"PJSIP/carrier-1-00000001"), (b"language", b"en"), (b"type", b"PJSIP"),
    (b"uniqueid", b"1795512212.123"), (b"version", b"22.10.1"), (b"callerid", b"+14155551234"),
    (b"calleridname", b"Alice"), (b"callingpres", b"0"), (b"callingani2", b"0"),
    (b"callington", b"0"), (b"callingtns", b"0"), (b"dnid", b"14155550100"),
    (b"rdnis", b"unknown"), (b"context", b"cc-inbound"), (b"extension", b"14155550100"),
    (b"priority", b"3"), (b"enhanced", b"0.0"), (b"accountcode", b""),
    (b"threadid", b"140000000000"), (b"arg_1", b"1795512212.123")]) + b"\n"


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    return uvloop.new_event_loop() if kind == "uvloop" else asyncio.new_event_loop()


def serve(port: int, sessions: int, warmup: int, loop_kind: str, result) -> None:
    from app.agi.server import AGIServer
    from app.services.routing import dialplan_variables as variables

    async def route(session) -> None:
        await session.set_variables({variables.DIAL: "PJSIP/client-1", variables.ATTEMPT: 1,
                                     variables.ACTION: "dial"})

    async def main() -> None:
        server = AGIServer({"route": route}, port=port, max_sessions=256)
        await server.start()
        result.put(("ready", 0.0))
        while server.outcomes["ok"] < warmup:
            await asyncio.sleep(0.05)
        started, counted = time.process_time(), server.outcomes["ok"]
        while server.outcomes["ok"] - counted < sessions:
            await asyncio.sleep(0.05)
        result.put(("done", (time.process_time() - started) / (server.outcomes["ok"] - counted)))

    with asyncio.Runner(loop_factory=lambda: new_loop(loop_kind)) as runner:
        runner.run(main())


def play_asterisk(port: int, connections: int) -> None:
    async def one_session() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(ENVIRONMENT)
        await reader.readuntil(b"\n")
        writer.write(b"200 result=1\n")
        await reader.read()  # up to the server's half-close
        writer.write(b"HANGUP\n")
        writer.close()

    async def channel() -> None:
        while True:
            try:
                await one_session()
            except (OSError, asyncio.IncompleteReadError):
                await asyncio.sleep(0.01)

    async def main() -> None:
        await asyncio.gather(*(channel() for _ in range(connections)))

    uvloop.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--port", type=int, default=45999)
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    result = context.Queue()
    server = context.Process(target=serve, args=(args.port, args.sessions, args.warmup,
                                                 args.loop, result))
    server.start()
    assert result.get(timeout=60)[0] == "ready"
    client = context.Process(target=play_asterisk, args=(args.port, args.connections), daemon=True)
    client.start()
    try:
        _, per_session = result.get(timeout=600)
    finally:
        client.kill()
        server.kill()
    load = os.getloadavg()[0]
    print(f"FastAGI session plumbing ({args.loop}): {per_session * 1e6:.0f} µs of server CPU "
          f"per session over {args.sessions} sessions, {args.connections} connections "
          f"(load average {load:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()

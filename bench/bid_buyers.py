"""Buyers' bid endpoints for the benchmark (`bench.agi_load --bids`): one asyncio HTTP server,
run as its own process, whose path says how the buyer behaves:

* `/fast` bids at once; `/late` bids after a random wait inside the bid timeout (up to 60 %);
* `/never` answers three bid timeouts later (always too late); `/error` answers 500.

    .venv/bin/python -m bench.bid_buyers --port 8099 --timeout-ms 800
"""
import argparse
import asyncio
import json
import random

BEHAVIOURS = ("fast", "late", "never", "error")


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float):
    try:
        request = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        behaviour = request.split()[1].decode().strip("/") if len(request.split()) > 1 else ""
        status, body = 200, {"bid": round(random.uniform(1, 50), 2)}
        if behaviour == "late":
            await asyncio.sleep(random.uniform(0, 0.6 * timeout))
        elif behaviour == "never":
            await asyncio.sleep(3 * timeout)
        elif behaviour == "error":
            status = 500
        payload = json.dumps(body).encode()
        writer.write(f"HTTP/1.0 {status} X\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        await writer.drain()
    except (OSError, ValueError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def serve(port: int, timeout: float) -> None:
    server = await asyncio.start_server(lambda r, w: answer(r, w, timeout), "127.0.0.1", port,
                                        backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout-ms", type=int, default=800)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.timeout_ms / 1000))


if __name__ == "__main__":
    main()

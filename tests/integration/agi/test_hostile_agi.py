"""Hostile input against the FastAGI server with the real routing handlers and database.

Garbage, headers that never end, oversize lines, replies no Asterisk sends, HANGUP at every
point, connections cut at every step, and thousands of idle connections. After each: the
same server still routes the next well-formed call (a real route -> dial decision), and no
reservation is held by a call that is gone — once its ``h`` ran (Asterisk always runs it),
or, when ``h`` itself was cut, once expiry / ``reconcile([])`` ran.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import resource
import selectors
import socket
import threading
import time

import psutil
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from app.agi import Outcome
from app.agi.handlers import build_handlers
from app.extensions import db
from app.services.routing import AsyncRoutingService, RoutingService
from fake_asterisk.dialplan import ANSWER, NOANSWER, load_dialplan
from fake_asterisk.fastagi import make_env
from tests.support.agi_harness import env_block
from tests.support.hostile_agi import HOST, HostileChannel, ServerThread, send_raw
from tests.support.processes import agi_server_processes
from tests.support.routing import assert_counters_match_a_recount, async_routing, scalar, set_setting

SOLAR = "14155550100"  # campaign 1: three clients (settings 1, 2, 3)
DIALPLAN = load_dialplan()
HEADER_TIMEOUT = 1.0
COMMAND_TIMEOUT = 0.6  # only replies that never complete wait this long
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
_numbers = itertools.count(1)

# What each handler sends, in order (see app/agi/handlers): the points a session can break at.
# The dialplan passes what the handlers need as arguments, so only route sends a command.
ROUTE_COMMANDS = 1  # SET VARIABLE ARRAY(CC_DIAL,CC_TIMEOUT,CC_ATTEMPT,CC_ACTION) "…"
ATTEMPT_RESULT_COMMANDS = 0
HANGUP_COMMANDS = 0


@pytest.fixture
def engine(engine):
    for setting in (1, 2, 3, 4):  # caps out of the way: thousands of calls go through here
        set_setting(engine, setting, max_concurrency=100_000, total_calls_allowed=None)
    return engine


# A handler "error" is fine when Asterisk (or what posed as it) answered a command with an
# error code; anything else (a database error, a bug of ours) is not.
AGI_COMMAND_ERRORS = ("AGICommandError", "AGIInvalidCommand", "AGIDeadChannel", "AGIUsageError")


@pytest.fixture
def agi(engine):
    """One server for the whole test, whatever the examples throw at it."""
    routing = async_routing(engine)
    with ServerThread(build_handlers(routing), max_sessions=32, on_stop=routing.close,
                      header_timeout=HEADER_TIMEOUT, command_timeout=COMMAND_TIMEOUT) as server:
        yield server
        server.wait_idle()
        internal = [r for r in server.records
                    if r.outcome == Outcome.ERROR and not (r.error or "").startswith(AGI_COMMAND_ERRORS)]
        assert internal == []
    assert scalar(engine, "SELECT count(*) FROM reservations") == 0


def uniqueid(kind: str) -> str:
    return f"hostile-{kind}-{next(_numbers)}.1"


def place_call(port: int, *, outcomes=(ANSWER,), tamper=None, kind: str = "real"):
    channel = HostileChannel(DIALPLAN, HOST, port, exten=SOLAR, outcomes=list(outcomes),
                             tamper=tamper, uniqueid=uniqueid(kind))
    record = asyncio.run(asyncio.wait_for(channel.run(), 30))
    return record, channel


def held(engine, uid: str | None = None) -> int:
    if uid is None:
        return scalar(engine, "SELECT count(*) FROM reservations")
    return scalar(engine, "SELECT count(*) FROM reservations WHERE uniqueid = :u", u=uid)


def call_log(engine, uid: str):
    return scalar(engine, "SELECT row_to_json(c) FROM call_logs c WHERE uniqueid = :u", u=uid)


def assert_serves_a_real_call(agi: ServerThread, engine) -> None:
    """The next well-formed call is routed, dialled, answered and ended, holding nothing."""
    record, _ = place_call(agi.port)
    assert record.agi_scripts == ["route", "answered", "hangup"], record
    assert record.variables["CC_ACTION"] == "dial" and record.dials[0][0].startswith("PJSIP/"), record
    assert call_log(engine, record.uniqueid)["status"] == "answered"
    assert held(engine, record.uniqueid) == 0


def wait_for_record(agi: ServerThread, start: int, matches, timeout: float = 30.0):
    """The first record from index `start` on that `matches`, waiting for it to be logged."""
    deadline = time.monotonic() + timeout
    while True:
        found = next((r for r in agi.records[start:] if matches(r)), None)
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"no such record ({agi.records[-3:]})"
        time.sleep(0.005)


# ---------------------------------------------------------------- garbage before any header

_FRAGMENTS = [b"agi_network: yes\n", b"agi_network_script: route\n", b"agi_uniqueid: x\n", b"HANGUP\n",
              b"200 result=1\n", b"\n", b"\r\n", b"\xff\xfe\x00\n", b"agi_", b": ", b"GET / HTTP/1.1\r\n",
              b"x" * 9000, b"\n" * 3]
garbage = st.one_of(
    st.binary(max_size=2048),
    st.lists(st.sampled_from(_FRAGMENTS), max_size=12).map(b"".join),
    st.builds(lambda lines, tail: b"".join(lines) + tail,
              st.lists(st.sampled_from(_FRAGMENTS[:3]), max_size=4), st.binary(max_size=300)),
)


@FUZZ
@given(payload=garbage, how=st.sampled_from(["half_close", "abort"]))
def test_garbage_bytes_never_stop_the_next_call(agi, engine, payload, how):
    before = len(agi.records)
    answer, _ = asyncio.run(send_raw(agi.port, payload, how=how))
    # The previous real call's last session may still be logged after `before`: skip it.
    record = wait_for_record(agi, before, lambda r: not r.uniqueid.startswith("hostile-real"))
    # A fragment soup may spell a whole (empty or route) header: then it is a session like any.
    assert record.outcome in (Outcome.BAD_HEADER, Outcome.DROPPED, Outcome.UNKNOWN_SCRIPT), record
    if record.outcome == Outcome.BAD_HEADER:
        assert answer == b""  # nothing is ever sent to a peer that sent no header
    assert_serves_a_real_call(agi, engine)
    assert held(engine) == 0


# ---------------------------------------------------------------- headers that never end, long lines

async def stall(port: int, first: bytes, *, trickle: bytes = b"", every: float = 0.1) -> float:
    """Send ``first``, then ``trickle`` every ``every`` s (a slowloris) or nothing; return how
    long the server took to close the connection."""
    reader, writer = await asyncio.open_connection(HOST, port)
    started = time.monotonic()
    writer.write(first)

    async def drip() -> None:
        while trickle:
            await asyncio.sleep(every)
            writer.write(trickle)
    dripping = asyncio.create_task(drip())
    try:
        async with asyncio.timeout(HEADER_TIMEOUT + 10):
            while await reader.read(65536):
                pass
    except (ConnectionError, OSError):
        pass
    finally:
        dripping.cancel()
        writer.close()
    return time.monotonic() - started


def test_headers_that_never_end_are_shed_within_the_header_timeout_while_calls_go_on(agi, engine):
    fat_lines = b"".join(b"agi_x%d: %s\n" % (n, b"y" * 8000) for n in range(127))
    stallers = {
        "silent": (b"", b""),
        "half a header": (env_block(make_env(uniqueid="stall.1"))[:300], b""),
        "slowloris": (b"agi_network: yes\nagi_x: ", b"z"),
        "slowloris lines": (b"", b"agi_y: 1\n"),
    }

    async def scenario():
        closing = {name: asyncio.create_task(stall(agi.port, first, trickle=trickle))
                   for name, (first, trickle) in stallers.items()}
        fat = asyncio.create_task(stall(agi.port, fat_lines))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        channel = HostileChannel(DIALPLAN, HOST, agi.port, exten=SOLAR, outcomes=[ANSWER], uniqueid=uniqueid("during"))
        record = await channel.run()
        call_took = time.monotonic() - started
        still_open = [name for name, task in closing.items() if not task.done()]
        return record, call_took, still_open, {name: await task for name, task in closing.items()}, await fat

    record, call_took, still_open, closed_after, fat_closed_after = asyncio.run(scenario())
    assert record.agi_scripts == ["route", "answered", "hangup"] and record.dials
    assert held(engine, record.uniqueid) == 0
    assert still_open == list(stallers), "the real call should have finished while every staller was connected"
    assert call_took < HEADER_TIMEOUT, call_took
    for name, seconds in closed_after.items():  # the header deadline is for the whole block
        assert HEADER_TIMEOUT * 0.9 <= seconds < HEADER_TIMEOUT + 2.0, (name, seconds)
    # 127 lines of 8 KiB and no blank line: refused at 32 KiB, not held until the deadline.
    assert fat_closed_after < HEADER_TIMEOUT / 2
    assert any("longer than 32768" in (r.error or "") for r in agi.records)
    agi.wait_idle()
    assert_serves_a_real_call(agi, engine)


@pytest.mark.parametrize("size", [8193, 65_536, 1 << 20, 16 << 20])
@pytest.mark.parametrize("where", ["first line", "after valid lines", "value of agi_uniqueid"])
def test_lines_far_over_8k_are_refused_without_reading_them_whole(agi, engine, size, where):
    prefix = {"first line": b"", "after valid lines": b"agi_network: yes\nagi_network_script: route\n",
              "value of agi_uniqueid": b"agi_network: yes\nagi_uniqueid: "}[where]
    before = len(agi.records)
    _, took = asyncio.run(send_raw(agi.port, prefix + b"7" * size + b"\n\n", how="wait"))
    record = wait_for_record(agi, before, lambda r: not r.uniqueid.startswith("hostile-real"))
    assert record.outcome == Outcome.BAD_HEADER and "8192" in record.error, record
    assert took < HEADER_TIMEOUT, took  # refused on the spot, not when the header deadline hits
    assert_serves_a_real_call(agi, engine)


# ---------------------------------------------------------------- replies no Asterisk sends

def settle_gone_call(agi: ServerThread, engine, uid: str, *, hangup_ran: bool) -> None:
    """The call is over. If its `h` ran to the end, it holds nothing; if `h` was cut, expiry
    and reconcile (what `flask agi serve` and `flask routing reconcile` run) free it."""
    agi.wait_idle()
    if not hangup_ran:
        routing = RoutingService(engine)
        routing.expire()
        routing.reconcile([], grace_seconds=0)
    assert held(engine, uid) == 0, (uid, held(engine, uid))
    assert call_log(engine, uid)["ended_at"] is not None
    assert_counters_match_a_recount(engine)


_STATUS_JUNK = [b"200\n", b"200 \n", b"200 result=\n", b"200 result=abc\n", b"200 result=1 (unclosed\n",
b"201 result=1\n", b"100 result=1\n", b"999 Bogus\n", b"510\n",
                b"511 dead\n", b"520 End of proper usage.\n", b"200 result=1\r\n", b"result=1\n",
                b"\n", b"HANGUP\nHANGUP\n", b"hangup\n", b"200 result=1 (x)\n200 result=1 (y)\n",
                b"200 result=99999999999999999999999 (1)\n", b"200 result=1 (" + b"9" * 9000 + b")\n",
                b"200 result=1 (ANSWER|1|16|30|L)\n", b"200 result=1 (\x00\x01\x7f|\xff|-5|1e9|)\n"]
junk_reply = st.one_of(
    st.sampled_from(_STATUS_JUNK),
    st.binary(max_size=300).map(lambda data: data + b"\n"),
    st.builds(lambda code, text: b"%d %s\n" % (code, text), st.integers(0, 999), st.binary(max_size=80)),
    # A multi-line reply, within 128 lines or past them.
    st.builds(lambda code, lines: b"%d-x\n" % code + b"body\n" * lines + b"%d end\n" % code,
              st.sampled_from([200, 520, 510, 511]), st.integers(0, 140)),
    # HANGUP lines (skipped) in front of something else entirely.
    st.builds(lambda n, rest: b"HANGUP\n" * n + rest, st.integers(1, 5), st.sampled_from(_STATUS_JUNK)),
)
# Replies that never complete are in test_replies_that_never_complete_time_out: each one costs
# a whole command timeout, too slow to draw by the dozen here.
# (script, its n-th session in the call, command number): every command of every session.
reply_points = st.sampled_from(
    [("route", n, k) for n in (1, 2) for k in range(1, ROUTE_COMMANDS + 1)])


@settings(FUZZ, max_examples=50)
@given(point=reply_points, junk=junk_reply)
def test_replies_asterisk_would_never_send(agi, engine, point, junk):
    script, occurrence, command = point
    outcomes = [NOANSWER, ANSWER]
    note(f"{script} #{occurrence}, reply to command {command} replaced by {junk!r}")
    record, channel = place_call(agi.port, outcomes=outcomes, kind="junk",
                                 tamper={(script, occurrence): {"replace_reply": {command: junk}}})
    note(f"uniqueid {record.uniqueid}, scripts {record.agi_scripts}")
    assert channel.tampered, "the tampered session should have run"
    if script != "hangup":
        assert record.agi_scripts[-1] == "hangup"
    settle_gone_call(agi, engine, record.uniqueid, hangup_ran=script != "hangup")
    assert_serves_a_real_call(agi, engine)


@pytest.mark.parametrize("junk", [b"200 result=1", b"200-result=1\n", b"HANGUP\n" * 3,
                                  b"520-Invalid command syntax.  Proper usage follows:\nbody\n",
                                  b"520-Invalid\n520-still\n200 result=1\n"])
def test_replies_that_never_complete_time_out(agi, engine, junk):
    """The reply never ends: the command timeout ends the session, nothing more is sent on the
    line (a late reply could pair with the wrong command), and `h` frees the call."""
    record, channel = place_call(agi.port, kind="incomplete",
                                 tamper={("route", 1): {"replace_reply": {1: junk}}})
    [fake] = channel.tampered
    [command] = fake.commands  # the decision; Asterisk ran it, only its reply went astray
    assert command.startswith(b"SET VARIABLE ARRAY(CC_DIAL,CC_TIMEOUT,CC_ATTEMPT,CC_ACTION) ")
    route = next(r for r in agi.records if r.uniqueid == record.uniqueid and r.script == "route")
    assert route.outcome == Outcome.TIMEOUT and COMMAND_TIMEOUT <= route.duration < COMMAND_TIMEOUT + 2
    assert record.agi_scripts[-1] == "hangup" and record.dials
    settle_gone_call(agi, engine, record.uniqueid, hangup_ran=True)
    assert_serves_a_real_call(agi, engine)


# ---------------------------------------------------------------- HANGUP at every point

def _point_id(script, occurrence, options) -> str:
    return f"{script}{occurrence}-" + "-".join(str(value)[:20] for value in options.values())


def hangup_points():
    """Every place a caller hangup can show up in route / attempt_result / answered / h."""
    for occurrence in (1, 2):
        for k in range(1, ROUTE_COMMANDS + 2):  # k = commands + 1: after the last reply
            yield "route", occurrence, {"caller_hangup_before": k, "hangup_timing": "idle"}
            if k <= ROUTE_COMMANDS:
                yield "route", occurrence, {"caller_hangup_before": k, "hangup_timing": "before_reply",
                                            "reply_delay_after_hangup": 0.01}
    yield "attempt_result", 1, {"caller_hangup_before": 1, "hangup_timing": "idle"}
    yield "answered", 1, {"caller_hangup_before": 1, "hangup_timing": "idle"}
    # h runs on a dead channel: Asterisk sends no inline HANGUP there; a hostile one might.
    yield "hangup", 1, {"after_env": b"HANGUP\n"}
    yield "hangup", 1, {"after_env": b"HANGUP\n" * 50}


@pytest.mark.parametrize("script, occurrence, options", [
    pytest.param(*point, id=_point_id(*point)) for point in hangup_points()])
def test_hangup_at_every_point_holds_nothing_once_h_ran(agi, engine, script, occurrence, options):
    record, channel = place_call(agi.port, outcomes=[NOANSWER, ANSWER], kind="hangup",
                                 tamper={(script, occurrence): options})
    [fake] = channel.tampered
    assert fake.hangups_sent >= 1 or b"HANGUP" in fake.asterisk_bytes
    assert record.agi_scripts[-1] == "hangup"
    # Every session of the call ran to its end: the HANGUP lines were skipped, nothing failed.
    call_records = [r for r in agi.records if r.uniqueid == record.uniqueid]
    assert call_records and all(r.outcome == Outcome.OK for r in call_records), call_records
    settle_gone_call(agi, engine, record.uniqueid, hangup_ran=True)
    assert call_log(engine, record.uniqueid)["status"] in ("answered", "abandoned")
    assert_serves_a_real_call(agi, engine)


# ---------------------------------------------------------------- connections cut at every step

def drop_points():
    sessions = [("route", 1, ROUTE_COMMANDS), ("route", 2, ROUTE_COMMANDS),
                ("attempt_result", 1, ATTEMPT_RESULT_COMMANDS), ("answered", 1, 0),
                ("hangup", 1, HANGUP_COMMANDS)]
    for script, occurrence, commands in sessions:
        yield script, occurrence, {"abort_at": "mid_env"}
        yield script, occurrence, {"abort_at": "after_env"}
        for k in range(1, commands + 1):
            yield script, occurrence, {"abort_at": "on_command", "abort_command": k}
            yield script, occurrence, {"abort_at": "mid_reply", "abort_command": k}
            yield script, occurrence, {"abort_after_reply": k}
        yield script, occurrence, {"abort_at": "before_trailing_hangup"}


def _cut(script, occurrence, options):
    return pytest.param(script, occurrence, options, id=_point_id(script, occurrence, options))


@pytest.mark.parametrize("script, occurrence, options", [_cut(*point) for point in drop_points()])
def test_connection_cut_at_every_step_holds_nothing_once_the_call_is_gone(agi, engine, script,
                                                                          occurrence, options):
    record, channel = place_call(agi.port, outcomes=[NOANSWER, ANSWER], kind="cut",
                                 tamper={(script, occurrence): options})
    [fake] = channel.tampered
    assert fake.aborted
    assert record.agi_scripts[-1] == "hangup"
    settle_gone_call(agi, engine, record.uniqueid, hangup_ran=script != "hangup")
    assert_serves_a_real_call(agi, engine)


class SlowToStartRouting(AsyncRoutingService):
    """Starts each route's database work late: long enough for `h` of a call whose route
    connection was cut to run to its end first."""

    async def route(self, arrival, **options):
        await asyncio.sleep(0.3)
        return await super().route(arrival, **options)


@pytest.mark.parametrize("route_delay", [0.0, 0.3])
def test_cut_while_route_reserves_holds_nothing_whichever_runs_first(engine, route_delay):
    """Asterisk drops the second route connection right after its environment: it moves on
    (CC_ACTION is empty: reject, Hangup, h) while the server is still routing. Either the route
    commits first and `h` releases its reservation, or `h` ends the call first and the route
    finds it ended and reserves nothing (the call's row orders the two in the database).
    Either way nothing waits for expiry."""
    routing = async_routing(engine, cls=SlowToStartRouting if route_delay else None)
    with ServerThread(build_handlers(routing), max_sessions=8, on_stop=routing.close,
                      header_timeout=HEADER_TIMEOUT, command_timeout=COMMAND_TIMEOUT) as agi:
        record, channel = place_call(agi.port, outcomes=[NOANSWER, ANSWER], kind="race",
                                     tamper={("route", 2): {"abort_at": "after_env"}})
        agi.wait_idle()
    assert record.agi_scripts == ["route", "attempt_result", "route", "hangup"]
    assert channel.tampered[0].aborted and len(record.dials) == 1
    assert held(engine, record.uniqueid) == 0  # no expiry, no reconcile needed
    attempts = scalar(engine, "SELECT json_agg(json_build_object('no', a.attempt_no, 'status', a.dial_status, "
                              "'ended', a.ended_at IS NOT NULL) ORDER BY a.attempt_no) FROM call_attempts a "
                              "JOIN call_logs c ON c.id = a.call_log_id WHERE c.uniqueid = :u", u=record.uniqueid)
    assert attempts[0] == {"no": 1, "status": "NOANSWER", "ended": True}
    assert all(attempt["ended"] for attempt in attempts), attempts
    assert call_log(engine, record.uniqueid)["status"] == "abandoned"
    assert_counters_match_a_recount(engine)


# ---------------------------------------------------------------- thousands of idle connections

IDLE_CONNECTIONS = 2000
HALF_A_HEADER = env_block(make_env(uniqueid="idle.1"))[:150]
MB = 1024 * 1024


def open_idle_sockets(port: int, count: int, *, batch: int = 50, pause: float = 0.02) -> list[socket.socket]:
    """Connect ``count`` sockets (every other one sends half a header), ``batch`` at a time and
    ``pause`` apart: faster than the server's accept loop, the kernel's listen queue (asyncio's
    default backlog of 100) overflows and dropped SYNs come back only 1 s later."""
    sockets: list[socket.socket] = []
    for start in range(0, count, batch):
        time.sleep(pause)
        connecting = {}
        with selectors.DefaultSelector() as selector:
            for number in range(start, min(start + batch, count)):
                sock = socket.socket()
                sock.setblocking(False)
                sock.connect_ex((HOST, port))
                selector.register(sock, selectors.EVENT_WRITE, number)
                connecting[sock] = number
            deadline = time.monotonic() + 15
            while connecting:
                assert time.monotonic() < deadline, f"{len(connecting)} connections never completed"
                for key, _ in selector.select(timeout=1):
                    sock = key.fileobj
                    error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    assert error == 0, f"connect failed: {os.strerror(error)}"
                    selector.unregister(sock)
                    if connecting.pop(sock) % 2:
                        sock.send(HALF_A_HEADER)
                    sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:  # reset: shed with an abort
        return True


def test_thousands_of_idle_connections_are_shed_while_calls_go_on(app, database_server):
    """A real `flask agi serve` (512 sessions, 5 s header timeout) against 2,000 sockets that
    connect and send nothing or half a header: calls keep being routed the whole time, the
    server sheds the idle ones, and its memory and file descriptors come back."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = IDLE_CONNECTIONS + 512
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    with app.app_context():
        engine = db.engine
        for setting in (1, 2, 3, 4):
            set_setting(engine, setting, max_concurrency=100_000, total_calls_allowed=None)
    with agi_server_processes(database_server.uri, count=1) as (ports, processes):
        port, server = ports[0], psutil.Process(processes[0].pid)

        def real_call(kind: str):
            record, _ = place_call(port, kind=kind)
            assert record.agi_scripts == ["route", "answered", "hangup"], record
            assert record.variables["CC_ACTION"] == "dial" and record.dials, record
            return record

        for _ in range(5):  # warm up: imports, the database pool, the allocator
            real_call("warmup")
        rss_before, fds_before = server.memory_info().rss, server.num_fds()

        # Calls go on while the flood connects...
        flood: list[socket.socket] = []
        errors: list[BaseException] = []

        def connect_all() -> None:
            try:
                flood.extend(open_idle_sockets(port, IDLE_CONNECTIONS))
            except BaseException as exc:  # reported below
                errors.append(exc)
        started = time.monotonic()
        connecting = threading.Thread(target=connect_all)
        connecting.start()
        during, peak_fds = [], 0
        while connecting.is_alive():  # a call every 0.1 s, about what one busy DID sees
            began = time.monotonic()
            real_call("during-flood")
            during.append(time.monotonic() - began)
            peak_fds = max(peak_fds, server.num_fds())
            time.sleep(0.1)
        connecting.join()
        assert not errors, errors
        flood_took = time.monotonic() - started
        assert len(flood) == IDLE_CONNECTIONS

        # ...and once every idle socket is connected.
        began = time.monotonic()
        real_call("after-flood")
        after_flood_call = time.monotonic() - began
        peak_fds = max(peak_fds, server.num_fds())

        # Shed: the newest 256 wait out the 5 s header timeout, the rest were dropped on arrival.
        deadline = time.monotonic() + 5.0 + 5.0
        open_now = list(flood)
        while open_now and time.monotonic() < deadline:
            open_now = [sock for sock in open_now if not closed_by_server(sock)]
            time.sleep(0.1)
        shed_took = time.monotonic() - started
        assert open_now == [], f"{len(open_now)} idle sockets still open after the header timeout"
        for sock in flood:
            sock.close()

        deadline = time.monotonic() + 10
        while server.num_fds() > fds_before and time.monotonic() < deadline:
            time.sleep(0.1)
        fds_after = server.num_fds()
        real_call("after")
        rss_after = server.memory_info().rss

    print(f"\nidle flood: {IDLE_CONNECTIONS} sockets connected in {flood_took:.1f} s, all shed after "
          f"{shed_took:.1f} s; {len(during)} calls during the flood (slowest {max(during):.3f} s, median {sorted(during)[len(during) // 2]:.3f} s), "
          f"one after it in {after_flood_call:.3f} s; server fds {fds_before} -> peak {peak_fds} -> "
          f"{fds_after}; RSS {rss_before / MB:.1f} MB -> {rss_after / MB:.1f} MB")
    assert during, "no call was placed while the flood was connecting"
    assert max(during) < 2.0 and after_flood_call < 2.0  # Asterisk's own connect timeout is 2 s
    # At most max_pending_headers (256) idle ones, plus what the loop accepted in its last
    # batches before shedding (asyncio accepts up to 100 at a time): nowhere near 2,000.
    assert peak_fds - fds_before <= 256 + 300
    assert fds_after <= fds_before
    assert rss_after - rss_before < 50 * MB
    with app.app_context():
        assert held(db.engine) == 0
        assert_counters_match_a_recount(db.engine)

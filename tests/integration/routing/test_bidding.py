"""Real-time bidding through the routing engine, against real bid servers on loopback.

Campaign 1 (Solar, DID +14155550100) links acme-cc (setting 1) and bluesky-cc (setting 2) in
tier 1, summit-cc (setting 3) in tier 2 (sample_data.sql)."""
import json
import random
import socket
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.services.outbound import signature
from app.services.routing import CallArrival, CallEnd, RoutingService
from tests.support.bid_server import BidServer
from tests.support.routing import assert_counters_match_a_recount, execute, scalar, set_setting

SOLAR_DID = "+14155550100"
CALLER = "+13105550199"
# Long enough for a loaded test machine to get every prompt answer in; the slow buyer answers
# well past it.
BID_TIMEOUT_MS = 1000
SECRETS = {1: "bid_secret_acme", 2: "bid_secret_bluesky", 3: "bid_secret_summit"}


@pytest.fixture
def bids(engine):
    with BidServer(slow_seconds=3 * BID_TIMEOUT_MS / 1000) as server:
        for client_id, secret in SECRETS.items():
            execute(engine, "UPDATE clients SET bid_secret = :s WHERE id = :id",
                    s=secret, id=client_id)
        execute(engine, "UPDATE campaigns SET bid_timeout_ms = :ms WHERE id = 1",
                ms=BID_TIMEOUT_MS)
        yield server


@pytest.fixture
def routing(engine):
    return RoutingService(engine, default_region="US", rng=random.Random(7),
                          allow_private_bid_targets=True)


def price_links(engine, server, **paths):
    """setting_<id>="/bid/12.5" prices that link by bid; a Decimal fixes its buyer_price."""
    for name, value in paths.items():
        setting_id = int(name.removeprefix("setting_"))
        if isinstance(value, Decimal):
            set_setting(engine, setting_id, bid_url=None, buyer_price=value)
        else:
            set_setting(engine, setting_id, bid_url=server.url + value)


def arrive(routing, uniqueid, caller=CALLER):
    return routing.route(CallArrival(uniqueid=uniqueid, did=SOLAR_DID, caller_id=caller,
                                     linkedid=uniqueid))


def call(engine, uniqueid):
    return scalar(engine, "SELECT row_to_json(c) FROM call_logs c WHERE uniqueid = :u",
                  u=uniqueid)


def traced(engine, uniqueid, round_index=-1) -> dict:
    """setting id -> its candidate in that round of the call's decision trace."""
    rounds = call(engine, uniqueid)["decision"]
    return {c["setting_id"]: c for c in rounds[round_index]["candidates"]}


def test_the_highest_timely_bid_wins_and_fixed_prices_compete(routing, engine, bids):
    price_links(engine, bids, setting_1="/bid/12.50", setting_2="/slow/100",
                setting_3=Decimal("15.00"))
    decision = arrive(routing, "bid-1.1")
    assert decision.action == "dial" and decision.dial == "PJSIP/summit-cc"  # fixed 15 > 12.50
    trace = traced(engine, "bid-1.1")
    assert trace[3]["verdict"] == "dialled" and trace[3]["price"] == 15.0
    assert trace[3]["price_source"] == "fixed"
    assert trace[1]["price"] == 12.5 and trace[1]["verdict"] == "standby"
    assert isinstance(trace[1]["latency_ms"], int)
    assert trace[2]["verdict"] == "no_bid" and trace[2]["no_bid"] == "timeout"
    assert call(engine, "bid-1.1")["winning_bid"] is None  # a fixed price, no bid

    # Failover goes down the same list without pinging again.
    pings = len(bids.pings)
    routing.attempt_result("bid-1.1", 1, "NOANSWER")
    decision = arrive(routing, "bid-1.1")
    assert decision.dial == "PJSIP/acme-cc" and decision.attempt == 2
    assert len(bids.pings) == pings
    assert call(engine, "bid-1.1")["winning_bid"] == 12.5
    assert scalar(engine, "SELECT bid FROM call_attempts a JOIN call_logs c ON c.id = a.call_log_id "
                          "WHERE c.uniqueid = 'bid-1.1' AND attempt_no = 2") == Decimal("12.50")
    routing.attempt_result("bid-1.1", 2, "BUSY")
    final = arrive(routing, "bid-1.1")
    assert final.action == "reject" and final.reason == "all_failed"
    assert len(bids.pings) == pings
    assert_counters_match_a_recount(engine)


@pytest.mark.parametrize("path, reason", [
    ("/slow/100", "timeout"), ("/error", "http 500"), ("/garbage", "malformed"),
    ("/huge", "too large"), ("/redirect", "redirect"), ("/bid/0", "zero bid"),
    ("/bid/-3", "malformed"), ("/nothing-here", "http 404"),
])
def test_a_buyer_that_does_not_bid_properly_is_passed_over_with_its_reason(
        routing, engine, bids, path, reason):
    price_links(engine, bids, setting_1=path, setting_2="/bid/4", setting_3=Decimal("2"))
    decision = arrive(routing, "bid-2.1")
    assert decision.dial == "PJSIP/bluesky-cc"
    trace = traced(engine, "bid-2.1")
    assert trace[1]["verdict"] == "no_bid" and trace[1]["no_bid"] == reason
    assert "price" not in trace[1]
    assert trace[2]["price"] == 4.0 and trace[2]["verdict"] == "dialled"
    assert scalar(engine, "SELECT count(*) FROM reservations") == 1


@contextmanager
def plain_http_port():
    """A port that answers plain HTTP the moment a connection opens: a client that expects
    TLS there fails its handshake."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.sendall(b'HTTP/1.0 200 OK\r\n\r\n{"bid": 50}')
                connection.settimeout(2)
                try:
                    connection.recv(65536)  # until the client gives up
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_buyer_that_cannot_be_reached_is_passed_over_with_its_reason(routing, engine, bids):
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there any more: the connection is refused
    with plain_http_port() as port:
        set_setting(engine, 1, bid_url=f"https://127.0.0.1:{port}/bid")
        set_setting(engine, 2, bid_url=f"http://127.0.0.1:{closed_port}/bid")
        price_links(engine, bids, setting_3="/bid/3")
        decision = arrive(routing, "bid-2.9")
    assert decision.dial == "PJSIP/summit-cc"
    trace = traced(engine, "bid-2.9")
    assert trace[1]["verdict"] == "no_bid" and trace[1]["no_bid"] == "tls error"
    assert trace[2]["verdict"] == "no_bid" and trace[2]["no_bid"] == "connection error"
    assert trace[3]["price"] == 3.0 and trace[3]["verdict"] == "dialled"


def test_the_buyers_are_pinged_together_and_no_lock_is_held_while_they_answer(routing, engine):
    """Each buyer answers only once both have been asked (pinged one after the other, the first
    would wait past the timeout), and while they wait every row routing touches can be
    locked at once by somebody else."""
    both_asked = threading.Barrier(2, timeout=5)
    one_checker = threading.Lock()  # the two buyers' checks would lock each other out
    problems = []

    def while_the_buyer_thinks(ping):
        try:
            both_asked.wait()
            with one_checker, engine.connect() as other:
                for table in ("campaigns", "campaign_client_settings", "clients", "reservations",
                              "call_logs", "bid_budgets"):
                    other.exec_driver_sql(f"SELECT 1 FROM {table} FOR UPDATE NOWAIT")
                other.rollback()
        except Exception as error:  # told in the test's own thread
            problems.append(repr(error))

    with BidServer(on_ping=while_the_buyer_thinks) as server:
        execute(engine, "UPDATE campaigns SET bid_timeout_ms = :ms WHERE id = 1", ms=BID_TIMEOUT_MS)
        execute(engine, "UPDATE clients SET ping_budget = 10")
        price_links(engine, server, setting_1="/bid/6", setting_2="/bid/9",
                    setting_3=Decimal("1"))
        decision = arrive(routing, "bid-3.5")
    assert problems == []
    assert decision.dial == "PJSIP/bluesky-cc"
    trace = traced(engine, "bid-3.5")
    assert (trace[1]["price"], trace[2]["price"]) == (6.0, 9.0)


def test_a_link_freed_while_the_buyers_answer_is_not_pinged_and_not_taken(routing, engine):
    """Summit's bidding link is at its cap when the round's pings go out, and a call frees
    it while acme thinks: the second statement sees it admissible, but it has no bid and was
    not asked, so it is passed over as `not pinged`."""
    def summit_frees_its_slot(ping):
        execute(engine, "UPDATE campaign_client_settings SET in_flight = 0 WHERE id = 3")

    with BidServer(on_ping=summit_frees_its_slot) as server:
        execute(engine, "UPDATE campaigns SET bid_timeout_ms = :ms WHERE id = 1", ms=BID_TIMEOUT_MS)
        price_links(engine, server, setting_1="/bid/6", setting_2=Decimal("1"),
                    setting_3="/bid/50")
        set_setting(engine, 3, max_concurrency=1, in_flight=1)
        decision = arrive(routing, "bid-3.7")
    assert [ping.path for ping in server.pings] == ["/bid/6"]
    assert decision.dial == "PJSIP/acme-cc"
    trace = traced(engine, "bid-3.7")
    assert trace[3]["verdict"] == "no_bid" and trace[3]["no_bid"] == "not pinged"
    assert trace[1]["price"] == 6.0 and trace[1]["verdict"] == "dialled"


def test_no_bid_from_anybody_rejects_the_call_without_reserving(routing, engine, bids):
    price_links(engine, bids, setting_1="/error", setting_2="/bid/0", setting_3="/garbage")
    decision = arrive(routing, "bid-3.1")
    assert decision.action == "reject" and decision.reason == "no_route"
    assert call(engine, "bid-3.1")["status"] == "no_route"
    assert scalar(engine, "SELECT count(*) FROM reservations") == 0


def test_a_high_bidder_at_its_cap_is_not_pinged_and_never_gets_the_call(routing, engine, bids):
    price_links(engine, bids, setting_1="/bid/100", setting_2="/bid/5", setting_3=Decimal("1"))
    set_setting(engine, 1, max_concurrency=1)
    assert arrive(routing, "bid-4.1").dial == "PJSIP/acme-cc"
    assert arrive(routing, "bid-4.2", caller="+13105550142").dial == "PJSIP/bluesky-cc"
    assert len(bids.pings_to("/bid/100")) == 1  # only the first call asked it
    assert traced(engine, "bid-4.2")[1]["verdict"] == "capped:concurrency"
    assert_counters_match_a_recount(engine)


def test_a_converted_call_earns_the_bid_it_won_with(routing, engine, bids):
    price_links(engine, bids, setting_1="/bid/42.75", setting_2="/bid/30",
                setting_3=Decimal("50"))
    set_setting(engine, 3, status="inactive")
    execute(engine, "UPDATE campaigns SET billable_after = 60 WHERE id = 1")
    decision = arrive(routing, "bid-5.1")
    assert decision.dial == "PJSIP/acme-cc"
    routing.answered("bid-5.1", 1)
    routing.hangup(CallEnd(uniqueid="bid-5.1", dial_status="ANSWER", attempt=1, billsec=90,
                           hangup_cause=16))
    row = call(engine, "bid-5.1")
    assert row["status"] == "answered" and row["converted"] is True
    assert row["revenue"] == 42.75 and row["winning_bid"] == 42.75


def test_the_ping_is_signed_and_shows_the_caller_as_the_campaign_chooses(routing, engine, bids):
    price_links(engine, bids, setting_1="/bid/7", setting_2=Decimal("1"), setting_3=Decimal("1"))
    arrive(routing, "bid-6.1")
    execute(engine, "UPDATE campaigns SET bid_caller_id = 'full' WHERE id = 1")
    arrive(routing, "bid-6.2", caller="+13105550177")
    execute(engine, "UPDATE campaigns SET bid_caller_id = 'none' WHERE id = 1")
    arrive(routing, "bid-6.3", caller="+13105550188")
    masked, full, hidden = bids.pings_to("/bid/7")
    body = masked.json
    assert set(body) == {"ping_id", "campaign_id", "campaign", "did", "caller_id", "at", "test"}
    assert body["campaign_id"] == 1 and body["campaign"] == "Solar Leads"
    assert body["did"] == SOLAR_DID and body["test"] is False
    assert body["caller_id"] == "+1310555****"
    assert datetime.fromisoformat(body["at"]).tzinfo is not None
    assert signature.verify(SECRETS[1], masked.headers[signature.HEADER], masked.body)
    assert not signature.verify(SECRETS[2], masked.headers[signature.HEADER], masked.body)
    assert full.json["caller_id"] == "+13105550177" and hidden.json["caller_id"] is None
    assert len({p.json["ping_id"] for p in (masked, full, hidden)}) == 3


def test_a_bid_with_expires_in_is_reused_for_the_same_caller_only(routing, engine, bids):
    price_links(engine, bids, setting_1="/bid/9?expires_in=60", setting_2=Decimal("1"),
                setting_3=Decimal("1"))
    assert arrive(routing, "bid-7.1").dial == "PJSIP/acme-cc"
    routing.hangup(CallEnd(uniqueid="bid-7.1", dial_status="NOANSWER", attempt=1))
    assert arrive(routing, "bid-7.2").dial == "PJSIP/acme-cc"
    assert len(bids.pings_to("/bid/9")) == 1
    assert traced(engine, "bid-7.2")[1]["price_source"] == "cache"
    assert call(engine, "bid-7.2")["winning_bid"] == 9.0
    arrive(routing, "bid-7.3", caller="+13105550100")
    assert len(bids.pings_to("/bid/9")) == 2


def test_a_bid_that_expired_before_failover_is_asked_again(engine, bids):
    now = [datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)]
    routing = RoutingService(engine, default_region="US", rng=random.Random(3),
                             clock=lambda: now[0], allow_private_bid_targets=True)
    price_links(engine, bids, setting_1="/bid/9", setting_2="/bid/8?expires_in=5",
                setting_3="/bid/7")
    assert arrive(routing, "bid-8.1").dial == "PJSIP/acme-cc"
    routing.attempt_result("bid-8.1", 1, "BUSY")
    now[0] += timedelta(seconds=30)
    assert arrive(routing, "bid-8.1").dial == "PJSIP/bluesky-cc"
    assert len(bids.pings_to("/bid/8")) == 2  # its bid had expired: asked again
    assert len(bids.pings_to("/bid/7")) == 1  # no expires_in: good for the whole call
    assert len(bids.pings_to("/bid/9")) == 1


def test_the_ping_budget_stops_pings_past_it(routing, engine, bids):
    price_links(engine, bids, setting_1="/bid/50", setting_2="/bid/5", setting_3=Decimal("1"))
    execute(engine, "UPDATE clients SET ping_budget = 2 WHERE id = 1")
    dials = [arrive(routing, f"bid-9.{i}", caller=f"+1310555020{i}").dial for i in range(4)]
    assert dials == ["PJSIP/acme-cc"] * 2 + ["PJSIP/bluesky-cc"] * 2
    assert len(bids.pings_to("/bid/50")) == 2
    assert traced(engine, "bid-9.3")[1]["no_bid"] == "ping budget"


def test_a_bid_under_the_campaign_minimum_is_no_bid(routing, engine, bids):
    price_links(engine, bids, setting_1="/bid/5", setting_2="/bid/11", setting_3=Decimal("1"))
    execute(engine, "UPDATE campaigns SET min_bid = 10 WHERE id = 1")
    assert arrive(routing, "bid-10.1").dial == "PJSIP/bluesky-cc"
    assert traced(engine, "bid-10.1")[1]["no_bid"] == "below min_bid"


def test_the_simulator_pings_as_a_test_and_shows_the_bids(routing, engine, bids):
    price_links(engine, bids, setting_1="/bid/3", setting_2="/bid/6?expires_in=60",
                setting_3="/error")
    simulation = routing.simulate(1, caller_id=CALLER)
    assert simulation.action == "dial" and simulation.dial == "PJSIP/bluesky-cc"
    by_setting = {c["setting_id"]: c for c in simulation.candidates}
    assert by_setting[2]["price"] == 6.0 and by_setting[2]["verdict"] == "would_dial"
    assert by_setting[1]["price"] == 3.0 and by_setting[3]["no_bid"] == "http 500"
    assert all(ping.json["test"] is True for ping in bids.pings)
    assert scalar(engine, "SELECT count(*) FROM bid_cache") == 0  # a test bid is not kept
    assert scalar(engine, "SELECT count(*) FROM call_logs WHERE uniqueid LIKE 'bid-%'") == 0


def test_a_campaign_without_bidding_links_routes_without_pinging(routing, engine, bids):
    decision = arrive(routing, "bid-11.1")
    assert decision.action == "dial"
    assert bids.pings == []
    assert all("price" not in c for c in traced(engine, "bid-11.1").values())
    assert json.loads(json.dumps(call(engine, "bid-11.1")))["bids"] is None


def test_a_bid_url_on_our_own_network_is_never_pinged_in_production(engine, bids):
    routing = RoutingService(engine, default_region="US", rng=random.Random(7))
    price_links(engine, bids, setting_1="/bid/80", setting_2=Decimal("1"), setting_3=Decimal("1"))
    assert arrive(routing, "bid-12.1").dial != "PJSIP/acme-cc"
    assert bids.pings == []
    assert traced(engine, "bid-12.1")[1]["no_bid"] == "refused target"

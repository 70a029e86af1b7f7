"""Bids and caps over real TCP: many calls bidding at once through two FastAGI processes."""
import collections
from decimal import Decimal

from app.extensions import db
from tests.support.bid_server import BidServer
from tests.support.calls import run_calls_across
from tests.support.processes import agi_server_processes
from tests.support.routing import assert_counters_match_a_recount, execute, scalar, set_setting

SOLAR = "14155550100"  # campaign 1: acme-cc (1), bluesky-cc (2) tier 1; summit-cc (3) tier 2
CALLS = 24


def test_caps_hold_when_many_calls_bid_at_once_over_two_processes(app, database_server):
    with app.app_context():
        engine = db.engine
        with BidServer() as bids:
            execute(engine, "UPDATE campaigns SET bid_timeout_ms = 2000 WHERE id = 1")
            set_setting(engine, 1, bid_url=bids.url + "/bid/50", max_concurrency=3,
                        total_calls_allowed=None)
            set_setting(engine, 2, bid_url=bids.url + "/bid/20", max_concurrency=4)
            set_setting(engine, 3, buyer_price=Decimal("1"), max_concurrency=2,
                        total_calls_allowed=None)
            with agi_server_processes(database_server.uri, count=2) as (ports, _):
                records = run_calls_across(ports, CALLS, engine, CALLS, exten=SOLAR,
                                           prefix="rtb", callers=True)
        dialled = collections.Counter(target for r in records for target, _ in r.dials)
        # The best bidder first, to its cap; then the next; the fixed price last.
        assert dialled == {"PJSIP/acme-cc": 3, "PJSIP/bluesky-cc": 4, "PJSIP/summit-cc": 2}
        assert scalar(engine, "SELECT count(*) FROM call_logs WHERE uniqueid LIKE 'rtb-%' "
                              "AND status = 'all_capped'") == CALLS - 9
        assert scalar(engine, "SELECT sum(winning_bid) FROM call_logs "
                              "WHERE uniqueid LIKE 'rtb-%'") == Decimal(3 * 50 + 4 * 20)
        assert_counters_match_a_recount(engine)

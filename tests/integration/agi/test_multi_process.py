"""Caps hold across processes: two `flask agi serve` processes on one database."""
from app.extensions import db
from tests.support.calls import run_calls_across
from tests.support.processes import agi_server_processes
from tests.support.routing import assert_counters_match_a_recount, counters, set_setting


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

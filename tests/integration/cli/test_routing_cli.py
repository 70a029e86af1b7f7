from app.extensions import db
from app.services.routing import CallArrival, RoutingService
from tests.support.routing import assert_counters_match_a_recount, execute, scalar

CONCISE = ("PJSIP/carrier-00000001!cc-inbound!14155550102!4!Up!Dial!PJSIP/summit-cc,25!"
           "+13105550100!!!3!12!(None)!{uid}!{uid}\n")


def start_calls(app, *uniqueids):
    with app.app_context():
        routing = RoutingService(db.engine)
        for uniqueid in uniqueids:
            assert routing.route(CallArrival(uniqueid=uniqueid, did="+14155550102")).action == "dial"
        execute(db.engine, "UPDATE reservations SET created_at = now() - interval '5 minutes'")
        execute(db.engine, "UPDATE call_logs SET started_at = now() - interval '5 minutes' "
                           "WHERE ended_at IS NULL")


def reconcile_with_live(app, uniqueid: str) -> str:
    """`flask routing reconcile` fed one live channel; answers its output, and checks that
    only that call still holds a slot."""
    result = app.test_cli_runner().invoke(args=["routing", "reconcile"],
                                          input=CONCISE.format(uid=uniqueid))
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert scalar(db.engine, "SELECT array_agg(uniqueid) FROM reservations") == [uniqueid]
    return result.output


def test_reconcile_reads_live_channels_from_stdin_and_frees_the_rest(app):
    start_calls(app, "live-1", "gone-1", "gone-2")
    assert "ended 2 vanished call(s)" in reconcile_with_live(app, "live-1")
    with app.app_context():
        assert scalar(db.engine, "SELECT status FROM call_logs WHERE uniqueid = 'gone-1'") == "abandoned"
        assert_counters_match_a_recount(db.engine)


def test_reconcile_respects_the_grace_period(app):
    start_calls(app, "young-1")
    result = app.test_cli_runner().invoke(args=["routing", "reconcile", "--grace", "3600", "other"])
    assert result.exit_code == 0 and "ended 0" in result.output


def test_reconcile_keeps_the_slot_of_a_live_call_whose_dialling_hold_ran_out(app):
    """Asterisk far behind: the call is still listed, so its slot is not expired, however late
    its Dial; the call that is no longer listed loses its slot."""
    start_calls(app, "late-1", "gone-3")
    with app.app_context():
        execute(db.engine, "UPDATE reservations SET expires_at = now() - interval '1 second'")
    output = reconcile_with_live(app, "late-1")
    assert "expired 1 dialling slot(s); ended 1 vanished call(s)" in output
    with app.app_context():
        assert_counters_match_a_recount(db.engine)

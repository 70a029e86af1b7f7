"""Helpers to look at routing state straight from the tables."""
from sqlalchemy import text


def counters(engine) -> dict[int, tuple[int, int]]:
    """setting id -> (in_flight, current_total_calls)."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, in_flight, current_total_calls FROM campaign_client_settings")).all()
    return {row.id: (row.in_flight, row.current_total_calls) for row in rows}


# A client's and a campaign's in-flight counter is kept only while a cap reads it (0 otherwise).
COUNTING = (("clients", "client_id", "t.max_concurrency IS NOT NULL"),
            ("campaigns", "campaign_id", "cc_campaign_counts(t.max_concurrency, t.daily_cap)"))


def assert_counters_match_a_recount(engine, baseline: dict[int, int] | None = None) -> None:
    """in_flight equals the reservations held (on a client or campaign, while it counts: 0
    otherwise); delivered equals answered, ended calls.

    `baseline` is each setting's delivered count before the test (the sample data's history
    is already counted in the call logs, so by default the recount covers everything).
    """
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT s.id, s.in_flight, s.current_total_calls,
                   (SELECT count(*) FROM reservations r WHERE r.setting_id = s.id) AS held,
                   (SELECT count(*) FROM call_attempts a JOIN call_logs c ON c.id = a.call_log_id
                    WHERE a.setting_id = s.id AND a.dial_status = 'ANSWER'
                      AND c.ended_at IS NOT NULL) AS delivered
            FROM campaign_client_settings s ORDER BY s.id
        """)).all()
    with engine.connect() as conn:
        for table, key, counts in COUNTING:
            wrong = conn.execute(text(f"""
                SELECT t.id, t.in_flight, {counts} AS counts,
                       (SELECT count(*) FROM reservations r WHERE r.{key} = t.id) AS held
                FROM {table} t""")).all()
            for row in wrong:
                kept = row.held if row.counts else 0
                assert row.in_flight == kept, (
                    f"{table} {row.id}: in_flight {row.in_flight} != {kept} "
                    f"({row.held} held, {'counting' if row.counts else 'not counting'})")
    for row in rows:
        assert row.in_flight == row.held, f"setting {row.id}: in_flight {row.in_flight} != {row.held} held"
        expected = row.delivered if baseline is None else baseline.get(row.id, 0) + row.delivered
        assert row.current_total_calls == expected, (
            f"setting {row.id}: current_total_calls {row.current_total_calls} != recount {expected}")


def set_setting(engine, setting_id: int, **values) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE campaign_client_settings SET {assignments} WHERE id = :id"),
                     {**values, "id": setting_id})


def scalar(engine, statement: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(statement), params).scalar()


def execute(engine, statement: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def routing_agi_server(engine_or_url, **server_options):
    """A FastAGI server with the real handlers over the async routing engine on this database;
    stopping the server closes the engine's pool."""
    from app.agi.handlers import build_handlers
    from app.agi.server import AGIServer
    routing = async_routing(engine_or_url)
    return AGIServer(build_handlers(routing), on_stop=routing.close, **server_options)


def async_routing(engine_or_url, cls=None, **options):
    """The FastAGI server's routing engine on this database (small pool, for tests)."""
    from app.services.routing import AsyncRoutingService

    url = getattr(engine_or_url, "url", engine_or_url)
    # A generous route budget: on a busy test machine a route may well wait past the
    # production default, and only the overload tests want refusals (they set their own).
    options = {"pool_size": 4, "min_pool_size": 1, "connection_wait": 2.0, "route_budget": 2.0,
               "allow_private_bid_targets": True,
               **options}
    return (cls or AsyncRoutingService).from_engine_url(url, **options)

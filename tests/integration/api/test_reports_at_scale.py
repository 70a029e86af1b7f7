"""Call-log reports at scale: keyset pages with ties, every filter, seller isolation,
summaries equal to a recount whatever happens to the rows, and the daily rollup's exactness.
No timing here: speed lives in bench/reports.py."""
import random
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest

from app.extensions import db
from app.services import call_log_service
from tests.support.calls import make_calls

T0 = datetime(2026, 11, 10, 0, 0, tzinfo=timezone.utc)

# 600 calls over ~12 days: three calls per started_at (ties), every seller, campaign, client,
# DID and outcome, a few still open, and 0-2 attempts each (an attempt may start the next UTC
# day, and an open call may already hold ended attempts).
MANY_CALLS = """
INSERT INTO call_logs (uniqueid, did, caller_id, caller_number, seller_id, campaign_id, client_id,
                       started_at, ended_at, billsec, status, converted, payout, revenue)
SELECT 'rep-' || n,
       CASE WHEN n % 3 = 2 THEN '+12125550100' WHEN n % 2 = 0 THEN '+14155550100' ELSE '+14155550101' END,
       CASE WHEN n % 2 = 0 THEN '+1310555' ELSE '1310555' END || lpad((n % 40)::text, 4, '0'),
       '+1310555' || lpad((n % 40)::text, 4, '0'),
       CASE WHEN n % 3 = 2 THEN 4 ELSE 3 END,
       CASE WHEN n % 3 = 2 THEN 3 WHEN n % 5 = 0 THEN 2 ELSE 1 END,
       CASE WHEN n % 4 = 0 THEN 1 + n % 3 END,
       timestamptz '2026-11-10 00:00+00' + (n / 3) * interval '29 minutes',
       CASE WHEN n % 37 = 0 THEN NULL
            ELSE timestamptz '2026-11-10 00:00+00' + (n / 3) * interval '29 minutes' + interval '3 minutes' END,
       CASE WHEN n % 37 = 0 THEN NULL WHEN n % 4 = 0 THEN 30 + n % 200 WHEN n % 11 = 0 THEN NULL ELSE 0 END,
       (ARRAY['answered', 'answered', 'all_failed', 'all_capped', 'no_route', 'abandoned',
              'error', 'duplicate', 'closed'])[1 + n % 9],
       n % 4 = 0 AND n % 8 = 0, CASE WHEN n % 8 = 0 THEN 12.50 END, CASE WHEN n % 8 = 0 THEN 30.25 END
FROM generate_series(1, 600) n;
UPDATE call_logs SET status = 'in_progress' WHERE uniqueid LIKE 'rep-%' AND ended_at IS NULL
   AND id % 2 = 0;
INSERT INTO call_attempts (call_log_id, call_started_at, attempt_no, client_id, started_at, ended_at,
                           dial_status, duration)
SELECT l.id, l.started_at, k, 1 + (l.id + k) % 3, l.started_at + (k - 1) * interval '20 hours',
       CASE WHEN (l.id + k) % 13 = 0 THEN NULL ELSE l.started_at + (k - 1) * interval '20 hours' + interval '1 minute' END,
       CASE WHEN k = 2 OR l.id % 3 = 0 THEN 'ANSWER' ELSE 'NOANSWER' END, 60
FROM call_logs l, generate_series(1, 2) k
WHERE l.uniqueid LIKE 'rep-%' AND k <= l.id % 3;
"""


@pytest.fixture
def many(app, sql):
    sql(MANY_CALLS)
    return app


def walk(client, path, query, limit=7):
    """Every page of a list through its cursor: the ids in order."""
    ids, cursor = [], None
    while True:
        args = {**query, "limit": limit, **({"cursor": cursor} if cursor else {})}
        answer = client.get(f"{path}?{urlencode(args)}")
        assert answer.status_code == 200, answer.json
        ids += [item["id"] for item in answer.json["items"]]
        cursor = answer.json["next_cursor"]
        if not cursor:
            return ids


def expected_ids(sql, where="true", **params):
    return [row[0] for row in sql(f"SELECT id FROM call_logs WHERE {where} "
                                  "ORDER BY started_at DESC, id DESC", **params)]


def test_pages_with_ties_in_started_at_show_every_call_once_in_order(many, sql, admin):
    assert sql("SELECT count(*) FROM (SELECT started_at FROM call_logs GROUP BY 1 "
               "HAVING count(*) = 3) t")[0][0] >= 190
    for limit in (1, 2, 7, 50):
        assert walk(admin, "/api/admin/call_logs", {}, limit=limit) == expected_ids(sql)


@pytest.mark.parametrize("query, where", [
    ({"seller_id": 4}, "seller_id = 4"),
    ({"campaign_id": 2}, "campaign_id = 2"),
    ({"client_id": 2}, "client_id = 2"),
    ({"status": "error"}, "status = 'error'"),
    ({"status": "in_progress"}, "status = 'in_progress'"),
    ({"did": "4155550101"}, "did = '+14155550101'"),
    # The caller as E.164, whatever the carrier sent (+1310…, 1310…) and the filter says.
    ({"caller": "+13105550007"}, "caller_number = '+13105550007'"),
    ({"caller": "3105550007"}, "caller_id IN ('+13105550007', '13105550007')"),
    ({"from": "2026-11-12T05:00:00+00:00", "to": "2026-11-15T00:00:00+00:00", "status": "answered"},
     "started_at >= '2026-11-12T05:00:00+00:00' AND started_at < '2026-11-15' AND status = 'answered'"),
])
def test_every_filter_pages_exactly_its_calls(many, sql, admin, query, where):
    expected = expected_ids(sql, where)
    assert expected
    assert walk(admin, "/api/admin/call_logs", query) == expected


@pytest.mark.parametrize("query, where", [
    ({}, "true"),
    ({"campaign_id": 1}, "campaign_id = 1"),
    ({"client_id": 2}, "client_id = 2"),
    ({"status": "answered"}, "status = 'answered'"),
    ({"did": "+14155550100"}, "did = '+14155550100'"),
])
def test_a_sellers_filters_page_only_their_calls(many, sql, seller, query, where):
    assert walk(seller, "/api/seller/call_logs", query) == expected_ids(sql, f"seller_id = 3 AND {where}")


def test_a_seller_filtering_by_another_sellers_campaign_gets_nothing(many, sql, seller):
    assert sql("SELECT count(*) FROM call_logs WHERE campaign_id = 3")[0][0] > 100
    for query in ({"campaign_id": 3}, {"campaign_id": 3, "status": "answered"},
                  {"campaign_id": 999}):
        answer = seller.get(f"/api/seller/call_logs?{urlencode(query)}")
        assert answer.json["items"] == [] and answer.json["next_cursor"] is None
        assert seller.get(f"/api/seller/call_logs/summary?{urlencode(query)}").json["total"] == 0
    cursor = seller.get("/api/seller/call_logs?limit=2").json["next_cursor"]
    assert seller.get(f"/api/seller/call_logs?campaign_id=3&cursor={cursor}").json["items"] == []
    assert seller.get("/api/seller/call_logs?campaign_id=3&cursor=nonsense").status_code == 422
    assert seller.get("/calls/export.csv?campaign_id=3").get_data(as_text=True).count("\n") == 1


# ---- Summaries and the rollup ------------------------------------------------------------------

RECOUNT_DAYS = """
SELECT (started_at AT TIME ZONE 'UTC')::date, seller_id, campaign_id, client_id, did, status,
       count(*), coalesce(sum(billsec), 0), count(billsec), count(*) FILTER (WHERE converted),
       coalesce(sum(payout), 0), coalesce(sum(revenue), 0)
FROM call_logs WHERE ended_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6
"""
# A key's slots added up (writers at once write slots of their own).
ROLLUP_DAYS = """
SELECT day, seller_id, campaign_id, client_id, did, status, sum(calls), sum(billsec_sum)::bigint,
       sum(billsec_n), sum(converted), sum(payout), sum(revenue)
FROM call_log_days GROUP BY 1, 2, 3, 4, 5, 6
HAVING sum(calls) <> 0 OR sum(billsec_sum) <> 0 OR sum(billsec_n) <> 0 OR sum(converted) <> 0
    OR sum(payout) <> 0 OR sum(revenue) <> 0
"""
RECOUNT_ATTEMPT_DAYS = """
SELECT (a.started_at AT TIME ZONE 'UTC')::date, c.seller_id, c.campaign_id, c.client_id, c.did,
       c.status, a.client_id, count(*), count(*) FILTER (WHERE a.dial_status = 'ANSWER'),
       coalesce(sum(c.billsec) FILTER (WHERE a.dial_status = 'ANSWER'), 0),
       count(c.billsec) FILTER (WHERE a.dial_status = 'ANSWER')
FROM call_attempts a JOIN call_logs c ON c.id = a.call_log_id
WHERE a.ended_at IS NOT NULL AND c.ended_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7
"""
ROLLUP_ATTEMPT_DAYS = """
SELECT day, seller_id, campaign_id, call_client_id, did, call_status, client_id, sum(attempts),
       sum(answered), sum(billsec_sum)::bigint, sum(billsec_n)
FROM call_attempt_days GROUP BY 1, 2, 3, 4, 5, 6, 7
HAVING sum(attempts) <> 0 OR sum(answered) <> 0 OR sum(billsec_sum) <> 0 OR sum(billsec_n) <> 0
"""


def assert_rollup_is_exact(sql):
    assert sorted(sql(ROLLUP_DAYS), key=repr) == sorted(sql(RECOUNT_DAYS), key=repr)
    assert sorted(sql(ROLLUP_ATTEMPT_DAYS), key=repr) == sorted(sql(RECOUNT_ATTEMPT_DAYS), key=repr)


RANGES = [
    (None, None),
    (T0, T0 + timedelta(days=1)),  # exactly one UTC day
    (T0 + timedelta(hours=5), None),  # partial first day, open end
    (None, T0 + timedelta(days=6, hours=13, minutes=7)),
    (T0 + timedelta(days=2, hours=23), T0 + timedelta(days=9, hours=1)),  # whole days inside
    (T0 + timedelta(days=3, hours=2), T0 + timedelta(days=3, hours=20)),  # inside one day
    (datetime(2026, 11, 12, 0, 0, tzinfo=timezone(timedelta(hours=-8))),  # viewer's days
     datetime(2026, 11, 20, 0, 0, tzinfo=timezone(timedelta(hours=-8)))),
]
FILTERS = [{}, {"seller_id": 3}, {"seller_id": 4, "status": "answered"}, {"campaign_id": 2},
           {"client_id": 2}, {"did": "+14155550101"}, {"status": "in_progress"},
           {"caller": "+13105550007"}, {"seller_id": 3, "campaign_id": 3}]


def assert_summaries_equal_a_recount(app):
    with app.app_context():
        for start, end in RANGES:
            for filters in FILTERS:
                query = {**filters, "started_from": start, "started_to": end}
                fast = call_log_service.summarize(query, default_region="US")
                recount = call_log_service.summarize(query, default_region="US", use_rollup=False)
                assert fast == recount, (start, end, filters)
        db.session.remove()


def test_the_summary_is_one_pass_over_the_rows_in_range(many, sql):
    """The raw path is itself checked against an independent count, attempts by their own time."""
    start, end = T0 + timedelta(days=2), T0 + timedelta(days=4)
    with many.app_context():
        summary = call_log_service.summarize({"started_from": start, "started_to": end},
                                             default_region="US", use_rollup=False)
        db.session.remove()
    calls = sql("SELECT status, count(*) FROM call_logs WHERE started_at >= :s AND started_at < :e "
                "GROUP BY status", s=start, e=end)
    assert summary["by_status"] == {**{s: 0 for s in summary["by_status"]}, **dict(calls)}
    attempts = dict(sql("""SELECT a.client_id, count(*) FROM call_attempts a
                           WHERE a.ended_at IS NOT NULL AND a.started_at >= :s AND a.started_at < :e
                           GROUP BY 1""", s=start, e=end))
    assert {row["id"]: row["total"] for row in summary["clients"]} == attempts
    answered = sql("SELECT avg(billsec), sum(payout) FROM call_logs WHERE started_at >= :s "
                   "AND started_at < :e AND status = 'answered'", s=start, e=end)[0]
    assert summary["average_billsec"] == round(float(answered[0]), 1)


def test_the_rollup_and_the_summaries_stay_exact_through_every_kind_of_change(many, sql):
    assert_rollup_is_exact(sql)
    assert_summaries_equal_a_recount(many)
    rng = random.Random(19)
    ids = [row[0] for row in sql("SELECT id FROM call_logs WHERE uniqueid LIKE 'rep-%'")]
    # Open calls end (as the hangup does: attempts closed, then the call finished).
    sql("""UPDATE call_attempts a SET ended_at = a.started_at + interval '2 minutes',
                  dial_status = 'NOANSWER'
           FROM call_logs c WHERE c.id = a.call_log_id AND c.ended_at IS NULL AND a.ended_at IS NULL
             AND c.id % 3 = 1""")
    sql("""UPDATE call_logs SET ended_at = started_at + interval '5 minutes', status = 'all_failed',
                  billsec = 0 WHERE ended_at IS NULL AND id % 3 = 1""")
    # Ended calls change: outcome, billing, client, day, DID; attempts change and go.
    for call_id in rng.sample(ids, 40):
        sql("UPDATE call_logs SET status = 'answered', billsec = 77, client_id = 3, converted = true, "
            "payout = 1.50 WHERE id = :i", i=call_id)
    for call_id in rng.sample(ids, 15):
        sql("UPDATE call_logs SET started_at = started_at - interval '1 day', did = '+14155550102' "
            "WHERE id = :i", i=call_id)
    sql("UPDATE call_attempts SET dial_status = 'ANSWER', client_id = 1 WHERE id % 7 = 0")
    sql("UPDATE call_attempts SET started_at = started_at + interval '1 day' WHERE id % 11 = 0")
    sql("DELETE FROM call_attempts WHERE id % 17 = 0")
    sql("""INSERT INTO call_attempts (call_log_id, call_started_at, attempt_no, client_id, started_at,
                                      ended_at, dial_status, duration)
           SELECT id, started_at, 9, 2, started_at, started_at, 'BUSY', 0 FROM call_logs WHERE id % 19 = 0""")
    # An attempt moves to another call; an ended call reopens.
    sql("UPDATE call_attempts SET (call_log_id, call_started_at) = "
        "(SELECT id, started_at FROM call_logs ORDER BY id LIMIT 1), attempt_no = 50 + id "
        "WHERE id IN (SELECT id FROM call_attempts WHERE ended_at IS NOT NULL ORDER BY id LIMIT 3)")
    sql("UPDATE call_logs SET ended_at = NULL, status = 'in_progress' WHERE id % 29 = 0")
    # Calls deleted (their attempts go by cascade), a campaign deleted (its calls keep no campaign).
    sql("DELETE FROM call_logs WHERE id % 23 = 0")
    sql("DELETE FROM campaign_dids WHERE campaign_id = 2")
    sql("DELETE FROM campaign_client_settings WHERE campaign_id = 2")
    sql("DELETE FROM campaigns WHERE id = 2")
    # A call logged already ended (the internal log_call path).
    sql("""INSERT INTO call_logs (uniqueid, seller_id, campaign_id, started_at, ended_at, status, billsec)
           VALUES ('rep-late', 3, 1, '2026-11-14 10:00+00', '2026-11-14 10:01+00', 'answered', 42)""")
    assert_rollup_is_exact(sql)
    assert_summaries_equal_a_recount(many)


def test_the_routing_engine_keeps_the_rollup_exact(app, sql, admin):
    make_calls(app, 12, did="+14155550100", prefix="rollup")
    assert sql("SELECT count(*) FROM call_logs WHERE uniqueid LIKE 'rollup-%' AND ended_at IS NOT NULL")[0][0] == 12
    assert_rollup_is_exact(sql)
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    query = {"from": (today - timedelta(days=2)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    summary = admin.get(f"/api/admin/call_logs/summary?{urlencode(query)}").json
    assert summary["total"] == 12
    with app.app_context():
        recount = call_log_service.summarize(
            {"started_from": today - timedelta(days=2), "started_to": today + timedelta(days=1)},
            default_region="US", use_rollup=False)
        db.session.remove()
    assert summary == recount


def test_truncating_the_call_logs_empties_the_rollup(many, sql):
    assert sql("SELECT count(*) FROM call_log_days")[0][0] > 0
    sql("TRUNCATE call_logs CASCADE")
    assert sql("SELECT count(*) FROM call_log_days")[0][0] == 0
    assert sql("SELECT count(*) FROM call_attempt_days")[0][0] == 0


def test_the_migrations_backfill_rebuilds_the_rollup_of_existing_calls(many, sql):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "migrations" / "versions" / "0008_reports.py"
    spec = importlib.util.spec_from_file_location("migration_0008_reports", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    sql("DELETE FROM call_log_days; DELETE FROM call_attempt_days")
    sql(migration.BACKFILL)
    assert sql("SELECT count(*) FROM call_log_days")[0][0] > 0
    assert_rollup_is_exact(sql)


def test_attempts_count_by_their_own_start_whatever_month_their_call_started_in(app, sql):
    """An attempt is counted in the range of its own start: one made just after midnight for a
    call that started in the previous month, and one of a call three months older (a call's
    attempts moved by hand); the summaries equal an independent count, rollup or not."""
    sql("""INSERT INTO call_logs (uniqueid, seller_id, campaign_id, client_id, started_at,
                                  ended_at, status, billsec)
           VALUES ('edge-1', 3, 1, 2, '2026-11-30 23:59:30+00', '2026-12-01 00:03:00+00',
                   'answered', 150),
                  ('far-1', 3, 1, 1, '2026-09-10 10:00+00', '2026-09-10 10:05+00', 'answered', 60)""")
    sql("""INSERT INTO call_attempts (call_log_id, call_started_at, attempt_no, client_id,
                                      started_at, ended_at, dial_status, duration)
           SELECT c.id, c.started_at, v.n, v.client, CAST(v.s AS timestamptz),
                  CAST(v.s AS timestamptz) + interval '20 seconds', v.status, 20
           FROM call_logs c JOIN (VALUES
               ('edge-1', 1, 1, '2026-11-30 23:59:35+00', 'NOANSWER'),
               ('edge-1', 2, 2, '2026-12-01 00:00:10+00', 'ANSWER'),
               ('far-1', 1, 1, '2026-12-01 03:00:00+00', 'ANSWER')) AS v (u, n, client, s, status)
             ON v.u = c.uniqueid""")
    utc = timezone.utc
    ranges = [(datetime(2026, 12, 1, tzinfo=utc), datetime(2026, 12, 1, 6, tzinfo=utc)),
              (datetime(2026, 11, 30, 12, tzinfo=utc), datetime(2026, 12, 1, tzinfo=utc)),
              (datetime(2026, 11, 29, tzinfo=utc), datetime(2026, 12, 2, 7, tzinfo=utc)),
              (datetime(2026, 11, 30, 23, 59, 35, tzinfo=utc), None)]
    for start, end in ranges:
        expected = dict(sql("""SELECT client_id, count(*) FROM call_attempts
                               WHERE ended_at IS NOT NULL AND started_at >= :s
                                 AND (CAST(:e AS timestamptz) IS NULL OR started_at < :e)
                               GROUP BY 1""", s=start, e=end))
        assert expected
        with app.app_context():
            for use_rollup in (True, False):
                summary = call_log_service.summarize(
                    {"started_from": start, "started_to": end}, default_region="US",
                    use_rollup=use_rollup)
                assert {row["id"]: row["total"] for row in summary["clients"]} == expected, (
                    start, end, use_rollup)
            db.session.remove()

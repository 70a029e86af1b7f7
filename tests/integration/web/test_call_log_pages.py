"""The call log page: filters, attempts, the live rows and the streamed CSV export."""
import csv
import io

import pytest
from sqlalchemy import event

from tests.support.pages import field_error


def call_rows(html: str) -> int:
    return html.count('class="call-row"')


def test_a_seller_sees_only_their_calls(seller):
    html = seller.get("/calls").get_data(as_text=True)
    assert call_rows(html) == 4
    assert "+12125550100" not in html and "Auto Insurance" not in html


@pytest.mark.parametrize("query, expected", [
    ("status=answered", 3), ("campaign_id=2", 1), ("client_id=2", 1), ("did=4155550100", 2),
    ("caller=%2B13105550122", 1), ("from=2026-11-23&to=2026-11-23", 4), ("to=2026-11-22", 0),
    ("status=answered&campaign_id=1&did=%2B14155550101", 1),
])
def test_filters(seller, query, expected):
    assert call_rows(seller.get(f"/calls?{query}").get_data(as_text=True)) == expected


def test_bad_filters_are_shown_beside_their_fields(seller):
    response = seller.get("/calls?from=2026-11-25&to=2026-11-23")
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "f-from") == "'from' must not be after 'to'."
    html = seller.get("/calls?campaign_id=abc&status=nope").get_data(as_text=True)
    assert field_error(html, "f-campaign-id") == "Not a valid integer."
    assert field_error(html, "f-status").startswith("Must be one of")


def test_each_call_opens_to_its_attempts(seller):
    html = seller.get("/calls?caller=%2B13105550122").get_data(as_text=True)
    assert 'aria-controls="attempts-2"' in html
    row = html[html.index('id="attempts-2"'):]
    assert 'data-detail-url="/calls/2/detail"' in row
    assert "NOANSWER" not in html  # a page carries no call's details: each row loads its own
    attempts = seller.get("/calls/2/detail").get_data(as_text=True)
    assert attempts.index("NOANSWER") < attempts.index("ANSWER</span>")
    assert "Acme Call Center" in attempts and "Bluesky Contact" in attempts


@pytest.mark.parametrize("call_id", [5, 999999, 9223372036854775807, 9223372036854775808])
def test_a_call_a_seller_may_not_see_has_no_detail(seller, call_id):
    """Another seller's call, a call that does not exist, an id past PostgreSQL's bigint."""
    response = seller.get(f"/calls/{call_id}/detail")
    assert response.status_code == 404
    assert "Dial attempts" not in response.get_data(as_text=True)


def test_the_live_rows_are_the_first_page_alone(seller):
    html = seller.get("/calls/rows?status=answered").get_data(as_text=True)
    assert call_rows(html) == 3 and "<html" not in html


def test_admins_see_every_call_and_filter_by_seller(pages):
    pages.login("admin")
    assert call_rows(pages.get("/calls").get_data(as_text=True)) == 5
    html = pages.get("/calls?seller_id=4").get_data(as_text=True)
    assert call_rows(html) == 1 and "seller2" in html


def test_older_pages_follow_the_cursor(seller, monkeypatch):
    monkeypatch.setattr("app.web.calls.PAGE_SIZE", 3)
    html = seller.get("/calls").get_data(as_text=True)
    assert call_rows(html) == 3 and "Older calls" in html
    cursor = html.split("cursor=")[1].split("&")[0].split('"')[0]
    older = seller.get(f"/calls?cursor={cursor}").get_data(as_text=True)
    assert call_rows(older) == 1 and "Newest calls" in older


def read_csv(response) -> list[dict]:
    assert response.is_streamed and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_csv_export_holds_the_filtered_calls_with_their_attempts(seller):
    response = seller.get("/calls/export.csv?status=answered")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert [r["id"] for r in rows] == ["3", "2", "1"]
    assert rows[1]["attempts"] == "2"
    assert rows[1]["attempt_details"] == "1: Acme Call Center NOANSWER 10s; 2: Bluesky Contact ANSWER 110s"
    assert rows[1]["campaign"] == "Solar Leads" and rows[1]["client"] == "Bluesky Contact"


def test_the_csv_export_is_the_sellers_own(pages):
    pages.login("seller2")
    assert [r["id"] for r in read_csv(pages.get("/calls/export.csv"))] == ["5"]


def test_the_csv_export_neutralises_formulas_but_keeps_numbers(seller, sql):
    sql("""INSERT INTO call_logs (uniqueid, did, caller_id, seller_id, campaign_id, status)
           VALUES ('pbx-f-1.1', '+14155550100', '=HYPERLINK("http://x")', 3, 1, 'no_route')""")
    rows = read_csv(seller.get("/calls/export.csv"))
    assert rows[0]["caller_id"] == "'=HYPERLINK(\"http://x\")"
    assert rows[1]["caller_id"] == "+13105550144"


@pytest.mark.parametrize("caller", [
    "=1+2", "@SUM(A1)", "\tcmd", "\rcmd", "+cmd", "-cmd", "-5", "+1 310 555", "+13105550100",
    "-1.5", "+", "-", "plain", "a=b", " =x", "'quoted'", 'say "hi", ok', "line\nbreak", "é=1",
])
def test_every_exported_text_cell_is_formula_safe_as_before(seller, sql, caller):
    import re

    sql("""INSERT INTO call_logs (uniqueid, did, caller_id, seller_id, campaign_id, status,
                                  started_at, ended_at, answered_at, converted, payout)
           VALUES ('pbx-f-2.1', '+14155550100', :caller, 3, 1, 'answered',
                   '2026-12-01 10:00:00.25+00', '2026-12-01 10:05:00+00', NULL, true, 3.5)""",
        caller=caller)
    row = read_csv(seller.get("/calls/export.csv"))[0]
    formula = re.compile(r"^(?:[=@\t\r]|[+-](?![\d.\s]*$))")  # the rule of the Python export
    assert row["caller_id"] == ("'" + caller if formula.match(caller) else caller)
    assert (row["started_at"], row["ended_at"], row["answered_at"]) == (
        "2026-12-01T10:00:00.250000+00:00", "2026-12-01T10:05:00+00:00", "")
    assert (row["converted"], row["payout"], row["revenue"], row["campaign"], row["client"],
            row["attempts"], row["attempt_details"]) == ("true", "3.50", "", "Solar Leads", "", "0", "")


def test_a_large_export_is_one_copy_streamed_as_it_is_written(app, seller, sql):
    sql("""INSERT INTO call_logs (uniqueid, did, caller_id, seller_id, campaign_id, status, started_at)
           SELECT 'pbx-bulk-' || n || repeat('x', 60), '+14155550100', '+1310555' || lpad(n::text, 4, '0'), 3, 1,
                  'no_route', timestamptz '2026-11-20 00:00+00' + (n / 3) * interval '1 minute'
           FROM generate_series(1, 1000) AS n""")  # three calls a minute: ties in started_at
    sql("""INSERT INTO call_attempts (call_log_id, call_started_at, attempt_no, client_id,
                                      started_at, ended_at, dial_status, duration)
           SELECT id, started_at, k, 1 + k % 2, started_at, started_at, CASE k WHEN 1 THEN 'BUSY' ELSE 'NOANSWER' END, k
           FROM call_logs, generate_series(1, 2) k WHERE uniqueid LIKE 'pbx-bulk-%'""")
    reads = []

    def count(conn, cursor, statement, *args):
        if "call_logs" in statement:
            reads.append(statement)

    with app.app_context():
        from app.extensions import db
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = seller.get("/calls/export.csv")
            chunks = list(response.response)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert reads == []  # no ORM query of the calls: one COPY, outside SQLAlchemy's cursors
    assert len(chunks) > 1  # sent as PostgreSQL writes it, not as one body
    body = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 1004 and len({r["id"] for r in rows}) == 1004
    keys = [(r["started_at"], int(r["id"])) for r in rows]
    assert keys == sorted(keys, reverse=True)  # newest first, ties by id
    bulk = [r for r in rows if r["uniqueid"].startswith("pbx-bulk-")]
    assert {r["attempts"] for r in bulk} == {"2"}
    assert {r["attempt_details"] for r in bulk} == {
        "1: Bluesky Contact BUSY 1s; 2: Acme Call Center NOANSWER 2s"}

import pytest

from tests.support.routing import assert_counters_match_a_recount, counters

TOKEN = "testing-internal-token-not-for-production"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("path", ["route", "attempt_result", "answered", "hangup", "log_call",
                                  "reconcile", "reconcile_cdr"])
@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"},
])
def test_internal_api_refuses_a_missing_or_wrong_token(client, path, headers):
    response = client.post(f"/api/internal/{path}", json={"uniqueid": "x"}, headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"


def test_a_session_cookie_is_not_enough_for_the_internal_api(client, auth):
    auth.login("admin")
    assert client.post("/api/internal/route", json={"uniqueid": "x"}).status_code == 401


def test_full_call_cycle_over_http(client, engine):
    before = counters(engine)
    decision = client.post("/api/internal/route", headers=AUTH,
                           json={"uniqueid": "http-1", "did": "14155550102", "caller_id": "+13105550100"})
    assert decision.status_code == 200
    assert decision.json["variables"] == {"CC_ACTION": "dial", "CC_DIAL": "PJSIP/summit-cc",
                                          "CC_TIMEOUT": "25", "CC_ATTEMPT": "1"}
    assert counters(engine)[4][0] == 1
    assert client.post("/api/internal/answered", headers=AUTH,
                       json={"uniqueid": "http-1", "attempt": 1}).status_code == 204
    ended = client.post("/api/internal/hangup", headers=AUTH,
                        json={"uniqueid": "http-1", "dial_status": "ANSWER", "attempt": 1,
                              "hangup_cause": 16, "billsec": 30})
    assert ended.json == {"status": "answered"}
    again = client.post("/api/internal/log_call", headers=AUTH,
                        json={"uniqueid": "http-1", "dial_status": "ANSWER", "attempt": 1,
                              "cdr_start": "2026-11-24 09:23:31", "extra_field": "ignored"})
    assert again.json == {"status": None}
    assert counters(engine)[4] == (0, before[4][1] + 1)
    assert_counters_match_a_recount(engine)


def test_failover_over_http(client):
    first = client.post("/api/internal/route", headers=AUTH, json={"uniqueid": "http-2", "did": "+14155550102"})
    assert first.json["action"] == "dial"
    assert client.post("/api/internal/attempt_result", headers=AUTH,
                       json={"uniqueid": "http-2", "attempt": 1, "dial_status": "BUSY"}).status_code == 204
    second = client.post("/api/internal/route", headers=AUTH, json={"uniqueid": "http-2", "did": "+14155550102"})
    assert second.json["variables"] == {"CC_ACTION": "reject", "CC_REASON": "all_failed",
                                        "CC_HANGUP_CAUSE": "34"}


def test_reconcile_frees_calls_asterisk_no_longer_has(client, engine):
    client.post("/api/internal/route", headers=AUTH, json={"uniqueid": "http-3", "did": "+14155550102"})
    from tests.support.routing import execute
    execute(engine, "UPDATE reservations SET created_at = now() - interval '10 minutes'")
    execute(engine, "UPDATE call_logs SET started_at = now() - interval '10 minutes' WHERE uniqueid = 'http-3'")
    response = client.post("/api/internal/reconcile", headers=AUTH,
                           json={"live_uniqueids": ["other"], "grace_seconds": 60})
    assert response.status_code == 200 and response.json["ended"] == ["http-3"]
    assert counters(engine)[4][0] == 0
    assert_counters_match_a_recount(engine)


@pytest.mark.parametrize("path, body", [
    ("route", {}),
    ("route", {"uniqueid": ""}),
    ("route", {"uniqueid": "x" * 151}),
    ("attempt_result", {"uniqueid": "a", "attempt": 0, "dial_status": "BUSY"}),
    ("attempt_result", {"uniqueid": "a", "attempt": "one", "dial_status": "BUSY"}),
    ("hangup", {"uniqueid": "a", "hangup_cause": 999}),
    ("reconcile", {"live_uniqueids": "not-a-list"}),
    ("route", {"uniqueid": "pbx\x00.1"}),                 # PostgreSQL cannot store NUL
    ("hangup", {"uniqueid": "a", "caller_id": "\ud800"}),  # nor UTF-8 encode a lone surrogate
    ("reconcile", {"live_uniqueids": ["ok", "n\x00ul"]}),
])
def test_internal_api_validates_its_input(client, path, body):
    response = client.post(f"/api/internal/{path}", headers=AUTH, json=body)
    assert response.status_code == 422
    assert response.json["error"]["details"]

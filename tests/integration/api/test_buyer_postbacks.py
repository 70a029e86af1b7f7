"""A buyer confirms or rejects a call's conversion through its secret postback endpoint."""
import json

from tests.support.receiver import Receiver
from tests.support.routing import execute, scalar
from tests.support.webhooks import answered_call, drain, subscribe


def issue(client, auth, client_id: int, **body) -> dict:
    auth.login("admin")
    response = client.post(f"/api/admin/clients/{client_id}/postback", json=body)
    assert response.status_code == 201, response.get_json()
    auth.logout()
    return response.get_json()


def answered_by(engine, uniqueid):
    return scalar(engine, "SELECT client_id FROM call_logs WHERE uniqueid = :u", u=uniqueid)


def test_a_buyer_converts_a_call_later_and_counts_events_and_audit_follow(
        app, client, auth, routing, engine, make_worker):
    # Link 1 (acme) counts conversions: a call answered too briefly is not converted at first.
    execute(engine, "UPDATE campaign_client_settings SET status = 'inactive' WHERE id <> 1")
    execute(engine, "UPDATE campaign_client_settings SET cap_counts = 'converted', "
                    "buyer_price = 30 WHERE id = 1")
    execute(engine, "UPDATE campaigns SET billable_after = 60, payout = 12.5 WHERE id = 1")
    with Receiver() as receiver:
        subscribe(client, auth, "seller1", receiver.url, ["call.converted"])
        answered_call(routing, "buy-1.1", billsec=20)
        assert scalar(engine, "SELECT converted FROM call_logs WHERE uniqueid = 'buy-1.1'") is False
        day_before = scalar(engine, "SELECT day_count FROM campaign_client_settings WHERE id = 1")
        endpoint = issue(client, auth, answered_by(engine, "buy-1.1"), window_hours=24)
        assert endpoint["token"].startswith("ccpb_") and endpoint["has_token"] is True
        answer = client.post(endpoint["path"], json={"uniqueid": "buy-1.1", "converted": True,
                                                     "revenue": 41.5})
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json() == {"call_id": answer.get_json()["call_id"], "uniqueid": "buy-1.1",
                                     "changed": True, "converted": True, "payout": 12.5,
                                     "revenue": 41.5}
        again = client.post(endpoint["path"], json={"uniqueid": "buy-1.1", "converted": True,
                                                    "revenue": 41.5})
        assert again.status_code == 200 and again.get_json()["changed"] is False
        drain(make_worker(), lambda: receiver.requests)
    assert scalar(engine, "SELECT day_count FROM campaign_client_settings WHERE id = 1") == \
        day_before + 1
    [event] = [json.loads(r.body) for r in receiver.requests]
    assert event["type"] == "call.converted" and event["data"]["revenue"] == 41.5
    audit = scalar(engine, "SELECT json_agg(changes) FROM audit_events WHERE action = 'postback'")
    assert len(audit) == 1 and audit[0]["converted"] == [False, True]
    assert audit[0]["source"] == "buyer_postback"
    # Rejected afterwards: no longer converted, the count goes back.
    rejected = client.post(endpoint["path"], json={"uniqueid": "buy-1.1", "converted": False})
    assert rejected.get_json()["converted"] is False and rejected.get_json()["revenue"] is None
    assert scalar(engine, "SELECT day_count FROM campaign_client_settings WHERE id = 1") == day_before


def test_wrong_tokens_other_buyers_calls_and_old_calls_are_not_found(app, client, auth,
                                                                     routing, engine):
    answered_call(routing, "buy-2.1")
    buyer = answered_by(engine, "buy-2.1")
    other = 3 if buyer != 3 else 2
    mine = issue(client, auth, buyer)
    theirs = issue(client, auth, other)
    for path, body in [
            ("/api/postbacks/ccpb_" + "x" * 43, {"uniqueid": "buy-2.1", "converted": True}),
            ("/api/postbacks/short", {"uniqueid": "buy-2.1", "converted": True}),
            (theirs["path"], {"uniqueid": "buy-2.1", "converted": True}),
            (mine["path"], {"uniqueid": "no-such-call", "converted": True})]:
        response = client.post(path, json=body)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"
    execute(engine, "UPDATE call_logs SET ended_at = now() - interval '73 hours' "
                    "WHERE uniqueid = 'buy-2.1'")
    assert client.post(mine["path"], json={"uniqueid": "buy-2.1", "converted": True}
                       ).status_code == 404
    # A new token replaces the old one.
    renewed = issue(client, auth, buyer)
    execute(engine, "UPDATE call_logs SET ended_at = now() WHERE uniqueid = 'buy-2.1'")
    assert client.post(mine["path"], json={"uniqueid": "buy-2.1", "converted": False}
                       ).status_code == 404
    assert client.post(renewed["path"], json={"call_id": scalar(
        engine, "SELECT id FROM call_logs WHERE uniqueid = 'buy-2.1'"), "converted": False}
    ).status_code == 200


def test_postback_bodies_and_settings_are_validated(client, auth, engine):
    endpoint = issue(client, auth, 1)
    bad = client.post(endpoint["path"], json={"converted": "maybe", "revenue": -1})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["details"]) == {"converted", "revenue"}
    unnamed = client.post(endpoint["path"], json={"converted": True})
    assert unnamed.status_code == 422 and "uniqueid" in unnamed.get_json()["error"]["details"]
    auth.login("admin")
    assert client.get("/api/admin/clients/1/postback").get_json()["window_hours"] == 72
    assert "token" not in client.get("/api/admin/clients/1/postback").get_json()
    assert client.patch("/api/admin/clients/1/postback", json={"window_hours": 0}).status_code == 422
    assert client.patch("/api/admin/clients/1/postback",
                        json={"window_hours": 12}).get_json()["window_hours"] == 12
    assert client.get("/api/admin/clients/999/postback").status_code == 404
    assert client.delete("/api/admin/clients/1/postback").status_code == 204
    assert client.get("/api/admin/clients/1/postback").status_code == 404
    auth.logout()
    auth.login("seller1")
    assert client.post("/api/admin/clients/1/postback", json={}).status_code == 403

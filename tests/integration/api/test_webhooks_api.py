"""Webhook subscriptions and postback templates through the API."""
import time

import pytest

from tests.support.receiver import Receiver
from tests.support.routing import execute
from tests.support.webhooks import answered_call, drain

HOOK = {"url": "https://crm.example.com/hooks", "events": ["call.ended", "call.converted"],
        "description": "CRM"}


def test_create_shows_the_secret_once_then_only_has_secret(client, auth):
    auth.login("seller1")
    created = client.post("/api/seller/webhooks", json=HOOK)
    assert created.status_code == 201
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 30
    assert body["has_secret"] is True and body["status"] == "active"
    assert created.headers["Cache-Control"] == "no-store"
    shown = client.get(f"/api/seller/webhooks/{body['id']}")
    assert shown.status_code == 200 and "secret" not in shown.get_json()
    assert shown.get_json()["has_secret"] is True
    listed = client.get("/api/seller/webhooks").get_json()
    assert listed["total"] == 1 and "secret" not in listed["items"][0]
    rotated = client.post(f"/api/seller/webhooks/{body['id']}/rotate_secret", json={})
    assert rotated.status_code == 200
    assert rotated.get_json()["secret"] not in (None, body["secret"])


@pytest.mark.parametrize("payload,field", [
    ({**HOOK, "url": "ftp://x.example/"}, "url"),
    ({**HOOK, "url": "https://u:p@x.example/"}, "url"),
    ({**HOOK, "events": []}, "events"),
    ({**HOOK, "events": ["call.exploded"]}, "events"),
    ({**HOOK, "status": "disabled"}, "status"),
    ({"events": ["call.ended"]}, "url"),
    ({**HOOK, "extra": 1}, "extra"),
])
def test_invalid_webhooks_answer_422_naming_the_field(client, auth, payload, field):
    auth.login("seller1")
    response = client.post("/api/seller/webhooks", json=payload)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]


def test_production_wants_https(app, client, auth, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_REQUIRE_HTTPS", True)
    auth.login("admin")
    response = client.post("/api/admin/webhooks", json={**HOOK, "url": "http://x.example/"})
    assert response.status_code == 422 and "https" in response.get_json()["error"]["details"]["url"][0]


def test_another_sellers_webhook_is_not_found_and_roles_are_kept_apart(client, auth):
    auth.login("seller1")
    hook = client.post("/api/seller/webhooks", json=HOOK).get_json()
    auth.logout()
    auth.login("seller2")
    for method, path in [("get", ""), ("patch", ""), ("delete", ""), ("post", "/rotate_secret"),
                         ("get", "/deliveries"), ("post", "/deliveries/1/redeliver")]:
        kwargs = {"json": {}} if method in ("post", "patch") else {}
        response = getattr(client, method)(f"/api/seller/webhooks/{hook['id']}{path}", **kwargs)
        assert response.status_code == 404, (method, path)
        assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/seller/webhooks").get_json()["total"] == 0
    assert client.get("/api/admin/webhooks").status_code == 403
    auth.logout()
    auth.login("admin")
    assert client.get(f"/api/admin/webhooks/{hook['id']}").status_code == 404
    assert client.get("/api/seller/webhooks").status_code == 403
    auth.logout()
    assert client.get("/api/seller/webhooks").status_code == 401


def test_update_and_delete(client, auth):
    auth.login("admin")
    hook = client.post("/api/admin/webhooks", json=HOOK).get_json()
    changed = client.patch(f"/api/admin/webhooks/{hook['id']}",
                           json={"events": ["cap.threshold"], "status": "inactive"})
    assert changed.status_code == 200
    assert changed.get_json()["events"] == ["cap.threshold"]
    assert changed.get_json()["status"] == "inactive"
    assert client.delete(f"/api/admin/webhooks/{hook['id']}").status_code == 204
    assert client.get(f"/api/admin/webhooks/{hook['id']}").status_code == 404


def test_a_campaign_postback_fires_its_template_on_conversion(client, auth, routing, engine,
                                                              make_worker):
    execute(engine, "UPDATE campaigns SET payout = 12.50 WHERE id = 1")
    with Receiver() as receiver:
        auth.login("seller1")
        template = (receiver.url + "/pb?click={uniqueid}&payout={payout}&caller={caller_id}"
                    "&billsec={billsec}&campaign={campaign_id}")
        created = client.post("/api/seller/campaigns/1/postbacks", json={"url": template})
        assert created.status_code == 201, created.get_json()
        postback = created.get_json()
        answered_call(routing, "pb 1&2", billsec=61)
        drain(make_worker(), lambda: receiver.requests)
        time.sleep(0.1)
        [request] = receiver.requests
        assert request.method == "GET"
        assert request.path == ("/pb?click=pb%201%262&payout=12.5&caller=%2B13105550199"
                                "&billsec=61&campaign=1")
        deliveries = client.get(
            f"/api/seller/campaigns/1/postbacks/{postback['id']}/deliveries").get_json()
        assert deliveries["items"][0]["status"] == "sent"
        assert deliveries["items"][0]["event_type"] == "call.converted"


def test_postback_templates_are_checked_and_kept_to_their_campaign(client, auth):
    auth.login("seller1")
    bad = client.post("/api/seller/campaigns/1/postbacks",
                      json={"url": "https://t.example/pb?c={click_id}"})
    assert bad.status_code == 422 and "{click_id}" in bad.get_json()["error"]["details"]["url"][0]
    made = client.post("/api/seller/campaigns/1/postbacks",
                       json={"url": "https://t.example/pb?c={call_id}"}).get_json()
    assert client.get(f"/api/seller/campaigns/2/postbacks/{made['id']}").status_code == 404
    assert client.get("/api/seller/campaigns/3/postbacks").status_code == 404  # seller2's
    auth.logout()
    auth.login("seller2")
    assert client.get(f"/api/seller/campaigns/1/postbacks/{made['id']}").status_code == 404
    assert client.post("/api/seller/campaigns/1/postbacks",
                       json={"url": "https://t.example/"}).status_code == 404

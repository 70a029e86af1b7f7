"""Webhooks, postback templates and API keys in the pages."""
import re

from tests.support.routing import execute, scalar
from tests.support.webhooks import answered_call

SECRET = re.compile(r'id="secret-value"[^>]*value="([^"]+)"')


def test_a_seller_adds_a_webhook_sees_its_secret_once_and_reads_its_deliveries(pages, routing,
                                                                             engine):
    pages.login("seller1")
    refused = pages.post("/webhooks", {"url": "https://crm.example.com/in", "events": ""})
    assert refused.status_code == 422 and 'id="f-events-error"' in refused.get_data(as_text=True)
    refused = pages.post("/webhooks", {"url": "ftp://nope", "events": ["", "call.ended"]})
    assert refused.status_code == 422
    assert "Must be an http:// or https:// URL." in refused.get_data(as_text=True)
    made = pages.post("/webhooks", {"url": "https://crm.example.com/in",
                                    "events": ["", "call.ended", "call.started"]})
    assert made.status_code == 200
    secret = SECRET.search(made.get_data(as_text=True)).group(1)
    assert secret.startswith("whsec_")
    assert scalar(engine, "SELECT secret FROM webhook_subscriptions") == secret
    hook_id = scalar(engine, "SELECT id FROM webhook_subscriptions")
    answered_call(routing, "page-1.1")
    page = pages.get(f"/webhooks/{hook_id}").get_data(as_text=True)
    assert secret not in page
    assert page.count('data-delivery-id="') == 2 and "call.ended" in page
    delivery = scalar(engine, "SELECT min(id) FROM webhook_deliveries")
    execute(engine, "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL")
    again = pages.post(f"/webhooks/{hook_id}/deliveries/{delivery}/redeliver", follow_redirects=True)
    assert "will be sent again" in again.get_data(as_text=True)
    assert scalar(engine, "SELECT status FROM webhook_deliveries WHERE id = :d", d=delivery) \
        == "pending"
    rotated = pages.post(f"/webhooks/{hook_id}/rotate")
    new_secret = SECRET.search(rotated.get_data(as_text=True)).group(1)
    assert new_secret != secret
    saved = pages.post(f"/webhooks/{hook_id}", {"url": "https://crm.example.com/v2",
                                                "events": ["", "cap.threshold"],
                                                "status": "inactive", "description": "CRM"},
                       follow_redirects=True)
    assert "Webhook saved." in saved.get_data(as_text=True)
    assert scalar(engine, "SELECT events FROM webhook_subscriptions") == ["cap.threshold"]


def test_other_sellers_webhooks_are_not_found_and_staff_has_none(pages, engine):
    pages.login("seller1")
    pages.post("/webhooks", {"url": "https://crm.example.com/in", "events": ["call.ended"]})
    hook_id = scalar(engine, "SELECT id FROM webhook_subscriptions")
    pages.post("/logout")
    pages.login("seller2")
    assert pages.get(f"/webhooks/{hook_id}").status_code == 404
    assert f'data-webhook-id="{hook_id}"' not in pages.get("/webhooks").get_data(as_text=True)
    pages.post("/logout")
    pages.login("staff")
    assert pages.get("/webhooks").status_code == 403


def test_postback_templates_on_a_campaign(pages, engine):
    pages.login("seller1")
    bad = pages.post("/campaigns/1/postbacks", {"url": "https://t.example/?c={click}"})
    assert bad.status_code == 422 and "Unknown token {click}" in bad.get_data(as_text=True)
    good = pages.post("/campaigns/1/postbacks", {"url": "https://t.example/?c={uniqueid}"},
                      follow_redirects=True)
    assert "https://t.example/?c={uniqueid}" in good.get_data(as_text=True)
    assert pages.get("/campaigns/3/postbacks").status_code == 404


def test_api_keys_page_creates_shows_once_and_revokes(pages, client, engine):
    pages.login("staff")
    made = pages.post("/api-keys", {"name": "report", "scope": "read", "expires_at": ""})
    key = SECRET.search(made.get_data(as_text=True)).group(1)
    assert key.startswith("cck_")
    listing = pages.get("/api-keys").get_data(as_text=True)
    assert key not in listing and key[:12] in listing
    key_id = scalar(engine, "SELECT id FROM api_keys")
    pages.post(f"/api-keys/{key_id}/revoke")
    assert scalar(engine, "SELECT revoked_at IS NOT NULL FROM api_keys")

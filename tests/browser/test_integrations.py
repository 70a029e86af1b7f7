"""A seller wires a webhook in the browser and watches a real call's events arrive."""
import random
import re

from playwright.sync_api import expect

from app.services.routing import RoutingService
from tests.support.browser import field, log_in, screenshot
from tests.support.receiver import Receiver
from tests.support.webhooks import answered_call, drain


def test_a_seller_adds_a_webhook_and_sees_its_deliveries_and_redelivers(page, engine):
    from app.services.routing.async_service import libpq_conninfo
    from app.services.webhooks.worker import DeliveryWorker, WorkerSettings

    with Receiver() as receiver:
        log_in(page, "seller1")
        page.get_by_role("link", name="Webhooks").click()
        field(page, "URL").fill(receiver.url + "/crm")
        page.get_by_label("call.ended").check()
        page.get_by_role("button", name="Add webhook").click()
        secret = page.locator("#secret-value")
        expect(secret).to_have_value(re.compile(r"^whsec_"))
        page.get_by_role("link", name="Done").click()
        expect(page.get_by_role("heading", name=re.compile("Webhook"))).to_be_visible()
        expect(page.locator("#deliveries")).to_contain_text("Nothing delivered yet.")

        routing = RoutingService(engine, default_region="US", rng=random.Random(3))
        answered_call(routing, "browser-hook-1")
        worker = DeliveryWorker(libpq_conninfo(engine.url), WorkerSettings(allow_private=True))
        try:
            drain(worker, lambda: receiver.requests)
            page.reload()
            row = page.locator("#deliveries tbody tr").first
            expect(row).to_contain_text("call.ended")
            expect(row).to_contain_text("sent")
            expect(row).to_contain_text("HTTP 200")
            screenshot(page, "webhook-deliveries", full_page=True)
            row.get_by_role("button", name="Redeliver").click()
            expect(page.get_by_text("will be sent again")).to_be_visible()
            drain(worker, lambda: len(receiver.requests) >= 2)
        finally:
            worker.close()
    assert [r.path for r in receiver.requests] == ["/crm", "/crm"]
    assert receiver.requests[0].headers["CapConduit-Event-Id"] == \
        receiver.requests[1].headers["CapConduit-Event-Id"]

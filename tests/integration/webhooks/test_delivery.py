"""Events reach a real HTTP receiver on loopback: signed, in order, retried, never lost."""
import json
import threading
import time

from app.services.outbound import signature
from app.services.routing import CallArrival, CallEnd
from tests.support.receiver import Receiver
from tests.support.routing import execute, scalar
from tests.support.webhooks import CALL_EVENTS, INSURANCE_DID, answered_call, drain, subscribe


def bodies(receiver):
    return [json.loads(request.body) for request in receiver.requests]


def test_a_call_reaches_its_sellers_webhook_signed_and_in_order(client, auth, routing,
                                                                make_worker):
    with Receiver() as receiver:
        hook = subscribe(client, auth, "seller1", receiver.url + "/hooks?x=1")
        decision = answered_call(routing, "evt-1.1", billsec=95)
        worker = make_worker()
        drain(worker, lambda: len(receiver.requests) >= 4)
        time.sleep(0.1)
        assert len(receiver.requests) == 4
    events = bodies(receiver)
    assert [event["type"] for event in events] == CALL_EVENTS
    for request, event in zip(receiver.requests, events):
        assert request.method == "POST" and request.path == "/hooks?x=1"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["CapConduit-Event-Id"] == event["id"]
        assert signature.verify(hook["secret"], request.headers["CapConduit-Signature"],
                                request.body)
        assert not signature.verify("whsec_other", request.headers["CapConduit-Signature"],
                                    request.body)
        assert not signature.verify(hook["secret"], request.headers["CapConduit-Signature"],
                                    request.body + b" ")
    ended = events[2]["data"]
    assert ended["uniqueid"] == "evt-1.1" and ended["outcome"] == "answered"
    assert ended["billsec"] == 95 and ended["converted"] is True
    assert ended["campaign_id"] == 1 and ended["did"] == "+14155550100"
    assert ended["caller_number"] == "+13105550199"
    assert ended["client_identifier"] == decision.dial.removeprefix("PJSIP/")
    assert [a["dial_status"] for a in ended["attempts"]] == ["ANSWER"]
    assert {event["id"] for event in events} == {request.headers["CapConduit-Event-Id"]
                                                 for request in receiver.requests}


def test_sellers_see_only_their_campaigns_and_admins_see_the_platform(client, auth, routing,
                                                                      make_worker):
    with Receiver() as seller1, Receiver() as seller2, Receiver() as platform:
        subscribe(client, auth, "seller1", seller1.url, ["call.ended"])
        subscribe(client, auth, "seller2", seller2.url, ["call.ended"])
        subscribe(client, auth, "admin", platform.url, ["call.ended"])
        answered_call(routing, "evt-2.1")
        answered_call(routing, "evt-2.2", did=INSURANCE_DID)
        worker = make_worker()
        drain(worker, lambda: len(platform.requests) >= 2 and seller1.requests
              and seller2.requests)
    assert [e["data"]["uniqueid"] for e in bodies(seller1)] == ["evt-2.1"]
    assert [e["data"]["uniqueid"] for e in bodies(seller2)] == ["evt-2.2"]
    assert sorted(e["data"]["uniqueid"] for e in bodies(platform)) == ["evt-2.1", "evt-2.2"]


def test_nobody_subscribed_writes_no_event(routing, engine):
    answered_call(routing, "evt-3.1")
    assert scalar(engine, "SELECT count(*) FROM events") == 0


def test_a_rolled_back_change_emits_nothing(client, auth, engine):
    subscribe(client, auth, "seller1", "http://127.0.0.1:9/x")
    with engine.connect() as conn:
        transaction = conn.begin()
        conn.exec_driver_sql("SELECT * FROM cc_route('evt-4.1', 'evt-4.1', '+14155550100', "
                             "'+14155550100', '+13105550199', '+13105550199')")
        assert conn.exec_driver_sql("SELECT count(*) FROM events").scalar() == 1
        transaction.rollback()
    assert scalar(engine, "SELECT count(*) FROM events") == 0
    assert scalar(engine, "SELECT count(*) FROM webhook_deliveries") == 0


def test_a_repeated_step_invents_no_second_event(client, auth, routing, engine):
    subscribe(client, auth, "seller1", "http://127.0.0.1:9/x")
    decision = answered_call(routing, "evt-5.1")
    routing.answered("evt-5.1", decision.attempt)

    routing.hangup(CallEnd(uniqueid="evt-5.1", dial_status="ANSWER", attempt=decision.attempt,
                           billsec=95))
    assert scalar(engine, "SELECT array_agg(type ORDER BY id) FROM events") == CALL_EVENTS


def test_a_failing_receiver_is_retried_until_it_answers_2xx(client, auth, routing, make_worker):
    with Receiver(answers=[500, 503, 200]) as receiver:
        hook = subscribe(client, auth, "seller1", receiver.url, ["call.ended"])
        answered_call(routing, "evt-6.1")
        worker = make_worker()
        drain(worker, lambda: len(receiver.requests) >= 3)
    ids = {request.headers["CapConduit-Event-Id"] for request in receiver.requests}
    assert len(ids) == 1, "every attempt sends the same event"
    auth.login("seller1")
    page = client.get(f"/api/seller/webhooks/{hook['id']}/deliveries").get_json()
    [delivery] = page["items"]
    assert delivery["status"] == "sent" and delivery["attempts_made"] == 3
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 200]
    assert delivery["attempts"][0]["next_attempt_at"] is not None
    assert delivery["attempts"][2]["next_attempt_at"] is None
    assert delivery["next_attempt_at"] is None and delivery["event_type"] == "call.ended"


def test_a_receiver_that_never_answers_costs_a_timeout_and_a_retry(client, auth, routing,
                                                                   make_worker, engine):
    with Receiver(delay=3.0) as receiver:
        hook = subscribe(client, auth, "seller1", receiver.url, ["call.ended"])
        answered_call(routing, "evt-7.1")
        worker = make_worker(timeout=0.5)
        started = time.monotonic()
        assert worker.run_once() == 1
        assert 0.4 < time.monotonic() - started < 2.5
        receiver.delay = 0
        drain(worker, lambda: scalar(engine, "SELECT status FROM webhook_deliveries") == "sent")
    auth.login("seller1")
    [delivery] = client.get(f"/api/seller/webhooks/{hook['id']}/deliveries").get_json()["items"]
    assert "timed out" in delivery["attempts"][0]["error"]
    assert delivery["attempts"][-1]["status_code"] == 200


def test_after_the_retry_window_the_delivery_fails_and_the_webhook_is_disabled(
        client, auth, routing, make_worker, engine):
    with Receiver(answers=[500]) as receiver:
        hook = subscribe(client, auth, "seller1", receiver.url, ["call.ended"])
        answered_call(routing, "evt-8.1")
        worker = make_worker(retry_window_seconds=0.3)
        drain(worker, lambda: scalar(engine, "SELECT status FROM webhook_deliveries") == "failed")
        assert scalar(engine, "SELECT status FROM webhook_subscriptions") == "active"
        time.sleep(0.35)  # failing for longer than the window: the next failure disables it
        answered_call(routing, "evt-8.2")
        drain(worker, lambda: scalar(engine, "SELECT status FROM webhook_subscriptions")
              == "disabled")
    auth.login("seller1")
    shown = client.get(f"/api/seller/webhooks/{hook['id']}").get_json()
    assert shown["status"] == "disabled" and "HTTP 500" in shown["disabled_reason"]
    failed = client.get(f"/api/seller/webhooks/{hook['id']}/deliveries?status=failed").get_json()
    assert failed["total"] >= 1
    # Its owner turns it on again and asks for the failed event once more.
    with Receiver() as receiver:
        client.patch(f"/api/seller/webhooks/{hook['id']}", json={"url": receiver.url,
                                                                 "status": "active"})
        delivery_id = failed["items"][-1]["id"]
        redo = client.post(f"/api/seller/webhooks/{hook['id']}/deliveries/{delivery_id}/redeliver",
                           json={})
        assert redo.status_code == 200 and redo.get_json()["status"] == "pending"
        drain(worker, lambda: "evt-8.1" in [e["data"]["uniqueid"] for e in bodies(receiver)])
    assert scalar(engine, "SELECT status FROM webhook_deliveries WHERE id = :d",
                  d=delivery_id) == "sent"


def test_loopback_targets_are_refused_unless_allowed(client, auth, routing, make_worker, engine):
    with Receiver() as receiver:
        hook = subscribe(client, auth, "seller1", receiver.url.replace("127.0.0.1", "localhost"),
                         ["call.ended"])
        answered_call(routing, "evt-9.1")
        worker = make_worker(allow_private=False)
        assert worker.run_once() == 1
        assert receiver.requests == []
    auth.login("seller1")
    [delivery] = client.get(f"/api/seller/webhooks/{hook['id']}/deliveries").get_json()["items"]
    assert "loopback" in delivery["last_error"] and delivery["status"] == "pending"


def test_redirects_are_not_followed(client, auth, routing, make_worker, engine):
    with Receiver(answers=[302, 200]) as receiver:
        subscribe(client, auth, "seller1", receiver.url, ["call.ended"])
        answered_call(routing, "evt-10.1")
        worker = make_worker()
        worker.run_once()
        assert len(receiver.requests) == 1
        assert scalar(engine, "SELECT last_status_code FROM webhook_deliveries") == 302
        assert scalar(engine, "SELECT status FROM webhook_deliveries") == "pending"


def test_workers_side_by_side_never_send_one_delivery_twice(client, auth, routing, make_worker,
                                                            engine):
    with Receiver(delay=0.01) as receiver:
        subscribe(client, auth, "seller1", receiver.url, ["call.started"])
        subscribe(client, auth, "admin", receiver.url, ["call.started"])
        for n in range(40):
            answered_call(routing, f"evt-11.{n}")
        workers = [make_worker(batch_size=7) for _ in range(3)]
        threads = [threading.Thread(target=drain, args=(w, lambda: len(receiver.requests) >= 80))
                   for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(0.2)
    keys = [(r.headers["CapConduit-Event-Id"], r.headers["CapConduit-Signature"])
            for r in receiver.requests]
    assert len(receiver.requests) == 80
    assert scalar(engine, "SELECT count(*) FROM webhook_deliveries WHERE status = 'sent'") == 80
    assert scalar(engine, "SELECT count(*) FROM webhook_attempts") == 80
    assert len(keys) == 80


def test_one_calls_events_stay_in_order_for_a_subscription_across_retries(
        client, auth, routing, make_worker):
    with Receiver(answers=[500, 200]) as receiver:
        subscribe(client, auth, "seller1", receiver.url)
        answered_call(routing, "evt-12.1")
        worker = make_worker(batch_size=50)
        drain(worker, lambda: len(receiver.requests) >= 5)
        time.sleep(0.1)
    types = [json.loads(r.body)["type"] for r in receiver.requests]
    assert types == ["call.started", *CALL_EVENTS]  # the first one twice, then the rest in order


def test_a_cap_reaching_80_and_100_percent_emits_once_per_level(client, auth, routing,
                                                                  make_worker, engine):
    execute(engine, "UPDATE campaign_client_settings SET status = 'inactive' WHERE id <> 5")
    execute(engine, "UPDATE campaign_client_settings SET total_calls_allowed = 5, "
                    "current_total_calls = 3 WHERE id = 5")
    with Receiver() as receiver:
        subscribe(client, auth, "seller2", receiver.url, ["cap.threshold"])
        answered_call(routing, "evt-13.1", did=INSURANCE_DID)   # 4 of 5: 80 %
        answered_call(routing, "evt-13.2", did=INSURANCE_DID)   # 5 of 5: 100 %
        execute(engine, "UPDATE campaign_client_settings SET current_total_calls = 4 WHERE id = 5")
        answered_call(routing, "evt-13.3", did=INSURANCE_DID)   # 5 of 5 again: said already
        worker = make_worker()
        drain(worker, lambda: len(receiver.requests) >= 2)
        time.sleep(0.2)
        worker.run_once()
    events = sorted(bodies(receiver), key=lambda e: e["data"]["level"])  # no call: no order
    assert [(e["data"]["dimension"], e["data"]["level"], e["data"]["used"]) for e in events] == [
        ("total", 80, 4), ("total", 100, 5)]
    assert events[0]["data"]["setting_id"] == 5 and events[0]["data"]["cap"] == 5


def test_concurrency_caps_at_80_and_100_percent_emit_once_a_day(client, auth, routing,
                                                                  make_worker, engine):
    execute(engine, "UPDATE campaign_client_settings SET status = 'inactive' WHERE id <> 5")
    execute(engine, "UPDATE campaign_client_settings SET max_concurrency = 5, "
                    "total_calls_allowed = NULL WHERE id = 5")
    with Receiver() as receiver:
        subscribe(client, auth, "seller2", receiver.url, ["cap.threshold"])
        held = [routing.route(CallArrival(uniqueid=f"conc-{i}.1", did=INSURANCE_DID,
                                          caller_id=f"+1310555020{i}", linkedid=f"conc-{i}.1"))
                for i in range(5)]                       # the 4th is at 80 %, the 5th at 100 %
        assert [d.action for d in held] == ["dial"] * 5
        for i in range(5):                               # free them: the marks stay for the day
            routing.hangup(CallEnd(uniqueid=f"conc-{i}.1", hangup_cause=16))
        for i in range(5):                               # the same climb again: said already
            routing.route(CallArrival(uniqueid=f"again-{i}.1", did=INSURANCE_DID,
                                      caller_id=f"+1310555030{i}", linkedid=f"again-{i}.1"))
        worker = make_worker()

        def link_events():
            return [e for e in bodies(receiver) if e["data"]["scope"] == "link"]
        drain(worker, lambda: len(link_events()) >= 2)
        time.sleep(0.2)
        worker.run_once()
    # Events without a call carry no order between them: compare them sorted by level.
    events = sorted(link_events(), key=lambda e: e["data"]["level"])
    assert [(e["data"]["dimension"], e["data"]["level"], e["data"]["used"], e["data"]["cap"])
            for e in events] == [("concurrency", 80, 4, 5), ("concurrency", 100, 5, 5)]
    assert {e["data"]["setting_id"] for e in events} == {5}

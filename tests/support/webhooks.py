"""Helpers for tests of events and their deliveries: an answered call, a subscription made
through the API, and a worker run until something arrives."""
import time

from app.services.routing import CallArrival, CallEnd

SOLAR_DID = "+14155550100"       # seller1's campaign 1
INSURANCE_DID = "+12125550100"   # seller2's campaign 3
CALL_EVENTS = ["call.started", "call.answered", "call.ended", "call.converted"]


def drain(worker, until, timeout: float = 15.0) -> None:
    """Run worker rounds until `until()` is true."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the worker did not get there in time"
        if not worker.run_once():
            time.sleep(0.02)


def answered_call(routing, uniqueid: str, did: str = SOLAR_DID, billsec: int = 95):
    decision = routing.route(CallArrival(uniqueid=uniqueid, did=did, caller_id="+13105550199",
                                         linkedid=uniqueid))
    assert decision.action == "dial"
    routing.answered(uniqueid, decision.attempt)
    routing.hangup(CallEnd(uniqueid=uniqueid, dial_status="ANSWER", attempt=decision.attempt,
                           hangup_cause=16, billsec=billsec))
    return decision


def subscribe(client, auth, who: str, url: str, events=None, path=None) -> dict:
    auth.login(who)
    path = path or ("/api/admin/webhooks" if who == "admin" else "/api/seller/webhooks")
    response = client.post(path, json={"url": url, "events": events or CALL_EVENTS})
    assert response.status_code == 201, response.get_json()
    auth.logout()
    return response.get_json()

"""Calls made through the routing engine, as Asterisk would place them."""
from app.extensions import db
from app.services.routing import CallArrival, CallEnd, RoutingService


def make_calls(app, count, did="+14155550102", prefix="bulk"):
    with app.app_context():
        routing = RoutingService(db.engine)
        for i in range(count):
            uniqueid = f"{prefix}-{i}"
            routing.route(CallArrival(uniqueid=uniqueid, did=did, caller_id=f"+1310555{i:04d}"))
            routing.hangup(CallEnd(uniqueid=uniqueid, dial_status="ANSWER" if i % 2 else "NOANSWER",
                                   attempt=1, billsec=10 * i))

"""Tenant isolation and roles, checked over every route the app registers.

The cases come from `app.url_map` at collection time, so a seller route added later is covered
without anyone listing it here: if it forgets the ownership check, or needs an id or a body
this module does not know yet, these tests fail until it is taken care of.
"""
import pytest
from flask import url_for
from sqlalchemy import text

from app import create_app
from app.extensions import db

# seller1's rows in sample_data.sql, linked to each other (DID 1 and setting 1 are in
# campaign 1; call 1 is on DID 1), so only the ownership check stands between seller2 and them.
SELLER1_IDS = {"campaign_id": 1, "did_id": 1, "setting_id": 1, "call_id": 1,
               "webhook_id": 1, "postback_id": 2, "delivery_id": 1}
# seller1's webhook 1 (with event and delivery 1) and campaign 1's postback template 2: no
# sample rows, made for these tests.
SELLER1_INTEGRATION_ROWS = """
INSERT INTO webhook_subscriptions (id, owner_id, scope_key, kind, campaign_id, url, events, secret)
VALUES (1, 3, 3, 'webhook', NULL, 'https://crm.example.com/in', '{call.ended}', 'whsec_x'),
       (2, 3, 3, 'postback', 1, 'https://t.example/pb?c={uniqueid}', '{call.converted}', NULL);
INSERT INTO events (id, type, seller_id, campaign_id, call_id, data)
VALUES (1, 'call.ended', 3, 1, 1, '{}');
INSERT INTO webhook_deliveries (id, event_id, subscription_id, order_key, status)
VALUES (1, 1, 1, 1, 'failed');
"""
ABSENT_ID = 2**31 - 1

# Bodies that pass validation, so that the request reaches the ownership check. Every other
# body is `{}`; a route that needs more must be given a body here (its 422 fails the test).
VALID_BODIES = {
    # seller2's own DID 5, in no campaign: attaching it would succeed on seller2's campaign.
    ("POST", "/api/seller/campaigns/<id:campaign_id>/dids"): {"did_id": 5},
    ("POST", "/api/seller/campaigns/<id:campaign_id>/clients"): {"client_id": 1},
    ("POST", "/api/seller/campaigns/<id:campaign_id>/postbacks"): {"url": "https://t.example/"},
}
UNCHECKED_METHODS = {"HEAD", "OPTIONS"}


def _route_cases(prefixes: tuple[str, ...], *, with_arguments: bool):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://unused@/unused"})
    cases = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(prefixes) or (with_arguments and not rule.arguments):
            continue
        for method in sorted(rule.methods - UNCHECKED_METHODS):
            cases.append(pytest.param(method, rule.rule, rule.endpoint, sorted(rule.arguments),
                                      id=f"{method} {rule.rule}"))
    return cases


SELLER_ROUTES_WITH_IDS = _route_cases(("/api/seller/",), with_arguments=True)
SELLER_ROUTES = _route_cases(("/api/seller/",), with_arguments=False)
ADMIN_VIEW_ROUTES = _route_cases(("/api/admin/dids", "/api/admin/campaigns"), with_arguments=False)


def snapshot(app) -> dict:
    """Every row of every table, to prove a request changed nothing."""
    with app.app_context():
        return {table.name: sorted(map(repr, db.session.execute(text(f'SELECT * FROM "{table.name}"'))))
                for table in db.metadata.sorted_tables}


def call(client, app, method, endpoint, rule, arguments, value_of):
    values = {name: value_of(name) for name in arguments}
    with app.test_request_context():
        url = url_for(endpoint, **values)
    kwargs = {} if method in ("GET", "DELETE") else {"json": VALID_BODIES.get((method, rule), {})}
    return client.open(url, method=method, **kwargs)


def seller1_id(name: str) -> int:
    if name not in SELLER1_IDS:
        pytest.fail(f"name one of seller1's sample rows for the URL parameter {name!r} in SELLER1_IDS")
    return SELLER1_IDS[name]


def test_the_enumeration_finds_the_seller_routes():
    found = {(p.values[0], p.values[1]) for p in SELLER_ROUTES_WITH_IDS}
    assert {("GET", "/api/seller/dids/<id:did_id>"),
            ("DELETE", "/api/seller/campaigns/<id:campaign_id>"),
            ("POST", "/api/seller/campaigns/<id:campaign_id>/dids"),
            ("DELETE", "/api/seller/campaigns/<id:campaign_id>/dids/<id:did_id>"),
            ("PATCH", "/api/seller/campaigns/<id:campaign_id>/clients/<id:setting_id>")} <= found
    assert len(SELLER_ROUTES) > len(SELLER_ROUTES_WITH_IDS) >= 13


@pytest.mark.parametrize("method, rule, endpoint, arguments", SELLER_ROUTES_WITH_IDS)
def test_another_sellers_ids_are_404_and_change_nothing(app, client, auth, method, rule,
                                                       endpoint, arguments):
    with app.app_context():
        db.session.execute(text(SELLER1_INTEGRATION_ROWS))
        db.session.commit()
    assert auth.login("seller2").status_code == 200
    before = snapshot(app)
    response = call(client, app, method, endpoint, rule, arguments, seller1_id)
    assert response.status_code == 404, response.json
    assert response.json["error"]["code"] == "not_found"
    assert snapshot(app) == before
    # Exactly what an id that exists nowhere answers: nothing tells "not yours" from "absent".
    absent = call(client, app, method, endpoint, rule, arguments, lambda name: ABSENT_ID)
    assert absent.status_code == 404 and absent.json == response.json


@pytest.mark.parametrize("path, owned_by_seller2", [
    ("/api/seller/dids", {4, 5}),
    ("/api/seller/campaigns", {3}),
    ("/api/seller/dids?campaign_id=1", set()),
])
def test_lists_hold_only_the_sellers_own_rows(client, auth, path, owned_by_seller2):
    auth.login("seller2")
    assert {item["id"] for item in client.get(path).json["items"]} == owned_by_seller2


@pytest.mark.parametrize("method, rule, endpoint, arguments", SELLER_ROUTES)
def test_seller_routes_need_a_seller(app, client, auth, method, rule, endpoint, arguments):
    assert call(client, app, method, endpoint, rule, arguments, lambda name: 1).status_code == 401
    for who in ("admin", "staff"):
        auth.login(who)
        response = call(client, app, method, endpoint, rule, arguments, lambda name: 1)
        assert response.status_code == 403, who
        assert response.json["error"]["code"] == "forbidden"
        auth.logout()


@pytest.mark.parametrize("method, rule, endpoint, arguments", ADMIN_VIEW_ROUTES)
def test_admin_views_of_seller_resources_need_admin_or_staff(app, client, auth, method, rule,
                                                            endpoint, arguments):
    assert call(client, app, method, endpoint, rule, arguments, lambda name: 1).status_code == 401
    auth.login("seller1")
    response = call(client, app, method, endpoint, rule, arguments, lambda name: 1)
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"

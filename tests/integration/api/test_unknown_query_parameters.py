"""An unknown query parameter answers 422 naming it, on every operation that reads a query
string, as an unknown body field does: `per_page=1` on the call log (which pages with `limit`
and `cursor`) used to answer 50 rows."""
import pytest

from app.api.smorest import Blueprint, HardenedParser

# Sample ids the sample data has, for paths that name a row (seller1 owns campaign 1).
PATH_VALUES = {"campaign_id": "1", "client_id": "1", "user_id": "1", "carrier_id": "1",
               "did_id": "1", "setting_id": "1", "call_id": "1", "webhook_id": "1",
               "postback_id": "1"}


def _query_operations(spec):
    for path, item in spec["paths"].items():
        for method in ("get", "delete"):
            operation = item.get(method)
            if operation and any(parameter["in"] == "query"
                                 for parameter in operation.get("parameters", [])):
                yield path, method


def _fill(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, path
    return path


def test_every_api_blueprint_refuses_unknown_query_parameters(app):
    api_blueprints = [blueprint for blueprint in app.blueprints.values()
                      if (blueprint.url_prefix or "").startswith("/api/")]
    assert len(api_blueprints) > 10
    for blueprint in api_blueprints:
        assert isinstance(blueprint, Blueprint), blueprint.name
        assert isinstance(blueprint.ARGUMENTS_PARSER, HardenedParser), blueprint.name


def test_every_operation_with_a_query_string_answers_422_naming_the_unknown_parameter(
        client, auth):
    spec = client.get("/api/openapi.json").json
    operations = list(_query_operations(spec))
    paths = {path for path, _ in operations}
    # Every list endpoint is among them.
    assert {"/api/admin/users", "/api/admin/clients", "/api/admin/carriers",
            "/api/admin/call_logs", "/api/seller/call_logs", "/api/admin/audit",
            "/api/seller/dids", "/api/seller/campaigns", "/api/seller/clients",
            "/api/seller/campaigns/{campaign_id}/dids",
            "/api/seller/campaigns/{campaign_id}/clients"} <= paths
    logged_in_as = None
    for path, method in operations:
        who = "seller1" if path.startswith("/api/seller/") else "admin"
        if who != logged_in_as:
            auth.logout()
            assert auth.login(who).status_code == 200
            logged_in_as = who
        response = client.open(_fill(path) + "?zz_not_a_parameter=1", method=method.upper())
        where = f"{method.upper()} {path}"
        assert response.status_code == 422, (where, response.json)
        error = response.json["error"]
        assert error["code"] == "validation_failed", where
        assert error["details"] == {"zz_not_a_parameter": ["Unknown field."]}, where


@pytest.mark.parametrize("url", ["/api/admin/call_logs", "/api/seller/call_logs"])
def test_per_page_on_the_call_log_is_refused_not_ignored(client, auth, url):
    assert auth.login("admin" if "admin" in url else "seller1").status_code == 200
    response = client.get(url + "?per_page=1&page=2&limit=1")
    assert response.status_code == 422
    assert response.json["error"]["details"] == {"per_page": ["Unknown field."],
                                                 "page": ["Unknown field."]}
    assert len(client.get(url + "?limit=1").json["items"]) == 1


def test_known_parameters_still_work_and_the_pages_ignore_what_they_do_not_know(client, auth):
    assert auth.login("admin").status_code == 200
    assert client.get("/api/admin/users?role=seller&page=1&per_page=1").status_code == 200
    # The web pages read their query strings leniently (a bookmark with a stale parameter).
    assert client.get("/admin/users?role=seller&zz_not_a_parameter=1").status_code == 200

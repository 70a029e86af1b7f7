import pytest


def test_openapi_document_describes_the_api(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in ("/api/auth/login", "/api/auth/logout", "/api/auth/me", "/api/admin/users",
                 "/api/admin/users/{user_id}"):
        assert path in paths, path
    user_schema = spec["components"]["schemas"]["User"]
    assert "password" not in user_schema["properties"]
    create_schema = spec["components"]["schemas"]["UserCreate"]
    assert {"username", "email", "password", "role"} <= set(create_schema["required"])
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["error"]


def test_interactive_docs_are_served_with_their_assets(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert b"swagger" in page.data.lower()
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert len(asset.data) > 100_000


GUARDED_BY_ROLE = ("/api/admin/", "/api/seller/")


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_every_operation_documents_the_errors_it_can_answer(client):
    """Each error status an operation can answer is listed with the Error schema (no catch-all
    `default`), so clients and the API fuzzer can check every answer against the document."""
    spec = client.get("/api/openapi.json").json
    error_responses = {name for name, response in spec["components"]["responses"].items()
                       if response["content"]["application/json"]["schema"]
                       == {"$ref": "#/components/schemas/Error"}}
    for path, method, operation in _operations(spec):
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        assert "default" not in responses, where
        expected = {"503"}
        if path.startswith(GUARDED_BY_ROLE) or path.startswith("/api/internal/") or \
                path in ("/api/auth/me", "/api/auth/password"):
            expected.add("401")
        if path.startswith(GUARDED_BY_ROLE) or method != "get":
            expected.add("403")
        if "{" in path:
            expected.add("404")
        if method == "post":
            expected.add("415")
        if "requestBody" in operation:
            expected |= {"400", "413", "422"}
        assert expected <= set(responses), (where, expected - set(responses))
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                ref = response.get("$ref", "").rsplit("/", 1)[-1]
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                assert ref in error_responses or schema == {"$ref": "#/components/schemas/Error"}, \
                    (where, status)


def test_login_documents_bad_credentials_and_throttling(client):
    login = client.get("/api/openapi.json").json["paths"]["/api/auth/login"]["post"]
    assert {"401", "429"} <= set(login["responses"])
    assert "Retry-After" in login["responses"]["429"]["headers"]


@pytest.mark.parametrize("path, method", [
    ("/api/admin/users", "post"), ("/api/admin/users/{user_id}", "patch"),
    ("/api/admin/users/{user_id}", "delete"),
])
def test_user_conflicts_are_documented(client, path, method):
    responses = client.get("/api/openapi.json").json["paths"][path][method]["responses"]
    assert "409" in responses

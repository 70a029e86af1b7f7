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

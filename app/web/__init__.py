"""Server-rendered pages for admins, staff and sellers.

The pages are thin adapters like the API routes: they validate form input with the API's own
Marshmallow schemas (app.schemas) and call the same services, on the same Flask-Login
session. Every form post carries a CSRF token (Flask-WTF's CSRFProtect); the JSON API's
blueprints are exempt from it (the API has its own rule, app.api.request_guards). Errors
outside /api answer HTML pages (app.web.errors), inside /api the JSON error document.
"""
from flask import Flask
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def register_web(app: Flask) -> None:
    """Register the pages; call it after the API blueprints so that they can be exempted."""
    from app.api.errors import PAGE_RENDERER
    from app.web import (account, admin, auth, calls, carriers, clients, dashboard, errors,
                         integrations, seller, site)

    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the session
    csrf.init_app(app)
    for blueprint in (site.bp, auth.bp, account.bp, dashboard.bp, calls.bp, admin.bp,
                      clients.bp, carriers.bp, seller.bp, integrations.bp):
        app.register_blueprint(blueprint)
    for blueprint in list(app.blueprints.values()):
        if is_api_blueprint(blueprint):
            csrf.exempt(blueprint)
    app.extensions[PAGE_RENDERER] = errors.render_error_page
    site.install(app)


def is_api_blueprint(blueprint) -> bool:
    prefix = blueprint.url_prefix or ""
    return prefix == "/api" or prefix.startswith("/api/") or blueprint.name == "docs_assets"

"""Swagger UI's assets, served from the swagger-ui-bundle package (installed from PyPI)."""
from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

docs_assets = Blueprint("docs_assets", __name__)


@docs_assets.get("/api/docs/assets/<path:filename>")
def asset(filename):
    return send_from_directory(swagger_ui_path, filename, max_age=3600)

"""The layers lean only downward: the vocabulary (app.domain) under the models, the models
under the services, the services under the schemas and the adapters (API, pages, FastAGI,
command line), and no adapter built on another. Every import counts, a lazy one inside a
function too."""
import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
ADAPTERS = ("app.api", "app.web", "app.agi", "app.cli")

# package -> what nothing inside it may import
FORBIDDEN = {
    "app.domain": ("app.database", "app.services", "app.schemas", "app.access",
                   "app.http_headers", "app.extensions", *ADAPTERS),
    "app.database": ("app.services", "app.schemas", "app.access", *ADAPTERS),
    "app.services": ("app.schemas", "app.access", "app.http_headers", *ADAPTERS),
    "app.schemas": ("app.access", *ADAPTERS),
    "app.access": ("app.services", "app.schemas", *ADAPTERS),
    **{adapter: tuple(other for other in ADAPTERS if other != adapter) for adapter in ADAPTERS},
}
# Allowed across adapters, and why.
ALLOWED = {
    # The one place where errors become answers: pages register their renderer with it.
    ("app.web", "app.api.errors"),
    # `flask agi serve` is the command that starts the FastAGI server.
    ("app.cli.agi", "app.agi"),
}
# What services must not use of the web framework: they know nothing of HTTP.
HTTP_NAMES = {"request", "session", "g", "abort", "jsonify", "redirect", "url_for",
              "render_template", "make_response", "flash", "Response", "Blueprint"}


def module_name(path: Path, app: Path) -> str:
    parts = path.relative_to(app.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path):
    """(line, module imported, names taken from it) for every import in the file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, tuple(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path}:{node.lineno}: a relative import; name the module")


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(app: Path = APP) -> list[str]:
    found = []
    for path in sorted(app.rglob("*.py")):
        importer = module_name(path, app)
        for line, imported, names in imports(path):
            where = f"{path.relative_to(app.parent)}:{line}"
            for package, forbidden in FORBIDDEN.items():
                if not within(importer, package):
                    continue
                for target in forbidden:
                    if within(imported, target) and not any(
                            within(importer, a) and within(imported, b) for a, b in ALLOWED):
                        found.append(f"{where}: {importer} imports {imported}")
            if within(importer, "app.services"):
                if within(imported, "werkzeug") or within(imported, "flask_login") or (
                        imported == "flask" and HTTP_NAMES & set(names)):
                    found.append(f"{where}: a service imports HTTP ({imported} {names})")
    return found


def test_no_module_imports_a_layer_above_it_or_a_sibling_adapter():
    assert violations() == []


@pytest.mark.parametrize("importer, imported, allowed", [
    ("app.services.client_service", "app.api.errors", False),
    ("app.services.client_service", "app.schemas.client_schemas", False),
    ("app.services.audit_service", "flask_login", False),  # who acts: the adapters say
    ("app.web.integrations", "app.api.schemas.lists", False),
    ("app.domain.roles", "app.database.models", False),
    ("app.web.site", "app.api.errors", True),
    ("app.cli.agi", "app.agi.runner", True),
    ("app.cli.users", "app.agi.runner", False),
    ("app.api.routes.clients", "app.services.client_service", True),
])
def test_the_rules_tell_a_forbidden_import(tmp_path, importer, imported, allowed):
    """The rule itself, on a made-up tree: what it must catch, and what it must let pass."""
    root = tmp_path / "app"
    path = root.joinpath(*importer.split(".")[1:]).with_suffix(".py")
    path.parent.mkdir(parents=True)
    path.write_text(f"def later():\n    from {imported} import thing\n")
    assert (violations(root) == []) is allowed

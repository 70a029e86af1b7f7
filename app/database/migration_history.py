"""An earlier migration's module, for a later one that restores what it defined (a downgrade
putting back an earlier revision's functions or triggers): revision files are not a package
and their names start with digits, so they are loaded by path."""
import importlib.util
from pathlib import Path

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def revision_module(name: str):
    """The module of migrations/versions/<name>.py, e.g. revision_module("0016_monthly_partitions")."""
    spec = importlib.util.spec_from_file_location(f"migration_{name}", VERSIONS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

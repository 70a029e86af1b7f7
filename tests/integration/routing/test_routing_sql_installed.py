"""The routing functions in the database are the ones in app/services/routing/sql/."""
import re
from pathlib import Path

from app.services.routing import sql as routing_sql
from tests.support.routing import scalar

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations" / "versions"


def test_the_newest_installing_migration_installed_these_files():
    """Editing a .sql file needs a migration that installs it again (and records it here),
    or existing databases would keep running the old rules."""
    recorded = sorted((path.name, match.group(1)) for path in MIGRATIONS.glob("*.py")
                      if (match := re.search(r'INSTALLS_ROUTING_SQL = "([0-9a-f]+)"', path.read_text())))
    assert recorded, "no migration installs the routing SQL"
    newest_file, fingerprint = recorded[-1]
    assert fingerprint == routing_sql.fingerprint(), (
        f"app/services/routing/sql changed since {newest_file}: add a migration that calls "
        f"routing_sql.install and records INSTALLS_ROUTING_SQL = \"{routing_sql.fingerprint()}\"")


def test_every_installed_function_is_known_to_uninstall(engine):
    installed = set(scalar(engine, """
        SELECT array_agg(p.oid::regprocedure::text) FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proname LIKE 'cc\\_%'"""))
    listed = set(scalar(engine, "SELECT array_agg(CAST(s AS regprocedure)::text) FROM unnest(CAST(:s AS text[])) s",
                        s=list(routing_sql.FUNCTIONS)))
    assert installed == listed

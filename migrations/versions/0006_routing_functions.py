"""The routing engine moves into the database: one function per FastAGI step
(app/services/routing/sql/*.sql), so each step is one round trip and every lock lives and
dies inside one statement. The advisory locks of the old engine are gone with it.

Revision ID: 0006_routing_functions
Revises: 0005_routing_rules
"""
from alembic import op

from app.services.routing import sql as routing_sql

revision = "0006_routing_functions"
down_revision = "0005_routing_rules"
branch_labels = None
depends_on = None

# routing_sql.fingerprint() of the files this revision was written for (see the test that
# compares it): a change to the files needs a new migration that installs them again.
INSTALLS_ROUTING_SQL = "f821760f0c76033d"


STATUSES = ("'in_progress', 'answered', 'no_route', 'all_capped', 'all_failed', 'abandoned', "
            "'error', 'duplicate', 'closed'")


def upgrade():
    routing_sql.install(op.execute)
    # A route refused by admission control ends "overload" (cause 41).
    op.drop_constraint(op.f("ck_call_logs_status"), "call_logs", type_="check")
    op.create_check_constraint("status", "call_logs", f"status IN ({STATUSES}, 'overload')")


def downgrade():
    op.drop_constraint(op.f("ck_call_logs_status"), "call_logs", type_="check")
    op.execute("UPDATE call_logs SET status = 'error' WHERE status = 'overload'")
    op.create_check_constraint("status", "call_logs", f"status IN ({STATUSES})")
    routing_sql.uninstall(op.execute)

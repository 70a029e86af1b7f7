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
INSTALLS_ROUTING_SQL = "pending"


def upgrade():
    routing_sql.install(op.execute)


def downgrade():
    routing_sql.uninstall(op.execute)

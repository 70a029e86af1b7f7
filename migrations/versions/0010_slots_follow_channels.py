"""Dialling slots follow Asterisk's channels, not the clock alone.

- The routing functions (app/services/routing/sql) are installed again: `cc_expire` and
  `cc_release` take the live channel ids when they are known (`p_live`), and never expire a
  slot of a call Asterisk still has; without them the hold alone decides, as before. The
  default hold margin of `cc_route` is 300 s (was 30 s): the clock is now a backstop.
  Superseded signatures are dropped first.

Downgrading cannot give back the previous versions of the functions (the files are always the
newest): go down further (0006 uninstalls them) or up again.

Revision ID: 0010_slots_follow_channels
Revises: 0009_callers_cdr
"""
from alembic import op

from app.services.routing import sql as routing_sql

revision = "0010_slots_follow_channels"
down_revision = "0009_callers_cdr"
branch_labels = None
depends_on = None

# routing_sql.fingerprint() of the files this revision installs (tests compare it).
INSTALLS_ROUTING_SQL = "b666a56c0b790ae4"


def upgrade():
    for signature in routing_sql.SUPERSEDED:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    routing_sql.install(op.execute)


def downgrade():
    pass

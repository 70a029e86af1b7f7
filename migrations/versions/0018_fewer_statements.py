"""Fewer statements per call in the routing engine: the routing functions are installed again.

- A new call's first `route` writes its log once, with its first round (it was opened, then
  updated): the slot is taken first, then the call is opened (cc_open_call) and the
  reservation and the attempt written, all in the candidate's subtransaction, which gives the
  slot back if another session of the call opened it meanwhile.
- Each step reads which event types anybody wants (cc_events_wanted) inside a statement it
  runs anyway, instead of one probe per event type.
- `route` asks the repeat-caller rules only of a campaign that has some, and builds the
  decision's candidates without a query.
- `hangup` and the CDR reconciliation write a call's end through one function
  (cc_write_call_end).

Downgrading changes nothing: the functions are the files' newest version whatever the
revision (go down past 0006 to remove them, or up again).

Revision ID: 0018_fewer_statements
"""
from alembic import op

from app.services.routing import sql as routing_sql

revision = "0018_fewer_statements"
down_revision = "0017_bidding"
branch_labels = None
depends_on = None

# routing_sql.fingerprint() of the files this revision installs (tests compare it).
INSTALLS_ROUTING_SQL = "e02a10cb964ef6cb"


def upgrade():
    for signature in routing_sql.SUPERSEDED:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    routing_sql.install(op.execute)


def downgrade():
    pass

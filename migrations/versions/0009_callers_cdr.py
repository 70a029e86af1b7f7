"""Callers as E.164 for every rule and filter, and Asterisk's CDRs as the second source of
truth.

- `call_logs.caller_number`: the caller as E.164 with the DIDs' region rules (DEFAULT_REGION),
  NULL for anonymous, withheld, unknown or unparseable callers; `caller_id` keeps what the
  carrier sent. The repeat-caller rules and the call-log `caller` filter compare it, through
  (campaign_id, caller_number, started_at) and (caller_number, started_at, id), which replace
  the two indexes on caller_id. Existing rows are backfilled from their distinct caller_id
  values, normalised in Python (the same function the routing steps use).
- The routing functions (app/services/routing/sql) are installed again: cc_route and cc_hangup
  take the caller number, cc_duplicate_check and cc_simulate compare it, hangup's delivery
  counting is the function cc_count_delivery, and the CDR reconciliation (cc_cdr_suspects,
  cc_reconcile_cdr) is new. Superseded signatures are dropped first.
- `cdr` gets an index on "end" (the reconciliation reads the CDRs that ended recently).
  cdr_pgsql ignores indexes; its columns do not change.

Downgrading drops the column and the indexes but cannot give back the previous versions of
the functions (the files are always the newest): go down further (0006 uninstalls them) or up
again.

Revision ID: 0009_callers_cdr
Revises: 0008_reports
"""
import os

import sqlalchemy as sa
from alembic import op

from app.services.routing import sql as routing_sql
from app.services.routing.steps import caller_number

revision = "0009_callers_cdr"
down_revision = "0008_reports"
branch_labels = None
depends_on = None

# routing_sql.fingerprint() of the files this revision installs (tests compare it).
INSTALLS_ROUTING_SQL = "afe6293f4d81ca15"

BACKFILL_BATCH = 1000


def _default_region() -> str:
    try:
        from flask import current_app
        return current_app.config["DEFAULT_REGION"]
    except (ImportError, RuntimeError, KeyError):
        return os.environ.get("DEFAULT_REGION", "US")


def _backfill_caller_numbers() -> None:
    region = _default_region()
    conn = op.get_bind()
    raw_values = [row[0] for row in conn.execute(sa.text(
        "SELECT DISTINCT caller_id FROM call_logs WHERE caller_id IS NOT NULL"))]
    pairs = [(raw, number) for raw in raw_values
             if (number := caller_number(raw, region)) is not None]
    for start in range(0, len(pairs), BACKFILL_BATCH):
        batch = pairs[start:start + BACKFILL_BATCH]
        conn.execute(sa.text(
            "UPDATE call_logs c SET caller_number = v.number "
            "FROM unnest(CAST(:raws AS text[]), CAST(:numbers AS text[])) AS v(raw, number) "
            "WHERE c.caller_id = v.raw"),
            {"raws": [raw for raw, _ in batch], "numbers": [number for _, number in batch]})


def upgrade():
    op.add_column("call_logs", sa.Column("caller_number", sa.String(32), nullable=True))
    _backfill_caller_numbers()
    op.execute("DROP INDEX IF EXISTS ix_call_logs_campaign_caller")
    op.execute("DROP INDEX IF EXISTS ix_call_logs_caller_started_id")
    op.execute("CREATE INDEX IF NOT EXISTS ix_call_logs_campaign_caller_number "
               "ON call_logs (campaign_id, caller_number, started_at)")
    op.execute("CREATE INDEX IF NOT EXISTS ix_call_logs_caller_number_started_id "
               "ON call_logs (caller_number, started_at, id)")
    op.execute('CREATE INDEX IF NOT EXISTS ix_cdr_end ON cdr ("end")')
    for signature in routing_sql.SUPERSEDED:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    routing_sql.install(op.execute)


def downgrade():
    op.execute("DROP INDEX IF EXISTS ix_cdr_end")
    op.execute("DROP INDEX IF EXISTS ix_call_logs_caller_number_started_id")
    op.execute("DROP INDEX IF EXISTS ix_call_logs_campaign_caller_number")
    op.execute("CREATE INDEX IF NOT EXISTS ix_call_logs_caller_started_id "
               "ON call_logs (caller_id, started_at, id)")
    op.execute("CREATE INDEX IF NOT EXISTS ix_call_logs_campaign_caller "
               "ON call_logs (campaign_id, caller_id, started_at)")
    op.drop_column("call_logs", "caller_number")

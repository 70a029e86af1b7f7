"""Bidding's housekeeping: expired cached bids are swept, and no bid secret stays in the audit
trail.

- `ix_bid_cache_expires_at`: the FastAGI sweeper deletes the cached bids that have expired,
  oldest first, a batch at a time; the index finds them without reading the live ones.
- The audit trail recorded a client's bid secret in clear when it was set or rotated; such
  lines now say only that it changed (`"(changed)"`, as for passwords), like the lines
  written from now on. Downgrade cannot give the secrets back, and does not try.

Revision ID: 0020_bid_housekeeping
"""
from alembic import op

revision = "0020_bid_housekeeping"
down_revision = "0019_reports_on_partitions"
branch_labels = None
depends_on = None

MASK = '"(changed)"'  # as app.services.audit_service writes it today (a migration keeps it)


def upgrade():
    op.create_index("ix_bid_cache_expires_at", "bid_cache", ["expires_at"])
    op.execute(f"""
        UPDATE audit_events SET changes = jsonb_set(changes, '{{bid_secret}}', '{MASK}')
        WHERE entity_type = 'client' AND changes ? 'bid_secret'
          AND changes -> 'bid_secret' NOT IN ('null'::jsonb, '{MASK}'::jsonb)
    """)


def downgrade():
    op.drop_index("ix_bid_cache_expires_at", table_name="bid_cache")

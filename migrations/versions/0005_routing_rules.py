"""Routing rules: caps in every dimension, hours of operation, duplicate callers, billable
calls, and the routing decision kept with each call.

Revision ID: 0005_routing_rules
Revises: 0004_security
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_routing_rules"
down_revision = "0004_security"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)
OLD_STATUSES = "('in_progress', 'answered', 'no_route', 'all_capped', 'all_failed', 'abandoned', 'error')"
NEW_STATUSES = ("('in_progress', 'answered', 'no_route', 'all_capped', 'all_failed', 'abandoned', "
                "'error', 'duplicate', 'closed')")


def _period(table: str, name: str) -> list:
    return [sa.Column(f"{name}_start", sa.DateTime(timezone=True), nullable=True),
            sa.Column(f"{name}_count", sa.Integer(), server_default="0", nullable=False)]


def upgrade():
    for column in (
        sa.Column("max_concurrency", sa.Integer(), nullable=True),
        sa.Column("in_flight", sa.Integer(), server_default="0", nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("schedule", postgresql.JSONB(), nullable=True),
        sa.Column("closures", postgresql.JSONB(), server_default="[]", nullable=False),
    ):
        op.add_column("clients", column)
    op.create_check_constraint("max_concurrency", "clients", "max_concurrency IS NULL OR max_concurrency >= 1")
    op.create_check_constraint("in_flight", "clients", "in_flight >= 0")

    for column in (
        sa.Column("max_concurrency", sa.Integer(), nullable=True),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("in_flight", sa.Integer(), server_default="0", nullable=False),
        *_period("campaigns", "day"),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("billable_after", sa.Integer(), nullable=True),
        sa.Column("payout", MONEY, nullable=True),
        sa.Column("duplicate_window_hours", sa.Integer(), nullable=True),
        sa.Column("duplicate_action", sa.String(length=8), server_default="allow", nullable=False),
        sa.Column("reject_concurrent_duplicate", sa.Boolean(), server_default=sa.false(),
                  nullable=False),
    ):
        op.add_column("campaigns", column)
    op.create_check_constraint("max_concurrency", "campaigns", "max_concurrency IS NULL OR max_concurrency >= 1")
    op.create_check_constraint("daily_cap", "campaigns", "daily_cap IS NULL OR daily_cap >= 0")
    op.create_check_constraint("in_flight", "campaigns", "in_flight >= 0")
    op.create_check_constraint("billable_after", "campaigns", "billable_after IS NULL OR billable_after >= 0")
    op.create_check_constraint("payout", "campaigns", "payout IS NULL OR payout >= 0")
    op.create_check_constraint("duplicate_window_hours", "campaigns",
                               "duplicate_window_hours IS NULL OR duplicate_window_hours BETWEEN 1 AND 8760")
    op.create_check_constraint("duplicate_action", "campaigns",
                               "duplicate_action IN ('allow', 'reject', 'sticky')")

    for column in (
        sa.Column("hourly_cap", sa.Integer(), nullable=True),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("monthly_cap", sa.Integer(), nullable=True),
        sa.Column("cap_counts", sa.String(length=16), server_default="answered", nullable=False),
        sa.Column("buyer_price", MONEY, nullable=True),
        *_period("campaign_client_settings", "hour"),
        *_period("campaign_client_settings", "day"),
        *_period("campaign_client_settings", "month"),
    ):
        op.add_column("campaign_client_settings", column)
    for cap in ("hourly_cap", "daily_cap", "monthly_cap"):
        op.create_check_constraint(cap, "campaign_client_settings", f"{cap} IS NULL OR {cap} >= 0")
    op.create_check_constraint("cap_counts", "campaign_client_settings",
                               "cap_counts IN ('answered', 'converted')")
    op.create_check_constraint("buyer_price", "campaign_client_settings",
                               "buyer_price IS NULL OR buyer_price >= 0")

    for column in (
        sa.Column("converted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("payout", MONEY, nullable=True),
        sa.Column("revenue", MONEY, nullable=True),
        sa.Column("decision", postgresql.JSONB(), server_default="[]", nullable=False),
    ):
        op.add_column("call_logs", column)
    op.drop_constraint(op.f("ck_call_logs_status"), "call_logs", type_="check")
    op.create_check_constraint("status", "call_logs", f"status IN {NEW_STATUSES}")
    # Duplicate-caller lookups: this caller, this campaign, recently.
    op.create_index("ix_call_logs_campaign_caller", "call_logs",
                    ["campaign_id", "caller_id", "started_at"])


def downgrade():
    op.drop_index("ix_call_logs_campaign_caller", table_name="call_logs")
    op.drop_constraint(op.f("ck_call_logs_status"), "call_logs", type_="check")
    op.execute("UPDATE call_logs SET status = 'no_route' WHERE status IN ('duplicate', 'closed')")
    op.create_check_constraint("status", "call_logs", f"status IN {OLD_STATUSES}")
    for column in ("decision", "revenue", "payout", "converted"):
        op.drop_column("call_logs", column)
    for column in ("month_count", "month_start", "day_count", "day_start", "hour_count",
                   "hour_start", "buyer_price", "cap_counts", "monthly_cap", "daily_cap",
                   "hourly_cap"):
        op.drop_column("campaign_client_settings", column)
    for column in ("reject_concurrent_duplicate", "duplicate_action", "duplicate_window_hours",
                   "payout", "billable_after", "timezone", "day_count", "day_start", "in_flight",
                   "daily_cap", "max_concurrency"):
        op.drop_column("campaigns", column)
    for column in ("closures", "schedule", "timezone", "in_flight", "max_concurrency"):
        op.drop_column("clients", column)

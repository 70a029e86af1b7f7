"""Integrations: events written in the same transaction as the change, webhook subscriptions
and conversion postback templates with their deliveries and attempts, personal API keys and
the buyers' postback endpoints.

- `events` is the outbox; `webhook_deliveries` holds one row per event and subscription
  (pending → sent, or failed after the retry window), `webhook_attempts` every request made.
- `cap_threshold_marks` remembers which cap.threshold was emitted (once per period).
- `api_keys` stores a key's SHA-256 only; `client_postbacks` a buyer's token's SHA-256.
- The routing functions are installed again: the steps call the new 60_events.sql, and
  70_buyer_postback.sql applies a buyer's conversion postback.

Downgrading drops the tables and the new functions but cannot give back the previous versions
of the steps (the files are always the newest, and they call the event functions): go down
further (0006 uninstalls them) or up again.

Revision ID: 0012_integrations
Revises: 0009_callers_cdr
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.services.routing import sql as routing_sql

revision = "0012_integrations"
down_revision = "0010_slots_follow_channels"
branch_labels = None
depends_on = None

# routing_sql.fingerprint() of the files this revision installs (tests compare it).
INSTALLS_ROUTING_SQL = "e670b63ecaac4520"

NEW_FUNCTIONS = ("cc_buyer_postback(bigint, int, boolean, numeric)", "cc_cap_events(int)", "cc_call_end_events(bigint, boolean)",
                 "cc_call_event(text, bigint)", "cc_call_document(bigint)",
                 "cc_emit(text, int, int, bigint, jsonb)", "cc_event_wanted(text, int, int)")


def _timestamps():
    return [sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                      nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                      nullable=False)]


def upgrade():
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("scope_key", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), server_default="webhook", nullable=False),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.String(32)), nullable=False),
        sa.Column("status", sa.String(16), server_default="active", nullable=False),
        sa.Column("description", sa.String(500), server_default="", nullable=False),
        sa.Column("secret", sa.String(100), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(500), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("kind IN ('webhook', 'postback')", name=op.f("ck_webhook_subscriptions_kind")),
        sa.CheckConstraint("status IN ('active', 'inactive', 'disabled')",
                           name=op.f("ck_webhook_subscriptions_status")),
    )
    op.create_index("ix_webhook_subscriptions_owner_id", "webhook_subscriptions", ["owner_id"])
    op.create_index("ix_webhook_subscriptions_campaign_id", "webhook_subscriptions",
                    ["campaign_id"])
    op.create_index("ix_webhook_subscriptions_active_scope", "webhook_subscriptions",
                    ["scope_key"], postgresql_where=sa.text("status = 'active'"))

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.BigInteger(), nullable=True),
        sa.Column("data", postgresql.JSONB(), nullable=False),
    )
    op.create_index("ix_events_call_type", "events", ["call_id", "type"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("event_id", sa.BigInteger(), sa.ForeignKey("events.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("subscription_id", sa.Integer(),
                  sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("order_key", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=True),
        sa.Column("lease_token", sa.String(36), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')",
                           name=op.f("ck_webhook_deliveries_status")),
    )
    op.create_index("ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"])
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at", "id"],
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("ix_webhook_deliveries_order", "webhook_deliveries",
                    ["subscription_id", "order_key", "id"],
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("ix_webhook_deliveries_subscription_id", "webhook_deliveries",
                    ["subscription_id", "id"])

    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("delivery_id", sa.BigInteger(),
                  sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])

    op.create_table(
        "cap_threshold_marks",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("scope_id", sa.Integer(), primary_key=True),
        sa.Column("dimension", sa.String(24), primary_key=True),
        sa.Column("period_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("cap", sa.Integer(), primary_key=True),
        sa.Column("level", sa.Integer(), primary_key=True),
    )

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'write')", name=op.f("ck_api_keys_scope")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])

    op.create_table(
        "client_postbacks",
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("clients.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("window_hours", sa.Integer(), server_default="72", nullable=False),
        *_timestamps(),
        sa.CheckConstraint("window_hours BETWEEN 1 AND 2160", name=op.f("ck_client_postbacks_window_hours")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_client_postbacks_token_hash")),
    )
    routing_sql.install(op.execute)


def downgrade():
    for signature in NEW_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    for table in ("client_postbacks", "api_keys", "cap_threshold_marks", "webhook_attempts",
                  "webhook_deliveries", "events", "webhook_subscriptions"):
        op.drop_table(table)

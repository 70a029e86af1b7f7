"""Real-time bidding: links priced by a buyer's bid, the campaign's bid settings, the client's
bid secret and ping budget, the bids a call got and the one it was forwarded with, cached
bids and the pings of the minute.

The routing functions are installed again: `route` gains the bids of a bid round
(80_bidding.sql) and a converted call's revenue is the bid its answered attempt won with.

The new configuration columns are checked by the services, not by CHECK constraints: the
routing engine's counter updates of clients and campaigns would pay for them at every call
(0013_hot_path_writes).

Downgrading drops the new columns, tables and bidding functions but cannot give back the
previous versions of the steps (the files are always the newest): go down further (0006
uninstalls them) or up again.

Revision ID: 0017_bidding
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.services.routing import sql as routing_sql

revision = "0017_bidding"
down_revision = "0016_monthly_partitions"
branch_labels = None
depends_on = None

# routing_sql.fingerprint() of the files this revision installs (tests compare it).
INSTALLS_ROUTING_SQL = "6d02b15327939676"

NEW_FUNCTIONS = (
    "cc_campaign_bids(int)", "cc_bid_answers(jsonb, timestamptz)",
    "cc_bid_keep(bigint, timestamptz, text, jsonb)",
    "cc_bid_prices(cc_candidate[], jsonb, text, numeric, timestamptz, boolean)",
    "cc_bid_spend(jsonb, timestamptz)", "cc_bid_order(cc_candidate[], jsonb)",
    "cc_bid_round(cc_candidate[], bigint, timestamptz, int, text, jsonb, timestamptz)",
    "cc_bid_request(int, text, text, int, jsonb, jsonb)",
    "cc_priced_candidates(jsonb, jsonb)", "cc_priced_round(jsonb, jsonb)",
    "cc_bid_won(bigint, timestamptz, int, int, jsonb)",
    "cc_simulate_bids(int, text, timestamptz, float8, jsonb)",
)


def upgrade():
    op.add_column("clients", sa.Column("bid_secret", sa.String(100), nullable=True))
    op.add_column("clients", sa.Column("ping_budget", sa.Integer(), nullable=True))
    op.add_column("campaigns", sa.Column("bid_timeout_ms", sa.Integer(), server_default="800",
                                         nullable=False))
    op.add_column("campaigns", sa.Column("min_bid", sa.Numeric(12, 2), nullable=True))
    op.add_column("campaigns", sa.Column("bid_caller_id", sa.String(8), server_default="masked",
                                         nullable=False))
    op.add_column("campaign_client_settings", sa.Column("bid_url", sa.String(2000),
                                                        nullable=True))
    op.add_column("call_logs", sa.Column("bids", postgresql.JSONB(), nullable=True))
    op.add_column("call_logs", sa.Column("winning_bid", sa.Numeric(12, 2), nullable=True))
    op.add_column("call_attempts", sa.Column("bid", sa.Numeric(12, 2), nullable=True))
    op.create_table(
        "bid_cache",
        sa.Column("setting_id", sa.Integer(),
                  sa.ForeignKey("campaign_client_settings.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("caller_number", sa.String(32), primary_key=True),
        sa.Column("bid", sa.Numeric(12, 2), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "bid_budgets",
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("clients.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pings", sa.Integer(), nullable=False),
    )
    for signature in routing_sql.SUPERSEDED:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    routing_sql.install(op.execute)


def downgrade():
    for signature in NEW_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    op.drop_table("bid_budgets")
    op.drop_table("bid_cache")
    op.drop_column("call_attempts", "bid")
    op.drop_column("call_logs", "winning_bid")
    op.drop_column("call_logs", "bids")
    op.drop_column("campaign_client_settings", "bid_url")
    op.drop_column("campaigns", "bid_caller_id")
    op.drop_column("campaigns", "min_bid")
    op.drop_column("campaigns", "bid_timeout_ms")
    op.drop_column("clients", "ping_budget")
    op.drop_column("clients", "bid_secret")

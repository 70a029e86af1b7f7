from datetime import datetime
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, DateTime, ForeignKey, Integer, Numeric, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database.models.mixins import TimestampMixin
from app.extensions import db

DIAL_TIMEOUT_RANGE = (5, 120)
DUPLICATE_ACTIONS = ("allow", "reject", "sticky")
CAP_COUNTS = ("answered", "converted")
# What a bid ping tells the buyer of the caller: the whole number, the number with its last
# four digits hidden, or nothing.
BID_CALLER_ID_MODES = ("full", "masked", "none")
BID_TIMEOUT_MS_RANGE = (50, 3000)


class Campaign(TimestampMixin, db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (
        # Rules on configuration columns (status, dial_timeout, caps, payout, duplicates): the
        # trigger config_rules_campaigns, which routing's counter updates never fire (migration
        # 0013_hot_path_writes says why).
        UniqueConstraint("seller_id", "name"),
        CheckConstraint("in_flight >= 0", name="in_flight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    dial_timeout: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # Campaign-wide caps, whatever client takes the call; the day is the campaign's timezone's.
    max_concurrency: Mapped[int | None] = mapped_column(Integer)
    daily_cap: Mapped[int | None] = mapped_column(Integer)
    in_flight: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    day_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    day_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # Billable calls: answered and at least this long (seconds) counts as converted.
    billable_after: Mapped[int | None] = mapped_column(Integer)
    payout: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # Repeat callers.
    duplicate_window_hours: Mapped[int | None] = mapped_column(Integer)
    duplicate_action: Mapped[str] = mapped_column(String(8), default="allow", server_default="allow")
    reject_concurrent_duplicate: Mapped[bool] = mapped_column(Boolean, default=False,
                                                              server_default="false")
    # Real-time bidding (links with a bid_url): how long a route waits for the bids, the
    # lowest bid taken, and how much of the caller the pings show.
    bid_timeout_ms: Mapped[int] = mapped_column(Integer, default=800, server_default="800")
    min_bid: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    bid_caller_id: Mapped[str] = mapped_column(String(8), default="masked",
                                               server_default="masked")


class CampaignDid(db.Model):
    """A DID routed by a campaign. The primary key on did_id keeps it to one campaign."""

    __tablename__ = "campaign_dids"

    did_id: Mapped[int] = mapped_column(ForeignKey("dids.id", ondelete="CASCADE"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )


class CampaignClientSetting(TimestampMixin, db.Model):
    """How one campaign forwards to one client: order, share and caps.

    `in_flight` counts this link's rows in `reservations`; the routing engine changes both in
    one transaction so the conditional UPDATE that admits a call can read a single row.
    """

    __tablename__ = "campaign_client_settings"
    __table_args__ = (
        # Rules on configuration columns (status, priority, weight, caps, price): the trigger
        # config_rules_campaign_client_settings (migration 0013_hot_path_writes).
        CheckConstraint("current_total_calls >= 0", name="current_total_calls"),
        CheckConstraint("in_flight >= 0", name="in_flight"),
        UniqueConstraint("campaign_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"), index=True)
    # Read-only, loaded on access (lists load it with selectinload): the API shows the
    # client's name and identifier beside client_id.
    client: Mapped["Client"] = relationship(lazy="select", viewonly=True)  # noqa: F821
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    forwarding_priority: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    weight: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    max_concurrency: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    total_calls_allowed: Mapped[int | None] = mapped_column(Integer)
    current_total_calls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    in_flight: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Period caps, in the client's time zone; each period's count lives beside its start so
    # the reservation's conditional UPDATE decides on rows it has locked.
    hourly_cap: Mapped[int | None] = mapped_column(Integer)
    daily_cap: Mapped[int | None] = mapped_column(Integer)
    monthly_cap: Mapped[int | None] = mapped_column(Integer)
    cap_counts: Mapped[str] = mapped_column(String(16), default="answered",
                                            server_default="answered")
    buyer_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # Priced by bid: the buyer's endpoint pinged before each call (NULL: the fixed buyer_price).
    bid_url: Mapped[str | None] = mapped_column(String(2000))
    hour_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hour_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    day_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    day_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    month_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    month_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

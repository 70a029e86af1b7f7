from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database.models.client import ACTIVE_STATUSES
from app.database.models.mixins import TimestampMixin
from app.extensions import db

DIAL_TIMEOUT_RANGE = (5, 120)


class Campaign(TimestampMixin, db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(f"status IN {ACTIVE_STATUSES}", name="status"),
        CheckConstraint(
            f"dial_timeout BETWEEN {DIAL_TIMEOUT_RANGE[0]} AND {DIAL_TIMEOUT_RANGE[1]}",
            name="dial_timeout",
        ),
        UniqueConstraint("seller_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    dial_timeout: Mapped[int] = mapped_column(Integer, default=30, server_default="30")


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
        CheckConstraint(f"status IN {ACTIVE_STATUSES}", name="status"),
        CheckConstraint("forwarding_priority >= 1", name="forwarding_priority"),
        CheckConstraint("weight BETWEEN 0 AND 1000", name="weight"),
        CheckConstraint("max_concurrency >= 1", name="max_concurrency"),
        CheckConstraint("total_calls_allowed IS NULL OR total_calls_allowed >= 0",
                        name="total_calls_allowed"),
        CheckConstraint("current_total_calls >= 0", name="current_total_calls"),
        CheckConstraint("in_flight >= 0", name="in_flight"),
        UniqueConstraint("campaign_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    forwarding_priority: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    weight: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    max_concurrency: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    total_calls_allowed: Mapped[int | None] = mapped_column(Integer)
    current_total_calls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    in_flight: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

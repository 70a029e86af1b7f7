"""Real-time bidding's own state: bids a buyer said stay good for a while (per caller and
link), and each client's pings of the current minute (its ping budget)."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class BidCache(db.Model):
    """A bid answered with `expires_in`: a later call of the same caller to the same link
    before `expires_at` takes it without a ping."""

    __tablename__ = "bid_cache"
    # The FastAGI sweeper deletes expired bids in batches, oldest first (app/agi/runner.py).
    __table_args__ = (Index("ix_bid_cache_expires_at", "expires_at"),)

    setting_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_client_settings.id", ondelete="CASCADE"), primary_key=True)
    caller_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    bid: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BidBudget(db.Model):
    """How many pings a client got in the minute starting at `minute`: one row per client,
    started again each minute, so nothing piles up."""

    __tablename__ = "bid_budgets"

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"),
                                           primary_key=True)
    minute: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pings: Mapped[int] = mapped_column(Integer)

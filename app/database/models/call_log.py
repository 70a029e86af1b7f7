from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey,
                        ForeignKeyConstraint, Index, Integer, Numeric, SmallInteger, String,
                        UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.call_status import CALL_STATUSES, CallStatus
from app.extensions import db



class CallLog(db.Model):
    """One inbound call, keyed by Asterisk's uniqueid (unique through CallLogKey).

    Partitioned by month of started_at (migration 0016_monthly_partitions: `call_logs_pYYYYMM`
    and `call_logs_default`, made ahead by the FastAGI sweeper, dropped by `flask calls
    retention`), so the primary key is (id, started_at); id alone is still unique (a sequence).
    """

    __tablename__ = "call_logs"
    __table_args__ = (
        CheckConstraint(f"status::text = ANY ('{{{','.join(CALL_STATUSES)}}}'::text[])", name="status"),
        # Keyset pagination walks (started_at, id) newest first, overall and under each list
        # filter: every index is the filter's equality columns, then (started_at, id), so a
        # page is one index range scan bounded by the cursor's row value, at any depth.
        Index("ix_call_logs_started_at_id", "started_at", "id"),
        Index("ix_call_logs_seller_started", "seller_id", "started_at", "id"),
        Index("ix_call_logs_campaign_started_id", "campaign_id", "started_at", "id"),
        Index("ix_call_logs_client_started_id", "client_id", "started_at", "id"),
        Index("ix_call_logs_status_started_id", "status", "started_at", "id"),
        Index("ix_call_logs_did_started_id", "did", "started_at", "id"),
        Index("ix_call_logs_caller_number_started_id", "caller_number", "started_at", "id"),
        Index("ix_call_logs_seller_status_started_id", "seller_id", "status", "started_at", "id"),
        Index("ix_call_logs_seller_client_started_id", "seller_id", "client_id", "started_at",
              "id"),
        # Repeat-caller checks of the routing engine (by the caller's E.164 number).
        Index("ix_call_logs_campaign_caller_number", "campaign_id", "caller_number",
              "started_at"),
        # Calls still up: reconcile and the live part of the summaries.
        Index("ix_call_logs_open", "started_at", postgresql_where=text("ended_at IS NULL")),
        {"postgresql_partition_by": "RANGE (started_at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(150))
    linkedid: Mapped[str | None] = mapped_column(String(150))
    did: Mapped[str | None] = mapped_column(String(32))
    caller_id: Mapped[str | None] = mapped_column(String(80))  # as the carrier sent it
    # The caller as E.164 (the DIDs' region rules); NULL for an anonymous, withheld or unknown
    # caller, or one that is not a valid number. Rules and filters compare this.
    caller_number: Mapped[str | None] = mapped_column(String(32))
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True,
                                                 server_default=func.now())
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration: Mapped[int | None] = mapped_column(Integer)
    billsec: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=CallStatus.IN_PROGRESS.value,
                                        server_default=CallStatus.IN_PROGRESS.value)
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    # Billable: answered and talked at least the campaign's billable_after.
    converted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    payout: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    revenue: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # Why the call went where it did: each routing round's candidates and their verdicts.
    decision: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    # Bidding: every bid this call got, by link id (price or no-bid reason, latency, expiry;
    # failover rounds reuse them), and the bid of the link it was last forwarded to.
    bids: Mapped[dict | None] = mapped_column(JSONB)
    winning_bid: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))

    attempts: Mapped[list["CallAttempt"]] = relationship(
        back_populates="call", order_by="CallAttempt.attempt_no", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class CallAttempt(db.Model):
    """One Dial() of a call to one client. Carries its call's started_at, by which it is
    partitioned like its call (same month, dropped together) and references it."""

    __tablename__ = "call_attempts"
    __table_args__ = (UniqueConstraint("call_log_id", "call_started_at", "attempt_no"),
                      ForeignKeyConstraint(["call_log_id", "call_started_at"],
                                           ["call_logs.id", "call_logs.started_at"],
                                           ondelete="CASCADE", onupdate="CASCADE"),
                      Index("ix_call_attempts_started_at", "started_at"),
                      {"postgresql_partition_by": "RANGE (call_started_at)"})

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    call_log_id: Mapped[int] = mapped_column(BigInteger)
    call_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    attempt_no: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"),
                                                  index=True)
    setting_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_client_settings.id", ondelete="SET NULL"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dial_status: Mapped[str | None] = mapped_column(String(16))
    duration: Mapped[int | None] = mapped_column(Integer)
    bid: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # the price it won with, if bid

    call: Mapped[CallLog] = relationship(back_populates="attempts")


class CallLogKey(db.Model):
    """Each call's uniqueid, unique platform-wide, and where its call lives (a unique index of
    the partitioned call_logs would have to hold started_at). Kept by triggers on call_logs
    (migration 0016_monthly_partitions): an INSERT of a uniqueid already taken inserts no call;
    the routing engine finds a call here, then reads it in its partition."""

    __tablename__ = "call_log_keys"

    uniqueid: Mapped[str] = mapped_column(String(150), primary_key=True)
    call_log_id: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CallLogDay(db.Model):
    """The daily rollup of ended calls: rows per UTC day the calls started and per value of
    every column a summary filters on. Written only by triggers (migration 0008_reports), which
    keep it exact as calls end, change or go; summaries read whole days from it, adding up a
    key's slots (0, 1, …: one per transaction writing the key at once, migration 0021_stall,
    so that no call's end waits for another's commit)."""

    __tablename__ = "call_log_days"
    __table_args__ = (
        Index("uq_call_log_days_key", "day", "seller_id", "campaign_id", "client_id", "did",
              "status", "slot", unique=True, postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    seller_id: Mapped[int | None] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    client_id: Mapped[int | None] = mapped_column(Integer)
    did: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    slot: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    calls: Mapped[int] = mapped_column(Integer, server_default="0")
    billsec_sum: Mapped[int] = mapped_column(BigInteger, server_default="0")
    billsec_n: Mapped[int] = mapped_column(Integer, server_default="0")
    converted: Mapped[int] = mapped_column(Integer, server_default="0")
    payout: Mapped[Decimal] = mapped_column(Numeric(14, 2), server_default="0")
    revenue: Mapped[Decimal] = mapped_column(Numeric(14, 2), server_default="0")


class CallAttemptDay(db.Model):
    """The daily rollup of the ended attempts of ended calls, by the UTC day each attempt
    started, its client, and the call's filter columns (and slots, as CallLogDay's). Written
    only by triggers."""

    __tablename__ = "call_attempt_days"
    __table_args__ = (
        Index("uq_call_attempt_days_key", "day", "seller_id", "campaign_id", "call_client_id",
              "did", "call_status", "client_id", "slot", unique=True,
              postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    seller_id: Mapped[int | None] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    call_client_id: Mapped[int | None] = mapped_column(Integer)
    did: Mapped[str | None] = mapped_column(String(32))
    call_status: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[int | None] = mapped_column(Integer)
    slot: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    answered: Mapped[int] = mapped_column(Integer, server_default="0")
    billsec_sum: Mapped[int] = mapped_column(BigInteger, server_default="0")
    billsec_n: Mapped[int] = mapped_column(Integer, server_default="0")

"""Integrations: events (an outbox written in the transaction that makes the change), the
webhook subscriptions and conversion postback templates that receive them, every delivery
and its attempts, personal API keys and the buyers' postback endpoints."""
from datetime import datetime

from sqlalchemy import (ARRAY, BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer,
                        String, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.database.models.mixins import TimestampMixin
from app.extensions import db

EVENT_TYPES = ("call.started", "call.answered", "call.ended", "call.converted", "cap.threshold")
SUBSCRIPTION_KINDS = ("webhook", "postback")
SUBSCRIPTION_STATUSES = ("active", "inactive", "disabled")
DELIVERY_STATUSES = ("pending", "sent", "failed")
API_KEY_SCOPES = ("read", "write")
PLATFORM_SCOPE = 0  # scope_key of the platform's (admins') subscriptions; a seller's is their id


class WebhookSubscription(TimestampMixin, db.Model):
    """Where events go: a signed webhook (POST) or a campaign's postback template (GET).

    `scope_key` is whose events it receives: 0 for the whole platform, else the seller's id.
    The routing engine asks the partial index on it, before building any event, whether
    anybody listens."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        CheckConstraint(f"kind IN {SUBSCRIPTION_KINDS}", name="kind"),
        CheckConstraint(f"status IN {SUBSCRIPTION_STATUSES}", name="status"),
        Index("ix_webhook_subscriptions_active_scope", "scope_key",
              postgresql_where=text("status = 'active'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scope_key: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="webhook", server_default="webhook")
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # The HMAC key: needed in clear to sign, shown once at creation and rotation.
    secret: Mapped[str | None] = mapped_column(String(100))
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(String(500))


class Event(db.Model):
    """One thing that happened, written by the transaction that made it happen."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_call_type", "call_id", "type"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    seller_id: Mapped[int | None] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    call_id: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict] = mapped_column(JSONB)


class WebhookDelivery(db.Model):
    """One event for one subscription: pending until a 2xx, failed after the retry window.

    A worker claims due rows with a lease (`next_attempt_at` moved past the request's time
    and a `lease_token`), so a worker that dies leaves them due again; `order_key` (the call)
    keeps one call's events in order for one subscription."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(f"status IN {DELIVERY_STATUSES}", name="status"),
        Index("ix_webhook_deliveries_due", "next_attempt_at", "id",
              postgresql_where=text("status = 'pending'")),
        Index("ix_webhook_deliveries_order", "subscription_id", "order_key", "id",
              postgresql_where=text("status = 'pending'")),
        Index("ix_webhook_deliveries_subscription_id", "subscription_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    order_key: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Retries run for the retry window from here (a redelivery starts a new window).
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                        server_default=func.now())
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                             server_default=func.now())
    lease_token: Mapped[str | None] = mapped_column(String(36))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookAttempt(db.Model):
    """Every request made for a delivery, as its owner sees it in the deliveries list."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CapThresholdMark(db.Model):
    """A cap.threshold already emitted: one per scope, dimension, period, cap value and level."""

    __tablename__ = "cap_threshold_marks"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    scope_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(24), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    cap: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)


class ApiKey(db.Model):
    """A personal API key: only its SHA-256 is stored; `prefix` names it in lists."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(f"scope IN {API_KEY_SCOPES}", name="scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(8))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ClientPostback(TimestampMixin, db.Model):
    """A client's (buyer's) secret conversion postback endpoint: the token's SHA-256 and the
    window after a call's end in which the buyer may confirm or reject its conversion."""

    __tablename__ = "client_postbacks"
    __table_args__ = (CheckConstraint("window_hours BETWEEN 1 AND 2160", name="window_hours"),)

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"),
                                           primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    window_hours: Mapped[int] = mapped_column(Integer, default=72, server_default="72")

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

RESERVATION_STATES = ("dialing", "answered")


class Reservation(db.Model):
    """A slot held by one dial attempt in flight, keyed (uniqueid, attempt).

    Deleting the row is the release; the DELETE … RETURNING that finds it is what makes every
    release idempotent.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint(f"state::text = ANY ('{{{','.join(RESERVATION_STATES)}}}'::text[])", name="state"),
    )

    uniqueid: Mapped[str] = mapped_column(String(150), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    setting_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_client_settings.id", ondelete="RESTRICT"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"),
                                           index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"),
                                             index=True)
    state: Mapped[str] = mapped_column(String(16), default="dialing", server_default="dialing")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

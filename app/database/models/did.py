from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database.models.client import ACTIVE_STATUSES
from app.database.models.mixins import TimestampMixin
from app.extensions import db


class Did(TimestampMixin, db.Model):
    """A phone number a seller owns, stored in E.164."""

    __tablename__ = "dids"
    __table_args__ = (
        CheckConstraint(f"status IN {ACTIVE_STATUSES}", name="status"),
        CheckConstraint("number ~ '^\\+[1-9][0-9]{6,14}$'", name="e164"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")

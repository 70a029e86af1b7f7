from sqlalchemy import CheckConstraint, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.database.models.mixins import TimestampMixin
from app.domain.roles import ROLES
from app.extensions import db

USER_STATUSES = ("active", "inactive", "suspended")


class User(TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES}", name="role"),
        CheckConstraint(f"status IN {USER_STATUSES}", name="status"),
        # Logins ignore case, so uniqueness must too.
        Index("uq_users_username_lower", text("lower(username)"), unique=True),
        Index("uq_users_email_lower", text("lower(email)"), unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    full_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    company_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Bumped on password change, suspension or logout-everywhere: old session cookies then
    # no longer match and stop working on their next request.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

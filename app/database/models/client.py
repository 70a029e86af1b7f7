from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.database.models.mixins import TimestampMixin
from app.extensions import db

ACTIVE_STATUSES = ("active", "inactive")
PJSIP_MODES = ("static", "register")
# The identifier becomes the PJSIP endpoint id and is referenced from varchar(40) columns.
CLIENT_IDENTIFIER_PATTERN = "^[a-z0-9_-]{1,40}$"


class Client(TimestampMixin, db.Model):
    """A call center that buys calls. Its SIP side lives in the ps_* rows with the same id."""

    __tablename__ = "clients"
    __table_args__ = (
        # Rules on configuration columns (status, pjsip_mode, identifier, max_concurrency): the
        # trigger config_rules_clients (migration 0013_hot_path_writes).
        CheckConstraint("in_flight >= 0", name="in_flight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_identifier: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(200), default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    pjsip_mode: Mapped[str] = mapped_column(String(16), default="static", server_default="static")
    # Seats: calls at once across every campaign and seller that links this client.
    max_concurrency: Mapped[int | None] = mapped_column(Integer)
    in_flight: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Hours of operation, read in the client's own time zone (IANA name).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    schedule: Mapped[dict | None] = mapped_column(JSONB)  # {"mon": [["09:00", "17:00"]], …}
    closures: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")  # dates
    # Bid pings: signed with this secret (shown once, like a webhook's), at most ping_budget
    # of them per minute (NULL: no limit).
    bid_secret: Mapped[str | None] = mapped_column(String(100))
    ping_budget: Mapped[int | None] = mapped_column(Integer)

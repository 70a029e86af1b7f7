from sqlalchemy import CheckConstraint, Index, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.database.models.client import ACTIVE_STATUSES
from app.database.models.mixins import TimestampMixin
from app.extensions import db

CARRIER_ENDPOINT_PREFIX = "carrier-"


class Carrier(TimestampMixin, db.Model):
    """An inbound trunk: a PJSIP endpoint (`carrier-<id>`) identified by source address.

    The addresses live here as well as in ps_endpoint_id_ips: an inactive carrier keeps them
    while its identify rows are removed, so Asterisk stops accepting its traffic. Its codecs,
    transport and DTMF mode live only in its ps_endpoints row.
    """

    __tablename__ = "carriers"
    __table_args__ = (
        CheckConstraint(f"status IN {ACTIVE_STATUSES}", name="status"),
        Index("uq_carriers_name_lower", func.lower(text("name")), unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    identify_ips: Mapped[list[str]] = mapped_column(
        ARRAY(String(80)), default=list, server_default="{}")

    @property
    def endpoint_id(self) -> str:
        return f"{CARRIER_ENDPOINT_PREFIX}{self.id}"

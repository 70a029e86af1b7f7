"""Carriers: the inbound trunks, each the PJSIP endpoint `carrier-<id>`.

Clients need no new column: their SIP settings (contact, codecs, caller id and dial options)
live in their ps_* rows, joined by client_identifier.

Revision ID: 0003_clients_carriers
Revises: 0002_core
Create Date: 2026-11-24 12:30:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0003_clients_carriers"
down_revision = "0002_core"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "carriers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("identify_ips", postgresql.ARRAY(sa.String(length=80)), server_default="{}",
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("status IN ('active', 'inactive')", name=op.f("ck_carriers_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carriers")),
    )
    op.create_index("uq_carriers_name_lower", "carriers", [sa.text("lower(name)")], unique=True)


def downgrade():
    op.drop_table("carriers")

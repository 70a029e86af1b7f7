"""Asterisk's own CDRs, written by cdr_pgsql into our database: the second source of truth.

The table is Asterisk's `cdr` exactly (its contrib/ast-db-manage/cdr migrations: names, types,
no key), so cdr_pgsql, which reads the columns from pg_attribute when it loads, fills every one
of them; plus the CDR variables our dialplan sets with `Set(CDR(cc_attempt)=…)`, which
cdr_pgsql inserts because a column has their name. Nullable: a CDR without the variable
(a call rejected before any Dial, an older dialplan) leaves them NULL.

Revision ID: 0007_asterisk_cdr
Revises: 0006_routing_functions
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_asterisk_cdr"
down_revision = "0006_routing_functions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "cdr",
        # Asterisk's columns, in its order and with its types.
        sa.Column("accountcode", sa.String(80)),
        sa.Column("src", sa.String(80)),
        sa.Column("dst", sa.String(80)),
        sa.Column("dcontext", sa.String(80)),
        sa.Column("clid", sa.String(80)),
        sa.Column("channel", sa.String(80)),
        sa.Column("dstchannel", sa.String(80)),
        sa.Column("lastapp", sa.String(80)),
        sa.Column("lastdata", sa.String(80)),
        sa.Column("start", sa.DateTime()),
        sa.Column("answer", sa.DateTime()),
        sa.Column("end", sa.DateTime()),
        sa.Column("duration", sa.Integer()),
        sa.Column("billsec", sa.Integer()),
        sa.Column("disposition", sa.String(45)),
        sa.Column("amaflags", sa.String(45)),
        sa.Column("userfield", sa.String(256)),
        sa.Column("uniqueid", sa.String(150)),
        sa.Column("linkedid", sa.String(150)),
        sa.Column("peeraccount", sa.String(20)),
        sa.Column("sequence", sa.Integer()),
        # CDR variables our dialplan sets.
        sa.Column("cc_attempt", sa.Integer()),
        sa.Column("cc_campaign_id", sa.Integer()),
    )
    op.create_index("ix_cdr_uniqueid", "cdr", ["uniqueid"])
    op.create_index("ix_cdr_linkedid", "cdr", ["linkedid"])
    op.create_index("ix_cdr_start", "cdr", ["start"])


def downgrade():
    op.drop_table("cdr")

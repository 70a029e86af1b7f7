"""Asterisk's own call detail records, as cdr_pgsql writes them (read-only for us).

The table has Asterisk's CDR columns exactly (migration 0007) plus the CDR variables our
dialplan sets (`cc_attempt`, `cc_campaign_id`). Like Asterisk's own table it has no key: the
mapper uses (uniqueid, sequence), which Asterisk never repeats for one CDR. One row per Dial
attempt (the B party), all carrying the inbound channel's uniqueid; with `unanswered = yes` a
call rejected before any Dial has one row too. Times are `timestamp without time zone` in the
zone cdr_pgsql.conf's `timezone` names (UTC as shipped); `duration` and `billsec` are whole
seconds, truncated.
"""
from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

# Asterisk's columns in its own order (contrib/ast-db-manage/cdr), then our CDR variables.
ASTERISK_CDR_COLUMNS = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
    "userfield", "uniqueid", "linkedid", "peeraccount", "sequence",
)
CDR_VARIABLES = ("cc_attempt", "cc_campaign_id")


class Cdr(db.Model):
    __tablename__ = "cdr"
    __table_args__ = (
        Index("ix_cdr_uniqueid", "uniqueid"),
        Index("ix_cdr_linkedid", "linkedid"),
        Index("ix_cdr_start", "start"),
        # The reconciliation reads the CDRs that ended recently (migration 0009).
        Index("ix_cdr_end", "end"),
        # By month of start, like call_logs (migration 0016_monthly_partitions): cdr_pgsql
        # inserts into the parent by column name and PostgreSQL routes each row.
        {"postgresql_partition_by": "RANGE (start)"},
    )

    accountcode: Mapped[str | None] = mapped_column(String(80))
    src: Mapped[str | None] = mapped_column(String(80))
    dst: Mapped[str | None] = mapped_column(String(80))
    dcontext: Mapped[str | None] = mapped_column(String(80))
    clid: Mapped[str | None] = mapped_column(String(80))
    channel: Mapped[str | None] = mapped_column(String(80))
    dstchannel: Mapped[str | None] = mapped_column(String(80))
    lastapp: Mapped[str | None] = mapped_column(String(80))
    lastdata: Mapped[str | None] = mapped_column(String(80))
    start: Mapped[datetime | None] = mapped_column(DateTime())
    answer: Mapped[datetime | None] = mapped_column(DateTime())
    end: Mapped[datetime | None] = mapped_column(DateTime())
    duration: Mapped[int | None] = mapped_column(Integer)
    billsec: Mapped[int | None] = mapped_column(Integer)
    disposition: Mapped[str | None] = mapped_column(String(45))
    amaflags: Mapped[str | None] = mapped_column(String(45))
    userfield: Mapped[str | None] = mapped_column(String(256))
    uniqueid: Mapped[str | None] = mapped_column(String(150))
    linkedid: Mapped[str | None] = mapped_column(String(150))
    peeraccount: Mapped[str | None] = mapped_column(String(20))
    sequence: Mapped[int | None] = mapped_column(Integer)
    cc_attempt: Mapped[int | None] = mapped_column(Integer)
    cc_campaign_id: Mapped[int | None] = mapped_column(Integer)

    __mapper_args__ = {"primary_key": [uniqueid, sequence]}

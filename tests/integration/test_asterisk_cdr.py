"""Asterisk's own CDRs land in our `cdr` table exactly as cdr_pgsql writes them.

The table must be Asterisk's (names, types, order, no key) plus the CDR variables our dialplan
sets, so that cdr_pgsql, which reads the columns when it loads, fills each one; the 39 real
CDRs of fake_asterisk/data/cdr-rows.csv, inserted the way cdr_pgsql inserts them
(fake_asterisk/cdr_pgsql.py), must read back exactly.
"""
import configparser
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.database.models.cdr import ASTERISK_CDR_COLUMNS, CDR_VARIABLES, Cdr
from app.extensions import db
from app.services import cdr_service
from fake_asterisk import cdr_pgsql
from tests.support import asterisk_realtime as ast

ASTERISK_DIR = Path(__file__).resolve().parents[2] / "asterisk"

# Asterisk's own table (contrib/ast-db-manage/cdr, as ASTERISK.md lists it), then ours.
EXPECTED_COLUMNS = [
    ("accountcode", "character varying", 80), ("src", "character varying", 80),
    ("dst", "character varying", 80), ("dcontext", "character varying", 80),
    ("clid", "character varying", 80), ("channel", "character varying", 80),
    ("dstchannel", "character varying", 80), ("lastapp", "character varying", 80),
    ("lastdata", "character varying", 80),
    ("start", "timestamp without time zone", None),
    ("answer", "timestamp without time zone", None),
    ("end", "timestamp without time zone", None),
    ("duration", "integer", None), ("billsec", "integer", None),
    ("disposition", "character varying", 45), ("amaflags", "character varying", 45),
    ("userfield", "character varying", 256), ("uniqueid", "character varying", 150),
    ("linkedid", "character varying", 150), ("peeraccount", "character varying", 20),
    ("sequence", "integer", None),
    ("cc_attempt", "integer", None), ("cc_campaign_id", "integer", None),
]
CAPTURED_FIELDS = ("uniqueid", "linkedid", "src", "dst", "dcontext", "channel", "dstchannel",
                   "lastapp", "lastdata", "start", "answer", "end", "duration", "billsec",
                   "disposition", "sequence")
ATTEMPT_IN_LASTDATA = re.compile(r"U\(cc-answered\^[^^]+\^(\d+)\)")


@pytest.fixture
def asterisk(app):
    conn = ast.connect(app.config["SQLALCHEMY_DATABASE_URI"])
    yield conn
    conn.close()


def _read_back(conn) -> list[dict[str, str]]:
    """Every row as the CSV spells it: times '%Y-%m-%d %T', NULL as ''."""
    names = ", ".join(f'"{name}"' for name in CAPTURED_FIELDS)
    rows = conn.execute(f"SELECT {names} FROM cdr ORDER BY uniqueid, sequence").fetchall()
    found = []
    for row in rows:
        record = {}
        for name, value in zip(CAPTURED_FIELDS, row):
            if value is None:
                record[name] = ""
            elif name in cdr_pgsql.TIME_FIELDS:
                record[name] = value.strftime(cdr_pgsql.CDR_TIME_FORMAT)
            else:
                record[name] = str(value)
        found.append(record)
    return found


def test_the_table_is_asterisks_cdr_table_plus_our_cdr_variables(asterisk):
    columns = asterisk.execute(
        "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'cdr' ORDER BY ordinal_position").fetchall()
    assert [(name, kind, length) for name, kind, length, _, _ in columns] == EXPECTED_COLUMNS
    # Nothing cdr_pgsql would have to fill with '' (NOT NULL without a default), no key.
    assert all(nullable == "YES" and default is None for _, _, _, nullable, default in columns)
    assert asterisk.execute("SELECT count(*) FROM pg_constraint "
                            "WHERE conrelid = 'cdr'::regclass").fetchone()[0] == 0
    indexes = {row[0]: row[1] for row in asterisk.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cdr'")}
    assert set(indexes) == {"ix_cdr_uniqueid", "ix_cdr_linkedid", "ix_cdr_start", "ix_cdr_end"}
    assert indexes["ix_cdr_start"].endswith("(start)")
    assert indexes["ix_cdr_end"].endswith('("end")')  # the reconciliation's recent CDRs
    # The model lists the same columns in the same order.
    assert [name for name, _, _ in EXPECTED_COLUMNS] == [*ASTERISK_CDR_COLUMNS, *CDR_VARIABLES]
    assert [column.name for column in Cdr.__table__.columns] == [
        name for name, _, _ in EXPECTED_COLUMNS]


def test_the_captured_cdrs_read_back_exactly(app, asterisk):
    captured = cdr_pgsql.read_captured_cdrs()
    assert len(captured) == 39
    cdr_pgsql.write_cdrs(asterisk, captured)
    expected = sorted(captured, key=lambda row: (row["uniqueid"], int(row["sequence"])))
    assert _read_back(asterisk) == [{name: row[name] for name in CAPTURED_FIELDS}
                                    for row in expected]
    # What the capture did not carry, and the variables the captured dialplan did not set,
    # stay NULL (cdr_pgsql leaves out a column it has no value for).
    assert asterisk.execute(
        "SELECT count(*) FROM cdr WHERE accountcode IS NULL AND clid IS NULL AND amaflags IS NULL "
        "AND userfield IS NULL AND peeraccount IS NULL AND cc_attempt IS NULL "
        "AND cc_campaign_id IS NULL").fetchone()[0] == 39
    # An unanswered attempt has no answer time: NULL, not the epoch.
    assert asterisk.execute("SELECT count(*) FROM cdr WHERE answer IS NULL").fetchone()[0] == \
        sum(1 for row in captured if not row["answer"]) == 8
    # The model reads them.
    with app.app_context():
        rows = db.session.scalars(select(Cdr).where(Cdr.uniqueid == "pbx-a-1796285304.12")
                                  .order_by(Cdr.sequence)).all()
        assert [(r.disposition, r.dstchannel, r.billsec) for r in rows] == [
            ("BUSY", "PJSIP/lab-busy-0000000d", 0),
            ("ANSWERED", "PJSIP/lab-agent-0000000e", 5)]
        assert rows[1].answer.strftime(cdr_pgsql.CDR_TIME_FORMAT) == "2026-12-03 08:08:24"


def test_cdr_variables_set_by_the_dialplan_land_in_their_integer_columns(asterisk):
    captured = cdr_pgsql.read_captured_cdrs()

    def variables(cdr):  # what Set(CDR(cc_attempt)=…) and Set(CDR(cc_campaign_id)=…) give
        return {"cc_attempt": ATTEMPT_IN_LASTDATA.search(cdr["lastdata"]).group(1),
                "cc_campaign_id": "7", "cc_not_a_column": "ignored"}

    cdr_pgsql.write_cdrs(asterisk, captured, variables)
    attempts = asterisk.execute(
        "SELECT uniqueid, sequence, cc_attempt, cc_campaign_id FROM cdr "
        "WHERE uniqueid IN ('pbx-a-1796285304.12', 'pbx-a-1796285254.2') "
        "ORDER BY uniqueid, sequence").fetchall()
    assert attempts == [("pbx-a-1796285254.2", 2, 1, 7),
                        ("pbx-a-1796285304.12", 12, 1, 7),
                        ("pbx-a-1796285304.12", 14, 2, 7)]
    assert _read_back(asterisk)[0]["uniqueid"] == "pbx-a-1796285254.2"  # the fields unchanged


def test_the_shipped_configuration_writes_cdrs_into_this_table():
    def read(name):
        conf = configparser.ConfigParser(comment_prefixes=(";",), inline_comment_prefixes=(";",),
                                         strict=False)
        conf.read(ASTERISK_DIR / name)
        return conf

    cdr = read("cdr.conf")["general"]
    assert cdr["enable"] == "yes"
    assert cdr["unanswered"] == "yes"  # rejected calls leave a CDR too
    assert cdr["endbeforehexten"] == "yes"  # spelled out: code and sample disagree
    backend = read("cdr_pgsql.conf")["global"]
    assert backend["table"] == "cdr"
    assert backend["timezone"] == "UTC"
    realtime = read("res_pgsql.conf")["general"]
    for key in ("hostname", "port", "dbname"):
        assert backend[key] == realtime[key], key  # the same database as realtime
    modules = (ASTERISK_DIR / "modules.conf").read_text()
    assert re.search(r"^load\s*=\s*cdr_pgsql\.so\s*$", modules, re.MULTILINE)


def test_the_cdr_service_reads_the_same_calls_from_the_table_as_from_the_capture(app, asterisk):
    captured = cdr_pgsql.read_captured_cdrs()
    cdr_pgsql.write_cdrs(asterisk, captured)
    from_capture = {uniqueid: cdr_service.call_from_cdrs(rows)
                    for uniqueid, rows in cdr_service.group_by_uniqueid(captured).items()}
    with app.app_context():
        from_table = cdr_service.read_calls([*from_capture, "pbx-a-never-seen.1"])
        assert cdr_service.read_calls([]) == {}
    assert from_table == from_capture
    assert from_table["pbx-a-1796285574.45"].attempt == 2

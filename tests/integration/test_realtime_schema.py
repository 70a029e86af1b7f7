"""The PJSIP realtime tables are Asterisk's own schema, exactly.

The live schema (after the suite's `flask db upgrade`) is read from information_schema and
pg_catalog and compared with tests/data/asterisk-realtime-columns.txt (Asterisk's columns, parsed
here) and with the facts of ASTERISK.md (enum labels, keys), which are written out below. Also
here: the migration goes down to base and up again, the ORM models match the file, and the
value encoding of app.database.realtime_values survives res_config_pgsql's decoding.
"""
import re
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import Double, Enum, String, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DataError, IntegrityError

from app import create_app
from app.database.models import pjsip
from app.database.models.pjsip import (
    PsAor, PsAuth, PsContact, PsDomainAlias, PsEndpoint, PsEndpointIdIp,
)
from app.database.realtime_values import (
    AST_BOOL_FALSE, AST_BOOL_TRUE, decode_realtime_value, encode_realtime_value, format_ast_bool,
    parse_ast_bool, split_realtime_value,
)
from app.extensions import db

COLUMNS_FILE = Path(__file__).resolve().parents[1] / "data" / "asterisk-realtime-columns.txt"

REALTIME_TABLES = (
    "ps_endpoints", "ps_aors", "ps_auths", "ps_endpoint_id_ips", "ps_contacts",
    "ps_domain_aliases",
)

# ASTERISK.md, "Realtime (ARA) tables" / "Realtime values", and Asterisk's
# contrib/realtime/postgresql/postgresql_config.sql: every enum type these six tables use.
EXPECTED_ENUM_LABELS = {
    "ast_bool_values": ["0", "1", "off", "on", "false", "true", "no", "yes"],
    "pjsip_auth_type_values_v2": ["md5", "userpass", "google_oauth"],
    "pjsip_dtmf_mode_values_v3": ["rfc4733", "inband", "info", "auto", "auto_info"],
    "pjsip_100rel_values_v2": ["no", "required", "peer_supported", "yes"],
    "pjsip_timer_values": ["forced", "no", "required", "yes"],
    "pjsip_media_encryption_values": ["no", "sdes", "dtls"],
    "pjsip_connected_line_method_values": ["invite", "reinvite", "update"],
    "pjsip_direct_media_glare_mitigation_values": ["none", "outgoing", "incoming"],
    "pjsip_redirect_method_values": ["user", "uri_core", "uri_pjsip"],
    "sha_hash_values": ["SHA-1", "SHA-256"],
    "security_negotiation_values": ["no", "mediasec"],
    "pjsip_cid_privacy_values": [
        "allowed_not_screened", "allowed_passed_screened", "allowed_failed_screened", "allowed",
        "prohib_not_screened", "prohib_passed_screened", "prohib_failed_screened", "prohib",
        "unavailable",
    ],
    "pjsip_t38udptl_ec_values": ["none", "fec", "redundancy"],
    "pjsip_dtls_setup_values": ["active", "passive", "actpass"],
    "pjsip_incoming_call_offer_pref_values": ["local", "local_first", "remote", "remote_first"],
    "pjsip_outgoing_call_offer_pref_values": [
        "local", "local_merge", "local_first", "remote", "remote_merge", "remote_first",
    ],
}

BUILTIN_TYPES = {"integer", "bigint", "text", "double precision", "boolean"}
VARCHAR = re.compile(r"character varying\((\d+)\)")

# Asterisk's constraints and indexes on these tables, by name (pg_dump of an Asterisk database).
EXPECTED_UNIQUE = {
    **{(table, f"{table}_id_key"): ["id"] for table in REALTIME_TABLES},
    ("ps_contacts", "ps_contacts_uq"): ["id", "reg_server"],
}
EXPECTED_PLAIN_INDEXES = {
    **{(table, f"{table}_id"): ["id"] for table in REALTIME_TABLES},
    ("ps_aors", "ps_aors_qualifyfreq_contact"): ["qualify_frequency", "contact"],
    ("ps_contacts", "ps_contacts_qualifyfreq_exp"): ["qualify_frequency", "expiration_time"],
}


# --- the expected facts ----------------------------------------------------------------------

def expected_columns() -> dict[str, list[tuple[str, str]]]:
    """table -> [(column, type)] in file order, for the six tables, parsed from the file."""
    columns: dict[str, list[tuple[str, str]]] = {table: [] for table in REALTIME_TABLES}
    for number, line in enumerate(COLUMNS_FILE.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        qualified, _, column_type = line.strip().partition(" ")
        table, _, column = qualified.partition(".")
        assert table and column and column_type, f"{COLUMNS_FILE.name}:{number}: {line!r}"
        if table in columns:
            columns[table].append((column, column_type.strip()))
    return columns


def enum_types_in_file() -> set[str]:
    return {
        column_type
        for columns in expected_columns().values()
        for _, column_type in columns
        if column_type not in BUILTIN_TYPES and not VARCHAR.fullmatch(column_type)
    }


def test_columns_file_covers_the_six_tables():
    columns = expected_columns()
    for table in REALTIME_TABLES:
        names = [name for name, _ in columns[table]]
        assert names, f"{table} missing from {COLUMNS_FILE.name}"
        assert names[0] == "id"
        assert len(names) == len(set(names)), f"{table}: a column is listed twice"
    assert ("100rel", "pjsip_100rel_values_v2") in columns["ps_endpoints"]


def test_every_enum_type_in_the_file_has_its_labels_written_here():
    assert enum_types_in_file() == set(EXPECTED_ENUM_LABELS)


# --- reading the live schema -----------------------------------------------------------------

def live_columns(connection) -> dict[str, list[tuple[str, str, bool]]]:
    """table -> [(column, type as the file spells it, nullable)] in ordinal order."""
    rows = connection.execute(text("""
        SELECT table_name, column_name, data_type, character_maximum_length, udt_schema,
               udt_name, is_nullable, ordinal_position
        FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = ANY(:tables)
        ORDER BY table_name, ordinal_position
    """), {"tables": list(REALTIME_TABLES)}).all()
    columns: dict[str, list[tuple[str, str, bool]]] = {table: [] for table in REALTIME_TABLES}
    for row in rows:
        if row.data_type == "character varying":
            column_type = f"character varying({row.character_maximum_length})"
        elif row.data_type == "USER-DEFINED":
            column_type = row.udt_name
        else:
            column_type = row.data_type
        columns[row.table_name].append((row.column_name, column_type, row.is_nullable == "YES"))
    return columns


def live_format_types(connection) -> dict[tuple[str, str], str]:
    """(table, column) -> pg_catalog.format_type(), unqualified: a second opinion on types."""
    rows = connection.execute(text("""
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relname = ANY(:tables)
          AND a.attnum > 0 AND NOT a.attisdropped
    """), {"tables": list(REALTIME_TABLES)}).all()
    return {(row.relname, row.attname): row.type.removeprefix("public.") for row in rows}


def live_enum_labels(connection, names) -> dict[str, list[str]]:
    rows = connection.execute(text("""
        SELECT t.typname, e.enumlabel
        FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        JOIN pg_enum e ON e.enumtypid = t.oid
        WHERE n.nspname = current_schema() AND t.typname = ANY(:names)
        ORDER BY t.typname, e.enumsortorder
    """), {"names": list(names)}).all()
    labels: dict[str, list[str]] = {}
    for row in rows:
        labels.setdefault(row.typname, []).append(row.enumlabel)
    return labels


def live_constraints(connection) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """(table, constraint) -> (contype, [columns in key order]) for the six tables."""
    rows = connection.execute(text("""
        SELECT c.relname AS table_name, con.conname, con.contype,
               array_agg(a.attname ORDER BY k.ord) AS columns
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE n.nspname = current_schema() AND c.relname = ANY(:tables)
        GROUP BY c.relname, con.conname, con.contype
    """), {"tables": list(REALTIME_TABLES)}).all()
    return {(row.table_name, row.conname): (row.contype, list(row.columns)) for row in rows}


def live_indexes(connection) -> dict[tuple[str, str], dict]:
    """(table, index) -> {unique, primary, method, columns} for the six tables."""
    rows = connection.execute(text("""
        SELECT t.relname AS table_name, i.relname AS index_name, ix.indisunique,
               ix.indisprimary, am.amname, ix.indpred IS NOT NULL AS partial,
               array_agg(a.attname ORDER BY k.ord) AS columns
        FROM pg_index ix
        JOIN pg_class t ON t.oid = ix.indrelid
        JOIN pg_class i ON i.oid = ix.indexrelid
        JOIN pg_am am ON am.oid = i.relam
        JOIN pg_namespace n ON n.oid = t.relnamespace
        CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
        WHERE n.nspname = current_schema() AND t.relname = ANY(:tables)
        GROUP BY t.relname, i.relname, ix.indisunique, ix.indisprimary, am.amname, ix.indpred
    """), {"tables": list(REALTIME_TABLES)}).all()
    return {
        (row.table_name, row.index_name): {
            "unique": row.indisunique, "primary": row.indisprimary, "method": row.amname,
            "partial": row.partial, "columns": list(row.columns),
        }
        for row in rows
    }


def assert_realtime_schema_matches(connection) -> None:
    """Everything the file and ASTERISK.md say about the six tables holds in this database."""
    expected = expected_columns()
    live = live_columns(connection)
    formatted = live_format_types(connection)
    for table in REALTIME_TABLES:
        assert live[table], f"table {table} does not exist"
        want = dict(expected[table])
        got = {name: column_type for name, column_type, _ in live[table]}
        assert sorted(set(want) - set(got)) == [], f"{table}: columns missing"
        assert sorted(set(got) - set(want)) == [], f"{table}: columns Asterisk does not have"
        wrong = {name: (got[name], want[name]) for name in want if got[name] != want[name]}
        assert wrong == {}, f"{table}: (live, Asterisk) types differ"
        assert [name for name, _, _ in live[table]] == [name for name, _ in expected[table]], \
            f"{table}: column order differs from Asterisk's"
        for name, column_type in want.items():
            assert formatted[(table, name)] == column_type, (table, name)
        not_null = [name for name, _, nullable in live[table] if not nullable]
        assert not_null == ["id"], f"{table}: only id may be NOT NULL"

    labels = live_enum_labels(connection, EXPECTED_ENUM_LABELS)
    assert labels == EXPECTED_ENUM_LABELS

    constraints = live_constraints(connection)
    assert [key for key, (kind, _) in constraints.items() if kind == "p"] == [], \
        "the ps_* tables have no primary key"
    unique = {key: columns for key, (kind, columns) in constraints.items() if kind == "u"}
    assert unique == EXPECTED_UNIQUE
    # PostgreSQL 18 also lists NOT NULL as constraints (contype 'n'): only id's may be there.
    not_null = sorted((table, columns) for (table, _), (kind, columns) in constraints.items()
                      if kind == "n")
    assert all(columns == ["id"] for _, columns in not_null), not_null
    assert sorted(key for key, (kind, _) in constraints.items() if kind not in ("u", "n")) == [], \
        "no other constraints (check, foreign key, exclusion) on Asterisk's tables"

    indexes = live_indexes(connection)
    plain = {key: info["columns"] for key, info in indexes.items() if not info["unique"]}
    assert plain == EXPECTED_PLAIN_INDEXES
    for key, info in indexes.items():
        assert not info["primary"], key
        assert not info["partial"], key
        assert info["method"] == "btree", key
        if info["unique"]:
            assert key in EXPECTED_UNIQUE, f"unique index {key} without Asterisk's constraint"


# --- the migrated test database --------------------------------------------------------------

@pytest.fixture(scope="module")
def live(db_engine):
    with db_engine.connect() as connection:
        yield connection


@pytest.mark.parametrize("table", REALTIME_TABLES)
def test_live_columns_are_asterisks(live, table):
    expected = expected_columns()[table]
    got = [(name, column_type) for name, column_type, _ in live_columns(live)[table]]
    missing = [column for column in expected if column[0] not in dict(got)]
    extra = [column for column in got if column[0] not in dict(expected)]
    assert missing == [], f"{table}: columns missing"
    assert extra == [], f"{table}: columns Asterisk does not have"
    assert got == expected


@pytest.mark.parametrize("table", REALTIME_TABLES)
def test_live_types_agree_with_format_type(live, table):
    formatted = live_format_types(live)
    for name, column_type in expected_columns()[table]:
        assert formatted[(table, name)] == column_type, name


@pytest.mark.parametrize("table", REALTIME_TABLES)
def test_id_is_the_only_not_null_column(live, table):
    columns = live_columns(live)[table]
    assert [name for name, _, nullable in columns if not nullable] == ["id"]


@pytest.mark.parametrize("type_name", sorted(EXPECTED_ENUM_LABELS))
def test_enum_labels_in_order(live, type_name):
    assert live_enum_labels(live, [type_name]).get(type_name) == EXPECTED_ENUM_LABELS[type_name]


def test_ast_bool_values_and_the_auth_and_dtmf_types(live):
    labels = live_enum_labels(live, EXPECTED_ENUM_LABELS)
    assert labels["ast_bool_values"] == ["0", "1", "off", "on", "false", "true", "no", "yes"]
    assert labels["pjsip_auth_type_values_v2"] == ["md5", "userpass", "google_oauth"]
    assert labels["pjsip_dtmf_mode_values_v3"] == ["rfc4733", "inband", "info", "auto",
                                                   "auto_info"]


@pytest.mark.parametrize("table", REALTIME_TABLES)
def test_id_is_unique_and_indexed(live, table):
    constraints = live_constraints(live)
    assert constraints.get((table, f"{table}_id_key")) == ("u", ["id"])
    index = live_indexes(live).get((table, f"{table}_id"))
    assert index is not None, f"{table}: no index {table}_id"
    assert index["columns"] == ["id"] and not index["unique"] and index["method"] == "btree"


def test_no_primary_key_on_any_realtime_table(live):
    constraints = live_constraints(live)
    assert [key for key, (kind, _) in constraints.items() if kind == "p"] == []
    assert [key for key, info in live_indexes(live).items() if info["primary"]] == []


def test_ps_contacts_is_unique_on_id_and_reg_server(live):
    assert live_constraints(live).get(("ps_contacts", "ps_contacts_uq")) == (
        "u", ["id", "reg_server"])


def test_asterisks_qualify_indexes(live):
    indexes = live_indexes(live)
    assert indexes[("ps_aors", "ps_aors_qualifyfreq_contact")]["columns"] == [
        "qualify_frequency", "contact"]
    assert indexes[("ps_contacts", "ps_contacts_qualifyfreq_exp")]["columns"] == [
        "qualify_frequency", "expiration_time"]


def test_whole_realtime_schema_matches(live):
    assert_realtime_schema_matches(live)


# --- migrations on a brand-new database ------------------------------------------------------

def _realtime_objects(connection) -> tuple[list[str], list[str]]:
    tables = connection.execute(text("""
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_name = ANY(:tables)
        ORDER BY table_name
    """), {"tables": list(REALTIME_TABLES)}).scalars().all()
    types = connection.execute(text("""
        SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = current_schema() AND t.typname = ANY(:names) ORDER BY t.typname
    """), {"names": list(EXPECTED_ENUM_LABELS)}).scalars().all()
    return list(tables), list(types)


def test_downgrade_to_base_then_upgrade_again(empty_database_uri):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_uri})
    with app.app_context():
        try:
            upgrade()
            with db.engine.connect() as connection:
                assert_realtime_schema_matches(connection)

            downgrade(revision="base")
            with db.engine.connect() as connection:
                assert _realtime_objects(connection) == ([], [])
                leftover = connection.execute(text("""
                    SELECT c.relname FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 'S', 'v')
                      AND c.relname NOT LIKE 'alembic_version%'
                """)).scalars().all()
                assert leftover == []
                enum_types = connection.execute(text("""
                    SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                    WHERE n.nspname = current_schema() AND t.typtype = 'e'
                """)).scalars().all()
                assert enum_types == []

            upgrade()
            with db.engine.connect() as connection:
                assert_realtime_schema_matches(connection)
                assert connection.execute(
                    text("SELECT version_num FROM alembic_version")).scalar() is not None
        finally:
            db.engine.dispose()


def test_realtime_revision_alone_goes_up_and_down(empty_database_uri):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_uri})
    with app.app_context():
        try:
            upgrade(revision="0001_realtime")
            with db.engine.connect() as connection:
                assert_realtime_schema_matches(connection)
                assert connection.execute(
                    text("SELECT version_num FROM alembic_version")).scalar() == "0001_realtime"
            downgrade(revision="base")
            with db.engine.connect() as connection:
                assert _realtime_objects(connection) == ([], [])
        finally:
            db.engine.dispose()


# --- the ORM models --------------------------------------------------------------------------

def _model_type(column) -> str:
    column_type = column.type
    if isinstance(column_type, Enum):
        return column_type.name
    if isinstance(column_type, String) and column_type.length is not None:
        return f"character varying({column_type.length})"
    if isinstance(column_type, Double):
        return "double precision"
    return column_type.compile(dialect=postgresql.dialect()).lower()


def test_models_are_column_for_column_the_file():
    expected = expected_columns()
    for model in pjsip.REALTIME_MODELS:
        table = model.__table__
        got = [(column.name, _model_type(column)) for column in table.columns]
        assert got == expected[table.name], table.name
        assert [column.name for column in table.columns if not column.nullable] == ["id"]
        assert list(table.primary_key.columns) == [], f"{table.name}: no primary key in the DDL"
        assert [column.name for column in model.__mapper__.primary_key] == ["id"]
    assert {model.__tablename__ for model in pjsip.REALTIME_MODELS} == set(REALTIME_TABLES)


def test_model_enums_are_asterisks_types():
    assert {name: list(enum.enums) for name, enum in pjsip.REALTIME_ENUMS.items()} == \
        EXPECTED_ENUM_LABELS
    for enum in pjsip.REALTIME_ENUMS.values():
        assert enum.create_type is False
    assert PsEndpoint.__table__.c["100rel"].type is pjsip.PJSIP_100REL
    assert PsEndpoint.rel_100.property.columns[0].name == "100rel"
    assert PsEndpoint.__table__.c["dtmf_mode"].type.name == "pjsip_dtmf_mode_values_v3"
    assert PsAuth.__table__.c["auth_type"].type.name == "pjsip_auth_type_values_v2"


def test_model_constraint_and_index_names_are_asterisks():
    unique, indexes = {}, {}
    for model in pjsip.REALTIME_MODELS:
        table = model.__table__
        for constraint in table.constraints:
            if constraint.__class__.__name__ == "UniqueConstraint":
                unique[(table.name, constraint.name)] = [c.name for c in constraint.columns]
        for index in table.indexes:
            assert not index.unique
            indexes[(table.name, index.name)] = [c.name for c in index.columns]
    assert unique == EXPECTED_UNIQUE
    assert indexes == EXPECTED_PLAIN_INDEXES


def test_models_and_migration_agree(live):
    """Alembic autogenerate sees nothing to change in the six tables (`flask db migrate`)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def include_name(name, type_, parent_names):
        return type_ != "table" or name in REALTIME_TABLES

    def include_object(obj, name, type_, reflected, compare_to):
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is None or table.name in REALTIME_TABLES

    context = MigrationContext.configure(live, opts={
        "compare_type": True, "compare_server_default": True,
        "include_name": include_name, "include_object": include_object,
    })
    assert compare_metadata(context, db.metadata) == []


def test_orm_round_trip_through_the_realtime_tables(app):
    uri = "sip:agent@pbx.example.com:5060;transport=tcp"
    with app.app_context():
        db.session.add_all([
            PsEndpoint(id="rt-test", transport="transport-udp", aors="rt-test", context="ctx",
                       direct_media=AST_BOOL_FALSE, dtmf_mode="auto_info", rel_100="peer_supported",
                       timers="yes", media_encryption="no", rtp_port_start=10000),
            PsAor(id="rt-test", contact=encode_realtime_value(uri), max_contacts=1,
                  qualify_frequency=60, qualify_timeout=3.5, remove_existing=AST_BOOL_TRUE),
            PsAuth(id="rt-test", auth_type="userpass", username="u", password="p;^w"),
            PsEndpointIdIp(id="rt-test", endpoint="rt-test", match="203.0.113.9"),
            PsContact(id="rt-test^3B@0123abcd", uri="sip:x@198.51.100.7:5060",
                      expiration_time=1_790_000_000, reg_server="ast1", endpoint="rt-test",
                      prune_on_boot="no", qualify_2xx_only="false"),
            PsDomainAlias(id="alias.example", domain="example.com"),
        ])
        db.session.commit()
        db.session.expunge_all()

        endpoint = db.session.get(PsEndpoint, "rt-test")
        assert endpoint.rel_100 == "peer_supported"
        assert parse_ast_bool(endpoint.direct_media) is False
        assert endpoint.rtp_port_start == 10000
        aor = db.session.get(PsAor, "rt-test")
        assert split_realtime_value(aor.contact) == [uri]
        assert aor.qualify_timeout == 3.5
        contact = db.session.scalars(select(PsContact).where(PsContact.endpoint == "rt-test")).one()
        assert parse_ast_bool(contact.prune_on_boot) is False
        assert parse_ast_bool(contact.qualify_2xx_only) is False
        assert contact.expiration_time == 1_790_000_000

        raw = db.session.execute(
            text('SELECT "100rel", dtmf_mode::text FROM ps_endpoints WHERE id = :id'),
            {"id": "rt-test"}).one()
        assert tuple(raw) == ("peer_supported", "auto_info")


@pytest.mark.parametrize("label", EXPECTED_ENUM_LABELS["ast_bool_values"])
def test_every_ast_bool_label_is_stored_and_parsed(app, label):
    with app.app_context():
        db.session.execute(
            text("INSERT INTO ps_endpoint_id_ips (id, srv_lookups) VALUES (:id, :label)"),
            {"id": f"bool-{label}", "label": label})
        stored = db.session.scalars(
            select(PsEndpointIdIp.srv_lookups).where(PsEndpointIdIp.id == f"bool-{label}")).one()
        db.session.rollback()
    assert stored == label
    assert parse_ast_bool(stored) is (label in {"1", "on", "true", "yes"})


def test_database_refuses_what_asterisk_would_refuse(app):
    with app.app_context():
        db.session.add(PsEndpoint(id="bad-bool", direct_media="maybe"))
        with pytest.raises(DataError):
            db.session.flush()
        db.session.rollback()

        db.session.add(PsEndpoint(id="long-context", context="c" * 41))
        with pytest.raises(DataError):
            db.session.flush()
        db.session.rollback()

        db.session.add(PsAor(id="twice"))
        db.session.flush()
        with pytest.raises(IntegrityError):
            db.session.execute(text("INSERT INTO ps_aors (id) VALUES ('twice')"))
        db.session.rollback()

        with pytest.raises(IntegrityError):
            db.session.execute(text("INSERT INTO ps_domain_aliases (id) VALUES (NULL)"))
        db.session.rollback()


# --- realtime_values (no database) -----------------------------------------------------------

def asterisk_reads(stored: str) -> list[str]:
    """An independent model of res_config_pgsql reading one column value.

    strsep() on ';', ast_strip() (bytes < 33 off both ends), ast_realtime_decode_chunk() (one
    left-to-right pass: '^' followed by two hex digits becomes that byte), empty pieces dropped.
    """
    values = []
    for piece in stored.encode("utf-8").split(b";"):
        piece = piece.strip(bytes(range(1, 33)))
        out, i = bytearray(), 0
        while i < len(piece):
            digits = piece[i + 1:i + 3]
            if (piece[i] == ord("^") and len(digits) == 2
                    and all(chr(c) in "0123456789ABCDEFabcdef" for c in digits)):
                out.append(int(digits, 16))
                i += 3
            else:
                out.append(piece[i])
                i += 1
        out = out.split(b"\0", 1)[0]
        if out:
            values.append(out.decode("utf-8"))
    return values


@pytest.mark.parametrize("value", [
    "sip:agent@pbx.example.com:5060",
    "sip:a@h;transport=tcp",
    "sip:a@h;transport=tls;lr",
    "a^b",
    "^3B",
    "^5E",
    "a;^;b",
    ";leading",
    "trailing;",
    "^",
    "x^^;;y",
    "^zz",
    "100%;ümlaut",
    "<sip:a@h>;q=0.5",
])
def test_encoded_value_survives_asterisks_decoding(value):
    encoded = encode_realtime_value(value)
    assert ";" not in encoded
    assert asterisk_reads(encoded) == [value]
    assert split_realtime_value(encoded) == [value]
    assert decode_realtime_value(encoded) == value


def test_encoding_is_exact():
    assert encode_realtime_value("sip:a@h;transport=tcp") == "sip:a@h^3Btransport=tcp"
    assert encode_realtime_value("a^b") == "a^5Eb"
    assert encode_realtime_value("^;") == "^5E^3B"
    assert encode_realtime_value("plain") == "plain"
    assert encode_realtime_value("") == ""


def test_decoding_is_asterisks():
    assert decode_realtime_value("agent^3B@abcdef") == "agent;@abcdef"
    assert decode_realtime_value("^5E3B") == "^3B"  # one pass: a decoded '^' is not decoded again
    assert decode_realtime_value("^3b^5e") == ";^"  # lower-case hex too
    assert decode_realtime_value("^4") == "^4"
    assert decode_realtime_value("^G1") == "^G1"
    assert decode_realtime_value("a^20b") == "a b"
    assert decode_realtime_value("a^00b") == "a"  # NUL ends the C string
    assert decode_realtime_value("^C3^A9") == "é"  # bytes, as in C


def test_split_is_what_asterisk_reads():
    for stored in ["a;b", " a ; b ;; ", "ulaw,alaw", "sip:x^3By;z", "", "  ", "^20x^20"]:
        assert split_realtime_value(stored) == asterisk_reads(stored), stored
    assert split_realtime_value(None) == []
    assert split_realtime_value("a;b") == ["a", "b"]


@pytest.mark.parametrize("label", ["1", "on", "true", "yes", "YES", "True", "On", " yes "])
def test_parse_ast_bool_true(label):
    assert parse_ast_bool(label) is True


@pytest.mark.parametrize("label", ["0", "off", "false", "no", "NO", "False", "OFF"])
def test_parse_ast_bool_false(label):
    assert parse_ast_bool(label) is False


def test_parse_ast_bool_unset_and_invalid():
    assert parse_ast_bool(None) is None
    assert parse_ast_bool("") is None
    assert parse_ast_bool(True) is True
    assert parse_ast_bool(False) is False
    for bad in ["y", "n", "2", "maybe", "yes please"]:
        with pytest.raises(ValueError):
            parse_ast_bool(bad)
    with pytest.raises(TypeError):
        parse_ast_bool(1)


def test_every_label_of_the_type_parses():
    parsed = {label: parse_ast_bool(label) for label in EXPECTED_ENUM_LABELS["ast_bool_values"]}
    assert parsed == {"0": False, "1": True, "off": False, "on": True, "false": False,
                      "true": True, "no": False, "yes": True}


def test_written_booleans():
    assert (AST_BOOL_TRUE, AST_BOOL_FALSE) == ("yes", "no")
    assert AST_BOOL_TRUE in EXPECTED_ENUM_LABELS["ast_bool_values"]
    assert AST_BOOL_FALSE in EXPECTED_ENUM_LABELS["ast_bool_values"]
    assert (format_ast_bool(True), format_ast_bool(False), format_ast_bool(None)) == (
        "yes", "no", None)

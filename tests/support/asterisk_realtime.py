"""Read the ps_* tables the way Asterisk 22's res_config_pgsql + res_sorcery_realtime do.

Written independently of app.database.realtime_values so a test compares our writer with
Asterisk's reading, not with itself: the statements are the ones in
../shared/asterisk-captures/realtime-queries.log (simple queries, every value a quoted literal),
and each row becomes Asterisk variables the way realtime_pgsql() builds them: every column value
is split on ';', each piece stripped of blanks, '^XX' hex escapes decoded, empty pieces (and SQL
NULL, which libpq hands over as '') dropped.
"""
import ipaddress
import re

import psycopg
from sqlalchemy.engine import make_url

_ESCAPE = re.compile(r"\^([0-9A-Fa-f]{2})")


def connect(sqlalchemy_uri: str) -> psycopg.Connection:
    """One persistent autocommit connection, as Asterisk keeps."""
    url = make_url(sqlalchemy_uri).set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True,
                           application_name="asterisk-a")


def literal(value: str) -> str:
    """A quoted string literal, as res_config_pgsql escapes values (PQescapeStringConn)."""
    return "'" + value.replace("'", "''") + "'"


def like_prefix(value: str) -> str:
    """The LIKE pattern res_sorcery_realtime builds for a prefix search (escape char '\\')."""
    return literal(value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")


def decode_chunk(chunk: str) -> str:
    """ast_realtime_decode_chunk(): '^XX' becomes the byte 0xXX, left to right, once."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), chunk)


def to_variables(columns: list[str], row: tuple) -> dict[str, list[str]]:
    variables: dict[str, list[str]] = {}
    for name, value in zip(columns, row):
        text = "" if value is None else str(value)
        for chunk in text.split(";"):
            decoded = decode_chunk(chunk.strip(" \t\r\n\v\f"))
            if decoded:
                variables.setdefault(name, []).append(decoded)
    return variables


def query(conn: psycopg.Connection, statement: str) -> list[dict[str, list[str]]]:
    cursor = conn.execute(statement)
    columns = [column.name for column in cursor.description]
    return [to_variables(columns, row) for row in cursor.fetchall()]


def retrieve_by_id(conn: psycopg.Connection, table: str, object_id: str) -> dict | None:
    """`SELECT * FROM <table> WHERE id = '<id>' LIMIT 1`, as sorcery fetches one object."""
    rows = query(conn, f"SELECT * FROM {table} WHERE id = {literal(object_id)} LIMIT 1")
    return rows[0] if rows else None


def single(variables: dict, name: str) -> str | None:
    """A single-valued option: Asterisk applies each value in turn, so the last one wins."""
    values = variables.get(name)
    return values[-1] if values else None


def listed(variables: dict, name: str) -> list[str]:
    """A comma-separated list option (aors, contact, allow, auth, outbound_auth…)."""
    return [item.strip() for value in variables.get(name, []) for item in value.split(",")
            if item.strip()]


def resolve_dial(conn: psycopg.Connection, endpoint_id: str) -> dict:
    """What `Dial(PJSIP/<endpoint_id>)` finds: the statements of the capture's call section
    (endpoint, its AORs, their registered contacts, the outbound auth) and what they yield."""
    endpoint = retrieve_by_id(conn, "ps_endpoints", endpoint_id)
    assert endpoint is not None, f"no endpoint {endpoint_id}: Dial answers CHANUNAVAIL"
    contacts = []
    for aor_id in listed(endpoint, "aors"):
        aor = retrieve_by_id(conn, "ps_aors", aor_id)
        assert aor is not None, f"endpoint {endpoint_id} names a missing AOR {aor_id}"
        contacts += listed(aor, "contact")
        registered = query(conn, "SELECT * FROM ps_contacts WHERE id LIKE "
                                 f"{like_prefix(aor_id + '^3B@')} ESCAPE '\\' ORDER BY id")
        contacts += [single(row, "uri") for row in registered]
    outbound = []
    for auth_id in listed(endpoint, "outbound_auth"):
        auth = retrieve_by_id(conn, "ps_auths", auth_id)
        assert auth is not None, f"endpoint {endpoint_id} names a missing auth {auth_id}"
        outbound.append(auth)
    return {"endpoint": endpoint, "contacts": contacts, "outbound_auths": outbound}


def _match_network_and_port(match: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network,
                                                 int | None]:
    """A `match` value as Asterisk reads it: `addr[/mask]`, `addr:port[/mask]` or
    `[v6addr]:port[/mask]` (a port before the mask, as in `1.2.3.4:5060/32`)."""
    address, slash, mask = match.partition("/")
    port = None
    if address.startswith("["):
        address, _, tail = address[1:].partition("]")
        port = int(tail[1:])
    elif address.count(":") == 1:
        address, _, port_text = address.partition(":")
        port = int(port_text)
    return ipaddress.ip_network(address + slash + mask, strict=False), port


def identify_by_ip(conn: psycopg.Connection, source_ip: str,
                   source_port: int = 5060) -> str | None:
    """The endpoint res_pjsip_endpoint_identifier_ip picks for a request from
    `source_ip:source_port`: it reads the whole identify table (`id LIKE '%'`) and matches
    each `match` network, and its port when the match has one. REGISTERs are identified the
    same way."""
    address = ipaddress.ip_address(source_ip)
    for row in query(conn, "SELECT * FROM ps_endpoint_id_ips WHERE id LIKE '%' ESCAPE '\\' "
                           "ORDER BY id"):
        for match in listed(row, "match"):
            network, port = _match_network_and_port(match)
            if address in network and port in (None, source_port):
                return single(row, "endpoint")
    return None

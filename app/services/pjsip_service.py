"""The one place that reads and writes Asterisk's PJSIP realtime rows for an endpoint.

Clients and carriers are both one endpoint in Asterisk: a `ps_endpoints` row, optionally a
`ps_aors` row (same id), `ps_auths` rows for the endpoint's inbound `auth` (id `<id>`) and its
`outbound_auth` (id `<id>`, or `<id>.out` when the endpoint has an inbound auth too: a
registering PBX that also challenges our INVITEs), and `ps_endpoint_id_ips` rows (`<id>`,
`<id>.2`, `<id>.3`…) that identify it by source address. The services describe what they want as an
`EndpointSpec`; this module turns it into rows the way res_config_pgsql reads them (every text
value through `encode_realtime_value`, yes/no columns as `yes`/`no`) and back. It never commits
(the caller's transaction holds the client or carrier row too) and never writes `ps_contacts`,
which belongs to Asterisk's registrar.

Only the columns listed in `_endpoint_values` are ours; an upsert leaves every other column of
an existing row as an operator set it.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from app.database.models.pjsip import (REALTIME_ENUM_LABELS, PsAor, PsAuth, PsContact,
                                       PsEndpoint, PsEndpointIdIp)
from app.database.realtime_values import (encode_realtime_value, format_ast_bool,
                                          parse_ast_bool, split_realtime_value)
from app.domain.errors import Conflict, ValidationFailed
from app.extensions import db
from app.services import audit_service
from app.services.sip_syntax import read_identify_match

CLIENT_CONTEXT = "cc-from-clients"  # the dialplan context for anything a client sends us
CARRIER_CONTEXT = "cc-inbound"  # the inbound routing context of the shipped dialplan
# Transports are static in asterisk/pjsip.conf, which defines exactly these (name: protocol).
TRANSPORTS = {"transport-udp": "udp", "transport-tcp": "tcp"}
DEFAULT_TRANSPORT = "transport-udp"
DTMF_MODES = REALTIME_ENUM_LABELS["pjsip_dtmf_mode_values_v3"]
DEFAULT_DTMF_MODE = "rfc4733"
DEFAULT_CODECS = ("ulaw", "alaw")
# Asterisk reads the whole identify table on every new inbound request: keep it small.
MAX_IDENTIFY_IPS = 16
IDENTIFY_ID_SEPARATOR = "."  # never in a client identifier, so `<id>.<n>` cannot collide
# The outbound auth's row when the inbound auth holds `<id>` ('.' again: no collision).
OUTBOUND_AUTH_SUFFIX = ".out"
# Asterisk's UNIQUE (id) constraints: a violation means the id is taken.
ID_KEYS = frozenset(f"{table}_id_key" for table in
                    ("ps_endpoints", "ps_aors", "ps_auths", "ps_endpoint_id_ips"))
# Serialises the "does this address already identify another endpoint?" check across sessions.
_IDENTIFY_LOCK_KEY = 0x43430001


@dataclass
class Credentials:
    username: str
    password: str = field(repr=False)


@dataclass
class EndpointSpec:
    """Everything our services decide about one PJSIP endpoint (decoded values)."""

    id: str
    context: str
    transport: str | None = DEFAULT_TRANSPORT
    codecs: list[str] = field(default_factory=lambda: list(DEFAULT_CODECS))
    dtmf_mode: str | None = DEFAULT_DTMF_MODE
    has_aor: bool = True
    contact: str | None = None
    max_contacts: int | None = 0
    inbound_auth: Credentials | None = None
    outbound_auth: Credentials | None = None
    identify_ips: list[str] = field(default_factory=list)
    callerid: str | None = None
    from_user: str | None = None
    from_domain: str | None = None
    send_pai: bool = False
    nat: bool = False

    @property
    def outbound_auth_id(self) -> str:
        """The ps_auths id of the outbound auth: the endpoint's own id, unless the inbound
        auth has it."""
        return self.id + OUTBOUND_AUTH_SUFFIX if self.inbound_auth else self.id


@dataclass
class RegisteredContact:
    """A contact Asterisk's registrar wrote for a REGISTER (read-only for us)."""

    uri: str
    expires_at: datetime | None
    user_agent: str | None
    via_addr: str | None
    via_port: int | None
    reg_server: str | None


# --- reading ------------------------------------------------------------------------------

def read_endpoint(endpoint_id: str) -> EndpointSpec | None:
    return read_endpoints([endpoint_id]).get(endpoint_id)


def read_endpoints(ids: list[str]) -> dict[str, EndpointSpec]:
    """The specs of the endpoints among `ids` that have a ps_endpoints row."""
    if not ids:
        return {}
    endpoints = _rows(PsEndpoint, PsEndpoint.id.in_(ids))
    if not endpoints:
        return {}
    found = list(endpoints)
    aors = _rows(PsAor, PsAor.id.in_(found))
    auths = _rows(PsAuth, PsAuth.id.in_([auth_id for endpoint_id in found
                                         for auth_id in auth_row_ids(endpoint_id)]))
    identify: dict[str, list] = {}
    for row in db.session.execute(
            select(PsEndpointIdIp.__table__).where(PsEndpointIdIp.endpoint.in_(found))).mappings():
        identify.setdefault(row["endpoint"], []).append(row)
    return {endpoint_id: _spec_from_rows(row, aors.get(endpoint_id), auths,
                                         identify.get(endpoint_id, []))
            for endpoint_id, row in endpoints.items()}


def _rows(model, condition) -> dict:
    table = model.__table__
    return {row["id"]: row for row in db.session.execute(select(table).where(condition)).mappings()}


def _one(value: str | None) -> str | None:
    """A single-valued option as Asterisk ends up with it: the last of the split values."""
    values = split_realtime_value(value)
    return values[-1] if values else None


def _credentials(auth) -> Credentials | None:
    if auth is None:
        return None
    return Credentials(_one(auth["username"]) or "", _one(auth["password"]) or "")


def _spec_from_rows(endpoint, aor, auths: dict, identify_rows) -> EndpointSpec:
    # References are lists in Asterisk (`auth`, `outbound_auth` may name several objects);
    # ours are the rows auth_row_ids names, anything else was written by hand and is left be.
    inbound_refs = _list(endpoint["auth"])
    outbound_refs = _list(endpoint["outbound_auth"])
    own_id = endpoint["id"]
    inbound = _credentials(auths.get(own_id)) if own_id in inbound_refs else None
    outbound = None
    for auth_id in auth_row_ids(own_id)[::-1]:  # `<id>.out` first, then `<id>`
        if auth_id in outbound_refs and auth_id not in inbound_refs and auth_id in auths:
            outbound = _credentials(auths[auth_id])
            break
    ordered = sorted(identify_rows, key=lambda row: _identify_position(own_id, row["id"]))
    return EndpointSpec(
        id=own_id,
        context=_one(endpoint["context"]),
        transport=_one(endpoint["transport"]),
        codecs=_list(endpoint["allow"]),
        dtmf_mode=endpoint["dtmf_mode"],
        has_aor=aor is not None,
        contact=_contact(aor),
        max_contacts=aor["max_contacts"] if aor is not None else None,
        inbound_auth=inbound,
        outbound_auth=outbound,
        identify_ips=[match for row in ordered for match in _list(row["match"])],
        callerid=_one(endpoint["callerid"]),
        from_user=_one(endpoint["from_user"]),
        from_domain=_one(endpoint["from_domain"]),
        send_pai=bool(parse_ast_bool(endpoint["send_pai"])),
        nat=bool(parse_ast_bool(endpoint["rewrite_contact"]))
        and bool(parse_ast_bool(endpoint["rtp_symmetric"])),
    )


def _contact(aor) -> str | None:
    # Asterisk splits the column on ';' (after decoding, one piece per value) and each value
    # on ','; joined back with ',' the contacts Asterisk dials are the same.
    if aor is None:
        return None
    return ",".join(split_realtime_value(aor["contact"])) or None


def _list(value: str | None) -> list[str]:
    return [part.strip() for piece in split_realtime_value(value)
            for part in piece.split(",") if part.strip()]


def _identify_position(endpoint_id: str, row_id: str) -> tuple[int, str]:
    suffix = row_id[len(endpoint_id) + 1:] if row_id.startswith(endpoint_id) else ""
    return (int(suffix) if suffix.isdigit() else (1 if row_id == endpoint_id else 10**6), row_id)


def read_registrations(aor_ids: list[str]) -> dict[str, list[RegisteredContact]]:
    """Unexpired contacts Asterisk registered for each AOR (ids `<aor>^3B@<hash>`)."""
    if not aor_ids:
        return {}
    now = int(time.time())
    prefixes = {aor_id: f"{aor_id}^3B@" for aor_id in aor_ids}
    rows = db.session.execute(
        select(PsContact.__table__)
        .where(or_(*[PsContact.id.startswith(prefix, autoescape=True)
                     for prefix in prefixes.values()]))
        .where(or_(PsContact.expiration_time.is_(None), PsContact.expiration_time > now))
        .order_by(PsContact.id)
    ).mappings()
    found: dict[str, list[RegisteredContact]] = {aor_id: [] for aor_id in aor_ids}
    for row in rows:
        aor_id = row["id"].split("^3B@", 1)[0]
        if aor_id not in found:
            continue
        expires = row["expiration_time"]
        found[aor_id].append(RegisteredContact(
            uri=_one(row["uri"]) or "",
            expires_at=datetime.fromtimestamp(expires, timezone.utc) if expires else None,
            user_agent=_one(row["user_agent"]),
            via_addr=_one(row["via_addr"]),
            via_port=row["via_port"],
            reg_server=_one(row["reg_server"]),
        ))
    return found


# --- checks before writing ----------------------------------------------------------------

def ensure_id_free(endpoint_id: str, *, field_name: str | None = None) -> None:
    """409 when rows with this id exist already (left by hand, or another owner's).

    `field_name`: the API field the id comes from, named in the error's details.
    """
    queries = {
        "ps_endpoints": select(PsEndpoint.id).where(PsEndpoint.id == endpoint_id),
        "ps_aors": select(PsAor.id).where(PsAor.id == endpoint_id),
        "ps_auths": select(PsAuth.id).where(PsAuth.id.in_(auth_row_ids(endpoint_id))),
        "ps_endpoint_id_ips": select(PsEndpointIdIp.id).where(or_(
            PsEndpointIdIp.endpoint == endpoint_id,
            PsEndpointIdIp.id.in_(identify_row_ids(endpoint_id, MAX_IDENTIFY_IPS)))),
    }
    taken = [table for table, query in queries.items()
             if db.session.scalar(query.limit(1)) is not None]
    if taken:
        message = f"Asterisk realtime rows named {endpoint_id!r} already exist."
        details = {"endpoint_id": endpoint_id, "tables": taken}
        if field_name:
            details[field_name] = [message]
        raise Conflict(message, details=details, code="endpoint_exists")


def ensure_identify_free(endpoint_id: str, networks: list[str], *,
                         also_claimed: list[tuple[str, str]] = (),
                         ignore_endpoints: tuple[str, ...] = (), field_name="identify_ips") -> None:
    """409 when one of `networks` overlaps an address that identifies another endpoint.

    Identification by IP claims every request from a matching source (REGISTERs included), so
    two endpoints sharing one would receive each other's calls. A match with a port claims only
    that source port, one without claims every port: `192.0.2.10:5060` and
    `192.0.2.10:5070` may belong to two endpoints, `192.0.2.10` and `192.0.2.10:5070` may not.
    `also_claimed` adds (endpoint, match) pairs that have no rows right now (an inactive
    carrier keeps its addresses). Takes a transaction-level lock so two concurrent writers
    cannot both pass the check.
    """
    if not networks:
        return
    db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IDENTIFY_LOCK_KEY})
    mine = {endpoint_id, *ignore_endpoints}
    claims = [(row.endpoint, match)
              for row in db.session.execute(select(PsEndpointIdIp.endpoint, PsEndpointIdIp.match))
              if row.endpoint not in mine for match in _list(row.match)]
    claims += [(owner, match) for owner, match in also_claimed if owner not in mine]
    clashes = {}
    for network in networks:
        wanted = read_identify_match(network)
        for owner, match in claims:
            try:
                other = read_identify_match(match)
            except ValueError:
                continue  # a hostname or something hand-written: Asterisk resolves it, we cannot
            if wanted.overlaps(other):
                clashes.setdefault(network, []).append(owner)
    if clashes:
        raise Conflict("These addresses already identify another endpoint; Asterisk could "
                       "not tell them apart.",
                       details={field_name: {net: sorted(set(owners))
                                             for net, owners in clashes.items()}},
                       code="identify_conflict")


def check_fits(spec: EndpointSpec) -> dict:
    """Errors for values that would not fit Asterisk's columns, keyed by API field name."""
    errors: dict = {}
    for name, column, value in _sized_values(spec):
        limit = column.type.length
        if value is not None and len(value) > limit:
            message = f"Too long for Asterisk ({limit} characters at most, stored encoded)."
            path = name.split(".")
            target = errors
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = [message]
    if len(spec.identify_ips) > MAX_IDENTIFY_IPS:
        errors["identify_ips"] = [f"At most {MAX_IDENTIFY_IPS} addresses."]
    return errors


def _sized_values(spec: EndpointSpec):
    endpoint = _endpoint_values(spec)
    for name, column in (("transport", "transport"), ("codecs", "allow"),
                         ("callerid", "callerid"), ("from_user", "from_user"),
                         ("from_domain", "from_domain")):
        yield name, PsEndpoint.__table__.c[column], endpoint[column]
    yield "contact_uri", PsAor.__table__.c.contact, _encode(spec.contact)
    for label, credentials in (("inbound_auth", spec.inbound_auth),
                               ("outbound_auth", spec.outbound_auth)):
        if credentials:
            yield f"{label}.username", PsAuth.__table__.c.username, _encode(credentials.username)
            yield f"{label}.password", PsAuth.__table__.c.password, _encode(credentials.password)
    for match in spec.identify_ips:
        yield "identify_ips", PsEndpointIdIp.__table__.c.match, _encode(match)


# --- writing ------------------------------------------------------------------------------

def write_endpoint(spec: EndpointSpec, *, previous_id: str | None = None,
                   field_prefix: str | None = None) -> None:
    """Create or replace the endpoint's rows inside the caller's transaction.

    `previous_id`: the id the rows have now, when the endpoint is renamed; they move to
    `spec.id`. Values that would not fit answer 422 before anything is written.
    """
    errors = check_fits(spec)
    if errors:
        raise ValidationFailed("Some values do not fit Asterisk's realtime columns.",
                               details={field_prefix: errors} if field_prefix else errors)
    if previous_id is not None and previous_id != spec.id:
        _move_rows(previous_id, spec.id)
    _write_endpoint_row(spec)
    _write_aor(spec)
    _write_auth(spec)
    _write_identify(spec)
    audit_service.record("update", "pjsip_endpoint", spec.id, _audit_view(spec, previous_id))
    db.session.flush()


def _audit_view(spec: EndpointSpec, previous_id: str | None) -> dict:
    """The endpoint as written, credentials reduced to their username."""
    view = asdict(spec)
    for key in ("inbound_auth", "outbound_auth"):
        if view[key] is not None:
            view[key] = {"username": view[key]["username"], "password": audit_service.MASK}
    if previous_id is not None and previous_id != spec.id:
        view["renamed_from"] = previous_id
    return view


def delete_endpoint(endpoint_id: str) -> None:
    """Remove the endpoint's rows (never ps_contacts: Asterisk expires those itself)."""
    db.session.execute(delete(PsEndpointIdIp).where(PsEndpointIdIp.endpoint == endpoint_id))
    db.session.execute(delete(PsAuth).where(PsAuth.id.in_(auth_row_ids(endpoint_id))))
    for model in (PsAor, PsEndpoint):
        db.session.execute(delete(model).where(model.id == endpoint_id))
    audit_service.record("delete", "pjsip_endpoint", endpoint_id, {})


def set_inbound_password(endpoint_id: str, password: str) -> bool:
    """Replace the password of the endpoint's auth row `<id>` (the inbound auth of a
    registering client); False when it has none."""
    result = db.session.execute(
        update(PsAuth).where(PsAuth.id == endpoint_id).values(password=_encode(password)))
    if result.rowcount == 1:
        audit_service.record("update", "pjsip_endpoint", endpoint_id,
                             {"inbound_auth": {"password": audit_service.MASK}})
    return result.rowcount == 1


def _move_rows(old_id: str, new_id: str) -> None:
    for model in (PsEndpoint, PsAor, PsAuth):
        db.session.execute(update(model).where(model.id == old_id).values(id=new_id))
    db.session.execute(update(PsAuth).where(PsAuth.id == old_id + OUTBOUND_AUTH_SUFFIX)
                       .values(id=new_id + OUTBOUND_AUTH_SUFFIX))
    # Identify rows are rewritten whole by _write_identify under the new id.
    db.session.execute(delete(PsEndpointIdIp).where(PsEndpointIdIp.endpoint == old_id))


def _encode(value: str | None) -> str | None:
    return None if value is None else encode_realtime_value(value)


def _endpoint_values(spec: EndpointSpec) -> dict:
    nat = format_ast_bool(True) if spec.nat else None  # unset keeps Asterisk's defaults
    return {
        "transport": _encode(spec.transport),
        "aors": spec.id if spec.has_aor else None,
        "auth": spec.id if spec.inbound_auth else None,
        "outbound_auth": spec.outbound_auth_id if spec.outbound_auth else None,
        "context": _encode(spec.context),
        "disallow": "all",
        "allow": ",".join(spec.codecs),
        "direct_media": format_ast_bool(False),
        "dtmf_mode": spec.dtmf_mode,
        "callerid": _encode(spec.callerid),
        "from_user": _encode(spec.from_user),
        "from_domain": _encode(spec.from_domain),
        "send_pai": format_ast_bool(spec.send_pai),
        "force_rport": nat,
        "rewrite_contact": nat,
        "rtp_symmetric": nat,
    }


def _upsert(model, row_id: str, values: dict) -> None:
    statement = insert(model.__table__).values(id=row_id, **values)
    db.session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=values))


def _write_endpoint_row(spec: EndpointSpec) -> None:
    _upsert(PsEndpoint, spec.id, _endpoint_values(spec))


def _write_aor(spec: EndpointSpec) -> None:
    if not spec.has_aor:
        db.session.execute(delete(PsAor).where(PsAor.id == spec.id))
        return
    _upsert(PsAor, spec.id, {"contact": _encode(spec.contact), "max_contacts": spec.max_contacts})


def auth_row_ids(endpoint_id: str) -> list[str]:
    """Every ps_auths id an endpoint may own: `<id>` and `<id>.out`."""
    return [endpoint_id, endpoint_id + OUTBOUND_AUTH_SUFFIX]


def _write_auth(spec: EndpointSpec) -> None:
    wanted = {}
    if spec.inbound_auth:
        wanted[spec.id] = spec.inbound_auth
    if spec.outbound_auth:
        wanted[spec.outbound_auth_id] = spec.outbound_auth
    unused = [auth_id for auth_id in auth_row_ids(spec.id) if auth_id not in wanted]
    db.session.execute(delete(PsAuth).where(PsAuth.id.in_(unused)))
    for auth_id, credentials in wanted.items():
        _upsert(PsAuth, auth_id, {"auth_type": "userpass",
                                  "username": _encode(credentials.username),
                                  "password": _encode(credentials.password)})


def identify_row_ids(endpoint_id: str, count: int) -> list[str]:
    """`<id>` for the first address, then `<id>.2`, `<id>.3`…"""
    return [endpoint_id if n == 1 else f"{endpoint_id}{IDENTIFY_ID_SEPARATOR}{n}"
            for n in range(1, count + 1)]


def _write_identify(spec: EndpointSpec) -> None:
    db.session.execute(delete(PsEndpointIdIp).where(PsEndpointIdIp.endpoint == spec.id))
    rows = [{"id": row_id, "endpoint": spec.id, "match": _encode(match)}
            for row_id, match in zip(identify_row_ids(spec.id, len(spec.identify_ips)),
                                     spec.identify_ips)]
    if rows:
        db.session.execute(insert(PsEndpointIdIp.__table__), rows)

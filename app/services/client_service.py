"""Clients (call centers) and their PJSIP endpoints, written in one transaction.

A client's SIP side is the endpoint `client_identifier` in Asterisk's realtime tables (see
pjsip_service). Two ways a call center connects:

- `static` (default): we dial the contact URI of its PBX (`ps_aors.contact`), optionally
  answering its digest challenge with `outbound_auth` (`ps_endpoints.outbound_auth` = id).
- `register`: its PBX registers to us as `<client_identifier>` with the inbound credentials
  (`ps_endpoints.auth` = id); the AOR has no static contact and `max_contacts` >= 1, and
  Asterisk writes `ps_contacts` itself. We only ever read those contacts. A PBX that also
  challenges the INVITEs we send it gets `outbound_auth` too (`ps_endpoints.outbound_auth` =
  `<id>.out`, since the inbound auth holds the row `<id>`).

Passwords are stored in ps_auths (Asterisk needs them in clear) and never returned; the one
exception is `reset_sip_password`, which makes a new inbound password and hands it over once.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import exists, select

from app.database.models import CampaignClientSetting, Client, Reservation
from app.domain.errors import Conflict, ValidationFailed
from app.extensions import db
from app.services import carrier_service, pjsip_service
from app.services.pagination import Page, paginate
from app.services.persistence import committing, fetch, text_search
from app.services.pjsip_service import (CLIENT_CONTEXT, DEFAULT_TRANSPORT, TRANSPORTS, Credentials,
                                        EndpointSpec, RegisteredContact)
from app.services.sip_syntax import parse_sip_uri

# Seats, time zone and hours of operation (routing rules).
RULE_FIELDS = ("max_concurrency", "timezone", "schedule", "closures", "ping_budget")
CLIENT_FIELDS = ("name", "department", "status", "notes", *RULE_FIELDS)
BID_SECRET_PREFIX = "bidsec_"
SIP_SECRET_BYTES = 24  # 32 URL-safe characters: no ';' or '^' to encode, well under varchar(80)
# Endpoint options a client document carries as they are (same name, same meaning).
PLAIN_SIP_OPTIONS = ("max_contacts", "transport", "codecs", "dtmf_mode", "identify_ips",
                     "callerid", "from_user", "from_domain", "send_pai", "nat")


@dataclass
class AuthView:
    username: str
    has_password: bool


@dataclass
class Registration:
    reachable: bool
    contacts: list[RegisteredContact] = field(default_factory=list)


@dataclass
class ClientSip:
    """The `pjsip` object of a client document, read back from the realtime rows."""

    mode: str
    contact_uri: str | None
    max_contacts: int | None
    transport: str | None
    codecs: list[str]
    dtmf_mode: str | None
    identify_ips: list[str]
    outbound_auth: AuthView | None
    inbound_auth: AuthView | None
    callerid: str | None
    from_user: str | None
    from_domain: str | None
    send_pai: bool
    nat: bool
    registration: Registration | None


@dataclass
class ClientView:
    id: int
    client_identifier: str
    name: str
    department: str
    status: str
    notes: str
    created_at: datetime
    updated_at: datetime
    pjsip: ClientSip | None
    max_concurrency: int | None = None
    timezone: str = "UTC"
    schedule: dict | None = None
    closures: list | None = None
    ping_budget: int | None = None
    has_bid_secret: bool = False


def generate_sip_secret() -> str:
    return secrets.token_urlsafe(SIP_SECRET_BYTES)


# --- reading ------------------------------------------------------------------------------

def list_clients(*, status=None, mode=None, q=None, page=1, per_page=25) -> Page:
    statement = select(Client).order_by(Client.id)
    if status:
        statement = statement.where(Client.status == status)
    if mode:
        statement = statement.where(Client.pjsip_mode == mode)
    if q:
        statement = statement.where(text_search(q, Client.client_identifier, Client.name,
                                                Client.department))
    result = paginate(statement, page, per_page)
    result.items = _views(result.items)
    return result


def get_client(client_id: int) -> ClientView:
    return _views([_get(client_id)])[0]


def _get(client_id: int, *, lock: bool = False) -> Client:
    return fetch(Client, client_id, not_found="No such client.", lock=lock)


def _views(clients: list[Client]) -> list[ClientView]:
    specs = pjsip_service.read_endpoints([c.client_identifier for c in clients])
    registrations = pjsip_service.read_registrations(
        [c.client_identifier for c in clients if c.pjsip_mode == "register"])
    return [ClientView(
        id=c.id, client_identifier=c.client_identifier, name=c.name, department=c.department,
        status=c.status, notes=c.notes, created_at=c.created_at, updated_at=c.updated_at,
        max_concurrency=c.max_concurrency, timezone=c.timezone, schedule=c.schedule,
        closures=c.closures, ping_budget=c.ping_budget, has_bid_secret=bool(c.bid_secret),
        pjsip=_sip_view(c.pjsip_mode, specs.get(c.client_identifier),
                        registrations.get(c.client_identifier)),
    ) for c in clients]


def _sip_view(mode: str, spec: EndpointSpec | None,
              contacts: list[RegisteredContact] | None) -> ClientSip | None:
    if spec is None:
        return None
    return ClientSip(
        mode=mode, contact_uri=spec.contact, max_contacts=spec.max_contacts,
        transport=spec.transport, codecs=spec.codecs, dtmf_mode=spec.dtmf_mode,
        identify_ips=spec.identify_ips,
        outbound_auth=_auth_view(spec.outbound_auth), inbound_auth=_auth_view(spec.inbound_auth),
        callerid=spec.callerid, from_user=spec.from_user, from_domain=spec.from_domain,
        send_pai=spec.send_pai, nat=spec.nat,
        registration=Registration(bool(contacts), contacts or []) if mode == "register" else None,
    )


def _auth_view(credentials: Credentials | None) -> AuthView | None:
    if credentials is None:
        return None
    return AuthView(credentials.username, bool(credentials.password))


# --- writing ------------------------------------------------------------------------------

def create_client(data: dict) -> ClientView:
    identifier = data["client_identifier"]
    with committing(_conflict):
        _ensure_identifier_free(identifier)
        mode, spec = _merge_sip(identifier, None, None, data["pjsip"])
        _ensure_identify_free(spec)
        client = Client(client_identifier=identifier, pjsip_mode=mode, name=data["name"],
                        department=data.get("department", ""),
                        status=data.get("status", "active"), notes=data.get("notes", ""),
                        **{name: data[name] for name in RULE_FIELDS if name in data})
        db.session.add(client)
        db.session.flush()
        pjsip_service.write_endpoint(spec, field_prefix="pjsip")
    return get_client(client.id)


def update_client(client_id: int, data: dict) -> ClientView:
    with committing(_conflict):
        client = _get(client_id, lock=True)
        old_identifier = client.client_identifier
        identifier = data.get("client_identifier", old_identifier)
        renamed = identifier != old_identifier
        if renamed:
            _ensure_identifier_free(identifier)
        current = pjsip_service.read_endpoint(old_identifier)
        if "pjsip" in data or (renamed and current is not None):
            mode, spec = _merge_sip(identifier, client.pjsip_mode, current, data.get("pjsip", {}))
            _ensure_identify_free(spec, ignore=(old_identifier,))
            client.pjsip_mode = mode
            pjsip_service.write_endpoint(spec, previous_id=old_identifier if current else None,
                                         field_prefix="pjsip")
        for name in CLIENT_FIELDS:
            if name in data:
                setattr(client, name, data[name])
        client.client_identifier = identifier
    return get_client(client_id)


def delete_client(client_id: int, *, unlink: bool = False) -> None:
    """Delete a client with its endpoint rows.

    Calls in flight for it (rows in `reservations`) always answer 409. Active campaign
    settings that route to it answer 409 unless `unlink`, which deletes them with the client;
    inactive settings route nothing and go with the client either way.
    """
    with committing(_conflict):
        client = _get(client_id, lock=True)
        if db.session.scalar(select(exists().where(Reservation.client_id == client.id))):
            raise _calls_in_flight()
        settings = db.session.scalars(select(CampaignClientSetting).where(
            CampaignClientSetting.client_id == client.id).order_by(CampaignClientSetting.id)).all()
        active = [s for s in settings if s.status == "active"]
        if active and not unlink:
            raise Conflict(
                "Active campaign settings still route calls to this client; delete with "
                "?unlink=true to remove them too, or set the client inactive instead.",
                details={"campaign_ids": sorted({s.campaign_id for s in active}),
                         "setting_ids": [s.id for s in active],
                         "suggestion": {"unlink": True}},
                code="client_in_use")
        for setting in settings:
            db.session.delete(setting)
        db.session.flush()
        pjsip_service.delete_endpoint(client.client_identifier)
        db.session.delete(client)


def reset_sip_password(client_id: int) -> dict:
    """A new random inbound password for a registering client, returned this once only."""
    with committing(_conflict):
        client = _get(client_id, lock=True)
        spec = pjsip_service.read_endpoint(client.client_identifier)
        if client.pjsip_mode != "register" or spec is None or spec.inbound_auth is None:
            raise Conflict("Only a client in register mode has an inbound SIP password.",
                           code="not_register_mode")
        secret = generate_sip_secret()
        pjsip_service.set_inbound_password(client.client_identifier, secret)
        result = {"client_id": client.id, "client_identifier": client.client_identifier,
                  "username": spec.inbound_auth.username, "sip_secret": secret}
    return result


def rotate_bid_secret(client_id: int) -> dict:
    """A new secret for the client's bid pings' signature, returned this once only (the old
    one stops signing at once)."""
    with committing():
        client = _get(client_id, lock=True)
        secret = BID_SECRET_PREFIX + secrets.token_urlsafe(32)
        client.bid_secret = secret
        result = {"client_id": client.id, "client_identifier": client.client_identifier,
                  "bid_secret": secret}
    return result


# --- rules --------------------------------------------------------------------------------

def sip_rule_errors(identifier: str, changes: dict, *, client_id: int | None = None) -> dict:
    """The errors the SIP rules find in a client's `pjsip` changes (field -> messages), writing
    nothing: the schemas report them with the fields' own errors, in the same answer.

    A new client's rules need no database; an update's (`client_id`) are judged against the
    stored client's mode and endpoint, as `update_client` will (none for an absent client:
    the update answers 404).
    """
    mode = current = None
    if client_id is not None:
        client = db.session.get(Client, client_id)
        if client is None:
            return {}
        mode, current = client.pjsip_mode, pjsip_service.read_endpoint(client.client_identifier)
        identifier = identifier or client.client_identifier
    try:
        _merge_sip(identifier, mode, current, changes)
    except ValidationFailed as error:
        return error.details.get("pjsip", {})
    return {}


def _merge_sip(identifier: str, current_mode: str | None, current: EndpointSpec | None,
               changes: dict) -> tuple[str, EndpointSpec]:
    """The endpoint a client should have: `current` with `changes` applied, mode rules checked.

    Switching mode drops what the new mode forbids (a static contact, or the inbound
    credentials) and takes the new mode's max_contacts default; outbound auth is allowed in
    both modes and is kept.
    """
    errors: dict = {}
    mode = changes.get("mode") or current_mode or "static"
    fresh = current is None or mode != current_mode
    spec = replace(current or EndpointSpec(id=identifier, context=CLIENT_CONTEXT),
                   id=identifier, context=CLIENT_CONTEXT, has_aor=True)
    if fresh:
        spec.max_contacts = None
        if mode == "register":
            spec.contact = None
        else:
            spec.inbound_auth = None
    for name in PLAIN_SIP_OPTIONS:
        if name in changes:
            setattr(spec, name, changes[name])
    if "contact_uri" in changes:
        spec.contact = changes["contact_uri"]
    if mode == "static":
        _static_rules(spec, changes, errors)
    else:
        _register_rules(spec, changes, errors)
    _choose_transport(spec, mode, changes, errors)
    if errors:
        raise ValidationFailed("Some SIP settings are invalid.", details={"pjsip": errors})
    return mode, spec


def _static_rules(spec: EndpointSpec, changes: dict, errors: dict) -> None:
    if changes.get("inbound_auth") is not None:
        errors["inbound_auth"] = ["Only a client in register mode has inbound credentials."]
    if not spec.contact:
        errors["contact_uri"] = ["Required in static mode: the URI we dial."]
    if spec.max_contacts is None:
        # Nothing registers to a static client: it has no inbound auth to check a REGISTER with.
        spec.max_contacts = 0
    if "outbound_auth" in changes:
        spec.outbound_auth = _merge_credentials(spec.outbound_auth, changes["outbound_auth"],
                                                "outbound_auth", errors)


def _register_rules(spec: EndpointSpec, changes: dict, errors: dict) -> None:
    if changes.get("contact_uri") is not None:
        errors["contact_uri"] = ["Not allowed in register mode: the call center's PBX "
                                 "registers its contact."]
    if "outbound_auth" in changes:
        spec.outbound_auth = _merge_credentials(spec.outbound_auth, changes["outbound_auth"],
                                                "outbound_auth", errors)
    if spec.max_contacts is None:
        spec.max_contacts = 1
    elif spec.max_contacts < 1:
        errors["max_contacts"] = ["At least 1 in register mode, or nothing can register."]
    if "inbound_auth" in changes and changes["inbound_auth"] is None:
        errors["inbound_auth"] = ["A registering client needs credentials."]
        return
    given = changes.get("inbound_auth") or {}
    current = spec.inbound_auth
    spec.inbound_auth = Credentials(
        username=given.get("username") or (current.username if current else spec.id),
        password=given.get("password") or (current.password if current and current.password
                                           else generate_sip_secret()),
    )


def _merge_credentials(current: Credentials | None, given: dict | None, name: str,
                       errors: dict) -> Credentials | None:
    if given is None:
        return None
    username = given.get("username") or (current.username if current else None)
    password = given.get("password") or (current.password if current else None)
    missing = {key: ["Required."] for key, value in (("username", username),
                                                     ("password", password)) if not value}
    if missing:
        errors[name] = missing
        return None
    return Credentials(username, password)


def _choose_transport(spec: EndpointSpec, mode: str, changes: dict, errors: dict) -> None:
    """Given, else the one the new contact URI asks for, else what it was, else UDP; and it
    must speak the protocol the contact asks for (a `;transport=tcp` contact needs TCP)."""
    wanted = None
    if mode == "static" and spec.contact and "contact_uri" not in errors:
        try:
            wanted = parse_sip_uri(spec.contact).transport
        except ValueError:
            wanted = None  # a contact written by hand that we cannot parse: leave it be
    matching = [name for name, protocol in TRANSPORTS.items() if protocol == wanted]
    if "transport" not in changes and "contact_uri" in changes and wanted:
        if not matching:
            errors["contact_uri"] = [f"No transport for {wanted} is configured; use one of "
                                     f"{', '.join(sorted(set(TRANSPORTS.values())))}."]
            return
        spec.transport = matching[0]
    elif spec.transport is None:
        spec.transport = DEFAULT_TRANSPORT
    protocol = TRANSPORTS.get(spec.transport)
    if wanted and protocol and protocol != wanted:
        errors["transport"] = [f"{spec.transport} speaks {protocol} but the contact URI asks "
                               f"for {wanted}" + (f"; use {matching[0]}." if matching else ".")]


def _ensure_identifier_free(identifier: str) -> None:
    if db.session.scalar(select(exists().where(Client.client_identifier == identifier))):
        raise _duplicate()
    pjsip_service.ensure_id_free(identifier, field_name="client_identifier")


def _ensure_identify_free(spec: EndpointSpec, ignore: tuple[str, ...] = ()) -> None:
    try:
        pjsip_service.ensure_identify_free(spec.id, spec.identify_ips, ignore_endpoints=ignore,
                                           also_claimed=carrier_service.parked_claims())
    except Conflict as conflict:
        conflict.details = {"pjsip": conflict.details}
        raise


def _duplicate() -> Conflict:
    return Conflict("A client with this identifier already exists.",
                    details={"client_identifier": ["Already taken."]}, code="duplicate")


def _calls_in_flight() -> Conflict:
    return Conflict("Calls to this client are in flight; try again when they have ended.",
                    code="calls_in_flight")


def _conflict(constraint: str | None) -> Conflict:
    if constraint == "uq_clients_client_identifier" or constraint in pjsip_service.ID_KEYS:
        return _duplicate()
    if constraint and constraint.startswith("fk_reservations_"):
        return _calls_in_flight()
    if constraint and constraint.startswith("fk_campaign_client_settings_client_id"):
        return Conflict("Campaign settings were linked to this client meanwhile; try again.",
                        code="client_in_use")
    return Conflict("The change conflicts with data saved meanwhile; try again.")


"""Carriers: the inbound trunks calls enter through.

Each carrier is the PJSIP endpoint `carrier-<id>` with `context` = `cc-inbound` (the inbound
routing context of the shipped dialplan), no AOR and no auth, identified by the addresses it
sends from (`ps_endpoint_id_ips`). An inactive carrier keeps its row and its endpoint but loses
its identify rows, so Asterisk stops accepting its traffic; reactivating it writes them again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.database.models.carrier import Carrier
from app.domain.errors import Conflict
from app.extensions import db
from app.services import pjsip_service
from app.services.pagination import Page, paginate
from app.services.persistence import committing, fetch, taken_ignoring_case, text_search
from app.services.pjsip_service import CARRIER_CONTEXT, EndpointSpec

ENDPOINT_OPTIONS = ("codecs", "transport", "dtmf_mode")


@dataclass
class CarrierView:
    id: int
    name: str
    status: str
    identify_ips: list[str]
    codecs: list[str]
    transport: str | None
    dtmf_mode: str | None
    endpoint_id: str
    created_at: datetime
    updated_at: datetime


def list_carriers(*, status=None, q=None, page=1, per_page=25) -> Page:
    statement = select(Carrier).order_by(Carrier.id)
    if status:
        statement = statement.where(Carrier.status == status)
    if q:
        statement = statement.where(text_search(q, Carrier.name))
    result = paginate(statement, page, per_page)
    result.items = _views(result.items)
    return result


def get_carrier(carrier_id: int) -> CarrierView:
    return _views([_get(carrier_id)])[0]


def parked_claims(exclude_id: int | None = None) -> list[tuple[str, str]]:
    """(endpoint id, address) of inactive carriers: they have no identify rows while inactive
    but get them back when reactivated, so nobody else may take their addresses."""
    statement = select(Carrier).where(Carrier.status != "active")
    if exclude_id is not None:
        statement = statement.where(Carrier.id != exclude_id)
    return [(carrier.endpoint_id, match) for carrier in db.session.scalars(statement)
            for match in carrier.identify_ips]


def create_carrier(data: dict) -> CarrierView:
    with committing(_conflict):
        _ensure_name_free(data["name"])
        carrier = Carrier(name=data["name"], status=data.get("status", "active"),
                          identify_ips=data["identify_ips"])
        db.session.add(carrier)
        db.session.flush()
        pjsip_service.ensure_id_free(carrier.endpoint_id)
        _write(carrier, EndpointSpec(id=carrier.endpoint_id, context=CARRIER_CONTEXT), data)
    return get_carrier(carrier.id)


def update_carrier(carrier_id: int, data: dict) -> CarrierView:
    with committing(_conflict):
        carrier = _get(carrier_id, lock=True)
        if "name" in data:
            _ensure_name_free(data["name"], exclude_id=carrier.id)
        for name in ("name", "status", "identify_ips"):
            if name in data:
                setattr(carrier, name, data[name])
        current = pjsip_service.read_endpoint(carrier.endpoint_id)
        _write(carrier, current or EndpointSpec(id=carrier.endpoint_id, context=CARRIER_CONTEXT),
               data)
    return get_carrier(carrier_id)


def delete_carrier(carrier_id: int) -> None:
    with committing(_conflict):
        carrier = _get(carrier_id, lock=True)
        pjsip_service.delete_endpoint(carrier.endpoint_id)
        db.session.delete(carrier)


def _write(carrier: Carrier, spec: EndpointSpec, data: dict) -> None:
    for name in ENDPOINT_OPTIONS:
        if name in data:
            setattr(spec, name, data[name])
    spec.context, spec.has_aor = CARRIER_CONTEXT, False
    spec.inbound_auth = spec.outbound_auth = None
    # The addresses are checked even while inactive: they come back on reactivation.
    pjsip_service.ensure_identify_free(spec.id, list(carrier.identify_ips),
                                       also_claimed=parked_claims(exclude_id=carrier.id))
    spec.identify_ips = list(carrier.identify_ips) if carrier.status == "active" else []
    pjsip_service.write_endpoint(spec)


def _get(carrier_id: int, *, lock: bool = False) -> Carrier:
    return fetch(Carrier, carrier_id, not_found="No such carrier.", lock=lock)


def _views(carriers: list[Carrier]) -> list[CarrierView]:
    specs = pjsip_service.read_endpoints([c.endpoint_id for c in carriers])
    views = []
    for carrier in carriers:
        spec = specs.get(carrier.endpoint_id)
        views.append(CarrierView(
            id=carrier.id, name=carrier.name, status=carrier.status,
            identify_ips=list(carrier.identify_ips), codecs=spec.codecs if spec else [],
            transport=spec.transport if spec else None, dtmf_mode=spec.dtmf_mode if spec else None,
            endpoint_id=carrier.endpoint_id, created_at=carrier.created_at,
            updated_at=carrier.updated_at))
    return views


def _ensure_name_free(name: str, *, exclude_id: int | None = None) -> None:
    if taken_ignoring_case(Carrier.name, name, exclude_id=exclude_id):
        raise _duplicate()


def _duplicate() -> Conflict:
    return Conflict("A carrier with this name already exists.",
                    details={"name": ["Already taken."]}, code="duplicate")


def _conflict(constraint: str | None) -> Conflict:
    if constraint == "uq_carriers_name_lower":
        return _duplicate()
    if constraint in pjsip_service.ID_KEYS:
        return Conflict("Asterisk realtime rows with this carrier's endpoint id exist already.",
                        code="endpoint_exists")
    return Conflict("The change conflicts with data saved meanwhile; try again.")

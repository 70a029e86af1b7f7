"""DIDs: the phone numbers a seller owns, stored in E.164 and unique platform-wide.

Every function takes `seller_id`: the owner whose rows it may touch. Another seller's DID is
reported absent (NotFound), exactly like one that does not exist. Only the read-only admin
views pass `seller_id=None`, meaning "any seller".

A DID document carries the read-only `campaign_id` of the campaign that routes it (from
`campaign_dids`); the functions here set it on every DID they return.
"""
import re
from collections.abc import Sequence

import phonenumbers
from flask import current_app
from sqlalchemy import Select, delete, or_, select

from app.database.models import CampaignDid, Did
from app.domain.errors import Conflict, ValidationFailed
from app.extensions import db
from app.services.pagination import Page, paginate
from app.services.persistence import committing, one_or_404, text_search

EDITABLE_FIELDS = ("description", "status")


def normalize_number(raw: str, region: str | None = None) -> str:
    """A seller's input number as E.164; national numbers are read in `region`
    (DEFAULT_REGION when not given). Raises ValidationFailed on `number` when invalid."""
    region = (region or current_app.config["DEFAULT_REGION"]).upper()
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed.field("number", "Not a phone number.") from None
    if parsed.extension:
        raise ValidationFailed.field("number", "A DID cannot carry an extension.")
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationFailed.field(
            "number", f"Not a valid phone number (national numbers are read in region {region}).")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def dids_of(seller_id: int | None) -> Select:
    """`SELECT dids` limited to one seller's rows (every seller's when None)."""
    statement = select(Did)
    if seller_id is not None:
        statement = statement.where(Did.seller_id == seller_id)
    return statement


def list_dids(*, seller_id: int | None, status=None, campaign_id=None, q=None, page=1,
              per_page=25, in_campaign: bool | None = None) -> Page:
    """`in_campaign`: True for DIDs some campaign routes, False for the free ones."""
    statement = dids_of(seller_id).order_by(Did.id)
    if status:
        statement = statement.where(Did.status == status)
    if in_campaign is not None:
        attached = Did.id.in_(select(CampaignDid.did_id))
        statement = statement.where(attached if in_campaign else ~attached)
    if campaign_id is not None:
        statement = statement.join(CampaignDid, CampaignDid.did_id == Did.id).where(
            CampaignDid.campaign_id == campaign_id)
    if q:
        matches = [text_search(q, Did.description)]
        digits = re.sub(r"\D", "", q)
        if digits:
            matches.append(Did.number.contains(digits))
        statement = statement.where(or_(*matches))
    result = paginate(statement, page, per_page)
    with_campaign_ids(result.items)
    return result


def get_did(did_id: int, *, seller_id: int | None) -> Did:
    did = one_or_404(dids_of(seller_id).where(Did.id == did_id), "No such DID.")
    return with_campaign_ids([did])[0]


def create_did(data: dict, *, seller_id: int) -> Did:
    number = normalize_number(data["number"], data.get("region"))
    _ensure_number_free(number)
    with committing({"uq_dids_number": _number_taken()}):
        did = Did(number=number, seller_id=seller_id, description=data.get("description", ""),
                  status=data.get("status", "active"))
        db.session.add(did)
    return with_campaign_ids([did])[0]


def update_did(did_id: int, data: dict, *, seller_id: int) -> Did:
    did = get_did(did_id, seller_id=seller_id)
    with committing({"uq_dids_number": _number_taken()}):
        if "number" in data:
            number = normalize_number(data["number"], data.get("region"))
            if number != did.number:
                _ensure_number_free(number)
                did.number = number
        for field in EDITABLE_FIELDS:
            if field in data:
                setattr(did, field, data[field])
    return with_campaign_ids([did])[0]


def delete_did(did_id: int, *, seller_id: int) -> None:
    """Detach the DID from its campaign, then delete it, in one transaction.

    Its calls stay in the call logs, which hold the number as text.
    """
    did = get_did(did_id, seller_id=seller_id)
    with committing():
        db.session.execute(delete(CampaignDid).where(CampaignDid.did_id == did.id))
        db.session.delete(did)


def with_campaign_ids(dids: Sequence[Did]) -> Sequence[Did]:
    """Set each DID's read-only `campaign_id` (None when unattached), in one query."""
    ids = [did.id for did in dids]
    links = dict(db.session.execute(
        select(CampaignDid.did_id, CampaignDid.campaign_id).where(CampaignDid.did_id.in_(ids))
    ).tuples().all()) if ids else {}
    for did in dids:
        did.campaign_id = links.get(did.id)
    return dids


def _ensure_number_free(number: str) -> None:
    if db.session.scalar(select(Did.id).where(Did.number == number)) is not None:
        raise _number_taken()


def _number_taken() -> Conflict:
    # Says nothing of who holds the number: it may be another seller.
    return Conflict("This number is already on the platform.",
                    details={"number": ["Already on the platform."]}, code="duplicate")

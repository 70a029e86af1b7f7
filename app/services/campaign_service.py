"""Campaigns: a seller's groups of DIDs, each forwarding to clients by its routing settings.

Every function takes `seller_id`: the owner whose rows it may touch. A campaign of another
seller is reported absent (NotFound), exactly like one that does not exist. Only the read-only
admin views pass `seller_id=None`, meaning "any seller".
"""
from sqlalchemy import Select, exists, select

from app.database.models import Campaign, Reservation
from app.domain.errors import Conflict
from app.extensions import db
from app.services.pagination import Page, paginate
from app.services.persistence import (committing, one_or_404, taken_ignoring_case,
                                      text_search)

# Campaign-wide rules: caps, billing and repeat callers.
RULE_FIELDS = ("max_concurrency", "daily_cap", "timezone", "billable_after", "payout",
               "duplicate_window_hours", "duplicate_action", "reject_concurrent_duplicate",
               "bid_timeout_ms", "min_bid", "bid_caller_id")
EDITABLE_FIELDS = ("name", "description", "status", "dial_timeout", *RULE_FIELDS)


def campaigns_of(seller_id: int | None) -> Select:
    """`SELECT campaigns` limited to one seller's rows (every seller's when None)."""
    statement = select(Campaign)
    if seller_id is not None:
        statement = statement.where(Campaign.seller_id == seller_id)
    return statement


def list_campaigns(*, seller_id: int | None, status=None, q=None, page=1, per_page=25) -> Page:
    statement = campaigns_of(seller_id).order_by(Campaign.id)
    if status:
        statement = statement.where(Campaign.status == status)
    if q:
        statement = statement.where(text_search(q, Campaign.name, Campaign.description))
    return paginate(statement, page, per_page)


def get_campaign(campaign_id: int, *, seller_id: int | None, lock: bool = False) -> Campaign:
    return one_or_404(campaigns_of(seller_id).where(Campaign.id == campaign_id),
                      "No such campaign.", lock=lock)


def create_campaign(data: dict, *, seller_id: int) -> Campaign:
    _ensure_name_free(seller_id, data["name"])
    with committing({"uq_campaigns_seller_id_name": _name_taken()}):
        campaign = Campaign(seller_id=seller_id, name=data["name"],
                            description=data.get("description", ""),
                            status=data.get("status", "active"),
                            dial_timeout=data.get("dial_timeout", 30),
                            **{name: data[name] for name in RULE_FIELDS if name in data})
        db.session.add(campaign)
    return campaign


def update_campaign(campaign_id: int, data: dict, *, seller_id: int) -> Campaign:
    # FOR UPDATE before any write: a cap that starts the campaign's counters must wait for
    # the calls holding its row, and recount once they have committed (cc_campaign_counts).
    campaign = get_campaign(campaign_id, seller_id=seller_id, lock=True)
    if "name" in data:
        _ensure_name_free(seller_id, data["name"], exclude_id=campaign.id)
    with committing({"uq_campaigns_seller_id_name": _name_taken()}):
        for field in EDITABLE_FIELDS:
            if field in data:
                setattr(campaign, field, data[field])
    return campaign


def delete_campaign(campaign_id: int, *, seller_id: int) -> None:
    """Delete a campaign with no call in flight; its DIDs become unattached (not deleted).

    Its routing settings go with it; call logs keep their rows with the campaign unset. The
    reservations' RESTRICT foreign keys close the race with a call admitted meanwhile.
    """
    campaign = get_campaign(campaign_id, seller_id=seller_id)
    if has_calls_in_flight(Reservation.campaign_id == campaign.id):
        raise calls_in_flight("campaign")
    with committing({
            "fk_reservations_campaign_id_campaigns": calls_in_flight("campaign"),
            "fk_reservations_setting_id_campaign_client_settings": calls_in_flight("campaign")}):
        db.session.delete(campaign)


def has_calls_in_flight(*criteria) -> bool:
    """Whether `reservations` holds a row (a dial attempt or an answered call) matching."""
    return bool(db.session.scalar(select(exists().where(*criteria))))


def calls_in_flight(what: str) -> Conflict:
    return Conflict(f"This {what} has calls in flight; delete it once they have ended, "
                    "or set its status to inactive to stop new calls.",
                    code="calls_in_flight", details={"suggestion": {"status": "inactive"}})


def _ensure_name_free(seller_id: int, name: str, *, exclude_id: int | None = None) -> None:
    """Names are unique per seller, ignoring case (two campaigns "Solar" and "solar" would
    be indistinguishable in every list)."""
    if taken_ignoring_case(Campaign.name, name, Campaign.seller_id == seller_id,
                           exclude_id=exclude_id):
        raise _name_taken()


def _name_taken() -> Conflict:
    return Conflict("You already have a campaign with this name.",
                    details={"name": ["Already used by another of your campaigns."]},
                    code="duplicate")

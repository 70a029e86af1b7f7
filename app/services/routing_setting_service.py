"""Routing settings: how a seller's campaign forwards to one client (order, share and caps).

Settings are reached through their campaign, which must be the seller's: another seller's
campaign or setting is reported absent. `current_total_calls` and `in_flight` belong to the
routing engine and are never written here.
"""
from flask import current_app
from sqlalchemy import Select, exists, select
from sqlalchemy.orm import selectinload

from app.database.models import Campaign, CampaignClientSetting, Client, Reservation
from app.extensions import db
from app.services import campaign_service
from app.services.outbound.target import url_problem
from app.services.pagination import Page, paginate
from app.services.persistence import committing, one_or_404, text_search
from app.domain.errors import Conflict, NotFound, ValidationFailed

# Period caps and pricing (routing rules).
RULE_FIELDS = ("hourly_cap", "daily_cap", "monthly_cap", "cap_counts", "buyer_price", "bid_url")
EDITABLE_FIELDS = ("status", "forwarding_priority", "weight", "max_concurrency",
                   "total_calls_allowed", *RULE_FIELDS)


def list_linkable_clients(*, q=None, page=1, per_page=25) -> Page:
    """The active clients a seller may link a campaign to."""
    statement = select(Client).where(Client.status == "active").order_by(Client.id)
    if q:
        statement = statement.where(text_search(q, Client.client_identifier, Client.name,
                                                Client.department))
    return paginate(statement, page, per_page)


def list_settings(campaign_id: int, *, seller_id: int, status=None, page=1, per_page=25) -> Page:
    """A campaign's settings in failover order: priority, then id."""
    campaign = campaign_service.get_campaign(campaign_id, seller_id=seller_id)
    statement = _settings_of(seller_id, campaign.id).order_by(
        CampaignClientSetting.forwarding_priority, CampaignClientSetting.id).options(
        selectinload(CampaignClientSetting.client))
    if status:
        statement = statement.where(CampaignClientSetting.status == status)
    return paginate(statement, page, per_page)


def get_setting(campaign_id: int, setting_id: int, *, seller_id: int,
                for_update: bool = False) -> CampaignClientSetting:
    statement = _settings_of(seller_id, campaign_id).where(CampaignClientSetting.id == setting_id)
    if for_update:
        statement = statement.with_for_update(of=CampaignClientSetting)
    return one_or_404(statement, "This campaign has no such routing setting.")


def create_setting(campaign_id: int, data: dict, *, seller_id: int) -> CampaignClientSetting:
    data = _with_bid_url_checked(data)
    campaign = campaign_service.get_campaign(campaign_id, seller_id=seller_id)
    _ensure_active_client(data["client_id"])
    _ensure_not_linked(campaign.id, data["client_id"])
    with committing({
        "uq_campaign_client_settings_campaign_id_client_id": _already_linked(None),
        "fk_campaign_client_settings_campaign_id_campaigns": NotFound("No such campaign."),
        "fk_campaign_client_settings_client_id_clients": _no_active_client(),
    }):
        setting = CampaignClientSetting(campaign_id=campaign.id, client_id=data["client_id"],
                                        **{f: data[f] for f in EDITABLE_FIELDS if f in data})
        db.session.add(setting)
    return setting


def update_setting(campaign_id: int, setting_id: int, data: dict, *,
                   seller_id: int) -> CampaignClientSetting:
    # The row lock orders this change after any call the routing engine is reserving or
    # counting on this link, so the floor below is checked against the true counts. Calls in
    # flight count too: each may still be answered, and a total the engine admitted them under
    # must not be lowered beneath them.
    data = _with_bid_url_checked(data)
    setting = get_setting(campaign_id, setting_id, seller_id=seller_id, for_update=True)
    limit = data.get("total_calls_allowed")
    floor = setting.current_total_calls + setting.in_flight
    if limit is not None and limit < floor:
        in_flight = f" and {setting.in_flight} in progress" if setting.in_flight else ""
        raise ValidationFailed.field(
            "total_calls_allowed",
            f"Cannot be below the {setting.current_total_calls} calls already delivered{in_flight}.")
    with committing():
        for field in EDITABLE_FIELDS:
            if field in data:
                setattr(setting, field, data[field])
    return setting


def delete_setting(campaign_id: int, setting_id: int, *, seller_id: int) -> None:
    setting = get_setting(campaign_id, setting_id, seller_id=seller_id)
    if campaign_service.has_calls_in_flight(Reservation.setting_id == setting.id):
        raise campaign_service.calls_in_flight("routing setting")
    with committing({"fk_reservations_setting_id_campaign_client_settings":
                     campaign_service.calls_in_flight("routing setting")}):
        db.session.delete(setting)


def _with_bid_url_checked(data: dict) -> dict:
    """A bid URL follows the webhook target rules (an empty one prices the link fixed)."""
    if "bid_url" not in data:
        return data
    url = (data["bid_url"] or "").strip() or None
    if url is not None:
        problem = url_problem(url, require_https=bool(current_app.config.get(
            "WEBHOOKS_REQUIRE_HTTPS")))
        if problem:
            raise ValidationFailed.field("bid_url", problem)
    return {**data, "bid_url": url}


def _settings_of(seller_id: int, campaign_id: int) -> Select:
    return (select(CampaignClientSetting)
            .join(Campaign, Campaign.id == CampaignClientSetting.campaign_id)
            .where(Campaign.seller_id == seller_id,
                   CampaignClientSetting.campaign_id == campaign_id))


def _ensure_active_client(client_id: int) -> None:
    active = db.session.scalar(select(exists().where(Client.id == client_id,
                                                     Client.status == "active")))
    if not active:
        raise _no_active_client()


def _ensure_not_linked(campaign_id: int, client_id: int) -> None:
    existing = db.session.scalar(select(CampaignClientSetting.id).where(
        CampaignClientSetting.campaign_id == campaign_id,
        CampaignClientSetting.client_id == client_id))
    if existing is not None:
        raise _already_linked(existing)


def _no_active_client() -> ValidationFailed:
    return ValidationFailed.field("client_id", "No active client with this id.")


def _already_linked(setting_id: int | None) -> Conflict:
    details: dict = {"client_id": ["This campaign already links this client."]}
    if setting_id is not None:
        details["setting_id"] = setting_id
    return Conflict("This campaign already links this client.", details=details,
                    code="duplicate")

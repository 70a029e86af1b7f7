"""Webhook subscriptions (sellers: their campaigns' events; admins: the platform's) and
campaigns' conversion postback templates, with their deliveries.

A webhook's owner scope is `scope_key`: the seller's id, or 0 for the platform (every admin
manages those). Rows of another scope are absent (NotFound), like rows that do not exist.
"""
import secrets as secrets_module
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update

from app.database.models import Campaign, WebhookAttempt, WebhookDelivery, WebhookSubscription
from app.database.models.integrations import PLATFORM_SCOPE
from app.extensions import db
from app.services.outbound.target import url_problem
from app.services.pagination import Page, paginate
from app.services.persistence import committing
from app.services.webhooks.payloads import template_problem
from app.domain.errors import Conflict, NotFound, ValidationFailed

SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class Owner:
    """Who manages a set of subscriptions: a user acting for a scope."""

    user_id: int
    scope_key: int  # the seller's id, or PLATFORM_SCOPE

    @classmethod
    def seller(cls, user) -> "Owner":
        return cls(user.id, user.id)

    @classmethod
    def platform(cls, user) -> "Owner":
        return cls(user.id, PLATFORM_SCOPE)


def new_secret() -> str:
    return SECRET_PREFIX + secrets_module.token_urlsafe(32)


def _check_url(url: str, field: str = "url") -> None:
    problem = url_problem(url, require_https=bool(current_app.config.get("WEBHOOKS_REQUIRE_HTTPS")))
    if problem:
        raise ValidationFailed.field(field, problem)


def _subscriptions(owner: Owner, kind: str, campaign_id: int | None = None):
    statement = select(WebhookSubscription).where(WebhookSubscription.scope_key == owner.scope_key,
                                                  WebhookSubscription.kind == kind)
    if campaign_id is not None:
        statement = statement.where(WebhookSubscription.campaign_id == campaign_id)
    return statement


def with_secret_flag(subscription: WebhookSubscription) -> WebhookSubscription:
    subscription.has_secret = bool(subscription.secret)
    return subscription


# -- webhooks ---------------------------------------------------------------------------------

def list_webhooks(owner: Owner, *, status=None, page=1, per_page=25) -> Page:
    statement = _subscriptions(owner, "webhook").order_by(WebhookSubscription.id)
    if status:
        statement = statement.where(WebhookSubscription.status == status)
    result = paginate(statement, page, per_page)
    for item in result.items:
        with_secret_flag(item)
    return result


def get_webhook(owner: Owner, webhook_id: int, *, kind: str = "webhook",
                campaign_id: int | None = None) -> WebhookSubscription:
    row = db.session.scalar(_subscriptions(owner, kind, campaign_id)
                            .where(WebhookSubscription.id == webhook_id))
    if row is None:
        raise NotFound("No such webhook." if kind == "webhook" else "No such postback.")
    return with_secret_flag(row)


def create_webhook(owner: Owner, data: dict) -> WebhookSubscription:
    _check_url(data["url"])
    secret = new_secret()
    row = WebhookSubscription(owner_id=owner.user_id, scope_key=owner.scope_key, kind="webhook",
                              url=data["url"], events=sorted(set(data["events"])),
                              status=data.get("status", "active"),
                              description=data.get("description", ""), secret=secret)
    with committing():
        db.session.add(row)
    row.secret_once = secret
    return with_secret_flag(row)


def update_webhook(owner: Owner, webhook_id: int, data: dict, *, kind: str = "webhook",
                   campaign_id: int | None = None) -> WebhookSubscription:
    row = get_webhook(owner, webhook_id, kind=kind, campaign_id=campaign_id)
    with committing():
        if "url" in data:
            if kind == "postback":
                _check_template(data["url"])
            else:
                _check_url(data["url"])
            row.url = data["url"]
        if "events" in data:
            row.events = sorted(set(data["events"]))
        if "description" in data:
            row.description = data["description"]
        if "status" in data and data["status"] != row.status:
            row.status = data["status"]
            if data["status"] == "active":  # re-enabled by its owner: a fresh start
                row.failing_since = None
                row.disabled_reason = None
    return with_secret_flag(row)


def delete_webhook(owner: Owner, webhook_id: int, *, kind: str = "webhook",
                   campaign_id: int | None = None) -> None:
    row = get_webhook(owner, webhook_id, kind=kind, campaign_id=campaign_id)
    with committing():
        db.session.delete(row)


def rotate_secret(owner: Owner, webhook_id: int) -> WebhookSubscription:
    row = get_webhook(owner, webhook_id)
    secret = new_secret()
    with committing():
        row.secret = secret
    row.secret_once = secret
    return with_secret_flag(row)


# -- deliveries -------------------------------------------------------------------------------

def list_deliveries(owner: Owner, webhook_id: int, *, status=None, page=1, per_page=25,
                    kind: str = "webhook", campaign_id: int | None = None) -> Page:
    """Newest first, each with the event's id and type and every attempt."""
    from app.database.models import Event

    get_webhook(owner, webhook_id, kind=kind, campaign_id=campaign_id)
    statement = (select(WebhookDelivery).where(WebhookDelivery.subscription_id == webhook_id)
                 .order_by(WebhookDelivery.id.desc()))
    if status:
        statement = statement.where(WebhookDelivery.status == status)
    result = paginate(statement, page, per_page)
    ids = [d.id for d in result.items]
    attempts: dict[int, list] = {i: [] for i in ids}
    if ids:
        for attempt in db.session.scalars(select(WebhookAttempt)
                                          .where(WebhookAttempt.delivery_id.in_(ids))
                                          .order_by(WebhookAttempt.id)):
            attempts[attempt.delivery_id].append(attempt)
        events = dict(db.session.execute(select(Event.id, Event.type)
                                         .where(Event.id.in_({d.event_id for d in result.items})))
                      .tuples().all())
    for delivery in result.items:
        delivery.attempt_log = attempts[delivery.id]
        delivery.event_type = events.get(delivery.event_id)
    return result


def redeliver(owner: Owner, webhook_id: int, delivery_id: int, *, kind: str = "webhook",
              campaign_id: int | None = None) -> WebhookDelivery:
    """Send a delivery again (sent or failed ones too), with a new retry window."""
    get_webhook(owner, webhook_id, kind=kind, campaign_id=campaign_id)
    delivery = db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == webhook_id)
        .with_for_update())
    if delivery is None:
        raise NotFound("No such delivery.")
    if delivery.status == "pending" and delivery.lease_token is not None:
        db.session.rollback()
        raise Conflict("This delivery is being sent right now.", code="delivery_in_progress")
    with committing():
        db.session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery.id)
                           .values(status="pending", next_attempt_at=db.func.now(),
                                   window_started_at=db.func.now(), lease_token=None))
    db.session.refresh(delivery)
    delivery.attempt_log = list(db.session.scalars(
        select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(WebhookAttempt.id)))
    from app.database.models import Event
    delivery.event_type = db.session.scalar(select(Event.type).where(Event.id == delivery.event_id))
    return delivery


# -- postback templates (per campaign) --------------------------------------------------------

def _check_template(url: str) -> None:
    problem = template_problem(url)
    if problem:
        raise ValidationFailed.field("url", problem)
    from app.services.webhooks.payloads import postback_url
    _check_url(postback_url(url, {}), "url")


def _own_campaign(seller_id: int, campaign_id: int) -> Campaign:
    campaign = db.session.scalar(select(Campaign).where(Campaign.id == campaign_id,
                                                        Campaign.seller_id == seller_id))
    if campaign is None:
        raise NotFound("No such campaign.")
    return campaign


def list_postbacks(owner: Owner, campaign_id: int, *, page=1, per_page=25) -> Page:
    _own_campaign(owner.scope_key, campaign_id)
    return paginate(_subscriptions(owner, "postback", campaign_id)
                    .order_by(WebhookSubscription.id), page, per_page)


def create_postback(owner: Owner, campaign_id: int, data: dict) -> WebhookSubscription:
    _own_campaign(owner.scope_key, campaign_id)
    _check_template(data["url"])
    row = WebhookSubscription(owner_id=owner.user_id, scope_key=owner.scope_key, kind="postback",
                              campaign_id=campaign_id, url=data["url"], events=["call.converted"],
                              status=data.get("status", "active"),
                              description=data.get("description", ""))
    with committing():
        db.session.add(row)
    return row


def get_postback(owner: Owner, campaign_id: int, postback_id: int) -> WebhookSubscription:
    _own_campaign(owner.scope_key, campaign_id)
    return get_webhook(owner, postback_id, kind="postback", campaign_id=campaign_id)


def update_postback(owner: Owner, campaign_id: int, postback_id: int,
                    data: dict) -> WebhookSubscription:
    get_postback(owner, campaign_id, postback_id)
    return update_webhook(owner, postback_id, data, kind="postback", campaign_id=campaign_id)


def delete_postback(owner: Owner, campaign_id: int, postback_id: int) -> None:
    get_postback(owner, campaign_id, postback_id)
    delete_webhook(owner, postback_id, kind="postback", campaign_id=campaign_id)


def list_postback_deliveries(owner: Owner, campaign_id: int, postback_id: int,
                             **args) -> Page:
    get_postback(owner, campaign_id, postback_id)
    return list_deliveries(owner, postback_id, kind="postback", campaign_id=campaign_id, **args)


def redeliver_postback(owner: Owner, campaign_id: int, postback_id: int,
                       delivery_id: int) -> WebhookDelivery:
    get_postback(owner, campaign_id, postback_id)
    return redeliver(owner, postback_id, delivery_id, kind="postback", campaign_id=campaign_id)

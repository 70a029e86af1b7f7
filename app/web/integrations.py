"""Integrations pages: webhooks (sellers: their campaigns' events; admins: the platform's) with
their deliveries, redelivery and secret rotation; a campaign's conversion postback templates;
everyone's personal API keys. Same schemas and services as the API; a secret or key is shown
once, on the page that answers its creation."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.schemas.api_key_schemas import ApiKeyCreateSchema
from app.schemas.webhook_schemas import (DeliveryQuerySchema, PostbackCreateSchema,
                                         WebhookCreateSchema, WebhookUpdateSchema)
from app.database.models.integrations import EVENT_TYPES
from app.services import api_key_service, campaign_service
from app.services.webhooks import subscriptions as service
from app.services.webhooks.payloads import POSTBACK_TOKENS
from app.access import login_required, roles_required, seller_required
from app.domain.roles import Role
from app.web.forms import (FormState, flash_conflicts, form_page, form_status, post_form,
                           read_query)

bp = Blueprint("web_integrations", __name__)
WEBHOOK_FIELDS = ["url", "events", "status", "description"]
KEY_FIELDS = ["name", "scope", "expires_at"]
webhook_owner_required = roles_required(Role.ADMIN, Role.SELLER)


def owner() -> service.Owner:
    if current_user.role == Role.ADMIN:
        return service.Owner.platform(current_user)
    return service.Owner.seller(current_user)


def _post_webhook(state: FormState, schema, action):
    saved = post_form(state, schema, action)
    if saved is None:  # show every ticked event again, not only the last
        state.values["events"] = request.form.getlist("events")
    return saved


def _show_secret(title: str, what: str, secret: str, back: str):
    return render_template("integrations/secret.html", title=title, what=what, secret=secret,
                           back=back)


@bp.route("/webhooks", methods=["GET", "POST"])
@webhook_owner_required
def webhooks():
    state = FormState(values={"events": ["call.ended"], "status": "active"})
    if request.method == "POST":
        hook = _post_webhook(state, WebhookCreateSchema(),
                             lambda data: service.create_webhook(owner(), data))
        if hook is not None:
            return _show_secret("Webhook created", f"webhook {hook.url}", hook.secret_once,
                                url_for(".webhook", webhook_id=hook.id))
    page = service.list_webhooks(owner(), per_page=100)
    return render_template("integrations/webhooks.html", page=page,
                           form=state.place(WEBHOOK_FIELDS), event_types=EVENT_TYPES,
                           platform=current_user.role == Role.ADMIN), form_status(state)


@bp.route("/webhooks/<id:webhook_id>", methods=["GET", "POST"])
@webhook_owner_required
def webhook(webhook_id):
    hook = service.get_webhook(owner(), webhook_id)
    state = FormState(values={"url": hook.url, "events": list(hook.events),
                              "status": hook.status if hook.status != "disabled" else "inactive",
                              "description": hook.description})

    def show():
        args, filters = read_query(DeliveryQuerySchema(), ["status", "page"])
        deliveries = service.list_deliveries(owner(), webhook_id, **args)
        return render_template("integrations/webhook.html", hook=hook, deliveries=deliveries,
                               form=state.place(WEBHOOK_FIELDS), event_types=EVENT_TYPES,
                               filters={k: v for k, v in filters.values.items()
                                        if v and k != "page"}), form_status(state)

    return form_page(
        lambda: _post_webhook(state, WebhookUpdateSchema(),
                              lambda data: service.update_webhook(owner(), webhook_id, data)),
        saved=lambda _: ("Webhook saved.", url_for(".webhook", webhook_id=webhook_id)),
        show=show)


@bp.post("/webhooks/<id:webhook_id>/rotate")
@webhook_owner_required
def rotate(webhook_id):
    hook = service.rotate_secret(owner(), webhook_id)
    return _show_secret("New signing secret", f"webhook {hook.url}", hook.secret_once,
                        url_for(".webhook", webhook_id=hook.id))


@bp.post("/webhooks/<id:webhook_id>/delete")
@webhook_owner_required
def delete(webhook_id):
    service.delete_webhook(owner(), webhook_id)
    flash("Webhook deleted.", "success")
    return redirect(url_for(".webhooks"))


@bp.post("/webhooks/<id:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@webhook_owner_required
@flash_conflicts(lambda webhook_id, delivery_id: url_for(".webhook", webhook_id=webhook_id))
def redeliver(webhook_id, delivery_id):
    service.redeliver(owner(), webhook_id, delivery_id)
    flash("The event will be sent again in a moment.", "success")
    return redirect(url_for(".webhook", webhook_id=webhook_id))


# -- a campaign's postback templates -----------------------------------------------------------

@bp.route("/campaigns/<id:campaign_id>/postbacks", methods=["GET", "POST"])
@seller_required
def postbacks(campaign_id):
    campaign = campaign_service.get_campaign(campaign_id, seller_id=current_user.id)
    me = service.Owner.seller(current_user)
    state = FormState(values={"status": "active"})

    def show():
        page = service.list_postbacks(me, campaign_id, per_page=100)
        last = {row.id: service.list_deliveries(me, row.id, kind="postback",
                                                campaign_id=campaign_id, per_page=5).items
                for row in page.items}
        return render_template("integrations/postbacks.html", campaign=campaign, page=page,
                               last=last, form=state.place(["url", "status", "description"]),
                               tokens=POSTBACK_TOKENS), form_status(state)

    return form_page(
        lambda: post_form(state, PostbackCreateSchema(),
                          lambda data: service.create_postback(me, campaign_id, data)),
        saved=lambda _: ("Postback added: it fires on every converted call of this campaign.",
                         url_for(".postbacks", campaign_id=campaign_id)),
        show=show)


@bp.post("/campaigns/<id:campaign_id>/postbacks/<id:postback_id>/delete")
@seller_required
def delete_postback(campaign_id, postback_id):
    service.delete_postback(service.Owner.seller(current_user), campaign_id, postback_id)
    flash("Postback deleted.", "success")
    return redirect(url_for(".postbacks", campaign_id=campaign_id))


# -- API keys ------------------------------------------------------------------------------------

@bp.route("/api-keys", methods=["GET", "POST"])
@login_required
def api_keys():
    state = FormState(values={"scope": "read"})
    if request.method == "POST":
        key = post_form(state, ApiKeyCreateSchema(),
                        lambda data: api_key_service.create_key(current_user.id, data))
        if key is not None:
            return _show_secret("API key created", f"API key “{key.name}” ({key.scope})",
                                key.key_once, url_for(".api_keys"))
    return render_template("integrations/api_keys.html",
                           keys=api_key_service.list_keys(current_user.id),
                           form=state.place(KEY_FIELDS)), form_status(state)


@bp.post("/api-keys/<id:key_id>/revoke")
@login_required
def revoke_key(key_id):
    api_key_service.revoke_key(current_user.id, key_id)
    flash("API key revoked: it no longer works.", "success")
    return redirect(url_for(".api_keys"))

"""Webhooks: sellers' (`/api/seller/webhooks`, their campaigns' events) and the platform's
(`/api/admin/webhooks`, every event), with deliveries, redelivery and secret rotation; and
campaigns' conversion postback templates (`/api/seller/campaigns/<id>/postbacks`)."""
from flask.views import MethodView
from flask_login import current_user

from app.api.schemas.lists import list_schema
from app.schemas.common import PaginationQuerySchema
from app.schemas.webhook_schemas import (DeliveryQuerySchema, DeliverySchema,
                                         PostbackCreateSchema, PostbackSchema,
                                         PostbackUpdateSchema, WebhookCreateSchema,
                                         WebhookQuerySchema, WebhookSchema, WebhookUpdateSchema,
                                         WebhookWithSecretSchema)
from app.api.smorest import Blueprint, ErrorSchema
from app.services.webhooks import subscriptions as service
from app.access import admin_required, seller_required

NO_STORE = {"Cache-Control": "no-store"}
SIGNATURE_DOC = (
    "Each event is POSTed as `{\"id\", \"type\", \"created_at\", \"data\"}` with "
    "`CapConduit-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" with the "
    "secret>` and `CapConduit-Event-Id`; any non-2xx answer or a 10 s timeout is retried with "
    "exponential backoff for 24 hours.")


def _webhook_blueprint(name: str, prefix: str, guard, owner_of, who: str) -> Blueprint:
    blp = Blueprint(name, __name__, url_prefix=prefix, description=f"Webhooks ({who}). "
                    + SIGNATURE_DOC)

    @blp.route("")
    class Webhooks(MethodView):
        decorators = [guard]

        @blp.arguments(WebhookQuerySchema, location="query")
        @blp.response(200, list_schema(WebhookSchema))
        def get(self, args):
            """List the webhooks."""
            return service.list_webhooks(owner_of(current_user), **args).as_dict()

        @blp.arguments(WebhookCreateSchema)
        @blp.response(201, WebhookWithSecretSchema)
        def post(self, data):
            """Subscribe a URL to events; the answer carries the signing `secret`, once."""
            return service.create_webhook(owner_of(current_user), data), NO_STORE

    @blp.route("/<id:webhook_id>")
    class WebhookById(MethodView):
        decorators = [guard]

        @blp.response(200, WebhookSchema)
        @blp.alt_response(404, schema=ErrorSchema, description="No such webhook.")
        def get(self, webhook_id):
            """One webhook (`has_secret`, never the secret)."""
            return service.get_webhook(owner_of(current_user), webhook_id)

        @blp.arguments(WebhookUpdateSchema)
        @blp.response(200, WebhookSchema)
        @blp.alt_response(404, schema=ErrorSchema, description="No such webhook.")
        def patch(self, data, webhook_id):
            """Change URL, events, description or status (`active` re-enables a disabled one)."""
            return service.update_webhook(owner_of(current_user), webhook_id, data)

        @blp.response(204)
        @blp.alt_response(404, schema=ErrorSchema, description="No such webhook.")
        def delete(self, webhook_id):
            """Delete the webhook and its delivery log."""
            service.delete_webhook(owner_of(current_user), webhook_id)

    @blp.route("/<id:webhook_id>/rotate_secret", methods=["POST"])
    @guard
    @blp.response(200, WebhookWithSecretSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such webhook.")
    def rotate(webhook_id):
        """Replace the signing secret; the new one is in this answer only."""
        return service.rotate_secret(owner_of(current_user), webhook_id), NO_STORE

    @blp.route("/<id:webhook_id>/deliveries", methods=["GET"])
    @guard
    @blp.arguments(DeliveryQuerySchema, location="query")
    @blp.response(200, list_schema(DeliverySchema))
    @blp.alt_response(404, schema=ErrorSchema, description="No such webhook.")
    def deliveries(args, webhook_id):
        """Deliveries, newest first, each with every attempt (status code, time, error, the
        next try it scheduled)."""
        return service.list_deliveries(owner_of(current_user), webhook_id, **args).as_dict()

    @blp.route("/<id:webhook_id>/deliveries/<id(max=9223372036854775807):delivery_id>/redeliver",
               methods=["POST"])
    @guard
    @blp.response(200, DeliverySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such webhook or delivery.")
    @blp.alt_response(409, schema=ErrorSchema, description="It is being sent right now.")
    def redeliver(webhook_id, delivery_id):
        """Send the event again (a new 24-hour retry window), whatever became of it."""
        return service.redeliver(owner_of(current_user), webhook_id, delivery_id)

    return blp


seller_blp = _webhook_blueprint("seller_webhooks", "/api/seller/webhooks", seller_required,
                                service.Owner.seller, "sellers: your campaigns' events")
admin_blp = _webhook_blueprint("admin_webhooks", "/api/admin/webhooks", admin_required,
                               service.Owner.platform, "admins: every event of the platform")

postbacks_blp = Blueprint(
    "seller_campaign_postbacks", __name__, url_prefix="/api/seller/campaigns/<id:campaign_id>/postbacks",
    description="Conversion pixels: GET templates fired on each call.converted of the campaign "
                "(sellers), delivered with the webhooks' retries and log")


@postbacks_blp.route("")
class Postbacks(MethodView):
    decorators = [seller_required]

    @postbacks_blp.arguments(PaginationQuerySchema, location="query")
    @postbacks_blp.response(200, list_schema(PostbackSchema))
    @postbacks_blp.alt_response(404, schema=ErrorSchema, description="No such campaign of yours.")
    def get(self, args, campaign_id):
        """The campaign's postback templates."""
        return service.list_postbacks(service.Owner.seller(current_user), campaign_id,
                                      **args).as_dict()

    @postbacks_blp.arguments(PostbackCreateSchema)
    @postbacks_blp.response(201, PostbackSchema)
    @postbacks_blp.alt_response(404, schema=ErrorSchema, description="No such campaign of yours.")
    def post(self, data, campaign_id):
        """Add a postback template (unknown `{tokens}` answer 422)."""
        return service.create_postback(service.Owner.seller(current_user), campaign_id, data)


@postbacks_blp.route("/<id:postback_id>")
class PostbackById(MethodView):
    decorators = [seller_required]

    @postbacks_blp.response(200, PostbackSchema)
    @postbacks_blp.alt_response(404, schema=ErrorSchema, description="No such postback.")
    def get(self, campaign_id, postback_id):
        """One postback template."""
        return service.get_postback(service.Owner.seller(current_user), campaign_id, postback_id)

    @postbacks_blp.arguments(PostbackUpdateSchema)
    @postbacks_blp.response(200, PostbackSchema)
    @postbacks_blp.alt_response(404, schema=ErrorSchema, description="No such postback.")
    def patch(self, data, campaign_id, postback_id):
        """Change the template, description or status."""
        return service.update_postback(service.Owner.seller(current_user), campaign_id,
                                       postback_id, data)

    @postbacks_blp.response(204)
    @postbacks_blp.alt_response(404, schema=ErrorSchema, description="No such postback.")
    def delete(self, campaign_id, postback_id):
        """Delete the template and its delivery log."""
        service.delete_postback(service.Owner.seller(current_user), campaign_id, postback_id)


@postbacks_blp.route("/<id:postback_id>/deliveries", methods=["GET"])
@seller_required
@postbacks_blp.arguments(DeliveryQuerySchema, location="query")
@postbacks_blp.response(200, list_schema(DeliverySchema))
@postbacks_blp.alt_response(404, schema=ErrorSchema, description="No such postback.")
def postback_deliveries(args, campaign_id, postback_id):
    """The template's deliveries, newest first, with every attempt."""
    return service.list_postback_deliveries(service.Owner.seller(current_user), campaign_id,
                                            postback_id, **args).as_dict()


@postbacks_blp.route("/<id:postback_id>/deliveries/<id(max=9223372036854775807):delivery_id>/redeliver",
                     methods=["POST"])
@seller_required
@postbacks_blp.response(200, DeliverySchema)
@postbacks_blp.alt_response(404, schema=ErrorSchema, description="No such postback or delivery.")
@postbacks_blp.alt_response(409, schema=ErrorSchema, description="It is being sent right now.")
def postback_redeliver(campaign_id, postback_id, delivery_id):
    """Fire the postback again (a new 24-hour retry window)."""
    return service.redeliver_postback(service.Owner.seller(current_user), campaign_id,
                                      postback_id, delivery_id)

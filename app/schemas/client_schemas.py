import marshmallow as ma
from marshmallow import ValidationError, validate
from marshmallow.experimental.context import Context

from app.database.models.carrier import CARRIER_ENDPOINT_PREFIX
from app.database.models.client import ACTIVE_STATUSES, CLIENT_IDENTIFIER_PATTERN, PJSIP_MODES
from app.schemas import PatternUnlessEmpty
from app.schemas.common import InputSchema, PaginationQuerySchema, strip_strings
from app.schemas.routing_rule_fields import ClientRulesFields
from app.schemas.sip_fields import (SipAuthInputSchema, SipAuthSchema, codecs_field,
                                    dtmf_mode_field, identify_ips_field, plain_text_field,
                                    sip_host_field, sip_uri_field, sip_user_field,
                                    transport_field)
from app.services.client_service import sip_rule_errors


def _not_reserved(identifier: str) -> None:
    if identifier.startswith(CARRIER_ENDPOINT_PREFIX):
        raise ValidationError(f"Identifiers starting with {CARRIER_ENDPOINT_PREFIX!r} are "
                              "reserved for carriers' endpoints.")


identifier_field = dict(
    validate=[validate.Length(min=1, max=40),
              PatternUnlessEmpty(CLIENT_IDENTIFIER_PATTERN,
                                 error="Use 1 to 40 lowercase letters, digits, '-' and '_'."),
              _not_reserved],
    metadata={"description": "Also the PJSIP endpoint id: Asterisk dials PJSIP/<identifier>.",
              "example": "acme-cc"},
)


class SipContactSchema(ma.Schema):
    uri = ma.fields.String()
    expires_at = ma.fields.DateTime()
    user_agent = ma.fields.String(allow_none=True)
    via_addr = ma.fields.String(allow_none=True)
    via_port = ma.fields.Integer(allow_none=True)
    reg_server = ma.fields.String(allow_none=True)


class SipRegistrationSchema(ma.Schema):
    reachable = ma.fields.Boolean(metadata={
        "description": "Whether the call center's PBX has an unexpired registration."})
    contacts = ma.fields.List(ma.fields.Nested(SipContactSchema))


class PjsipSchema(ma.Schema):
    mode = ma.fields.String()
    contact_uri = ma.fields.String(allow_none=True)
    max_contacts = ma.fields.Integer(allow_none=True)
    transport = ma.fields.String(allow_none=True)
    codecs = ma.fields.List(ma.fields.String())
    dtmf_mode = ma.fields.String(allow_none=True)
    identify_ips = ma.fields.List(ma.fields.String())
    outbound_auth = ma.fields.Nested(SipAuthSchema, allow_none=True)
    inbound_auth = ma.fields.Nested(SipAuthSchema, allow_none=True)
    callerid = ma.fields.String(allow_none=True)
    from_user = ma.fields.String(allow_none=True)
    from_domain = ma.fields.String(allow_none=True)
    send_pai = ma.fields.Boolean()
    nat = ma.fields.Boolean()
    registration = ma.fields.Nested(SipRegistrationSchema, allow_none=True, metadata={
        "description": "Register mode only: the contacts Asterisk holds (read from ps_contacts)."})


class PjsipInputSchema(InputSchema):
    """The SIP side of a client. On update, only the fields given change."""

    mode = ma.fields.String(validate=validate.OneOf(PJSIP_MODES), metadata={
        "description": "static (default): we dial contact_uri. register: the call center's PBX "
                       "registers to us as <client_identifier> with inbound_auth."})
    contact_uri = sip_uri_field(allow_none=True)
    max_contacts = ma.fields.Integer(validate=validate.Range(min=0, max=100), metadata={
        "description": "Registrations the AOR accepts: >= 1 in register mode, 0 by default "
                       "in static mode (a static client has no inbound auth)."})
    transport = transport_field()
    codecs = codecs_field()
    dtmf_mode = dtmf_mode_field()
    identify_ips = identify_ips_field()
    outbound_auth = ma.fields.Nested(SipAuthInputSchema, allow_none=True, metadata={
        "description": "Either mode: credentials we answer the call center's PBX with when it "
                       "challenges the calls we send it (a registering PBX may challenge them "
                       "too). null removes them; a mode switch keeps them."})
    inbound_auth = ma.fields.Nested(SipAuthInputSchema, metadata={
        "description": "Register mode: credentials the PBX registers with. The username "
                       "defaults to client_identifier; without a password a random one is "
                       "made (POST …/sip_password sets a new one and shows it once)."})
    callerid = plain_text_field(40, allow_none=True, metadata={
        "description": "Caller id for calls the client sends us, e.g. \"Acme\" <+14155550100>."})
    from_user = sip_user_field(allow_none=True, metadata={
        "description": "User part of the From header of calls we send them."})
    from_domain = sip_host_field(allow_none=True, metadata={
        "description": "Domain of the From header of calls we send them."})
    send_pai = ma.fields.Boolean(metadata={
        "description": "Send P-Asserted-Identity with the caller's number."})
    nat = ma.fields.Boolean(metadata={
        "description": "The PBX is behind NAT: rewrite_contact, rtp_symmetric, force_rport."})


class ClientSchema(ClientRulesFields):
    id = ma.fields.Integer(dump_only=True)
    client_identifier = ma.fields.String()
    name = ma.fields.String()
    department = ma.fields.String()
    status = ma.fields.String()
    notes = ma.fields.String()
    pjsip = ma.fields.Nested(PjsipSchema, allow_none=True, metadata={
        "description": "null when the client has no endpoint rows."})
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)
    has_bid_secret = ma.fields.Boolean(dump_only=True, metadata={
        "description": "Bid pings are signed (CapConduit-Signature); the secret is shown only "
                       "when made (POST …/bid_secret)"})


class _ClientInput(InputSchema):
    @ma.pre_load
    def strip(self, data, **kwargs):
        if isinstance(data, dict):
            return strip_strings(dict(data), "client_identifier", "name", "department")
        return data


# The id of the client an update applies to, set by the adapter around loading the update
# (`with UpdatedClient(client_id): …`): its SIP rules depend on the stored client.
UpdatedClient = Context[int]


def _check_sip_rules(data: dict, original, identifier: str | None,
                     client_id: int | None = None) -> None:
    pjsip = data.get("pjsip")
    given = original.get("pjsip") if isinstance(original, dict) else None
    if not isinstance(pjsip, dict) or not isinstance(given, dict):
        return
    errors = sip_rule_errors(identifier, pjsip, client_id=client_id)
    # A field that was given but refused already carries its own message.
    errors = {name: messages for name, messages in errors.items()
              if name in pjsip or name not in given}
    if errors:
        raise ValidationError({"pjsip": errors})


class ClientCreateSchema(ClientRulesFields, _ClientInput):
    client_identifier = ma.fields.String(required=True, **identifier_field)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    department = ma.fields.String(load_default="", validate=validate.Length(max=200))
    status = ma.fields.String(load_default="active", validate=validate.OneOf(ACTIVE_STATUSES))
    notes = ma.fields.String(load_default="", validate=validate.Length(max=10_000))
    pjsip = ma.fields.Nested(PjsipInputSchema, required=True)

    @ma.validates_schema(pass_original=True, skip_on_field_errors=False)
    def sip_rules(self, data, original, **kwargs):
        """The SIP rules of a new client (a static one needs a contact URI, …) in the same
        answer as the fields' own errors, so that every error is reported at once."""
        _check_sip_rules(data, original, data.get("client_identifier") or "new-client")


class ClientUpdateSchema(ClientRulesFields, _ClientInput):
    client_identifier = ma.fields.String(**identifier_field)
    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    department = ma.fields.String(validate=validate.Length(max=200))
    status = ma.fields.String(validate=validate.OneOf(ACTIVE_STATUSES))
    notes = ma.fields.String(validate=validate.Length(max=10_000))
    pjsip = ma.fields.Nested(PjsipInputSchema)

    @ma.validates_schema(pass_original=True, skip_on_field_errors=False)
    def sip_rules(self, data, original, **kwargs):
        """The SIP rules of the changes, judged against the stored client (`UpdatedClient`),
        in the same answer as the fields' own errors."""
        client_id = UpdatedClient.get(None)
        if client_id is not None:
            _check_sip_rules(data, original, data.get("client_identifier"), client_id)


class ClientQuerySchema(PaginationQuerySchema):
    status = ma.fields.String(validate=validate.OneOf(ACTIVE_STATUSES))
    mode = ma.fields.String(validate=validate.OneOf(PJSIP_MODES))
    q = ma.fields.String(validate=validate.Length(max=200), metadata={
        "description": "Text in the identifier, name or department."})


class ClientDeleteQuerySchema(InputSchema):
    unlink = ma.fields.Boolean(load_default=False, metadata={
        "description": "Also delete the campaign settings that route to this client."})


class SipSecretSchema(ma.Schema):
    client_id = ma.fields.Integer()
    client_identifier = ma.fields.String()
    username = ma.fields.String()
    sip_secret = ma.fields.String(metadata={
        "description": "The new inbound SIP password. Shown this once: it cannot be read again."})


class BidSecretSchema(ma.Schema):
    client_id = ma.fields.Integer()
    client_identifier = ma.fields.String()
    bid_secret = ma.fields.String(metadata={
        "description": "The new secret that signs this client's bid pings. Shown this once: it "
                       "cannot be read again."})

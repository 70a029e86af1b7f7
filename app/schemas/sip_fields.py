"""Fields for the SIP settings clients and carriers share (codecs, addresses, transport…).

Each field answers 422 naming itself for a value Asterisk would not accept; the rules live in
app.services.sip_syntax and the lists in app.services.pjsip_service.
"""
import marshmallow as ma
from marshmallow import ValidationError, validate

from app.schemas.common import InputSchema
from app.services.pjsip_service import DTMF_MODES, MAX_IDENTIFY_IPS, TRANSPORTS
from app.services.sip_syntax import (CODECS, check_auth_username, check_plain_text,
                                     networks_overlap, parse_identify_network, parse_sip_host,
                                     parse_sip_uri, parse_sip_user)


def _checked(parse):
    """A marshmallow validator from a sip_syntax parser that raises ValueError."""
    def validator(value):
        try:
            parse(value)
        except ValueError as error:
            raise ValidationError(str(error)) from None

    return validator


class IdentifyNetwork(ma.fields.String):
    """An IP address or CIDR network, optionally with a source port, loaded in the normalised
    form Asterisk gets."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_identify_network(text)
        except ValueError as error:
            raise ValidationError(str(error)) from None


def _distinct(values):
    if len(set(values)) != len(values):
        raise ValidationError("List each value once.")


def _disjoint_networks(networks):
    _distinct(networks)
    for index, network in enumerate(networks):
        for other in networks[index + 1:]:
            if networks_overlap(network, other):
                raise ValidationError(f"{network} and {other} overlap.")


def codecs_field(**kwargs) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.String(validate=validate.OneOf(CODECS)),
        validate=[validate.Length(min=1, max=len(CODECS)), _distinct],
        metadata={"description": "Asterisk codec names in order of preference "
                                 "(endpoint `allow`, after `disallow=all`).",
                  "example": ["ulaw", "alaw"]},
        **kwargs)


def identify_ips_field(min_length: int = 0, **kwargs) -> ma.fields.List:
    return ma.fields.List(
        IdentifyNetwork(),
        validate=[validate.Length(min=min_length, max=MAX_IDENTIFY_IPS), _disjoint_networks],
        metadata={"description": "Source addresses whose SIP requests belong to this endpoint "
                                 "(ps_endpoint_id_ips.match): an IP address, a CIDR network, "
                                 "either with a source port (`192.0.2.10:5060`, "
                                 "`[2001:db8::1]:5060`, `192.0.2.0:5060/28`). Without a port "
                                 "every port of the address is claimed. Identification by IP "
                                 "claims every request from a matching source, REGISTERs "
                                 "included, so no two endpoints may claim one source "
                                 "(address and port): 409 otherwise.",
                  "example": ["198.51.100.10", "203.0.113.0/28", "192.0.2.10:5060"]},
        **kwargs)


def transport_field(**kwargs) -> ma.fields.String:
    return ma.fields.String(
        validate=validate.OneOf(list(TRANSPORTS)),
        metadata={"description": "A transport defined in asterisk/pjsip.conf."}, **kwargs)


def dtmf_mode_field(**kwargs) -> ma.fields.String:
    return ma.fields.String(validate=validate.OneOf(DTMF_MODES), **kwargs)


def sip_uri_field(**kwargs) -> ma.fields.String:
    return ma.fields.String(
        validate=[validate.Length(max=255), _checked(parse_sip_uri)],
        metadata={"description": "sip: or sips: URI, e.g. sip:agent@pbx.example.com:5060 or "
                                 "sip:agent@pbx.example.com;transport=tcp",
                  "example": "sip:agent@pbx.example.com:5060"}, **kwargs)


def sip_user_field(**kwargs) -> ma.fields.String:
    return ma.fields.String(validate=[validate.Length(min=1, max=40), _checked(parse_sip_user)],
                            **kwargs)


def sip_host_field(**kwargs) -> ma.fields.String:
    return ma.fields.String(validate=[validate.Length(min=1, max=40), _checked(parse_sip_host)],
                            **kwargs)


def plain_text_field(max_length: int, **kwargs) -> ma.fields.String:
    """Text Asterisk reads back unchanged (no control characters or blanks at the ends)."""
    return ma.fields.String(
        validate=[validate.Length(min=1, max=max_length), _checked(check_plain_text)], **kwargs)


class SipAuthSchema(ma.Schema):
    """Digest credentials as answered: the password itself never is."""

    username = ma.fields.String()
    has_password = ma.fields.Boolean()


class SipAuthInputSchema(InputSchema):
    username = ma.fields.String(validate=[validate.Length(min=1, max=40),
                                          _checked(check_auth_username)])
    password = ma.fields.String(load_only=True,
                                validate=[validate.Length(min=1, max=80),
                                          _checked(check_plain_text)],
                                metadata={"description": "Write-only."})

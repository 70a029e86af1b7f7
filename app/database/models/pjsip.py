"""Asterisk's PJSIP realtime (ARA) tables, named and typed exactly as Asterisk's own schema.

Asterisk (res_config_pgsql + res_sorcery_realtime) reads these rows directly; the columns are
Asterisk 22's (``contrib/ast-db-manage``, listed in ``tests/data/asterisk-realtime-columns.txt``)
and nothing else: our own data lives in our tables, joined by id. Yes/no columns are the enum
``ast_bool_values`` (read them with ``app.database.realtime_values.parse_ast_bool``, write
``AST_BOOL_TRUE``/``AST_BOOL_FALSE``); a value holding ``;`` or ``^`` must be written through
``encode_realtime_value``.

Keys as Asterisk has them: no primary key in the database; ``id`` is NOT NULL, UNIQUE
(``<table>_id_key``) and has a plain index (``<table>_id``); every other column is nullable.
SQLAlchemy's ORM needs an identity, so ``id`` is the primary key at mapper level only
(``__mapper_args__``). The enum types are created by migration 0001_realtime, never by
``create_all`` (``create_type=False``).
"""
from typing import Optional

from sqlalchemy import BigInteger, Double, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ENUM
from sqlalchemy.orm import Mapped, mapped_column

from app.database.realtime_values import AST_BOOL_LABELS
from app.extensions import db

# Asterisk's PostgreSQL enum types used by the six tables: type name -> labels, in type order.
REALTIME_ENUM_LABELS: dict[str, tuple[str, ...]] = {
    "ast_bool_values": AST_BOOL_LABELS,
    "pjsip_connected_line_method_values": ("invite", "reinvite", "update"),
    "pjsip_direct_media_glare_mitigation_values": ("none", "outgoing", "incoming"),
    "pjsip_dtmf_mode_values_v3": ("rfc4733", "inband", "info", "auto", "auto_info"),
    "pjsip_timer_values": ("forced", "no", "required", "yes"),
    "pjsip_cid_privacy_values": (
        "allowed_not_screened", "allowed_passed_screened", "allowed_failed_screened", "allowed",
        "prohib_not_screened", "prohib_passed_screened", "prohib_failed_screened", "prohib",
        "unavailable",
    ),
    "pjsip_100rel_values_v2": ("no", "required", "peer_supported", "yes"),
    "pjsip_media_encryption_values": ("no", "sdes", "dtls"),
    "pjsip_t38udptl_ec_values": ("none", "fec", "redundancy"),
    "pjsip_dtls_setup_values": ("active", "passive", "actpass"),
    "pjsip_redirect_method_values": ("user", "uri_core", "uri_pjsip"),
    "sha_hash_values": ("SHA-1", "SHA-256"),
    "pjsip_incoming_call_offer_pref_values": ("local", "local_first", "remote", "remote_first"),
    "pjsip_outgoing_call_offer_pref_values": (
        "local", "local_merge", "local_first", "remote", "remote_merge", "remote_first",
    ),
    "security_negotiation_values": ("no", "mediasec"),
    "pjsip_auth_type_values_v2": ("md5", "userpass", "google_oauth"),
}


def _enum(name: str) -> ENUM:
    return ENUM(*REALTIME_ENUM_LABELS[name], name=name, create_type=False)


# One shared object per enum type.
AST_BOOL = _enum("ast_bool_values")
PJSIP_CONNECTED_LINE_METHOD = _enum("pjsip_connected_line_method_values")
PJSIP_DIRECT_MEDIA_GLARE_MITIGATION = _enum("pjsip_direct_media_glare_mitigation_values")
PJSIP_DTMF_MODE = _enum("pjsip_dtmf_mode_values_v3")
PJSIP_TIMER = _enum("pjsip_timer_values")
PJSIP_CID_PRIVACY = _enum("pjsip_cid_privacy_values")
PJSIP_100REL = _enum("pjsip_100rel_values_v2")
PJSIP_MEDIA_ENCRYPTION = _enum("pjsip_media_encryption_values")
PJSIP_T38UDPTL_EC = _enum("pjsip_t38udptl_ec_values")
PJSIP_DTLS_SETUP = _enum("pjsip_dtls_setup_values")
PJSIP_REDIRECT_METHOD = _enum("pjsip_redirect_method_values")
SHA_HASH = _enum("sha_hash_values")
PJSIP_INCOMING_CALL_OFFER_PREF = _enum("pjsip_incoming_call_offer_pref_values")
PJSIP_OUTGOING_CALL_OFFER_PREF = _enum("pjsip_outgoing_call_offer_pref_values")
SECURITY_NEGOTIATION = _enum("security_negotiation_values")
PJSIP_AUTH_TYPE = _enum("pjsip_auth_type_values_v2")

REALTIME_ENUMS: dict[str, ENUM] = {
    enum.name: enum
    for enum in (
        AST_BOOL, PJSIP_CONNECTED_LINE_METHOD, PJSIP_DIRECT_MEDIA_GLARE_MITIGATION, PJSIP_DTMF_MODE,
        PJSIP_TIMER, PJSIP_CID_PRIVACY, PJSIP_100REL, PJSIP_MEDIA_ENCRYPTION, PJSIP_T38UDPTL_EC,
        PJSIP_DTLS_SETUP, PJSIP_REDIRECT_METHOD, SHA_HASH, PJSIP_INCOMING_CALL_OFFER_PREF,
        PJSIP_OUTGOING_CALL_OFFER_PREF, SECURITY_NEGOTIATION, PJSIP_AUTH_TYPE,
    )
}

REALTIME_TABLES = (
    "ps_endpoints", "ps_aors", "ps_auths", "ps_endpoint_id_ips", "ps_contacts",
    "ps_domain_aliases",
)


def _id_keys(table: str) -> tuple:
    """Asterisk's keys on id: UNIQUE (id) as PostgreSQL names it, and a plain index."""
    return (
        UniqueConstraint("id", name=f"{table}_id_key"),
        Index(f"{table}_id", "id"),
    )


_ORM_IDENTITY = {"primary_key": ["id"]}  # mapper level only: the tables have no primary key


class PsEndpoint(db.Model):
    """A PJSIP endpoint (for a client: id = client_identifier)."""

    __tablename__ = "ps_endpoints"
    __table_args__ = _id_keys("ps_endpoints")
    __mapper_args__ = _ORM_IDENTITY

    # Column "100rel" is not a Python name: its attribute is rel_100.
    id: Mapped[str] = mapped_column(String(255), nullable=False)
    transport: Mapped[Optional[str]] = mapped_column(String(40))
    aors: Mapped[Optional[str]] = mapped_column(String(2048))
    auth: Mapped[Optional[str]] = mapped_column(String(255))
    context: Mapped[Optional[str]] = mapped_column(String(40))
    disallow: Mapped[Optional[str]] = mapped_column(String(200))
    allow: Mapped[Optional[str]] = mapped_column(String(200))
    direct_media: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    connected_line_method: Mapped[Optional[str]] = mapped_column(PJSIP_CONNECTED_LINE_METHOD)
    direct_media_method: Mapped[Optional[str]] = mapped_column(PJSIP_CONNECTED_LINE_METHOD)
    direct_media_glare_mitigation: Mapped[Optional[str]] = mapped_column(
        PJSIP_DIRECT_MEDIA_GLARE_MITIGATION
    )
    disable_direct_media_on_nat: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    dtmf_mode: Mapped[Optional[str]] = mapped_column(PJSIP_DTMF_MODE)
    external_media_address: Mapped[Optional[str]] = mapped_column(String(40))
    force_rport: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    ice_support: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    identify_by: Mapped[Optional[str]] = mapped_column(String(80))
    mailboxes: Mapped[Optional[str]] = mapped_column(String(40))
    moh_suggest: Mapped[Optional[str]] = mapped_column(String(40))
    outbound_auth: Mapped[Optional[str]] = mapped_column(String(255))
    outbound_proxy: Mapped[Optional[str]] = mapped_column(String(255))
    rewrite_contact: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    rtp_ipv6: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    rtp_symmetric: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    send_diversion: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    send_pai: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    send_rpid: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    timers_min_se: Mapped[Optional[int]] = mapped_column(Integer)
    timers: Mapped[Optional[str]] = mapped_column(PJSIP_TIMER)
    timers_sess_expires: Mapped[Optional[int]] = mapped_column(Integer)
    callerid: Mapped[Optional[str]] = mapped_column(String(40))
    callerid_privacy: Mapped[Optional[str]] = mapped_column(PJSIP_CID_PRIVACY)
    callerid_tag: Mapped[Optional[str]] = mapped_column(String(40))
    rel_100: Mapped[Optional[str]] = mapped_column("100rel", PJSIP_100REL)
    aggregate_mwi: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    trust_id_inbound: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    trust_id_outbound: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    use_ptime: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    use_avpf: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    media_encryption: Mapped[Optional[str]] = mapped_column(PJSIP_MEDIA_ENCRYPTION)
    inband_progress: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    call_group: Mapped[Optional[str]] = mapped_column(String(40))
    pickup_group: Mapped[Optional[str]] = mapped_column(String(40))
    named_call_group: Mapped[Optional[str]] = mapped_column(String(40))
    named_pickup_group: Mapped[Optional[str]] = mapped_column(String(40))
    device_state_busy_at: Mapped[Optional[int]] = mapped_column(Integer)
    fax_detect: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    t38_udptl: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    t38_udptl_ec: Mapped[Optional[str]] = mapped_column(PJSIP_T38UDPTL_EC)
    t38_udptl_maxdatagram: Mapped[Optional[int]] = mapped_column(Integer)
    t38_udptl_nat: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    t38_udptl_ipv6: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    tone_zone: Mapped[Optional[str]] = mapped_column(String(40))
    language: Mapped[Optional[str]] = mapped_column(String(40))
    one_touch_recording: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    record_on_feature: Mapped[Optional[str]] = mapped_column(String(40))
    record_off_feature: Mapped[Optional[str]] = mapped_column(String(40))
    rtp_engine: Mapped[Optional[str]] = mapped_column(String(40))
    allow_transfer: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    allow_subscribe: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    sdp_owner: Mapped[Optional[str]] = mapped_column(String(40))
    sdp_session: Mapped[Optional[str]] = mapped_column(String(40))
    tos_audio: Mapped[Optional[str]] = mapped_column(String(10))
    tos_video: Mapped[Optional[str]] = mapped_column(String(10))
    sub_min_expiry: Mapped[Optional[int]] = mapped_column(Integer)
    from_domain: Mapped[Optional[str]] = mapped_column(String(40))
    from_user: Mapped[Optional[str]] = mapped_column(String(40))
    mwi_from_user: Mapped[Optional[str]] = mapped_column(String(40))
    dtls_verify: Mapped[Optional[str]] = mapped_column(String(40))
    dtls_rekey: Mapped[Optional[str]] = mapped_column(String(40))
    dtls_cert_file: Mapped[Optional[str]] = mapped_column(String(200))
    dtls_private_key: Mapped[Optional[str]] = mapped_column(String(200))
    dtls_cipher: Mapped[Optional[str]] = mapped_column(String(200))
    dtls_ca_file: Mapped[Optional[str]] = mapped_column(String(200))
    dtls_ca_path: Mapped[Optional[str]] = mapped_column(String(200))
    dtls_setup: Mapped[Optional[str]] = mapped_column(PJSIP_DTLS_SETUP)
    srtp_tag_32: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    media_address: Mapped[Optional[str]] = mapped_column(String(40))
    redirect_method: Mapped[Optional[str]] = mapped_column(PJSIP_REDIRECT_METHOD)
    set_var: Mapped[Optional[str]] = mapped_column(Text)
    cos_audio: Mapped[Optional[int]] = mapped_column(Integer)
    cos_video: Mapped[Optional[int]] = mapped_column(Integer)
    message_context: Mapped[Optional[str]] = mapped_column(String(40))
    force_avp: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    media_use_received_transport: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    accountcode: Mapped[Optional[str]] = mapped_column(String(80))
    user_eq_phone: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    moh_passthrough: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    media_encryption_optimistic: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    rpid_immediate: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    g726_non_standard: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    rtp_keepalive: Mapped[Optional[int]] = mapped_column(Integer)
    rtp_timeout: Mapped[Optional[int]] = mapped_column(Integer)
    rtp_timeout_hold: Mapped[Optional[int]] = mapped_column(Integer)
    bind_rtp_to_media_address: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    voicemail_extension: Mapped[Optional[str]] = mapped_column(String(40))
    mwi_subscribe_replaces_unsolicited: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    deny: Mapped[Optional[str]] = mapped_column(String(95))
    permit: Mapped[Optional[str]] = mapped_column(String(95))
    acl: Mapped[Optional[str]] = mapped_column(String(40))
    contact_deny: Mapped[Optional[str]] = mapped_column(String(95))
    contact_permit: Mapped[Optional[str]] = mapped_column(String(95))
    contact_acl: Mapped[Optional[str]] = mapped_column(String(40))
    subscribe_context: Mapped[Optional[str]] = mapped_column(String(40))
    fax_detect_timeout: Mapped[Optional[int]] = mapped_column(Integer)
    contact_user: Mapped[Optional[str]] = mapped_column(String(80))
    preferred_codec_only: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    asymmetric_rtp_codec: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    rtcp_mux: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    allow_overlap: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    refer_blind_progress: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    notify_early_inuse_ringing: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    max_audio_streams: Mapped[Optional[int]] = mapped_column(Integer)
    max_video_streams: Mapped[Optional[int]] = mapped_column(Integer)
    webrtc: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    dtls_fingerprint: Mapped[Optional[str]] = mapped_column(SHA_HASH)
    incoming_mwi_mailbox: Mapped[Optional[str]] = mapped_column(String(40))
    bundle: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    dtls_auto_generate_cert: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    follow_early_media_fork: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    accept_multiple_sdp_answers: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    suppress_q850_reason_headers: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    trust_connected_line: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    send_connected_line: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    ignore_183_without_sdp: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    codec_prefs_incoming_offer: Mapped[Optional[str]] = mapped_column(String(128))
    codec_prefs_outgoing_offer: Mapped[Optional[str]] = mapped_column(String(128))
    codec_prefs_incoming_answer: Mapped[Optional[str]] = mapped_column(String(128))
    codec_prefs_outgoing_answer: Mapped[Optional[str]] = mapped_column(String(128))
    stir_shaken: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    send_history_info: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    allow_unauthenticated_options: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    t38_bind_udptl_to_media_address: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    geoloc_incoming_call_profile: Mapped[Optional[str]] = mapped_column(String(80))
    geoloc_outgoing_call_profile: Mapped[Optional[str]] = mapped_column(String(80))
    incoming_call_offer_pref: Mapped[Optional[str]] = mapped_column(PJSIP_INCOMING_CALL_OFFER_PREF)
    outgoing_call_offer_pref: Mapped[Optional[str]] = mapped_column(PJSIP_OUTGOING_CALL_OFFER_PREF)
    stir_shaken_profile: Mapped[Optional[str]] = mapped_column(String(80))
    security_negotiation: Mapped[Optional[str]] = mapped_column(SECURITY_NEGOTIATION)
    security_mechanisms: Mapped[Optional[str]] = mapped_column(String(512))
    send_aoc: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    overlap_context: Mapped[Optional[str]] = mapped_column(String(80))
    tenantid: Mapped[Optional[str]] = mapped_column(String(80))
    suppress_moh_on_sendonly: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    follow_redirect_methods: Mapped[Optional[str]] = mapped_column(String(95))
    rtp_port_start: Mapped[Optional[int]] = mapped_column(Integer)
    rtp_port_end: Mapped[Optional[int]] = mapped_column(Integer)

class PsAor(db.Model):
    """An address of record; a static contact URI lives in ``contact``."""

    __tablename__ = "ps_aors"
    __table_args__ = (
        *_id_keys("ps_aors"),
        Index("ps_aors_qualifyfreq_contact", "qualify_frequency", "contact"),
    )
    __mapper_args__ = _ORM_IDENTITY

    id: Mapped[str] = mapped_column(String(255), nullable=False)
    contact: Mapped[Optional[str]] = mapped_column(String(255))
    default_expiration: Mapped[Optional[int]] = mapped_column(Integer)
    mailboxes: Mapped[Optional[str]] = mapped_column(String(80))
    max_contacts: Mapped[Optional[int]] = mapped_column(Integer)
    minimum_expiration: Mapped[Optional[int]] = mapped_column(Integer)
    remove_existing: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    qualify_frequency: Mapped[Optional[int]] = mapped_column(Integer)
    authenticate_qualify: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    maximum_expiration: Mapped[Optional[int]] = mapped_column(Integer)
    outbound_proxy: Mapped[Optional[str]] = mapped_column(String(255))
    support_path: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    qualify_timeout: Mapped[Optional[float]] = mapped_column(Double)
    voicemail_extension: Mapped[Optional[str]] = mapped_column(String(40))
    remove_unavailable: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    qualify_2xx_only: Mapped[Optional[str]] = mapped_column(AST_BOOL)

class PsAuth(db.Model):
    """Credentials (for a client: the outbound auth its call center requires)."""

    __tablename__ = "ps_auths"
    __table_args__ = _id_keys("ps_auths")
    __mapper_args__ = _ORM_IDENTITY

    id: Mapped[str] = mapped_column(String(255), nullable=False)
    auth_type: Mapped[Optional[str]] = mapped_column(PJSIP_AUTH_TYPE)
    nonce_lifetime: Mapped[Optional[int]] = mapped_column(Integer)
    md5_cred: Mapped[Optional[str]] = mapped_column(String(40))
    password: Mapped[Optional[str]] = mapped_column(String(80))
    realm: Mapped[Optional[str]] = mapped_column(String(255))
    username: Mapped[Optional[str]] = mapped_column(String(40))
    refresh_token: Mapped[Optional[str]] = mapped_column(String(255))
    oauth_clientid: Mapped[Optional[str]] = mapped_column(String(255))
    oauth_secret: Mapped[Optional[str]] = mapped_column(String(255))
    password_digest: Mapped[Optional[str]] = mapped_column(String(1024))
    supported_algorithms_uas: Mapped[Optional[str]] = mapped_column(String(1024))
    supported_algorithms_uac: Mapped[Optional[str]] = mapped_column(String(1024))

class PsEndpointIdIp(db.Model):
    """Identify an endpoint by source address (``match``) or header."""

    __tablename__ = "ps_endpoint_id_ips"
    __table_args__ = _id_keys("ps_endpoint_id_ips")
    __mapper_args__ = _ORM_IDENTITY

    id: Mapped[str] = mapped_column(String(255), nullable=False)
    endpoint: Mapped[Optional[str]] = mapped_column(String(255))
    match: Mapped[Optional[str]] = mapped_column(String(80))
    srv_lookups: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    match_header: Mapped[Optional[str]] = mapped_column(String(255))
    match_request_uri: Mapped[Optional[str]] = mapped_column(String(255))

class PsContact(db.Model):
    """A contact Asterisk wrote for a REGISTER (id ``<aor>^3B@<hash>``).

    Static contacts live in ``ps_aors.contact`` and never appear here.
    """

    __tablename__ = "ps_contacts"
    __table_args__ = (
        *_id_keys("ps_contacts"),
        UniqueConstraint("id", "reg_server", name="ps_contacts_uq"),
        Index("ps_contacts_qualifyfreq_exp", "qualify_frequency", "expiration_time"),
    )
    __mapper_args__ = _ORM_IDENTITY

    id: Mapped[str] = mapped_column(String(255), nullable=False)
    uri: Mapped[Optional[str]] = mapped_column(String(511))
    expiration_time: Mapped[Optional[int]] = mapped_column(BigInteger)
    qualify_frequency: Mapped[Optional[int]] = mapped_column(Integer)
    outbound_proxy: Mapped[Optional[str]] = mapped_column(String(255))
    path: Mapped[Optional[str]] = mapped_column(Text)
    user_agent: Mapped[Optional[str]] = mapped_column(String(255))
    qualify_timeout: Mapped[Optional[float]] = mapped_column(Double)
    reg_server: Mapped[Optional[str]] = mapped_column(String(255))
    authenticate_qualify: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    via_addr: Mapped[Optional[str]] = mapped_column(String(40))
    via_port: Mapped[Optional[int]] = mapped_column(Integer)
    call_id: Mapped[Optional[str]] = mapped_column(String(255))
    endpoint: Mapped[Optional[str]] = mapped_column(String(255))
    prune_on_boot: Mapped[Optional[str]] = mapped_column(AST_BOOL)
    qualify_2xx_only: Mapped[Optional[str]] = mapped_column(AST_BOOL)

class PsDomainAlias(db.Model):
    """A domain alias."""

    __tablename__ = "ps_domain_aliases"
    __table_args__ = _id_keys("ps_domain_aliases")
    __mapper_args__ = _ORM_IDENTITY

    id: Mapped[str] = mapped_column(String(255), nullable=False)
    domain: Mapped[Optional[str]] = mapped_column(String(255))

REALTIME_MODELS = (PsEndpoint, PsAor, PsAuth, PsEndpointIdIp, PsContact, PsDomainAlias)

__all__ = [
    "AST_BOOL", "PJSIP_100REL", "PJSIP_AUTH_TYPE", "PJSIP_CID_PRIVACY",
    "PJSIP_CONNECTED_LINE_METHOD", "PJSIP_DIRECT_MEDIA_GLARE_MITIGATION", "PJSIP_DTLS_SETUP",
    "PJSIP_DTMF_MODE", "PJSIP_INCOMING_CALL_OFFER_PREF", "PJSIP_MEDIA_ENCRYPTION",
    "PJSIP_OUTGOING_CALL_OFFER_PREF", "PJSIP_REDIRECT_METHOD", "PJSIP_T38UDPTL_EC", "PJSIP_TIMER",
    "REALTIME_ENUMS", "REALTIME_ENUM_LABELS", "REALTIME_MODELS", "REALTIME_TABLES",
    "SECURITY_NEGOTIATION", "SHA_HASH", "PsAor", "PsAuth", "PsContact", "PsDomainAlias",
    "PsEndpoint", "PsEndpointIdIp",
]

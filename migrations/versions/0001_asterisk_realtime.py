"""Asterisk's PJSIP realtime tables and enum types, exactly as Asterisk's own schema.

ps_endpoints, ps_aors, ps_auths, ps_endpoint_id_ips, ps_contacts and ps_domain_aliases, column
for column and type for type as Asterisk 22's contrib/ast-db-manage leaves them (see
tests/data/asterisk-realtime-columns.txt), with Asterisk's enum type names and labels and its
constraint and index names. No primary keys: id is NOT NULL, UNIQUE (<table>_id_key) and
indexed (<table>_id); every other column is nullable. Hand-written; frozen: it does not import
the app's models.

Revision ID: 0001_realtime
Revises:
Create Date: 2026-11-24 12:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0001_realtime"
down_revision = None
branch_labels = None
depends_on = None

# Asterisk's enum types: name -> labels, in type order (postgresql_config.sql).
ENUM_TYPES = {
    "ast_bool_values": ("0", "1", "off", "on", "false", "true", "no", "yes"),
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

TABLES = (
    "ps_endpoints", "ps_aors", "ps_auths", "ps_endpoint_id_ips", "ps_contacts",
    "ps_domain_aliases",
)


def _enum(name):
    # The types are created once, explicitly, in upgrade(); never by create_table.
    return postgresql.ENUM(*ENUM_TYPES[name], name=name, create_type=False)


def _unique_id(table):
    # Asterisk's UNIQUE (id), named as PostgreSQL names it: <table>_id_key.
    return sa.UniqueConstraint("id", name=f"{table}_id_key")


def upgrade():
    for name, labels in ENUM_TYPES.items():
        quoted = ", ".join("'" + label.replace("'", "''") + "'" for label in labels)
        op.execute(f"CREATE TYPE {name} AS ENUM ({quoted})")

    op.create_table(
        "ps_endpoints",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("transport", sa.String(length=40), nullable=True),
        sa.Column("aors", sa.String(length=2048), nullable=True),
        sa.Column("auth", sa.String(length=255), nullable=True),
        sa.Column("context", sa.String(length=40), nullable=True),
        sa.Column("disallow", sa.String(length=200), nullable=True),
        sa.Column("allow", sa.String(length=200), nullable=True),
        sa.Column("direct_media", _enum("ast_bool_values"), nullable=True),
        sa.Column(
            "connected_line_method", _enum("pjsip_connected_line_method_values"), nullable=True
        ),
        sa.Column(
            "direct_media_method", _enum("pjsip_connected_line_method_values"), nullable=True
        ),
        sa.Column(
            "direct_media_glare_mitigation",
            _enum("pjsip_direct_media_glare_mitigation_values"),
            nullable=True,
        ),
        sa.Column("disable_direct_media_on_nat", _enum("ast_bool_values"), nullable=True),
        sa.Column("dtmf_mode", _enum("pjsip_dtmf_mode_values_v3"), nullable=True),
        sa.Column("external_media_address", sa.String(length=40), nullable=True),
        sa.Column("force_rport", _enum("ast_bool_values"), nullable=True),
        sa.Column("ice_support", _enum("ast_bool_values"), nullable=True),
        sa.Column("identify_by", sa.String(length=80), nullable=True),
        sa.Column("mailboxes", sa.String(length=40), nullable=True),
        sa.Column("moh_suggest", sa.String(length=40), nullable=True),
        sa.Column("outbound_auth", sa.String(length=255), nullable=True),
        sa.Column("outbound_proxy", sa.String(length=255), nullable=True),
        sa.Column("rewrite_contact", _enum("ast_bool_values"), nullable=True),
        sa.Column("rtp_ipv6", _enum("ast_bool_values"), nullable=True),
        sa.Column("rtp_symmetric", _enum("ast_bool_values"), nullable=True),
        sa.Column("send_diversion", _enum("ast_bool_values"), nullable=True),
        sa.Column("send_pai", _enum("ast_bool_values"), nullable=True),
        sa.Column("send_rpid", _enum("ast_bool_values"), nullable=True),
        sa.Column("timers_min_se", sa.Integer(), nullable=True),
        sa.Column("timers", _enum("pjsip_timer_values"), nullable=True),
        sa.Column("timers_sess_expires", sa.Integer(), nullable=True),
        sa.Column("callerid", sa.String(length=40), nullable=True),
        sa.Column("callerid_privacy", _enum("pjsip_cid_privacy_values"), nullable=True),
        sa.Column("callerid_tag", sa.String(length=40), nullable=True),
        sa.Column("100rel", _enum("pjsip_100rel_values_v2"), nullable=True),
        sa.Column("aggregate_mwi", _enum("ast_bool_values"), nullable=True),
        sa.Column("trust_id_inbound", _enum("ast_bool_values"), nullable=True),
        sa.Column("trust_id_outbound", _enum("ast_bool_values"), nullable=True),
        sa.Column("use_ptime", _enum("ast_bool_values"), nullable=True),
        sa.Column("use_avpf", _enum("ast_bool_values"), nullable=True),
        sa.Column("media_encryption", _enum("pjsip_media_encryption_values"), nullable=True),
        sa.Column("inband_progress", _enum("ast_bool_values"), nullable=True),
        sa.Column("call_group", sa.String(length=40), nullable=True),
        sa.Column("pickup_group", sa.String(length=40), nullable=True),
        sa.Column("named_call_group", sa.String(length=40), nullable=True),
        sa.Column("named_pickup_group", sa.String(length=40), nullable=True),
        sa.Column("device_state_busy_at", sa.Integer(), nullable=True),
        sa.Column("fax_detect", _enum("ast_bool_values"), nullable=True),
        sa.Column("t38_udptl", _enum("ast_bool_values"), nullable=True),
        sa.Column("t38_udptl_ec", _enum("pjsip_t38udptl_ec_values"), nullable=True),
        sa.Column("t38_udptl_maxdatagram", sa.Integer(), nullable=True),
        sa.Column("t38_udptl_nat", _enum("ast_bool_values"), nullable=True),
        sa.Column("t38_udptl_ipv6", _enum("ast_bool_values"), nullable=True),
        sa.Column("tone_zone", sa.String(length=40), nullable=True),
        sa.Column("language", sa.String(length=40), nullable=True),
        sa.Column("one_touch_recording", _enum("ast_bool_values"), nullable=True),
        sa.Column("record_on_feature", sa.String(length=40), nullable=True),
        sa.Column("record_off_feature", sa.String(length=40), nullable=True),
        sa.Column("rtp_engine", sa.String(length=40), nullable=True),
        sa.Column("allow_transfer", _enum("ast_bool_values"), nullable=True),
        sa.Column("allow_subscribe", _enum("ast_bool_values"), nullable=True),
        sa.Column("sdp_owner", sa.String(length=40), nullable=True),
        sa.Column("sdp_session", sa.String(length=40), nullable=True),
        sa.Column("tos_audio", sa.String(length=10), nullable=True),
        sa.Column("tos_video", sa.String(length=10), nullable=True),
        sa.Column("sub_min_expiry", sa.Integer(), nullable=True),
        sa.Column("from_domain", sa.String(length=40), nullable=True),
        sa.Column("from_user", sa.String(length=40), nullable=True),
        sa.Column("mwi_from_user", sa.String(length=40), nullable=True),
        sa.Column("dtls_verify", sa.String(length=40), nullable=True),
        sa.Column("dtls_rekey", sa.String(length=40), nullable=True),
        sa.Column("dtls_cert_file", sa.String(length=200), nullable=True),
        sa.Column("dtls_private_key", sa.String(length=200), nullable=True),
        sa.Column("dtls_cipher", sa.String(length=200), nullable=True),
        sa.Column("dtls_ca_file", sa.String(length=200), nullable=True),
        sa.Column("dtls_ca_path", sa.String(length=200), nullable=True),
        sa.Column("dtls_setup", _enum("pjsip_dtls_setup_values"), nullable=True),
        sa.Column("srtp_tag_32", _enum("ast_bool_values"), nullable=True),
        sa.Column("media_address", sa.String(length=40), nullable=True),
        sa.Column("redirect_method", _enum("pjsip_redirect_method_values"), nullable=True),
        sa.Column("set_var", sa.Text(), nullable=True),
        sa.Column("cos_audio", sa.Integer(), nullable=True),
        sa.Column("cos_video", sa.Integer(), nullable=True),
        sa.Column("message_context", sa.String(length=40), nullable=True),
        sa.Column("force_avp", _enum("ast_bool_values"), nullable=True),
        sa.Column("media_use_received_transport", _enum("ast_bool_values"), nullable=True),
        sa.Column("accountcode", sa.String(length=80), nullable=True),
        sa.Column("user_eq_phone", _enum("ast_bool_values"), nullable=True),
        sa.Column("moh_passthrough", _enum("ast_bool_values"), nullable=True),
        sa.Column("media_encryption_optimistic", _enum("ast_bool_values"), nullable=True),
        sa.Column("rpid_immediate", _enum("ast_bool_values"), nullable=True),
        sa.Column("g726_non_standard", _enum("ast_bool_values"), nullable=True),
        sa.Column("rtp_keepalive", sa.Integer(), nullable=True),
        sa.Column("rtp_timeout", sa.Integer(), nullable=True),
        sa.Column("rtp_timeout_hold", sa.Integer(), nullable=True),
        sa.Column("bind_rtp_to_media_address", _enum("ast_bool_values"), nullable=True),
        sa.Column("voicemail_extension", sa.String(length=40), nullable=True),
        sa.Column("mwi_subscribe_replaces_unsolicited", _enum("ast_bool_values"), nullable=True),
        sa.Column("deny", sa.String(length=95), nullable=True),
        sa.Column("permit", sa.String(length=95), nullable=True),
        sa.Column("acl", sa.String(length=40), nullable=True),
        sa.Column("contact_deny", sa.String(length=95), nullable=True),
        sa.Column("contact_permit", sa.String(length=95), nullable=True),
        sa.Column("contact_acl", sa.String(length=40), nullable=True),
        sa.Column("subscribe_context", sa.String(length=40), nullable=True),
        sa.Column("fax_detect_timeout", sa.Integer(), nullable=True),
        sa.Column("contact_user", sa.String(length=80), nullable=True),
        sa.Column("preferred_codec_only", _enum("ast_bool_values"), nullable=True),
        sa.Column("asymmetric_rtp_codec", _enum("ast_bool_values"), nullable=True),
        sa.Column("rtcp_mux", _enum("ast_bool_values"), nullable=True),
        sa.Column("allow_overlap", _enum("ast_bool_values"), nullable=True),
        sa.Column("refer_blind_progress", _enum("ast_bool_values"), nullable=True),
        sa.Column("notify_early_inuse_ringing", _enum("ast_bool_values"), nullable=True),
        sa.Column("max_audio_streams", sa.Integer(), nullable=True),
        sa.Column("max_video_streams", sa.Integer(), nullable=True),
        sa.Column("webrtc", _enum("ast_bool_values"), nullable=True),
        sa.Column("dtls_fingerprint", _enum("sha_hash_values"), nullable=True),
        sa.Column("incoming_mwi_mailbox", sa.String(length=40), nullable=True),
        sa.Column("bundle", _enum("ast_bool_values"), nullable=True),
        sa.Column("dtls_auto_generate_cert", _enum("ast_bool_values"), nullable=True),
        sa.Column("follow_early_media_fork", _enum("ast_bool_values"), nullable=True),
        sa.Column("accept_multiple_sdp_answers", _enum("ast_bool_values"), nullable=True),
        sa.Column("suppress_q850_reason_headers", _enum("ast_bool_values"), nullable=True),
        sa.Column("trust_connected_line", _enum("ast_bool_values"), nullable=True),
        sa.Column("send_connected_line", _enum("ast_bool_values"), nullable=True),
        sa.Column("ignore_183_without_sdp", _enum("ast_bool_values"), nullable=True),
        sa.Column("codec_prefs_incoming_offer", sa.String(length=128), nullable=True),
        sa.Column("codec_prefs_outgoing_offer", sa.String(length=128), nullable=True),
        sa.Column("codec_prefs_incoming_answer", sa.String(length=128), nullable=True),
        sa.Column("codec_prefs_outgoing_answer", sa.String(length=128), nullable=True),
        sa.Column("stir_shaken", _enum("ast_bool_values"), nullable=True),
        sa.Column("send_history_info", _enum("ast_bool_values"), nullable=True),
        sa.Column("allow_unauthenticated_options", _enum("ast_bool_values"), nullable=True),
        sa.Column("t38_bind_udptl_to_media_address", _enum("ast_bool_values"), nullable=True),
        sa.Column("geoloc_incoming_call_profile", sa.String(length=80), nullable=True),
        sa.Column("geoloc_outgoing_call_profile", sa.String(length=80), nullable=True),
        sa.Column(
            "incoming_call_offer_pref",
            _enum("pjsip_incoming_call_offer_pref_values"),
            nullable=True,
        ),
        sa.Column(
            "outgoing_call_offer_pref",
            _enum("pjsip_outgoing_call_offer_pref_values"),
            nullable=True,
        ),
        sa.Column("stir_shaken_profile", sa.String(length=80), nullable=True),
        sa.Column("security_negotiation", _enum("security_negotiation_values"), nullable=True),
        sa.Column("security_mechanisms", sa.String(length=512), nullable=True),
        sa.Column("send_aoc", _enum("ast_bool_values"), nullable=True),
        sa.Column("overlap_context", sa.String(length=80), nullable=True),
        sa.Column("tenantid", sa.String(length=80), nullable=True),
        sa.Column("suppress_moh_on_sendonly", _enum("ast_bool_values"), nullable=True),
        sa.Column("follow_redirect_methods", sa.String(length=95), nullable=True),
        sa.Column("rtp_port_start", sa.Integer(), nullable=True),
        sa.Column("rtp_port_end", sa.Integer(), nullable=True),
        _unique_id("ps_endpoints"),
    )
    op.create_index("ps_endpoints_id", "ps_endpoints", ["id"])

    op.create_table(
        "ps_aors",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("contact", sa.String(length=255), nullable=True),
        sa.Column("default_expiration", sa.Integer(), nullable=True),
        sa.Column("mailboxes", sa.String(length=80), nullable=True),
        sa.Column("max_contacts", sa.Integer(), nullable=True),
        sa.Column("minimum_expiration", sa.Integer(), nullable=True),
        sa.Column("remove_existing", _enum("ast_bool_values"), nullable=True),
        sa.Column("qualify_frequency", sa.Integer(), nullable=True),
        sa.Column("authenticate_qualify", _enum("ast_bool_values"), nullable=True),
        sa.Column("maximum_expiration", sa.Integer(), nullable=True),
        sa.Column("outbound_proxy", sa.String(length=255), nullable=True),
        sa.Column("support_path", _enum("ast_bool_values"), nullable=True),
        sa.Column("qualify_timeout", sa.Double(), nullable=True),
        sa.Column("voicemail_extension", sa.String(length=40), nullable=True),
        sa.Column("remove_unavailable", _enum("ast_bool_values"), nullable=True),
        sa.Column("qualify_2xx_only", _enum("ast_bool_values"), nullable=True),
        _unique_id("ps_aors"),
    )
    op.create_index("ps_aors_id", "ps_aors", ["id"])
    op.create_index("ps_aors_qualifyfreq_contact", "ps_aors", ["qualify_frequency", "contact"])

    op.create_table(
        "ps_auths",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("auth_type", _enum("pjsip_auth_type_values_v2"), nullable=True),
        sa.Column("nonce_lifetime", sa.Integer(), nullable=True),
        sa.Column("md5_cred", sa.String(length=40), nullable=True),
        sa.Column("password", sa.String(length=80), nullable=True),
        sa.Column("realm", sa.String(length=255), nullable=True),
        sa.Column("username", sa.String(length=40), nullable=True),
        sa.Column("refresh_token", sa.String(length=255), nullable=True),
        sa.Column("oauth_clientid", sa.String(length=255), nullable=True),
        sa.Column("oauth_secret", sa.String(length=255), nullable=True),
        sa.Column("password_digest", sa.String(length=1024), nullable=True),
        sa.Column("supported_algorithms_uas", sa.String(length=1024), nullable=True),
        sa.Column("supported_algorithms_uac", sa.String(length=1024), nullable=True),
        _unique_id("ps_auths"),
    )
    op.create_index("ps_auths_id", "ps_auths", ["id"])

    op.create_table(
        "ps_endpoint_id_ips",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("endpoint", sa.String(length=255), nullable=True),
        sa.Column("match", sa.String(length=80), nullable=True),
        sa.Column("srv_lookups", _enum("ast_bool_values"), nullable=True),
        sa.Column("match_header", sa.String(length=255), nullable=True),
        sa.Column("match_request_uri", sa.String(length=255), nullable=True),
        _unique_id("ps_endpoint_id_ips"),
    )
    op.create_index("ps_endpoint_id_ips_id", "ps_endpoint_id_ips", ["id"])

    op.create_table(
        "ps_contacts",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("uri", sa.String(length=511), nullable=True),
        sa.Column("expiration_time", sa.BigInteger(), nullable=True),
        sa.Column("qualify_frequency", sa.Integer(), nullable=True),
        sa.Column("outbound_proxy", sa.String(length=255), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("qualify_timeout", sa.Double(), nullable=True),
        sa.Column("reg_server", sa.String(length=255), nullable=True),
        sa.Column("authenticate_qualify", _enum("ast_bool_values"), nullable=True),
        sa.Column("via_addr", sa.String(length=40), nullable=True),
        sa.Column("via_port", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.String(length=255), nullable=True),
        sa.Column("endpoint", sa.String(length=255), nullable=True),
        sa.Column("prune_on_boot", _enum("ast_bool_values"), nullable=True),
        sa.Column("qualify_2xx_only", _enum("ast_bool_values"), nullable=True),
        _unique_id("ps_contacts"),
        sa.UniqueConstraint("id", "reg_server", name="ps_contacts_uq"),
    )
    op.create_index("ps_contacts_id", "ps_contacts", ["id"])
    op.create_index(
        "ps_contacts_qualifyfreq_exp", "ps_contacts", ["qualify_frequency", "expiration_time"]
    )

    op.create_table(
        "ps_domain_aliases",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=True),
        _unique_id("ps_domain_aliases"),
    )
    op.create_index("ps_domain_aliases_id", "ps_domain_aliases", ["id"])


def downgrade():
    for table in reversed(TABLES):
        op.drop_table(table)  # drops its indexes and constraints too
    for name in reversed(list(ENUM_TYPES)):
        op.execute(f"DROP TYPE {name}")

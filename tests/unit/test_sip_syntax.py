"""The SIP value rules clients and carriers are checked against (app.services.sip_syntax)."""
import pytest

from app.services.sip_syntax import (CODECS, check_auth_username, check_plain_text,
                                     networks_overlap, parse_identify_network, parse_sip_host,
                                     parse_sip_uri, parse_sip_user)


@pytest.mark.parametrize("uri, host, port, transport", [
    ("sip:agent@pbx.example.com:5060", "pbx.example.com", 5060, "udp"),
    ("sip:pbx.example.com", "pbx.example.com", None, "udp"),
    ("SIP:agent@PBX.Example.COM", "PBX.Example.COM", None, "udp"),
    ("sip:agent@pbx.example.com;transport=tcp", "pbx.example.com", None, "tcp"),
    ("sip:+14155550100@203.0.113.7:5080;user=phone", "203.0.113.7", 5080, "udp"),
    ("sip:agent@[2001:db8::1]:5060", "[2001:db8::1]", 5060, "udp"),
    ("sips:agent@pbx.example.com", "pbx.example.com", None, "tls"),
    ("sips:agent@pbx.example.com;transport=tcp", "pbx.example.com", None, "tls"),
    ("sip:agent@localhost;transport=TLS;lr", "localhost", None, "tls"),
    ("sip:a%20b@pbx.example.com.", "pbx.example.com.", None, "udp"),
])
def test_valid_sip_uris(uri, host, port, transport):
    parsed = parse_sip_uri(uri)
    assert (parsed.host, parsed.port, parsed.transport) == (host, port, transport)


@pytest.mark.parametrize("uri", [
    "", "agent@pbx.example.com", "tel:+14155550100", "http://pbx.example.com",
    "sip:", "sip:agent@", "sip:@pbx.example.com", "sip:agent:secret@pbx.example.com",
    "sip:agent@pbx.example.com:0", "sip:agent@pbx.example.com:65536",
    "sip:agent@pbx.example.com:50x", "sip:agent@pbx_example.com", "sip:agent@-pbx.example.com",
    "sip:agent@pbx.123", "sip:agent@[2001:db8::1", "sip:agent@[not-v6]:5060",
    "sip:agent@pbx.example.com;", "sip:agent@pbx.example.com;transport=pigeon",
    "sip:agent@pbx.example.com;a=1;a=2", "sip:agent@pbx.example.com?Subject=x",
    "sips:agent@pbx.example.com;transport=udp", "sip:a@b.example,sip:c@d.example",
    "sip:agent@pbx.example.com ", "sip:agent@pbx.example.com\r\n", "<sip:agent@pbx.example.com>",
    'sip:"agent"@pbx.example.com', "sip:agent@pbx.example.com;x=^3B",
    "sip:agent@" + "a" * 119, "sip:agent@" + "a" * 129 + ":5060",
])
def test_invalid_sip_uris(uri):
    with pytest.raises(ValueError):
        parse_sip_uri(uri)


def test_a_long_host_fits_once_it_has_a_port():
    # Without a port Asterisk keeps room for an SRV prefix (ast_sip_validate_uri_length).
    assert parse_sip_uri("sip:agent@" + "a" * 128 + ":5060").port == 5060


@pytest.mark.parametrize("text, stored", [
    ("198.51.100.10", "198.51.100.10"),
    ("198.51.100.10/32", "198.51.100.10"),
    (" 198.51.100.0/24 ", "198.51.100.0/24"),
    ("2001:DB8::1", "2001:db8::1"),
    ("2001:db8:0:0::/64", "2001:db8::/64"),
    ("127.0.0.1", "127.0.0.1"),
    # With a source port, as Asterisk's `match` takes it (the port before any mask).
    ("192.0.2.10:5060", "192.0.2.10:5060"),
    (" 192.0.2.10:05070 ", "192.0.2.10:5070"),
    ("192.0.2.10:5060/32", "192.0.2.10:5060"),
    ("192.0.2.0:5060/28", "192.0.2.0:5060/28"),
    ("[2001:DB8::1]:5060", "[2001:db8::1]:5060"),
    ("[2001:db8::]:5060/64", "[2001:db8::]:5060/64"),
])
def test_identify_networks_are_normalised(text, stored):
    assert parse_identify_network(text) == stored


@pytest.mark.parametrize("text", ["", "pbx.example.com", "198.51.100.256", "198.51.100.1/24",
                                  "0.0.0.0/0", "::/0", "0.0.0.0", "::", "224.0.0.5",
                                  "ff02::1", "198.51.100.0/33", "192.0.2.10:0",
                                  "192.0.2.10:65536", "192.0.2.10:", "192.0.2.10:sip",
                                  "192.0.2.1:5060/28", "[2001:db8::1]", "[192.0.2.1]:5060",
                                  "pbx.example.com:5060", "192.0.2.10:5060:5061",
                                  "0.0.0.0:5060"])
def test_invalid_identify_networks(text):
    with pytest.raises(ValueError):
        parse_identify_network(text)


def test_overlap():
    assert networks_overlap("198.51.100.10", "198.51.100.0/24")
    assert networks_overlap("198.51.100.0/24", "198.51.100.128/25")
    assert not networks_overlap("198.51.100.10", "198.51.100.11")
    assert not networks_overlap("::ffff:198.51.100.10", "198.51.100.10")


def test_overlap_takes_the_source_port_into_account():
    """A match with a port claims that source port only; one without claims every port."""
    assert not networks_overlap("192.0.2.10:5060", "192.0.2.10:5070")
    assert networks_overlap("192.0.2.10:5060", "192.0.2.10:5060")
    assert networks_overlap("192.0.2.10", "192.0.2.10:5070")
    assert networks_overlap("192.0.2.10:5070", "192.0.2.0/24")
    assert networks_overlap("192.0.2.0:5070/24", "192.0.2.10:5070")
    assert not networks_overlap("192.0.2.0:5060/24", "192.0.2.10:5070")
    assert not networks_overlap("192.0.2.11:5060", "192.0.2.10:5060")
    assert not networks_overlap("[2001:db8::1]:5060", "[2001:db8::1]:5070")
    assert networks_overlap("[2001:db8::1]:5060", "2001:db8::/64")


def test_codec_list_is_asterisks_format_names():
    assert {"ulaw", "alaw", "g722", "g729", "gsm", "opus", "ilbc", "speex", "slin", "g726",
            "adpcm", "lpc10", "h264", "vp8"} <= set(CODECS)
    assert len(set(CODECS)) == len(CODECS)
    assert not {"all", "none", "pcmu", "pcma", "g711"} & set(CODECS)


@pytest.mark.parametrize("check, good, bad", [
    (parse_sip_user, ["capconduit", "+14155550100", "a.b-c_d"], ["a@b", "a:b", "a;b", "a b", ""]),
    (parse_sip_host, ["voice.example.com", "203.0.113.5", "2001:db8::5"],
     ["not a host", "a_b.example", ""]),
    (check_auth_username, ["capconduit", "user@realm", "a;b^c"], ["a b", 'a"b', "a\\b", ""]),
    (check_plain_text, ['"Acme" <+14155550100>', "p;ss^word"], ["", " x", "x ", "a\tb", "a\x7f"]),
])
def test_field_rules(check, good, bad):
    for value in good:
        assert check(value) == value
    for value in bad:
        with pytest.raises(ValueError):
            check(value)

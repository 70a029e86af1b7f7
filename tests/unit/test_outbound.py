"""The outbound guard and signature, with a real receiver on loopback."""
import socket

import pytest

from app.services.outbound import signature, target
from app.services.webhooks import payloads
from tests.support.receiver import Receiver


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.9.9.9", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "fe80::1", "fd00:ec2::254", "100.64.0.1", "0.0.0.0", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "224.0.0.1", "240.0.0.1"])
def test_internal_addresses_are_refused(address):
    assert target.address_problem(address) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_pass(address):
    assert target.address_problem(address) is None


@pytest.mark.parametrize("url,problem", [
    ("ftp://example.com/x", "http"), ("https://user:pw@example.com/", "user name"),
    ("https:///nohost", "http"), ("http://example.com/", "https"), ("https://exa mple.com", "spaces"),
    ("https://example.com/#frag", "fragment"), ("https://example.com:99999/", "valid")])
def test_urls_that_cannot_be_targets(url, problem):
    assert problem in target.url_problem(url, require_https=True)


def test_a_good_url_passes():
    assert target.url_problem("https://crm.example.com/hooks?a=1", require_https=True) is None
    assert target.url_problem("http://crm.example.com/hooks", require_https=False) is None


def _resolving(monkeypatch, answers: dict):
    real = socket.getaddrinfo
    calls = []

    def fake(host, port, *args, **kwargs):
        calls.append(host)
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return calls


def test_a_name_resolving_to_a_private_address_is_refused_before_connecting(monkeypatch):
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        _resolving(monkeypatch, {"hooks.example.test": "127.0.0.1"})
        response = target.send("POST", f"http://hooks.example.test:{port}/", body=b"{}")
        assert not response.ok and "loopback" in response.error
        assert receiver.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch):
    """One resolution: what was checked is what is dialled (no second lookup to rebind)."""
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        calls = _resolving(monkeypatch, {"hooks.example.test": "127.0.0.1"})
        response = target.send("POST", f"http://hooks.example.test:{port}/in?q=1", body=b"{}",
                               allow_private=True)
        assert response.ok and response.status_code == 200
        assert calls.count("hooks.example.test") == 1  # the rest are the checked literal
        [request] = receiver.requests
        assert request.headers["Host"] == f"hooks.example.test:{port}"
        assert request.path == "/in?q=1"


def test_the_response_body_is_read_up_to_a_limit():
    with Receiver() as receiver:
        response = target.send("GET", receiver.url, allow_private=True, max_body=100)
        assert response.ok and len(response.body) == 100


def test_an_answer_that_closes_the_connection_is_read_like_any_other():
    with Receiver(answers=[201], close=True) as receiver:
        response = target.send("POST", receiver.url, body=b"{}", allow_private=True,
                               max_body=100_000)  # read to the end, where it closes
        assert response.ok and response.status_code == 201 and len(response.body) == 20_000


def test_a_closed_port_is_an_error_not_an_exception():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    response = target.send("POST", f"http://127.0.0.1:{port}/", allow_private=True, timeout=2)
    assert not response.ok and response.status_code is None and response.error


def test_signature_round_trip_and_replay_window():
    body = b'{"id":"evt_1"}'
    header = signature.header_value("whsec_k", body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert signature.verify("whsec_k", header, body, now=1_700_000_100)
    assert not signature.verify("whsec_k", header, body, now=1_700_001_000)
    assert not signature.verify("whsec_other", header, body, now=1_700_000_000)
    assert not signature.verify("whsec_k", "t=abc,v1=00", body)


def test_postback_tokens_are_url_encoded():
    url = payloads.postback_url("https://t.example/pb?c={uniqueid}&p={payout}&x={caller_id}",
                                {"uniqueid": "a b&c", "payout": 12.5, "caller_id": None})
    assert url == "https://t.example/pb?c=a%20b%26c&p=12.5&x="
    assert "Unknown token {click}" in payloads.template_problem("https://t/pb?{click}")

"""app.services.cdr_service on CDR rows shaped exactly like fake_asterisk/data/cdr-rows.csv (39 real
CDRs from Asterisk 22.10.1 through the shipped dialplan)."""
from datetime import datetime, timezone

import pytest

from app.services import cdr_service
from fake_asterisk.cdr_pgsql import read_captured_cdrs

ROWS = read_captured_cdrs()
CALLS = cdr_service.group_by_uniqueid(ROWS)


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)


def call(uniqueid: str) -> cdr_service.CdrCall:
    return cdr_service.call_from_cdrs(CALLS[uniqueid])


def test_the_capture_holds_35_calls_4_of_them_with_a_failover():
    assert len(ROWS) == 39 and len(CALLS) == 35
    assert sorted(uniqueid for uniqueid, rows in CALLS.items() if len(rows) == 2) == [
        "pbx-a-1796285304.12", "pbx-a-1796285574.45", "pbx-a-1796285669.0",
        "pbx-a-1796285835.0"]


def test_an_answered_call():
    found = call("pbx-a-1796285254.2")
    assert found.answered is True
    assert (found.answered_at, found.ended_at) == (at("2026-12-03 08:07:34"),
                                                   at("2026-12-03 08:07:40"))
    assert found.started_at == at("2026-12-03 08:07:34")
    assert (found.client_identifier, found.attempt) == ("lab-agent", 1)
    assert (found.billsec, found.duration) == (5, 5)
    assert (found.linkedid, found.caller, found.dialled) == (
        "pbx-a-1796285254.2", "+14155551002", "+14155550190")
    [attempt] = found.attempts
    assert (attempt.sequence, attempt.disposition, attempt.answered) == (2, "ANSWERED", True)


def test_busy_then_answered_is_one_call_answered_on_attempt_2():
    found = call("pbx-a-1796285304.12")
    assert found.answered and found.client_identifier == "lab-agent" and found.attempt == 2
    assert found.billsec == 5 and found.duration == 0 + 5
    assert [(a.attempt, a.client_identifier, a.disposition, a.answered, a.duration)
            for a in found.attempts] == [(1, "lab-busy", "BUSY", False, 0),
                                         (2, "lab-agent", "ANSWERED", True, 5)]
    assert found.ended_at == at("2026-12-03 08:08:30")


def test_rows_in_any_order_give_the_same_call():
    assert cdr_service.call_from_cdrs(list(reversed(CALLS["pbx-a-1796285574.45"]))) == \
        call("pbx-a-1796285574.45")


@pytest.mark.parametrize("uniqueid, duration", [("pbx-a-1796285416.29", 5),   # caller gone
                                                ("pbx-a-1796285428.31", 15),  # Dial timeout
                                                ("pbx-a-1796285814.43", 3)])
def test_no_answer(uniqueid, duration):
    found = call(uniqueid)
    assert found.answered is False and found.answered_at is None
    assert found.client_identifier is None and found.attempt is None
    assert found.billsec == 0 and found.duration == duration
    [attempt] = found.attempts
    assert (attempt.disposition, attempt.client_identifier, attempt.attempt) == (
        "NO ANSWER", "lab-ring", 1)


def test_seconds_are_asterisks_own_truncated_never_recomputed_from_the_times():
    """08:11:48 → answered 08:11:52 → 08:11:59 is 11 s and 7 s by the printed times, but
    Asterisk truncated the exact spans to 10 and 6."""
    found = call("pbx-a-1796285508.40")
    assert (found.duration, found.billsec) == (10, 6)
    assert found.answered_at == at("2026-12-03 08:11:52")
    assert (found.ended_at - found.started_at).total_seconds() == 11
    slow = call("pbx-a-1796285814.42")
    assert (slow.duration, slow.billsec) == (3, 2)


def test_every_captured_call_agrees_with_its_rows():
    for uniqueid, rows in CALLS.items():
        found = cdr_service.call_from_cdrs(rows)
        answered = [row for row in rows if row["disposition"] == "ANSWERED"]
        assert found.answered is bool(answered), uniqueid
        if answered:
            [row] = answered
            assert found.billsec == int(row["billsec"])
            assert found.client_identifier == row["dstchannel"].removeprefix("PJSIP/")[:-9]
            assert found.answered_at == at(row["answer"])
        assert found.duration == sum(int(row["duration"]) for row in rows)
        assert all(a.attempt is not None for a in found.attempts)


@pytest.mark.parametrize("dstchannel, client", [
    ("PJSIP/lab-agent-00000003", "lab-agent"),
    ("PJSIP/acme-cc-2-0000000e", "acme-cc-2"),
    ("PJSIP/a_b-ffffffff", "a_b"),
    ("PJSIP/acme-cc", None),
    ("PJSIP/acme-cc-0000000G", None),
    ("Local/100@ctx-00000001;1", None),
    ("", None),
    (None, None),
])
def test_client_from_dstchannel(dstchannel, client):
    assert cdr_service.client_from_dstchannel(dstchannel) == client


@pytest.mark.parametrize("lastdata, uniqueid, attempt", [
    ("PJSIP/lab-agent,20,U(cc-answered^pbx-a-1796285304.12^2)", "pbx-a-1796285304.12", 2),
    ("PJSIP/lab-agent,20,U(cc-answered^pbx-a-1796285304.12^2)", None, 2),
    ("PJSIP/lab-agent,20,U(cc-answered^pbx-a-1796285304.12^2)", "pbx-b-1.1", None),
    ("PJSIP/lab-agent,20,gU(cc-answered^pbx-a-1.1^13)", "pbx-a-1.1", 13),
    ("PJSIP/lab-agent,20", "pbx-a-1.1", None),
    ("", None, None),
])
def test_attempt_from_lastdata(lastdata, uniqueid, attempt):
    assert cdr_service.attempt_from_lastdata(lastdata, uniqueid) == attempt


def test_the_cc_attempt_variable_wins_over_lastdata():
    row = {**CALLS["pbx-a-1796285304.12"][1], "cc_attempt": "3"}
    assert cdr_service.attempt_of(row) == 3
    assert cdr_service.attempt_of({**row, "cc_attempt": None}) == 2
    assert cdr_service.attempt_of({**row, "cc_attempt": 4}) == 4


def test_a_zero_answer_time_is_not_an_answer():
    """A backend that writes the CDR's zero answer time stores the epoch: not an answer."""
    row = {**CALLS["pbx-a-1796285416.29"][0], "answer": "1970-01-01 00:00:00"}
    found = cdr_service.call_from_cdrs([row])
    assert found.answered is False and found.answered_at is None
    answered_at_epoch = {**CALLS["pbx-a-1796285254.2"][0], "answer": "1970-01-01 00:00:00"}
    assert cdr_service.call_from_cdrs([answered_at_epoch]).answered is False


def test_a_call_rejected_before_any_dial_has_no_attempt():
    """With `unanswered = yes` a call the router rejected leaves a CDR with no B party."""
    row = {"uniqueid": "pbx-a-1796289999.5", "linkedid": "pbx-a-1796289999.5",
           "src": "+14155550000", "dst": "+14155550199", "dcontext": "cc-inbound",
           "channel": "PJSIP/carrier-2-00000050", "dstchannel": "", "lastapp": "Hangup",
           "lastdata": "34", "start": "2026-12-03 08:20:00", "answer": "",
           "end": "2026-12-03 08:20:00", "duration": "0", "billsec": "0",
           "disposition": "NO ANSWER", "sequence": "60"}
    found = cdr_service.call_from_cdrs([row])
    assert found.attempts == () and found.answered is False
    assert found.started_at == found.ended_at == at("2026-12-03 08:20:00")
    assert (found.duration, found.billsec, found.client_identifier) == (0, 0, None)


def test_times_in_another_zone():
    from zoneinfo import ZoneInfo
    found = cdr_service.call_from_cdrs(CALLS["pbx-a-1796285254.2"],
                                       ZoneInfo("America/New_York"))
    assert found.answered_at == at("2026-12-03 13:07:34")


def test_rows_of_no_call_or_of_several_calls_are_refused():
    with pytest.raises(ValueError):
        cdr_service.call_from_cdrs([])
    with pytest.raises(ValueError):
        cdr_service.call_from_cdrs(CALLS["pbx-a-1796285254.2"] + CALLS["pbx-a-1796285279.4"])

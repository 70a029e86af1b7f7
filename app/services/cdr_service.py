"""What Asterisk's own CDRs say about a call: the second source of truth.

cdr_pgsql writes one row into `cdr` per Dial attempt (the B party), every row carrying the
inbound channel's `uniqueid` and `linkedid`, `sequence` increasing; with `unanswered = yes` a
call that never dialled anybody has a row too, with no `dstchannel`. The functions here are
pure: given the rows of one uniqueid (`Cdr` objects, mappings of column name to value, or the
text of a CSV export such as fake_asterisk/data/cdr-rows.csv), they say whether the call was answered,
when, by which client, on which attempt, and for how long, the way Asterisk counts it. The
reconciliation of call logs builds on them.

- `duration` and `billsec` are Asterisk's own: whole seconds, truncated (not rounded). They are
  never recomputed from the `start`/`answer`/`end` columns, which are themselves truncated to
  the second (a CDR from 08:11:48 to 08:11:59 can have a duration of 10).
- Times are `timestamp without time zone` in cdr_pgsql.conf's `timezone` (UTC as shipped);
  they are returned aware, in the zone given (UTC by default). An empty `answer` (or, from a
  backend that writes a zero time, one before the CDR's start) means not answered.
- `dstchannel` is `PJSIP/<client_identifier>-<8 hex digits>`; `lastdata` is the Dial argument
  string, which carries `U(cc-answered^<uniqueid>^<attempt>)`; the CDR variable `cc_attempt`,
  when the dialplan sets it, wins over that.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

from sqlalchemy import select

from app.database.models.cdr import Cdr
from app.extensions import db

ANSWERED = "ANSWERED"  # the disposition of an answered CDR ("NO ANSWER", "BUSY", "FAILED"…)
CDR_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Asterisk's '%Y-%m-%d %T'

_DSTCHANNEL = re.compile(r"^PJSIP/(?P<endpoint>.+)-(?P<serial>[0-9a-f]{8})$")
_ANSWERED_HOOK = re.compile(r"U\(cc-answered\^(?P<uniqueid>[^^()]*)\^(?P<attempt>\d+)\)")


@dataclass(frozen=True)
class CdrAttempt:
    """One Dial attempt as its CDR tells it."""

    sequence: int | None
    attempt: int | None  # cc_attempt, else from lastdata's U(cc-answered^…^<attempt>)
    client_identifier: str | None  # from dstchannel
    disposition: str | None
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    duration: int
    billsec: int

    @property
    def answered(self) -> bool:
        return self.disposition == ANSWERED and self.answered_at is not None


@dataclass(frozen=True)
class CdrCall:
    """One call (one uniqueid) as Asterisk's CDRs tell it."""

    uniqueid: str
    linkedid: str | None
    caller: str | None  # `src`, as the carrier sent it
    dialled: str | None  # `dst`, the DID as the carrier sent it
    started_at: datetime | None  # the first CDR's start: the call's arrival
    ended_at: datetime | None  # the last CDR's end
    answered: bool
    answered_at: datetime | None
    client_identifier: str | None  # the client that answered
    attempt: int | None  # the attempt that answered
    billsec: int  # the answered attempt's billsec; 0 when nobody answered
    duration: int  # the attempts' durations added up (see call_from_cdrs)
    attempts: tuple[CdrAttempt, ...]  # the Dial attempts, in order
    rows: int = 1  # how many CDRs tell it (each truncated its own duration)


def client_from_dstchannel(dstchannel: str | None) -> str | None:
    """`PJSIP/acme-cc-0000000e` → `acme-cc`; None for anything that is not a PJSIP channel."""
    match = _DSTCHANNEL.match(dstchannel or "")
    return match.group("endpoint") if match else None


def attempt_from_lastdata(lastdata: str | None, uniqueid: str | None = None) -> int | None:
    """The attempt number in Dial's `U(cc-answered^<uniqueid>^<attempt>)`; None when absent or
    when it names another call than `uniqueid` (if given)."""
    match = _ANSWERED_HOOK.search(lastdata or "")
    if match is None or (uniqueid is not None and match.group("uniqueid") != uniqueid):
        return None
    return int(match.group("attempt"))


def attempt_of(row, uniqueid: str | None = None) -> int | None:
    """`cc_attempt` when the dialplan set it, else the attempt in `lastdata`."""
    given = _int_or_none(_field(row, "cc_attempt"))
    if given is not None:
        return given
    return attempt_from_lastdata(_text(_field(row, "lastdata")),
                                 uniqueid if uniqueid is not None else _text(_field(row, "uniqueid")))


def parse_cdr_time(value, zone: tzinfo = timezone.utc) -> datetime | None:
    """A CDR time (datetime, or '%Y-%m-%d %T' text) as an aware datetime; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.strptime(value.strip(), CDR_TIME_FORMAT)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value


def attempt_from_cdr(row, zone: tzinfo = timezone.utc) -> CdrAttempt:
    started = parse_cdr_time(_field(row, "start"), zone)
    answered = parse_cdr_time(_field(row, "answer"), zone)
    if answered is not None and started is not None and answered < started:
        answered = None  # a zero time written for "never": the epoch, before the CDR began
    return CdrAttempt(
        sequence=_int_or_none(_field(row, "sequence")),
        attempt=attempt_of(row),
        client_identifier=client_from_dstchannel(_text(_field(row, "dstchannel"))),
        disposition=_text(_field(row, "disposition")) or None,
        started_at=started,
        answered_at=answered,
        ended_at=parse_cdr_time(_field(row, "end"), zone),
        duration=_int_or_none(_field(row, "duration")) or 0,
        billsec=_int_or_none(_field(row, "billsec")) or 0,
    )


def call_from_cdrs(rows: Iterable, zone: tzinfo = timezone.utc) -> CdrCall:
    """What Asterisk says about one call, from all the CDRs of its uniqueid (any order).

    Answered when one attempt's disposition is ANSWERED with an answer time; that attempt gives
    the answer time, the billsec, the client (from its dstchannel) and the attempt number. The
    attempts' CDRs follow each other (a failover's CDR starts when the previous Dial ended), so
    `duration` adds their durations up: exact with one CDR, and with n CDRs at most n-1
    seconds short of the whole call's truncated length (each one was truncated on its own).
    """
    rows = list(rows)
    if not rows:
        raise ValueError("no CDR rows for this call")
    uniqueids = {_text(_field(row, "uniqueid")) for row in rows}
    if len(uniqueids) != 1:
        raise ValueError(f"CDR rows of several calls: {sorted(uniqueids)}")
    uniqueid = uniqueids.pop()
    ordered = sorted(rows, key=_order_key)
    records = [attempt_from_cdr(row, zone) for row in ordered]
    attempts = tuple(record for row, record in zip(ordered, records)
                     if _text(_field(row, "dstchannel")))
    answer = next((attempt for attempt in attempts if attempt.answered), None)
    starts = [record.started_at for record in records if record.started_at is not None]
    ends = [record.ended_at for record in records if record.ended_at is not None]
    first = ordered[0]
    return CdrCall(
        uniqueid=uniqueid,
        linkedid=_text(_field(first, "linkedid")) or None,
        caller=_text(_field(first, "src")) or None,
        dialled=_text(_field(first, "dst")) or None,
        started_at=min(starts) if starts else None,
        ended_at=max(ends) if ends else None,
        answered=answer is not None,
        answered_at=answer.answered_at if answer else None,
        client_identifier=answer.client_identifier if answer else None,
        attempt=answer.attempt if answer else None,
        billsec=answer.billsec if answer else 0,
        duration=sum(record.duration for record in records),
        attempts=attempts,
        rows=len(records),
    )


def group_by_uniqueid(rows: Iterable) -> dict[str, list]:
    """CDR rows by their uniqueid, in the order first seen."""
    calls: dict[str, list] = {}
    for row in rows:
        calls.setdefault(_text(_field(row, "uniqueid")), []).append(row)
    return calls


def read_calls(uniqueids: Iterable[str], zone: tzinfo = timezone.utc) -> dict[str, CdrCall]:
    """The calls among `uniqueids` that have CDRs, read from the `cdr` table."""
    wanted = list(dict.fromkeys(uniqueids))
    if not wanted:
        return {}
    rows = db.session.scalars(select(Cdr).where(Cdr.uniqueid.in_(wanted))).all()
    return {uniqueid: call_from_cdrs(found, zone)
            for uniqueid, found in group_by_uniqueid(rows).items()}


# --- reading a row, whatever its shape ------------------------------------------------------

def _field(row, name: str):
    if isinstance(row, Mapping):
        return row.get(name)
    return getattr(row, name, None)


def _text(value) -> str:
    return "" if value is None else str(value)


def _int_or_none(value) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _order_key(row) -> tuple:
    sequence = _int_or_none(_field(row, "sequence"))
    start = parse_cdr_time(_field(row, "start"))
    return (sequence is None, sequence or 0, start or datetime.min.replace(tzinfo=timezone.utc))

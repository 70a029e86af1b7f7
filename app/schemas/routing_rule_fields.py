"""The fields of the routing rules (seats, hours, caps, billing, repeat callers), shared by the client, campaign and link schemas."""
import re
import zoneinfo
from datetime import date
from decimal import Decimal, InvalidOperation

import marshmallow as ma
from marshmallow import validate

from app.database.models.campaign import (BID_CALLER_ID_MODES, BID_TIMEOUT_MS_RANGE, CAP_COUNTS,
                                          DUPLICATE_ACTIONS)
from app.services.routing.schedule import WEEKDAYS

MAX_INT = 2**31 - 1
_CLOCK = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _cents(value: Decimal) -> None:
    try:
        exact = value == value.quantize(Decimal("0.01"))
    except InvalidOperation:  # too many digits to quantize: the range check says why
        return
    if not exact:
        raise ma.ValidationError("At most 2 decimals.")


class Money(ma.fields.Decimal):
    """Up to 2 decimals in (more is refused, not rounded), a JSON number out."""

    def __init__(self, **kwargs):
        super().__init__(allow_nan=False, allow_none=True,
                         validate=[validate.Range(min=0, max=Decimal("9999999999.99")), _cents],
                         **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else float(value)


def _valid_timezone(name: str) -> None:
    if name not in _known_timezones():
        raise ma.ValidationError("Not an IANA time zone name (e.g. America/New_York).")


def _known_timezones() -> set[str]:
    global _TIMEZONES
    if _TIMEZONES is None:
        _TIMEZONES = zoneinfo.available_timezones()
    return _TIMEZONES


_TIMEZONES: set[str] | None = None


def _valid_schedule(schedule: dict) -> None:
    for day, intervals in schedule.items():
        if day not in WEEKDAYS:
            raise ma.ValidationError(f"Unknown day {day!r}; use {', '.join(WEEKDAYS)}.")
        if not isinstance(intervals, list) or len(intervals) > 12:
            raise ma.ValidationError(f"{day}: a list of up to 12 [start, end] intervals.")
        for interval in intervals:
            if (not isinstance(interval, list) or len(interval) != 2
                    or not all(isinstance(t, str) and _CLOCK.match(t) for t in interval)):
                raise ma.ValidationError(f"{day}: each interval is [\"HH:MM\", \"HH:MM\"].")
            if interval[0] == "24:00" or interval[0] >= interval[1]:
                raise ma.ValidationError(f"{day}: an interval must start before it ends.")


def _valid_closures(closures: list) -> None:
    for value in closures:
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ma.ValidationError(f"{value!r} is not a date (YYYY-MM-DD).") from None


def timezone_field(**kwargs):
    return ma.fields.String(validate=[validate.Length(max=64), _valid_timezone], metadata={
        "description": "IANA time zone the periods and hours are read in", "example": "America/New_York"},
        **kwargs)


def cap_field(description: str, **kwargs):
    return ma.fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=MAX_INT),
                             metadata={"description": f"{description}; null = no cap"}, **kwargs)


class ClientRulesFields(ma.Schema):
    max_concurrency = ma.fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=MAX_INT),
        metadata={"description": "Seats: calls at once across every campaign; null = no cap"})
    timezone = timezone_field()
    schedule = ma.fields.Dict(allow_none=True, validate=_valid_schedule, metadata={
        "description": "Weekly hours in the client's time zone, e.g. "
                       "{\"mon\": [[\"09:00\", \"17:00\"]]}; a day not listed is closed; "
                       "null = always open"})
    closures = ma.fields.List(ma.fields.String(), validate=[validate.Length(max=366), _valid_closures],
                              metadata={"description": "Dates (YYYY-MM-DD, local) the client is closed"})
    ping_budget = ma.fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=0, max=1_000_000),
        metadata={"description": "Bid pings per minute at most (past it the client is not "
                                 "asked: no bid); null = no limit"})


class CampaignRulesFields(ma.Schema):
    max_concurrency = ma.fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=MAX_INT),
        metadata={"description": "Calls of this campaign at once, whatever client; null = no cap"})
    daily_cap = cap_field("Answered calls per day (campaign's time zone)")
    timezone = timezone_field()
    billable_after = ma.fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=0, max=86400),
        metadata={"description": "Talk seconds from which an answered call is converted"})
    payout = Money(metadata={"description": "Paid to the seller per converted call"})
    duplicate_window_hours = ma.fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=8760),
        metadata={"description": "A caller seen within this many hours is a repeat caller"})
    duplicate_action = ma.fields.String(validate=validate.OneOf(DUPLICATE_ACTIONS), metadata={
        "description": "Repeat callers: allow, reject, or sticky (back to the client that "
                       "answered them, when it has room)"})
    reject_concurrent_duplicate = ma.fields.Boolean(metadata={
        "description": "Refuse a second live call from a caller whose first call is still up"})
    bid_timeout_ms = ma.fields.Integer(
        strict=True, validate=validate.Range(*BID_TIMEOUT_MS_RANGE),
        metadata={"description": "Longest wait for the buyers' bids, in milliseconds "
                                 f"({BID_TIMEOUT_MS_RANGE[0]}–{BID_TIMEOUT_MS_RANGE[1]}; "
                                 "default 800)"})
    min_bid = Money(metadata={"description": "Bids below this are no bid; null = any bid > 0"})
    bid_caller_id = ma.fields.String(validate=validate.OneOf(BID_CALLER_ID_MODES), metadata={
        "description": "The caller in bid pings: full, masked (last four digits hidden) or "
                       "none"})


class SettingRulesFields(ma.Schema):
    hourly_cap = cap_field("Calls per hour (client's time zone)")
    daily_cap = cap_field("Calls per day (client's time zone)")
    monthly_cap = cap_field("Calls per calendar month (client's time zone)")
    cap_counts = ma.fields.String(validate=validate.OneOf(CAP_COUNTS), metadata={
        "description": "What the period caps count: answered or converted calls"})
    buyer_price = Money(metadata={"description": "What the buyer pays per converted call"})
    bid_url = ma.fields.String(allow_none=True, validate=validate.Length(max=2000), metadata={
        "description": "Price this link by the buyer's bid: its bid endpoint, pinged before "
                       "each call (the webhook target rules apply); null = the fixed "
                       "buyer_price"})


CLIENT_RULE_FIELDS = tuple(ClientRulesFields._declared_fields)
CAMPAIGN_RULE_FIELDS = tuple(CampaignRulesFields._declared_fields)
SETTING_RULE_FIELDS = tuple(SettingRulesFields._declared_fields)

"""A routing candidate's verdict: why a round dialled a client, kept it in reserve or passed it
over. The one definition the pages, the API's documentation and the tests read.

The routing engine's SQL writes these words (sql/20_plan.sql plans, sql/30_route.sql reserves,
sql/40_call_end.sql marks a failed dial); they are stored in each round of
`call_logs.decision` and answered by the dry-run simulator. Two verdicts carry a detail after a
colon: `capped:<cap>` (which cap stopped the candidate) and `failed:<dial status>` (how the
dial it got ended, in Asterisk's DIALSTATUS words).
"""
from enum import StrEnum


class Verdict(StrEnum):
    DIALLED = "dialled"            # chosen and dialled in this round
    WOULD_DIAL = "would_dial"      # the simulator's first choice
    STANDBY = "standby"            # admissible, not tried: next in line
    CLOSED = "closed"              # outside its client's hours, or on a closure date
    INACTIVE = "inactive"          # the link or its client is inactive
    ZERO_WEIGHT = "zero_weight"    # weight 0: linked, never routed to
    NO_ENDPOINT = "no_endpoint"    # its client has no SIP endpoint to dial
    NO_BID = "no_bid"              # priced by bids, and its buyer did not bid (or too little)


class Cap(StrEnum):
    """Which cap stopped a candidate (sql/10_rules.sql, cc_cap_hit)."""
    CONCURRENCY = "concurrency"
    CLIENT_CONCURRENCY = "client_concurrency"
    CAMPAIGN_CONCURRENCY = "campaign_concurrency"
    TOTAL = "total"
    HOURLY = "hourly"
    DAILY = "daily"
    MONTHLY = "monthly"
    CAMPAIGN_DAILY = "campaign_daily"
    # Stored by an earlier engine when a cap filled between planning and reserving; the
    # engine now names the cap that filled. Kept so those calls' decisions still read.
    RACE = "race"


CAPPED = "capped"  # capped:<cap>
FAILED = "failed"  # failed:<dial status>


def capped(cap: str) -> str:
    return f"{CAPPED}:{cap}"


def failed(dial_status: str) -> str:
    return f"{FAILED}:{dial_status}"


def split(code: str) -> tuple[str, str | None]:
    """A verdict's kind and detail: ("capped", "hourly"), ("failed", "BUSY"), ("closed", None)."""
    kind, colon, detail = code.partition(":")
    return (kind, detail) if colon else (code, None)


def is_known(code: str) -> bool:
    """Whether `code` is a verdict this module defines (a cap of `Cap` after `capped:`; any
    dial status after `failed:`, as Asterisk words it)."""
    kind, detail = split(code)
    if kind == CAPPED:
        return detail in {cap.value for cap in Cap}
    if kind == FAILED:
        return bool(detail)
    return code in {verdict.value for verdict in Verdict}

"""How the pages word a routing decision: each candidate's verdict and a round's outcome.

The verdicts themselves (app.domain.verdicts) come from the routing engine, stored on the call
log or answered by the dry-run simulator; this only says them in words.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.domain import verdicts
from app.domain.verdicts import Cap, Verdict
from app.web.formatting import money

CAPS = {
    Cap.CONCURRENCY: "this link's concurrency cap",
    Cap.CLIENT_CONCURRENCY: "the client's seats",
    Cap.CAMPAIGN_CONCURRENCY: "the campaign's concurrency cap",
    Cap.TOTAL: "this link's total cap",
    Cap.HOURLY: "this link's hourly cap",
    Cap.DAILY: "this link's daily cap",
    Cap.MONTHLY: "this link's monthly cap",
    Cap.CAMPAIGN_DAILY: "the campaign's daily cap",
    Cap.RACE: "a cap another call filled a moment earlier",
}
VERDICTS = {
    Verdict.DIALLED: ("dialled", "chosen and dialled"),
    Verdict.WOULD_DIAL: ("dialled", "would be dialled first"),
    Verdict.STANDBY: ("standby", "could take the call; next in line if the one before fails"),
    Verdict.CLOSED: ("closed", "closed: outside its hours or on a closure date"),
    Verdict.INACTIVE: ("off", "the link or the client is inactive"),
    Verdict.ZERO_WEIGHT: ("off", "weight 0: never routed to"),
    Verdict.NO_ENDPOINT: ("off", "has no SIP endpoint to dial"),
    Verdict.NO_BID: ("off", "no bid from this buyer"),
}
REASONS = {
    "dial": "a client was dialled",
    "no_route": "no route: no client can take calls for this number (none linked or active)",
    "all_capped": "every client that could take it was at a cap",
    "all_failed": "every client tried failed to answer",
    "closed": "closed: no client was open",
    "duplicate": "refused as a repeat caller (the campaign's duplicate rule)",
    "error": "an error in routing",
    "overload": "refused at once: the router could not start routing it within its time budget",
    "over_cap": "answered after its slot had been freed: the slot was taken back, past the caps",
}


@dataclass(frozen=True)
class VerdictWords:
    code: str  # as stored: capped:hourly, failed:BUSY, …
    kind: str  # dialled, failed, capped, closed, standby, off: the badge's colour
    text: str  # in words


def verdict(code: str | None) -> VerdictWords:
    code = code or Verdict.STANDBY
    kind, detail = verdicts.split(code)
    if kind == verdicts.CAPPED:
        return VerdictWords(code, kind, "at " + CAPS.get(detail, f"its {detail} cap"))
    if kind == verdicts.FAILED:
        return VerdictWords(code, kind, f"dialled; the dial ended {detail}")
    kind, text = VERDICTS.get(code, ("off", code))
    return VerdictWords(code, kind, text)


def first_choice(candidates: list[dict]) -> dict | None:
    """The simulator's candidate it would dial first."""
    return next((c for c in candidates if c.get("verdict") == Verdict.WOULD_DIAL), None)


def reason_text(reason: str | None) -> str:
    return REASONS.get(reason or "", (reason or "").replace("_", " "))


def price_text(candidate: dict) -> str:
    """A candidate's price in a round that bids: "12.50 bid in 34 ms", "15.00 fixed",
    "no bid (timeout)"; empty when the round had no prices."""
    source = candidate.get("price_source")
    if candidate.get("no_bid"):
        return f"no bid ({candidate['no_bid']})"
    if source == "fixed":
        return f"{money(candidate.get('price'))} fixed"
    if source == "cache":
        return f"{money(candidate.get('price'))} bid (kept from an earlier call)"
    if source == "ping":
        latency = candidate.get("latency_ms")
        return f"{money(candidate.get('price'))} bid" + (f" in {latency} ms" if latency is not None else "")
    return ""


def caps_summary(link) -> str:
    """A link's period caps and buyer price in a few words: "5/hour · 20/day · price 35.00"."""
    parts = [f"{cap}/{period}" for cap, period in ((link.hourly_cap, "hour"),
                                                   (link.daily_cap, "day"),
                                                   (link.monthly_cap, "month"))
             if cap is not None]
    if parts and link.cap_counts == "converted":
        parts.append("converted")
    if link.bid_url:
        parts.append("priced by bid")
    elif link.buyer_price is not None:
        parts.append(f"price {money(link.buyer_price)}")
    return " · ".join(parts) or "none"

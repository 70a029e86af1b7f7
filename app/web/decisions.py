"""How the pages word a routing decision: each candidate's verdict and a round's outcome.

The verdicts themselves come from the routing engine (app/services/routing/sql/), stored
on the call log or answered by the dry-run simulator; this only says them in words.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.web.formatting import money

CAPS = {
    "concurrency": "this link's concurrency cap",
    "client_concurrency": "the client's seats",
    "campaign_concurrency": "the campaign's concurrency cap",
    "total": "this link's total cap",
    "hourly": "this link's hourly cap",
    "daily": "this link's daily cap",
    "monthly": "this link's monthly cap",
    "campaign_daily": "the campaign's daily cap",
    "race": "a cap another call filled a moment earlier",
}
VERDICTS = {
    "dialled": ("dialled", "chosen and dialled"),
    "would_dial": ("dialled", "would be dialled first"),
    "standby": ("standby", "could take the call; next in line if the one before fails"),
    "closed": ("closed", "closed: outside its hours or on a closure date"),
    "inactive": ("off", "the link or the client is inactive"),
    "weight 0": ("off", "weight 0: never routed to"),
    "no_endpoint": ("off", "has no SIP endpoint to dial"),
    "duplicate": ("capped", "repeat caller"),
    "no_bid": ("off", "no bid from this buyer"),
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
class Verdict:
    code: str  # as stored: capped:hourly, failed:BUSY, …
    kind: str  # dialled, failed, capped, closed, standby, off: the badge's colour
    text: str  # in words


def verdict(code: str | None) -> Verdict:
    code = code or "standby"
    if code.startswith("capped:"):
        cap = code.split(":", 1)[1]
        return Verdict(code, "capped", "at " + CAPS.get(cap, f"its {cap} cap"))
    if code.startswith("failed:"):
        status = code.split(":", 1)[1]
        return Verdict(code, "failed", f"dialled; the dial ended {status}")
    kind, text = VERDICTS.get(code, ("off", code))
    return Verdict(code, kind, text)


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

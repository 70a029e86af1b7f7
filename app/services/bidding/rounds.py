"""A round of bid pings: every buyer the routing engine asks for is pinged at once, and the
round ends when all have answered or the campaign's bid timeout has passed, whichever is
first. Nothing here holds a database connection or lock."""
import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from app.services.bidding.pings import ping
from app.services.outbound import signature

# What a masked caller id shows in place of its last digits.
MASKED_DIGITS = 4


@dataclass(frozen=True)
class BidRound:
    """The pings the engine asked for (its bid request: sql/80_bidding.sql cc_bid_request)."""

    campaign_id: int
    campaign: str
    bid_caller_id: str  # full, masked or none
    timeout_ms: int
    pings: list[dict]  # {"setting_id", "client_id", "url", "secret"}
    settled: dict  # setting id -> the no-bid the engine already knows (ping budget spent)

    @classmethod
    def from_request(cls, request: dict) -> "BidRound":
        return cls(request["campaign_id"], request["campaign"], request["bid_caller_id"],
                   request["timeout_ms"], request["pings"], request.get("settled") or {})


def shown_caller(number: str | None, mode: str) -> str | None:
    """The caller as the campaign lets buyers see it."""
    if number is None or mode == "none":
        return None
    if mode == "masked":
        return number[:-MASKED_DIGITS] + "*" * min(MASKED_DIGITS, len(number))
    return number


def ping_body(bid_round: BidRound, *, did: str | None, caller_number: str | None,
              at: datetime, test: bool) -> dict:
    return {"ping_id": str(uuid.uuid4()), "campaign_id": bid_round.campaign_id,
            "campaign": bid_round.campaign, "did": did,
            "caller_id": shown_caller(caller_number, bid_round.bid_caller_id),
            "at": at.astimezone(timezone.utc).isoformat(), "test": test}


async def ping_round(bid_round: BidRound, *, did: str | None, caller_number: str | None,
                     test: bool = False, allow_private: bool = False,
                     started_at: float | None = None) -> dict[str, dict]:
    """Every answer, by setting id (as the engine reads them), the settled ones included.
    The timeout counts from `started_at` (the event loop's clock: when the call's route
    began), by default from now."""
    loop = asyncio.get_running_loop()
    deadline = (loop.time() if started_at is None else started_at) + bid_round.timeout_ms / 1000
    at = datetime.now(timezone.utc)

    async def one(request: dict):
        body = json.dumps(ping_body(bid_round, did=did, caller_number=caller_number, at=at,
                                    test=test)).encode()
        secret = request.get("secret")
        headers = {signature.HEADER: signature.header_value(secret, body)} if secret else {}
        return await ping(request["url"], body, headers, deadline=deadline,
                          allow_private=allow_private)

    answers = await asyncio.gather(*(one(request) for request in bid_round.pings))
    return {**bid_round.settled,
            **{str(request["setting_id"]): answer.as_json()
               for request, answer in zip(bid_round.pings, answers)}}

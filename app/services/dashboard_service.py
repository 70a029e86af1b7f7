"""The live dashboard: what is in flight now against the caps, and how today went.

One function, `snapshot`, reads everything a dashboard shows in a handful of queries. Its scope
is one seller's campaigns (`seller_id`) or the whole platform (`seller_id=None`): every query
is limited by the same seller condition, so a seller's snapshot never holds another seller's
rows. In-flight counts are the routing engine's own counters (`campaign_client_settings.in_flight`);
outcomes, answer rate and talk time come from call_log_service, the same numbers the API's
summary answers.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal

from sqlalchemy import func, select, text

from app.database.models import CallLog, Campaign, CampaignClientSetting, Client, User
from app.domain.call_status import DASHBOARD_OUTCOMES, CallStatus
from app.extensions import db
from app.services import call_log_service

HOURS = 24


@dataclass
class RoutingRow:
    """One campaign → client link with its live counters."""

    setting_id: int
    campaign_id: int
    client_id: int
    client: str
    client_identifier: str
    client_status: str
    status: str
    forwarding_priority: int
    weight: int
    max_concurrency: int
    total_calls_allowed: int | None
    current_total_calls: int
    in_flight: int
    # Period caps in the client's calendar, what they count, and the buyer's price.
    hourly_cap: int | None = None
    daily_cap: int | None = None
    monthly_cap: int | None = None
    cap_counts: str = "answered"
    buyer_price: Decimal | None = None
    bid_url: str | None = None

    @property
    def routable(self) -> bool:
        """Whether the routing engine may use this link at all (both sides active)."""
        return self.status == "active" and self.client_status == "active"


@dataclass
class CampaignLoad:
    id: int
    name: str
    status: str
    seller: str | None
    in_flight: int = 0
    capacity: int = 0
    links: list[RoutingRow] = field(default_factory=list)


@dataclass
class ClientLoad:
    id: int
    name: str
    identifier: str
    in_flight: int = 0
    capacity: int = 0


def routing_rows(*, seller_id: int | None, campaign_id: int | None = None) -> list[RoutingRow]:
    """Routing settings with their client, in failover order (campaign, priority, id)."""
    statement = (
        select(CampaignClientSetting, Client.name, Client.client_identifier, Client.status)
        .join(Campaign, Campaign.id == CampaignClientSetting.campaign_id)
        .join(Client, Client.id == CampaignClientSetting.client_id)
        .order_by(CampaignClientSetting.campaign_id, CampaignClientSetting.forwarding_priority,
                  CampaignClientSetting.id))
    if seller_id is not None:
        statement = statement.where(Campaign.seller_id == seller_id)
    if campaign_id is not None:
        statement = statement.where(CampaignClientSetting.campaign_id == campaign_id)
    return [RoutingRow(
        setting_id=s.id, campaign_id=s.campaign_id, client_id=s.client_id, client=name,
        client_identifier=identifier, client_status=client_status, status=s.status,
        forwarding_priority=s.forwarding_priority, weight=s.weight,
        max_concurrency=s.max_concurrency, total_calls_allowed=s.total_calls_allowed,
        current_total_calls=s.current_total_calls, in_flight=s.in_flight,
        hourly_cap=s.hourly_cap, daily_cap=s.daily_cap, monthly_cap=s.monthly_cap,
        cap_counts=s.cap_counts, buyer_price=s.buyer_price, bid_url=s.bid_url,
    ) for s, name, identifier, client_status in db.session.execute(statement)]


def campaign_loads(seller_id: int | None,
                   rows: list[RoutingRow] | None = None) -> list[CampaignLoad]:
    """Each campaign in scope with its links, calls in flight and concurrency capacity
    (the caps of the links the engine may use)."""
    if rows is None:
        rows = routing_rows(seller_id=seller_id)
    statement = (select(Campaign.id, Campaign.name, Campaign.status, User.username)
                 .join(User, User.id == Campaign.seller_id).order_by(Campaign.name, Campaign.id))
    if seller_id is not None:
        statement = statement.where(Campaign.seller_id == seller_id)
    campaigns = {row.id: CampaignLoad(row.id, row.name, row.status,
                                      row.username if seller_id is None else None)
                 for row in db.session.execute(statement)}
    for row in rows:
        campaign = campaigns[row.campaign_id]
        campaign.links.append(row)
        campaign.in_flight += row.in_flight
        if row.routable:
            campaign.capacity += row.max_concurrency
    return list(campaigns.values())


def _client_loads(rows: list[RoutingRow]) -> list[ClientLoad]:
    clients: dict[int, ClientLoad] = {}
    for row in rows:
        client = clients.setdefault(row.client_id,
                                    ClientLoad(row.client_id, row.client, row.client_identifier))
        client.in_flight += row.in_flight
        if row.routable:
            client.capacity += row.max_concurrency
    return sorted(clients.values(), key=lambda c: (-c.in_flight, c.name.lower(), c.id))


def _hourly(seller_id: int | None, now: datetime) -> list[dict]:
    """Calls started in each of the last 24 whole hours (UTC hours, the current one last)."""
    last_hour = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    first_hour = last_hour - timedelta(hours=HOURS - 1)
    hour = func.date_trunc("hour", func.timezone("UTC", CallLog.started_at))
    statement = (select(hour.label("hour"), func.count().label("total"),
                        func.count().filter(CallLog.status == CallStatus.ANSWERED).label("answered"))
                 .where(CallLog.started_at >= first_hour).group_by(hour))
    if seller_id is not None:
        statement = statement.where(CallLog.seller_id == seller_id)
    counts = {row.hour.replace(tzinfo=timezone.utc): row for row in db.session.execute(statement)}
    buckets = []
    for n in range(HOURS):
        start = first_hour + timedelta(hours=n)
        row = counts.get(start)
        buckets.append({"hour": start, "total": row.total if row else 0,
                        "answered": row.answered if row else 0})
    return buckets


def _router_health(seller_id: int | None, now: datetime, since: datetime) -> dict:
    """Signs that the router is not keeping up: calls refused for overload in the last minute,
    and calls answered today after their slot had been freed (taken back past the caps)."""
    statement = select(
        func.count().filter(CallLog.status == CallStatus.OVERLOAD,
                            CallLog.started_at >= now - timedelta(minutes=1)).label("overload"),
        func.count().filter(CallLog.decision.contains([{"outcome": "over_cap"}])).label("over_cap"),
    ).where(CallLog.started_at >= min(since, now - timedelta(minutes=1)))
    if seller_id is not None:
        statement = statement.where(CallLog.seller_id == seller_id)
    row = db.session.execute(statement).one()
    return {"overload_last_minute": row.overload, "over_cap_today": row.over_cap}


# Per client, the bids asked for by today's calls (a ping's answer, or a cached bid: not the
# requests its ping budget stopped) and the calls forwarded to it on a bid.
BIDS_BY_CLIENT = text("""
WITH asked AS (
    SELECT s.client_id, count(*) AS asked,
           count(*) FILTER (WHERE b.value ->> 'no_bid' IS NOT NULL) AS no_bids
    FROM call_logs c
    CROSS JOIN LATERAL jsonb_each(c.bids) b
    JOIN campaign_client_settings s ON s.id = b.key::int
    WHERE c.started_at >= :since AND c.bids IS NOT NULL
      AND (CAST(:seller_id AS int) IS NULL OR c.seller_id = :seller_id)
      AND b.value ->> 'no_bid' IS DISTINCT FROM 'ping budget'
    GROUP BY s.client_id
), won AS (
    SELECT a.client_id, count(*) AS won, avg(a.bid) AS average_bid
    FROM call_attempts a
    JOIN call_logs c ON c.id = a.call_log_id AND c.started_at = a.call_started_at
    WHERE a.call_started_at >= :since AND a.bid IS NOT NULL
      AND (CAST(:seller_id AS int) IS NULL OR c.seller_id = :seller_id)
    GROUP BY a.client_id
)
SELECT cl.id, cl.name, coalesce(asked.asked, 0) AS asked, coalesce(asked.no_bids, 0) AS no_bids,
       coalesce(won.won, 0) AS won, round(won.average_bid, 2) AS average_bid
FROM asked FULL JOIN won USING (client_id) JOIN clients cl ON cl.id = client_id
ORDER BY won DESC NULLS LAST, cl.name, cl.id
""")


def bids_by_client(seller_id: int | None, since: datetime) -> list[dict]:
    """Each client asked to bid since `since` (in this scope): bids won, the average winning
    bid, and the share of requests that got no bid."""
    return [{"client_id": row.id, "client": row.name, "asked": row.asked,
             "won": row.won, "average_winning_bid": row.average_bid,
             "no_bid_rate": round(row.no_bids / row.asked, 3) if row.asked else None}
            for row in db.session.execute(BIDS_BY_CLIENT, {"since": since,
                                                           "seller_id": seller_id})]


def start_of_day(now: datetime, tz: tzinfo) -> datetime:
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def snapshot(*, seller_id: int | None, default_region: str, tz: tzinfo = timezone.utc,
             now: datetime | None = None) -> dict:
    """Everything the dashboard shows, for one seller or (None) the whole platform.

    "Today" starts at midnight in `tz`, the viewer's time zone.
    """
    now = now or datetime.now(timezone.utc)
    rows = routing_rows(seller_id=seller_id)
    campaigns = campaign_loads(seller_id, rows)
    since = start_of_day(now, tz)
    names = {c.id: c.name for c in campaigns}
    today = call_log_service.outcome_totals({"seller_id": seller_id, "started_from": since},
                                            default_region=default_region)
    return {
        "generated_at": now,
        "scope": "platform" if seller_id is None else "seller",
        "in_flight": sum(row.in_flight for row in rows),
        "capacity": sum(c.capacity for c in campaigns),
        "campaigns": [{**asdict(c), "links": [asdict(link) for link in c.links]}
                      for c in campaigns],
        "clients": [asdict(c) for c in _client_loads(rows)],
        "today": {"since": since, "total": today["total"],
                  "in_progress": today["by_status"][CallStatus.IN_PROGRESS],
                  "outcomes": {name: today["by_status"][name] for name in DASHBOARD_OUTCOMES},
                  "other": today["by_status"][CallStatus.ERROR],
                  "answer_rate": today["answer_rate"],
                  "average_billsec": today["average_billsec"],
                  "converted": today["converted"], "payout": today["payout"],
                  "revenue": today["revenue"]},
        "hourly": _hourly(seller_id, now),
        "router": _router_health(seller_id, now, since),
        "bids": bids_by_client(seller_id, since),
        "caps": [{"setting_id": row.setting_id, "campaign_id": row.campaign_id,
                  "campaign": names[row.campaign_id],
                  "client": row.client, "delivered": row.current_total_calls,
                  "allowed": row.total_calls_allowed}
                 for row in rows if row.total_calls_allowed is not None],
    }

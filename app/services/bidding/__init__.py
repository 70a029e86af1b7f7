"""Real-time bidding: the pings a bid round makes (the rules of pricing and ordering live in
the routing engine, sql/80_bidding.sql)."""
from app.services.bidding.rounds import BidRound, ping_round, shown_caller

__all__ = ["BidRound", "ping_round", "shown_caller"]

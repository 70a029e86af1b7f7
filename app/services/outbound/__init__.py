"""Requests CapConduit makes to other people's servers (webhooks, postbacks, buyers'
bid pings): the signature they can verify, and the guard that keeps them off our own network."""

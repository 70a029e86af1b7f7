"""The product's vocabulary, shared by every layer: roles, call statuses and domain errors.

Nothing here knows Flask, HTTP or the database, so models, services and adapters (API, pages,
FastAGI, CLI) all import from it and it imports none of them.
"""

"""Webhooks and conversion postbacks: subscriptions (subscriptions.py), what a delivery sends
(payloads.py) and the worker that sends it (worker.py, `flask events deliver`)."""

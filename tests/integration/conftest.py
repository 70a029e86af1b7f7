"""Fixtures shared by the integration tests' folders."""
import random

import pytest

from app.services.routing import RoutingService
from app.services.routing.async_service import libpq_conninfo
from app.services.webhooks.worker import DeliveryWorker, WorkerSettings


@pytest.fixture
def routing(engine):
    """The routing engine on the test database, its weighted draws seeded."""
    return RoutingService(engine, default_region="US", rng=random.Random(7))


@pytest.fixture
def make_worker(engine):
    """Builds webhook delivery workers (private addresses allowed, quick retries); closes them."""
    workers = []

    def make(**settings):
        options = {"allow_private": True, "retry_base_seconds": 0.05, "concurrency": 4,
                   "idle_seconds": 0.02, **settings}
        worker = DeliveryWorker(libpq_conninfo(engine.url), WorkerSettings(**options))
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.close()

import random

import pytest

from app.services.routing import RoutingService
from tests.conftest import engine_of


@pytest.fixture
def engine(app):
    return engine_of(app)


@pytest.fixture
def routing(engine):
    return RoutingService(engine, default_region="US", rng=random.Random(7))

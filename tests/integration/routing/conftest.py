import random

import pytest

from app.extensions import db
from app.services.routing import RoutingService


@pytest.fixture
def engine(app):
    with app.app_context():
        yield db.engine


@pytest.fixture
def routing(engine):
    return RoutingService(engine, default_region="US", rng=random.Random(7))

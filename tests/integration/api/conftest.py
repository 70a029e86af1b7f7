"""Fixtures for the API tests (tests/conftest.py holds the shared ones)."""
import pytest


@pytest.fixture
def seller(client, auth):
    """The test client logged in as seller1, who owns DIDs 1-3, campaigns 1-2, settings 1-4."""
    assert auth.login("seller1").status_code == 200
    return client


@pytest.fixture
def admin(client, auth):
    """The test client logged in as the sample admin."""
    assert auth.login("admin").status_code == 200
    return client


@pytest.fixture
def call_in_flight(sql):
    """Put a call in flight on a routing setting, as the routing engine would."""
    def reserve(setting_id: int, uniqueid: str = "pbx-test-1.1"):
        sql("""INSERT INTO reservations (uniqueid, attempt, setting_id, client_id, campaign_id)
               SELECT :uniqueid, 1, id, client_id, campaign_id
               FROM campaign_client_settings WHERE id = :setting_id""",
            uniqueid=uniqueid, setting_id=setting_id)
        sql("UPDATE campaign_client_settings SET in_flight = in_flight + 1 WHERE id = :id",
            id=setting_id)

    return reserve

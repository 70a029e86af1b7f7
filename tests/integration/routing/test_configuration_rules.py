"""The database still refuses bad configuration and impossible counters, whoever writes.

The rules on configuration columns of clients, campaigns and routing settings live in a
trigger that fires only when those columns are written (so the engine's counter updates skip
them); they must hold exactly as the CHECK constraints they replaced, with the same names."""
import pytest
from psycopg import errors
from sqlalchemy.exc import IntegrityError

from tests.support.routing import execute, scalar


def violated_constraint(engine, statement: str) -> str:
    with pytest.raises(IntegrityError) as raised:
        execute(engine, statement)
    assert isinstance(raised.value.orig, errors.CheckViolation)
    return raised.value.orig.diag.constraint_name


@pytest.mark.parametrize("table, assignment, constraint", [
    ("clients", "client_identifier = 'Not Valid!'", "ck_clients_identifier"),
    ("clients", "pjsip_mode = 'proxy'", "ck_clients_pjsip_mode"),
    ("clients", "status = 'paused'", "ck_clients_status"),
    ("clients", "max_concurrency = 0", "ck_clients_max_concurrency"),
    ("campaigns", "status = 'paused'", "ck_campaigns_status"),
    ("campaigns", "dial_timeout = 121", "ck_campaigns_dial_timeout"),
    ("campaigns", "dial_timeout = 4", "ck_campaigns_dial_timeout"),
    ("campaigns", "max_concurrency = 0", "ck_campaigns_max_concurrency"),
    ("campaigns", "daily_cap = -1", "ck_campaigns_daily_cap"),
    ("campaigns", "billable_after = -1", "ck_campaigns_billable_after"),
    ("campaigns", "payout = -0.01", "ck_campaigns_payout"),
    ("campaigns", "duplicate_window_hours = 8761", "ck_campaigns_duplicate_window_hours"),
    ("campaigns", "duplicate_action = 'merge'", "ck_campaigns_duplicate_action"),
    ("campaign_client_settings", "status = 'paused'", "ck_campaign_client_settings_status"),
    ("campaign_client_settings", "forwarding_priority = 0",
     "ck_campaign_client_settings_forwarding_priority"),
    ("campaign_client_settings", "max_concurrency = 0", "ck_campaign_client_settings_max_concurrency"),
    ("campaign_client_settings", "total_calls_allowed = -1",
     "ck_campaign_client_settings_total_calls_allowed"),
    ("campaign_client_settings", "weight = 1001", "ck_campaign_client_settings_weight"),
    ("campaign_client_settings", "hourly_cap = -1", "ck_campaign_client_settings_hourly_cap"),
    ("campaign_client_settings", "daily_cap = -1", "ck_campaign_client_settings_daily_cap"),
    ("campaign_client_settings", "monthly_cap = -1", "ck_campaign_client_settings_monthly_cap"),
    ("campaign_client_settings", "cap_counts = 'billed'", "ck_campaign_client_settings_cap_counts"),
    ("campaign_client_settings", "buyer_price = -1", "ck_campaign_client_settings_buyer_price"),
    # Counters keep real CHECKs: a slot released twice fails loudly.
    ("clients", "in_flight = -1", "ck_clients_in_flight"),
    ("campaigns", "in_flight = -1", "ck_campaigns_in_flight"),
    ("campaign_client_settings", "in_flight = -1", "ck_campaign_client_settings_in_flight"),
    ("campaign_client_settings", "current_total_calls = -1",
     "ck_campaign_client_settings_current_total_calls"),
])
def test_a_bad_value_is_refused_under_the_constraint_name(engine, table, assignment, constraint):
    row = scalar(engine, f"SELECT min(id) FROM {table}")
    before = scalar(engine, f"SELECT to_jsonb(t) FROM {table} t WHERE id = :id", id=row)
    assert violated_constraint(engine, f"UPDATE {table} SET {assignment} WHERE id = {row}") == constraint
    assert scalar(engine, f"SELECT to_jsonb(t) FROM {table} t WHERE id = :id", id=row) == before


def test_an_insert_is_checked_too(engine):
    seller = scalar(engine, "SELECT id FROM users WHERE role = 'seller' ORDER BY id LIMIT 1")
    assert violated_constraint(engine, f"""
        INSERT INTO campaigns (seller_id, name, dial_timeout)
        VALUES ({seller}, 'too patient', 500)""") == "ck_campaigns_dial_timeout"
    assert scalar(engine, "SELECT count(*) FROM campaigns WHERE name = 'too patient'") == 0


def test_good_values_and_counter_updates_pass(engine):
    row = scalar(engine, "SELECT min(id) FROM campaign_client_settings")
    execute(engine, f"""UPDATE campaign_client_settings
                        SET weight = 1000, hourly_cap = 0, buyer_price = 0, cap_counts = 'converted',
                            in_flight = in_flight + 1
                        WHERE id = {row}""")
    assert scalar(engine, f"SELECT weight FROM campaign_client_settings WHERE id = {row}") == 1000


def test_call_and_reservation_states_are_still_checked(engine):
    call = scalar(engine, "SELECT min(id) FROM call_logs")
    assert violated_constraint(engine, f"UPDATE call_logs SET status = 'lost' WHERE id = {call}") \
        == "ck_call_logs_status"

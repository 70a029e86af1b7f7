"""Cheaper writes on the call path: configuration rules as column triggers, short trigger
conditions, compact status checks, and fewer statements per routing step.

Inside a function, PostgreSQL rebuilds every CHECK constraint of a table from its stored
text (and every trigger's WHEN condition) each time a statement writes to it: on the routing
engine's counter updates that was a quarter of the database's work per call, for rules about
columns those updates never touch. The rules on configuration columns of clients, campaigns
and routing settings become one BEFORE trigger per table that fires only when one of those
columns is written (the API's writes); the counters keep their CHECKs (a slot released twice
must still fail loudly). The same error reaches the application: SQLSTATE 23514 with the
constraint's old name. The reports' update triggers test what changed inside their function,
so their WHEN is a single comparison; the status CHECKs of call logs and reservations compare
with one array constant instead of a list of casts.

The routing functions are installed again: a reservation locks its three counter rows with
the UPDATE that raises them; the usual end of a call (one slot, on the link that answered)
releases and counts it in one write per counter row; period counters are two scalar SQL
functions the planner inlines (cc_period_add is gone); the planner, the candidates' JSON and
the opening hours are PL/pgSQL, whose plans are kept for the session (a SQL function that
cannot be inlined is planned again at every call).

Revision ID: 0013_hot_path_writes
"""
from alembic import op

from app.services.routing import sql as routing_sql

revision = "0013_hot_path_writes"
down_revision = "0012_integrations"
branch_labels = None
depends_on = None

# routing_sql.fingerprint() of the files this revision installs (tests compare it).
INSTALLS_ROUTING_SQL = "b48888465bf3be91"

ACTIVE = "('active', 'inactive')"

# table -> [(constraint name, the rule over its columns as the CHECK had it)]
CONFIGURATION_RULES = {
    "clients": [
        ("ck_clients_identifier", "client_identifier ~ '^[a-z0-9_-]{1,40}$'"),
        ("ck_clients_pjsip_mode", "pjsip_mode IN ('static', 'register')"),
        ("ck_clients_status", f"status IN {ACTIVE}"),
        ("ck_clients_max_concurrency", "max_concurrency IS NULL OR max_concurrency >= 1"),
    ],
    "campaigns": [
        ("ck_campaigns_status", f"status IN {ACTIVE}"),
        ("ck_campaigns_dial_timeout", "dial_timeout BETWEEN 5 AND 120"),
        ("ck_campaigns_max_concurrency", "max_concurrency IS NULL OR max_concurrency >= 1"),
        ("ck_campaigns_daily_cap", "daily_cap IS NULL OR daily_cap >= 0"),
        ("ck_campaigns_billable_after", "billable_after IS NULL OR billable_after >= 0"),
        ("ck_campaigns_payout", "payout IS NULL OR payout >= 0"),
        ("ck_campaigns_duplicate_window_hours",
         "duplicate_window_hours IS NULL OR duplicate_window_hours BETWEEN 1 AND 8760"),
        ("ck_campaigns_duplicate_action", "duplicate_action IN ('allow', 'reject', 'sticky')"),
    ],
    "campaign_client_settings": [
        ("ck_campaign_client_settings_status", f"status IN {ACTIVE}"),
        ("ck_campaign_client_settings_forwarding_priority", "forwarding_priority >= 1"),
        ("ck_campaign_client_settings_max_concurrency", "max_concurrency >= 1"),
        ("ck_campaign_client_settings_total_calls_allowed",
         "total_calls_allowed IS NULL OR total_calls_allowed >= 0"),
        ("ck_campaign_client_settings_weight", "weight BETWEEN 0 AND 1000"),
        ("ck_campaign_client_settings_hourly_cap", "hourly_cap IS NULL OR hourly_cap >= 0"),
        ("ck_campaign_client_settings_daily_cap", "daily_cap IS NULL OR daily_cap >= 0"),
        ("ck_campaign_client_settings_monthly_cap", "monthly_cap IS NULL OR monthly_cap >= 0"),
        ("ck_campaign_client_settings_cap_counts", "cap_counts IN ('answered', 'converted')"),
        ("ck_campaign_client_settings_buyer_price", "buyer_price IS NULL OR buyer_price >= 0"),
    ],
}
# The column each rule is about: its constraint name without the table's prefix, except these.
RULE_COLUMNS = {"ck_clients_identifier": "client_identifier"}


def _column(table: str, constraint: str) -> str:
    return RULE_COLUMNS.get(constraint, constraint.removeprefix(f"ck_{table}_"))


def _qualified(table: str, constraint: str, rule: str) -> str:
    """The rule with its column read from NEW (every rule names exactly one column)."""
    import re
    column = _column(table, constraint)
    return re.sub(rf"\b{column}\b", f"NEW.{column}", rule)


def _check_function(table: str, rules: list) -> str:
    checks = "\n".join(
        f"    IF NOT ({_qualified(table, name, rule)}) THEN\n"
        f"        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = '{name}',\n"
        f"            TABLE = '{table}', MESSAGE = 'new row for relation \"{table}\" violates "
        f"check constraint \"{name}\"';\n"
        f"    END IF;"
        for name, rule in rules)
    return (f"CREATE FUNCTION config_rules_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{checks}\n    RETURN NEW;\nEND $$;")


def upgrade_statements() -> list[str]:
    statements = []
    for table, rules in CONFIGURATION_RULES.items():
        statements += [f"ALTER TABLE {table} DROP CONSTRAINT {name}" for name, _ in rules]
        columns = ", ".join(dict.fromkeys(_column(table, name) for name, _ in rules))
        statements.append(_check_function(table, rules))
        statements.append(
            f"CREATE TRIGGER config_rules_{table} BEFORE INSERT OR UPDATE OF {columns} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION config_rules_{table}()")
    statements += _report_triggers(short=True)
    statements += [_status_check(table, column, values, compact=True)
                   for table, column, values in STATUS_CHECKS]
    return statements


CALL_STATUSES = ("in_progress", "answered", "no_route", "all_capped", "all_failed", "abandoned",
                 "error", "duplicate", "closed", "overload")
STATUS_CHECKS = (("call_logs", "status", CALL_STATUSES),
                 ("reservations", "state", ("dialing", "answered")))


def _status_check(table: str, column: str, values: tuple, compact: bool) -> str:
    rule = (f"{column}::text = ANY ('{{{','.join(values)}}}'::text[])" if compact
            else f"{column} IN ({', '.join(repr(v) for v in values)})")
    return (f"ALTER TABLE {table} DROP CONSTRAINT ck_{table}_{column}, "
            f"ADD CONSTRAINT ck_{table}_{column} CHECK ({rule})")


# The reports' update triggers (created by 0008_reports): the columns a call's or an attempt's
# rollup contribution depends on are compared in the function, not in the trigger's WHEN.
_CALL_KEY = ("started_at", "ended_at IS NULL", "seller_id", "campaign_id", "client_id", "did",
             "status", "billsec", "converted", "payout", "revenue")


def _report_triggers(short: bool) -> list[str]:
    old = ", ".join(f"OLD.{c}" for c in _CALL_KEY)
    new = ", ".join(f"NEW.{c}" for c in _CALL_KEY)
    ended = "OLD.ended_at IS NOT NULL OR NEW.ended_at IS NOT NULL"
    calls_when = ended if short else f"({ended}) AND ({old}) IS DISTINCT FROM ({new})"
    attempts_when = ended if short else f"({ended}) AND OLD.* IS DISTINCT FROM NEW.*"
    unchanged_call = (f"TG_OP = 'UPDATE' AND ({old}) IS NOT DISTINCT FROM ({new})" if short
                      else "false")
    unchanged_attempt = "TG_OP = 'UPDATE' AND OLD.* IS NOT DISTINCT FROM NEW.*" if short else "false"
    return [
        "DROP TRIGGER report_call_logs_update ON call_logs",
        "DROP TRIGGER report_call_attempts_update ON call_attempts",
        f"""CREATE OR REPLACE FUNCTION report_call_logs_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF {unchanged_call} THEN
        RETURN NEW;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM report_call_delta(OLD, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM report_call_delta(NEW, 1);
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$""",
        f"""CREATE OR REPLACE FUNCTION report_call_attempts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c call_logs;
BEGIN
    IF {unchanged_attempt} THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.ended_at IS NOT NULL THEN
        SELECT * INTO c FROM call_logs WHERE id = OLD.call_log_id FOR SHARE;
        IF FOUND THEN
            PERFORM report_attempt_delta(OLD, c, -1);
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.ended_at IS NOT NULL THEN
        IF c.id IS DISTINCT FROM NEW.call_log_id THEN
            SELECT * INTO c FROM call_logs WHERE id = NEW.call_log_id FOR SHARE;
        END IF;
        IF c.id IS NOT NULL THEN
            PERFORM report_attempt_delta(NEW, c, 1);
        END IF;
    END IF;
    RETURN NULL;
END $$""",
        f"""CREATE TRIGGER report_call_logs_update AFTER UPDATE ON call_logs
    FOR EACH ROW WHEN ({calls_when}) EXECUTE FUNCTION report_call_logs_changed()""",
        f"""CREATE TRIGGER report_call_attempts_update AFTER UPDATE ON call_attempts
    FOR EACH ROW WHEN ({attempts_when}) EXECUTE FUNCTION report_call_attempts_changed()""",
    ]


def upgrade():
    for statement in upgrade_statements():
        op.execute(statement)
    for signature in routing_sql.SUPERSEDED:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    routing_sql.install(op.execute)


def downgrade():
    # The routing functions stay the newest files' (see 0009's downgrade).
    for table, column, values in STATUS_CHECKS:
        op.execute(_status_check(table, column, values, compact=False))
    for statement in _report_triggers(short=False):
        op.execute(statement)
    for table, rules in CONFIGURATION_RULES.items():
        op.execute(f"DROP TRIGGER config_rules_{table} ON {table}")
        op.execute(f"DROP FUNCTION config_rules_{table}()")
        for name, rule in rules:
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({rule})")

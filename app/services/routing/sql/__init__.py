"""The routing engine's SQL: one server-side function per FastAGI step, in the .sql files
beside this module (read them as code: the rules live there).

A migration installs them with :func:`install`; any change to a file needs a new migration
that calls it again (a test compares the files with what the newest such migration recorded).
"""
import hashlib
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent
FILES = sorted(SQL_DIR.glob("*.sql"))

BIDDING_FUNCTIONS = (
    "cc_campaign_bids(int)", "cc_bid_answers(jsonb, timestamptz)",
    "cc_bid_keep(bigint, timestamptz, text, jsonb)",
    "cc_bid_prices(cc_candidate[], jsonb, text, numeric, timestamptz, boolean)",
    "cc_bid_spend(jsonb, timestamptz)", "cc_bid_order(cc_candidate[], jsonb)",
    "cc_bid_round(cc_candidate[], bigint, timestamptz, int, text, jsonb, timestamptz)",
    "cc_bid_request(int, text, text, int, jsonb, jsonb)",
    "cc_priced_candidates(jsonb, jsonb)", "cc_priced_round(jsonb, jsonb)",
    "cc_bid_won(bigint, timestamptz, int, int, jsonb)",
    "cc_simulate_bids(int, text, timestamptz, float8, jsonb)",
)
FUNCTIONS = (
    "cc_period_start(text, text, timestamptz)", "cc_period_count(timestamptz, int, timestamptz)",
    "cc_period_add_start(timestamptz, timestamptz, int)",
    "cc_period_add_count(timestamptz, int, timestamptz, int)",
    "cc_cap_hit(campaign_client_settings, clients, campaigns, timestamptz)",
    "cc_is_open(jsonb, jsonb, text, timestamptz)", "cc_campaign_counts(int, int)",
    "cc_client_counters(int, int)", "cc_campaign_counters(int, int, int, timestamptz)",
    "cc_start_counting_client()", "cc_start_counting_campaign()",
    "cc_lock_counters(int[], int[], int[])",
    "cc_release_counters(int[], int[], int[], int, int)",
    "cc_release(text, int, boolean, text[])", "cc_count_delivery(int, int, int, timestamptz, int)",
    "cc_repeat_rules_apply(boolean, int, text)", "cc_duplicate_check(int, text, text, timestamptz)",
    "cc_plan(int, int[], timestamptz, int)", "cc_candidates_json(cc_candidate[])",
    "cc_round(int, timestamptz, text, cc_candidate[], int)",
    "cc_reason_when_nothing_admitted(cc_candidate[], int)",
    "cc_simulate(int, text, timestamptz, float8)",
    "cc_reserve(int, int, int, timestamptz)",
    "cc_open_call(text, text, text, text, text, text, int, int, jsonb, text[])",
    "cc_route(text, text, text, text, text, text, timestamptz, int, float8, jsonb)",
    "cc_answered(text, int)", "cc_attempt_result(text, int, text)",
    "cc_write_call_end(bigint, timestamptz, text, int, timestamptz, timestamptz, int, int, int, "
    "boolean, numeric, numeric)",
    "cc_hangup(text, text, text, text, text, text, text, int, int, int, text, timestamptz)",
    "cc_expire(text[])", "cc_vanished_calls(text[], int)",
    "cc_cdr_dial_status(text)", "cc_cdr_suspects(timestamptz, timestamptz)",
    "cc_reconcile_cdr(jsonb)",
    "cc_listeners(int, int)", "cc_events_wanted(int, int)", "cc_wants(text[], text)",
    "cc_event_wanted(text, int, int)", "cc_emit(text, int, int, bigint, jsonb)",
    "cc_call_document(bigint, timestamptz)",
    "cc_call_event(text, bigint, timestamptz, int, int)",
    "cc_call_end_events(bigint, boolean, timestamptz, int, int)", "cc_cap_events(int)",
    "cc_concurrency_events(campaign_client_settings, clients, campaigns)",
    "cc_buyer_postback(bigint, timestamptz, int, boolean, numeric)",
    *BIDDING_FUNCTIONS,
)
# Signatures of earlier revisions that a newer one replaced (a new parameter makes a new
# function in PostgreSQL, or a renamed one cannot be replaced in place): the migration that
# installs the new files drops these first.
SUPERSEDED = (
    "cc_count_delivery(int, int, int, timestamptz)",  # p_release added
    "cc_period_add(timestamptz, int, timestamptz, int)",  # split in two inlinable functions
    "cc_route(text, text, text, text, text, timestamptz, int, float8)",
    "cc_route(text, text, text, text, text, text, timestamptz, int, float8)",  # p_bids added
    "cc_hangup(text, text, text, text, text, text, int, int, int, text, timestamptz)",
    "cc_duplicate_check(int, text, text, timestamptz)",  # p_caller_id became p_caller_number
    "cc_simulate(int, text, timestamptz, float8)",
    "cc_release(text, int, boolean)",  # p_live: the calls Asterisk still has are never expired
    "cc_expire()",
    # the call's started_at (the partition key of call_logs and call_attempts) became a
    # parameter; the planner takes the links already tried, the event probes the call's seller
    # and campaign (neither reads a call any more)
    "cc_plan(int, bigint, timestamptz, int)",
    "cc_reserve(int, int, int, text, int, bigint, timestamptz, int)",
    "cc_call_document(bigint)", "cc_call_event(text, bigint)",
    "cc_call_end_events(bigint, boolean)",
    "cc_lock_counters_if_several(int[], int[], int[])",  # cc_release_counters
    # the reservation writes its slot's rows in the route, after the call's first write
    "cc_reserve(int, int, int, text, int, bigint, timestamptz, int, timestamptz)",
    "cc_buyer_postback(bigint, int, boolean, numeric)",  # the call's started_at added
)


def source() -> str:
    return "\n".join(path.read_text() for path in FILES)


def fingerprint() -> str:
    """What a migration records of the files it installed."""
    return hashlib.sha256(source().encode()).hexdigest()[:16]


def install(execute) -> None:
    """Create or replace every function; `execute` runs one SQL script (e.g. `op.execute`).

    The files are always the newest version, which may name columns that a later migration
    adds; an older migration replaying them on a fresh database must not trip on that, so
    bodies are not checked at creation (the tests run every function).
    """
    execute("SET LOCAL check_function_bodies = off")
    for path in FILES:
        execute(path.read_text())


def uninstall(execute) -> None:
    for signature in reversed(FUNCTIONS):
        execute(f"DROP FUNCTION IF EXISTS {signature}")
    execute("DROP TYPE IF EXISTS cc_candidate")

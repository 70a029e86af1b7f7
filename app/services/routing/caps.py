"""Every cap a call must fit under, written once as SQL over the joined rows
`s` (campaign_client_settings), `c` (clients) and `cp` (campaigns).

The same conditions serve twice: CANDIDATES names the first one a candidate fails (for the
decision and the dry-run simulator), and RESERVE requires all of them on rows it has locked, so
what is reported and what is enforced cannot drift apart. Periods are calendar periods in the
client's time zone (the campaign's, for the campaign's daily cap), computed by PostgreSQL from
`:now`, so daylight-saving days of 23 or 25 hours come out right.
"""

NOW = "CAST(:now AS timestamptz)"


def _local(zone: str) -> str:
    return f"({NOW} AT TIME ZONE {zone})"


def day_start(zone: str) -> str:
    return f"(date_trunc('day', {_local(zone)}) AT TIME ZONE {zone})"


def month_start(zone: str) -> str:
    return f"(date_trunc('month', {_local(zone)}) AT TIME ZONE {zone})"


def hour_start(zone: str) -> str:
    # The real instant the current local hour began: during the repeated hour of a
    # fall-back night the two hours stay two periods.
    return f"({NOW} - ({_local(zone)} - date_trunc('hour', {_local(zone)})))"


PERIOD_STARTS = {
    "hour": hour_start("c.timezone"),
    "day": day_start("c.timezone"),
    "month": month_start("c.timezone"),
}
CAMPAIGN_DAY_START = day_start("cp.timezone")


def _period_count(prefix: str, period: str, start: str) -> str:
    return f"(CASE WHEN {prefix}.{period}_start = {start} THEN {prefix}.{period}_count ELSE 0 END)"


# (verdict name, condition that must hold). In-flight calls count against every cap: each of
# them may still become an answered (or converted) call.
CAP_CONDITIONS: list[tuple[str, str]] = [
    ("concurrency", "s.in_flight < s.max_concurrency"),
    ("client_concurrency", "c.max_concurrency IS NULL OR c.in_flight < c.max_concurrency"),
    ("campaign_concurrency", "cp.max_concurrency IS NULL OR cp.in_flight < cp.max_concurrency"),
    ("total", "s.total_calls_allowed IS NULL "
              "OR s.current_total_calls + s.in_flight < s.total_calls_allowed"),
    ("hourly", "s.hourly_cap IS NULL OR "
               f"{_period_count('s', 'hour', PERIOD_STARTS['hour'])} + s.in_flight < s.hourly_cap"),
    ("daily", "s.daily_cap IS NULL OR "
              f"{_period_count('s', 'day', PERIOD_STARTS['day'])} + s.in_flight < s.daily_cap"),
    ("monthly", "s.monthly_cap IS NULL OR "
                f"{_period_count('s', 'month', PERIOD_STARTS['month'])} + s.in_flight < s.monthly_cap"),
    ("campaign_daily", "cp.daily_cap IS NULL OR "
                       f"{_period_count('cp', 'day', CAMPAIGN_DAY_START)} + cp.in_flight < cp.daily_cap"),
]

ALL_CAPS_HOLD = " AND ".join(f"({condition})" for _, condition in CAP_CONDITIONS)
FIRST_CAP_HIT = ("CASE " + " ".join(f"WHEN NOT ({condition}) THEN '{name}'"
                                     for name, condition in CAP_CONDITIONS) + " END")


def count_period(prefix: str, period: str, start: str, counts: str) -> str:
    """SET clause fragment adding one call to the current period (a new period starts at 1)."""
    return (f"{period}_count = CASE WHEN NOT {counts} THEN {prefix}.{period}_count "
            f"WHEN {prefix}.{period}_start = {start} THEN {prefix}.{period}_count + 1 ELSE 1 END, "
            f"{period}_start = CASE WHEN NOT {counts} THEN {prefix}.{period}_start ELSE {start} END")

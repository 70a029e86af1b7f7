"""Monthly partitions of call_logs, call_attempts and cdr (migration 0016_monthly_partitions).

The partitions are tables the models do not describe: the migration makes the months of the
data it converts, the FastAGI sweeper makes the months ahead (`partitions_ensure`), and `flask
calls retention` drops old ones, a month at a time (`partition_month_drop`). Autogenerate must
not see them.
"""
import re

PARTITIONED = ("call_logs", "call_attempts", "cdr")
MONTHS_AHEAD = 2  # the current month and this many after it always exist

_PARTITION_NAME = re.compile(rf"^({'|'.join(PARTITIONED)})_(p[0-9]{{6}}|default)$")


def is_partition(table_name: str | None) -> bool:
    return bool(table_name) and _PARTITION_NAME.match(table_name) is not None


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's include_object: leave the monthly partitions (and their indexes) out."""
    if type_ == "table":
        return not is_partition(name)
    if type_ == "foreign_key_constraint":  # PostgreSQL's own copy of an FK for each partition
        return not is_partition(obj.referred_table.name)
    table = getattr(obj, "table", None)
    return not is_partition(getattr(table, "name", None))

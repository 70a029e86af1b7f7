"""Hours of operation: a weekly schedule in the client's time zone, plus dated closures."""
from datetime import datetime, time
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse(clock: str) -> time:
    if clock == "24:00":
        return time.max
    hours, minutes = clock.split(":")
    return time(int(hours), int(minutes))


def is_open(schedule: dict | None, closures: list | None, timezone: str, now: datetime) -> bool:
    """Open when today (local) is not a closure and now falls in one of today's intervals.

    No schedule means always open. Intervals are `["HH:MM", "HH:MM"]`, end exclusive, `24:00`
    allowed as an end; a day missing from the schedule is closed.
    """
    local = now.astimezone(ZoneInfo(timezone))
    if closures and local.date().isoformat() in closures:
        return False
    if schedule is None:
        return True
    clock = local.time().replace(tzinfo=None)
    for start, end in schedule.get(WEEKDAYS[local.weekday()], []):
        if _parse(start) <= clock < _parse(end) or (end == "24:00" and clock >= _parse(start)):
            return True
    return False

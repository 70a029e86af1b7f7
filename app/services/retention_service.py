"""Retention of call logs, their attempts and Asterisk's CDRs: whole months dropped, one month
per transaction (the SQL is partition_month_drop, migration 0019_reports_on_partitions).

Dropping a month's partitions takes call_logs, call_attempts and cdr exclusively until the
month's transaction commits, and routing waits for that. So each month waits at most
`lock_timeout_ms` for the tables (routing waits at most that long behind it); a month whose
lock is not granted is rolled back whole and tried again after `pause_s`, `tries` times in
all, before the run stops with RetentionLockTimeout (the months before it stay dropped).
"""
import time
from dataclasses import dataclass
from datetime import date

from psycopg import errors
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.extensions import db

LOCK_TIMEOUT_MS = 500
TRIES = 5
PAUSE_S = 2.0


@dataclass(frozen=True)
class MonthDropped:
    month: date
    call_logs: int | None  # None: that table had no partition for the month
    call_attempts: int | None
    cdr: int | None


class RetentionLockTimeout(Exception):
    def __init__(self, month: date, tries: int, lock_timeout_ms: int):
        super().__init__(
            f"{month:%Y-%m} kept: call_logs, call_attempts and cdr could not be locked within "
            f"{lock_timeout_ms} ms ({tries} tries; a long transaction holds them). Run the "
            "retention again later.")
        self.month = month


def months_to_drop(before: date) -> list[date]:
    """The months that have a monthly partition before the month of `before`, oldest first."""
    months = list(db.session.scalars(text("SELECT partition_months_before(:before)"),
                                     {"before": before}))
    db.session.commit()
    return months


def count_month(month: date) -> MonthDropped:
    """What dropping `month` would drop (the dry run)."""
    row = db.session.execute(text("SELECT * FROM partition_month_counts(:month)"),
                             {"month": month}).one()
    db.session.commit()
    return MonthDropped(*row)


def drop_month(month: date, *, lock_timeout_ms: int = LOCK_TIMEOUT_MS, tries: int = TRIES,
               pause_s: float = PAUSE_S) -> MonthDropped:
    """Drop one month in a transaction of its own (committed here), retrying while the parent
    tables cannot be locked."""
    for attempt in range(tries):
        if attempt:
            time.sleep(pause_s)
        try:
            db.session.execute(text("SELECT set_config('lock_timeout', :ms, true)"),
                               {"ms": f"{lock_timeout_ms}ms"})
            row = db.session.execute(text("SELECT * FROM partition_month_drop(:month)"),
                                     {"month": month}).one()
            db.session.commit()
            return MonthDropped(*row)
        except OperationalError as error:
            db.session.rollback()
            if not isinstance(error.orig, (errors.LockNotAvailable, errors.DeadlockDetected)):
                raise
    raise RetentionLockTimeout(month, tries, lock_timeout_ms)


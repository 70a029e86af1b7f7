"""`flask calls …`: call-log housekeeping."""
from datetime import date, datetime, timedelta, timezone

import click
from flask.cli import AppGroup

from app.database.partitions import MONTHS_AHEAD
from app.services import retention_service

from app.services.routing_engine import routing_service

calls_cli = AppGroup("calls", help="Call logs.")

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """`24h`, `90m`, `7d`, `3600s`: that long ago; or an ISO 8601 time (UTC if it names no
    zone)."""
    now = now or datetime.now(timezone.utc)
    text = value.strip()
    if text[:-1].isdigit() and text[-1:].lower() in _UNITS:
        return now - timedelta(**{_UNITS[text[-1].lower()]: int(text[:-1])})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("a duration (24h, 90m, 7d) or an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@calls_cli.command("reconcile-cdr")
@click.option("--since", default="24h", show_default=True,
              help="Reconcile the calls whose CDRs ended since then: a duration ago (24h, "
                   "90m, 7d) or an ISO 8601 time.")
@click.option("--until", default=None, help="…and before then (default: now).")
def reconcile_cdr(since, until):
    """Complete or correct call logs from Asterisk's CDRs (table cdr).

    Creates the logs of calls the router never saw, ends the ones whose hangup was lost,
    corrects answered/answer time/billsec/duration/client and the counters that depend on
    them; every change goes to the audit trail. Running it again changes nothing.
    """
    start = parse_since(since)
    end = parse_since(until) if until else None
    service = routing_service()
    changed = service.reconcile_cdr(start, end)
    click.echo(f"CDRs since {start.isoformat()}: {len(changed)} call log(s) changed")
    for result in changed:
        fields = [key for key in result["changes"] if key not in ("source", "outcome", "uniqueid")]
        click.echo(f"  {result['outcome']} {result['uniqueid']} (call log {result['call_log_id']}): "
                   f"{', '.join(fields) or '-'}")


def _month(value: str) -> date:
    try:
        return datetime.strptime(value.strip(), "%Y-%m").date()
    except ValueError:
        raise click.BadParameter("a month as YYYY-MM") from None


def months_before(today: date, months: int) -> date:
    """The first day of the month `months` before today's."""
    index = today.year * 12 + today.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


@calls_cli.command("retention")
@click.option("--keep-months", type=click.IntRange(min=1), default=None,
              help="Keep this many whole months before the current one (13: a year and the "
                   "current month); drop the months before them.")
@click.option("--before", "before", default=None,
              help="Drop every month before this one (YYYY-MM) instead.")
@click.option("--dry-run", is_flag=True, help="Say what would be dropped; drop nothing.")
@click.option("--lock-timeout-ms", type=click.IntRange(min=1),
              default=retention_service.LOCK_TIMEOUT_MS, show_default=True,
              help="How long a month waits for the tables (routing waits as long behind it).")
@click.option("--tries", type=click.IntRange(min=1), default=retention_service.TRIES,
              show_default=True, help="Tries per month before giving up.")
def retention(keep_months, before, dry_run, lock_timeout_ms, tries):
    """Drop whole months of call logs, their attempts and Asterisk's CDRs.

    Each month is a partition of call_logs, call_attempts and cdr: dropping it is instant and
    leaves no dead rows. The calls' uniqueids are forgotten with them. Kept: the daily rollup
    (summaries of dropped days still answer), the links' counters (caps and billing count
    every delivery ever made), and the default partitions (rows outside every month). Each
    month is dropped in a transaction of its own (routing waits for the tables only while one
    month leaves, at most --lock-timeout-ms) and written to the audit trail; a month whose
    tables stay locked is kept whole, and the run stops with an error.
    """
    if (keep_months is None) == (before is None):
        raise click.UsageError("give --keep-months or --before")
    cutoff = (_month(before) if before is not None
              else months_before(datetime.now(timezone.utc).date(), keep_months))
    months = retention_service.months_to_drop(cutoff)
    verb = "would drop" if dry_run else "dropped"
    click.echo(f"months before {cutoff:%Y-%m}: {len(months)} to drop")
    done = 0
    try:
        for month in months:
            row = (retention_service.count_month(month) if dry_run else
                   retention_service.drop_month(month, lock_timeout_ms=lock_timeout_ms,
                                                tries=tries))
            done += 1
            click.echo(f"  {row.month:%Y-%m}: {row.call_logs or 0} call log(s), "
                       f"{row.call_attempts or 0} attempt(s), {row.cdr or 0} CDR(s)")
    except retention_service.RetentionLockTimeout as error:
        raise click.ClickException(f"{done} {verb}; {error}") from None
    click.echo(f"{done} {verb}")


@calls_cli.command("partitions")
@click.option("--months-ahead", type=click.IntRange(min=0), default=MONTHS_AHEAD,
              show_default=True)
def partitions(months_ahead):
    """Make the monthly partitions from this month to --months-ahead later that are missing
    (the FastAGI sweeper does it every hour; this is for a site that runs without it)."""
    click.echo(f"{routing_service().ensure_partitions(months_ahead)} partition(s) made")

"""`flask calls …`: call-log housekeeping."""
from datetime import datetime, timedelta, timezone

import click
from flask.cli import AppGroup

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

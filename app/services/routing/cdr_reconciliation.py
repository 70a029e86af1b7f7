"""Asterisk's CDRs as the second source of truth: the reconciliation of call logs.

A FastAGI session can be lost (the server down or unreachable, a connection cut): an answered
call whose `answered` and `hangup` never arrived stays open or is closed `abandoned` by
`flask routing reconcile`; a call placed while the router was down has no log at all. Asterisk
writes its own CDRs whatever happened (cdr_pgsql into the table `cdr`), so the reconciliation
reads them and completes or corrects the logs:

1. `cc_cdr_suspects` (sql/50_cdr_reconcile.sql) lists the calls whose CDRs ended in the window
   and disagree with their log, in one statement;
2. their CDRs are read and interpreted here (app/services/cdr_service.py: answered or not, when,
   by which client, on which attempt, billsec and duration as Asterisk counts them), numbers
   normalised like the live steps';
3. `cc_reconcile_cdr` applies one call's facts in one statement: creates the missing log, ends
   an open one the way `hangup` would (releasing its slots, counting it once), corrects the
   rest, moves the counters that depend on it (deliveries, period counts, converted, payout,
   revenue) and writes what it changed into the audit trail (audit_events, action
   `reconcile`, entity `call_log`), in the same transaction.

Running it again changes nothing: every correction compares first. It runs every minute in the
FastAGI server's sweeper process (over the CDRs of the last ten minutes), on demand with
`flask calls reconcile-cdr`, and through `POST /api/internal/reconcile_cdr`; the SQL and
Python are the same in each (RoutingService / AsyncRoutingService `reconcile_cdr`).
"""
import logging
from collections.abc import Iterator
from datetime import timedelta

from app.services import cdr_service

log = logging.getLogger(__name__)

BATCH = 500  # calls whose CDRs are read in one statement
PERIODIC_EVERY = timedelta(seconds=60)
PERIODIC_WINDOW = timedelta(minutes=10)  # CDRs that ended this recently, each round


def batches(uniqueids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(uniqueids), BATCH):
        yield uniqueids[start:start + BATCH]


def calls(rows: list[dict]) -> Iterator[cdr_service.CdrCall]:
    """Each call's CDRs as one CdrCall (times read as UTC, as cdr_pgsql.conf writes them)."""
    for uniqueid, found in cdr_service.group_by_uniqueid(rows).items():
        if uniqueid:
            yield cdr_service.call_from_cdrs(found)


def log_changes(changed: list[dict]) -> None:
    for result in changed:
        log.warning("cdr reconciliation %s call log %s (uniqueid=%s): %s", result["outcome"],
                    result["call_log_id"], result["uniqueid"],
                    ", ".join(key for key in result["changes"]
                              if key not in ("source", "outcome", "uniqueid")) or "-",
                    extra={"uniqueid": result["uniqueid"]})

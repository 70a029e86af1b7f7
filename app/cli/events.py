"""`flask events …`: the worker that delivers events to webhooks and postback templates."""
import logging
import signal

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.services.routing.async_service import libpq_conninfo
from app.services.webhooks.worker import DeliveryWorker, WorkerSettings

events_cli = AppGroup("events", help="Events: webhooks and conversion postbacks.")


@events_cli.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--batch", default=200, show_default=True, help="Deliveries claimed per round.")
@click.option("--concurrency", default=16, show_default=True,
              help="Requests in flight at once.")
@click.option("--lease", default=60.0, show_default=True,
              help="Seconds a claimed delivery stays this worker's before it is due again "
                   "(a worker that dies lets them go after this long).")
def deliver(once, batch, concurrency, lease):
    """Send pending events (signed webhooks, postback GETs), retrying failures.

    Several may run at once: each claims its own deliveries. SIGTERM or Ctrl-C finishes the
    round in progress, then exits.
    """
    config = current_app.config
    settings = WorkerSettings(
        batch_size=batch, concurrency=concurrency, lease_seconds=max(lease, 1.0),
        allow_private=bool(config.get("WEBHOOKS_ALLOW_PRIVATE_TARGETS")),
        retry_base_seconds=float(config.get("WEBHOOKS_RETRY_BASE_SECONDS", 10)),
        retry_window_seconds=float(config.get("WEBHOOKS_RETRY_WINDOW_SECONDS", 86400)))
    worker = DeliveryWorker(libpq_conninfo(db.engine.url), settings)
    if once:
        total = 0
        while (done := worker.run_once()):
            total += done
        worker.close()
        click.echo(f"{total} delivery attempt(s)")
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stopping.set())
    logging.getLogger(__name__).info("event worker started")
    try:
        worker.run_forever()
    finally:
        worker.close()

import sys

import click
from flask.cli import AppGroup

from app.services.routing.live_channels import channel_ids
from app.services.routing_engine import routing_service

routing_cli = AppGroup("routing", help="Routing engine housekeeping.")


@routing_cli.command("reconcile")
@click.argument("uniqueids", nargs=-1)
@click.option("--file", "id_file", type=click.File("r"), help="Live channel ids, one a line.")
@click.option("--grace", default=60, show_default=True, type=click.IntRange(0, 86400),
              help="Leave calls younger than this many seconds alone.")
def reconcile(uniqueids, id_file, grace):
    """Free the slots of calls Asterisk no longer has.

    Give the live channels' uniqueids as arguments, with --file, or on stdin (one a line,
    or the output of `asterisk -rx "core show channels concise"`).
    """
    live = list(uniqueids)
    if id_file is not None:
        live += channel_ids(id_file)
    elif not uniqueids and not sys.stdin.isatty():
        live += channel_ids(sys.stdin)
    service = routing_service()
    expired = service.expire(live)
    ended = service.reconcile(live, grace_seconds=grace)
    click.echo(f"{len(live)} live channel(s); expired {expired} dialling slot(s); "
               f"ended {len(ended)} vanished call(s)")
    for uniqueid in ended:
        click.echo(f"  ended {uniqueid}")

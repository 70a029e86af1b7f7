import ipaddress
import os

import click
from flask import current_app
from flask.cli import AppGroup

from app.agi import runner
from app.extensions import db
from app.services.routing import AsyncRoutingService
from app.services.routing.async_service import DEFAULT_ROUTE_BUDGET
from app.services.routing.steps import DIAL_HOLD_MARGIN

agi_cli = AppGroup("agi", help="The FastAGI server Asterisk asks where to send calls.")

DEFAULT_PROCESSES = min(os.cpu_count() or 1, 2)


@agi_cli.command("serve")
@click.option("--bind", default=None, help="HOST:PORT (default: AGI_BIND, 127.0.0.1:4573).")
@click.option("--max-sessions", default=512, show_default=True, type=click.IntRange(1, 100_000),
              help="Sessions served at once, per process.")
@click.option("--processes", default=DEFAULT_PROCESSES, show_default=True,
              type=click.IntRange(1, 64), help="Server processes sharing the port (SO_REUSEPORT).")
@click.option("--pool-size", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Database connections per process.")
@click.option("--route-budget-ms", default=int(DEFAULT_ROUTE_BUDGET * 1000), show_default=True,
              type=click.IntRange(10, 10_000),
              help="A route that cannot start its database work this soon after its connection "
                   "arrived is refused (overload, cause 41).")
@click.option("--live-channels", envvar="AGI_LIVE_CHANNELS", default=None, metavar="COMMAND",
              help="A shell command printing Asterisk's live channels, e.g. "
                   "'asterisk -rx \"core show channels concise\"' (env AGI_LIVE_CHANNELS): "
                   "the sweep then never frees a slot of a call Asterisk still has, and ends "
                   "the calls it no longer has.")
@click.option("--dial-hold-margin", default=DIAL_HOLD_MARGIN, show_default=True,
              type=click.IntRange(0, 86400),
              help="Without live channels (or when the command fails), a dialling slot is "
                   "expired this many seconds after its dial timeout.")
def serve(bind, max_sessions, processes, pool_size, route_budget_ms, live_channels,
          dial_hold_margin):
    """Run the FastAGI server in the foreground until SIGTERM / Ctrl-C."""
    bind = bind or current_app.config["AGI_BIND"]
    allowed = tuple(part.strip() for part in current_app.config["AGI_ALLOWED"].split(",") if part.strip())
    try:
        for network in allowed:
            ipaddress.ip_network(network, strict=False)
    except ValueError as error:
        raise click.BadParameter(f"AGI_ALLOWED: {error}") from None
    url = db.engine.url
    region = current_app.config["DEFAULT_REGION"]
    allow_private = bool(current_app.config["WEBHOOKS_ALLOW_PRIVATE_TARGETS"])
    db.engine.dispose()  # the server processes open their own connections

    def make_routing() -> AsyncRoutingService:
        return AsyncRoutingService.from_engine_url(url, default_region=region, pool_size=pool_size,
                                                   route_budget=route_budget_ms / 1000,
                                                   dial_hold_margin=dial_hold_margin,
                                                   allow_private_bid_targets=allow_private)

    click.echo(f"FastAGI server on {bind} ({processes} process{'es' if processes > 1 else ''})")
    click.echo(f"FastAGI peers allowed: {', '.join(allowed)}")
    click.echo("Slots follow " + (f"the live channels of: {live_channels}" if live_channels else
                                  f"the clock: dial timeout + {dial_hold_margin} s"))
    runner.run(make_routing, bind=bind, max_sessions=max_sessions, processes=processes,
               allowed_peers=allowed, live_channels_command=live_channels)

import click
from flask import current_app
from flask.cli import AppGroup

from app.agi import runner
from app.extensions import db
from app.services.routing import RoutingService

agi_cli = AppGroup("agi", help="The FastAGI server Asterisk asks where to send calls.")


@agi_cli.command("serve")
@click.option("--bind", default=None, help="HOST:PORT (default: AGI_BIND, 127.0.0.1:4573).")
@click.option("--max-sessions", default=512, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--workers", default=16, show_default=True, type=click.IntRange(1, 256),
              help="Threads doing database work (keep <= the connection pool size).")
def serve(bind, max_sessions, workers):
    """Run the FastAGI server in the foreground until SIGTERM / Ctrl-C."""
    bind = bind or current_app.config["AGI_BIND"]
    routing = RoutingService(db.engine, default_region=current_app.config["DEFAULT_REGION"])
    click.echo(f"FastAGI server on {bind}")
    runner.run(routing, bind=bind, max_sessions=max_sessions, workers=workers)

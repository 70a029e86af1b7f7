import click
from flask.cli import AppGroup

from app.domain.errors import Conflict
from app.services import sample_data_service

sample_data_cli = AppGroup("sample-data", help="Development sample data.")


@sample_data_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
def load(if_empty):
    """Load sample_data.sql (development logins are listed in the README)."""
    try:
        loaded = sample_data_service.load(if_empty=if_empty)
    except Conflict as error:
        raise click.ClickException(str(error)) from None
    click.echo("sample data loaded" if loaded else "users exist; sample data not loaded")

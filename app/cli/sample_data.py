from pathlib import Path

import click
import psycopg
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.database.models import User
from app.extensions import db

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data.sql"

sample_data_cli = AppGroup("sample-data", help="Development sample data.")


def load_sample_data() -> None:
    """Run sample_data.sql in one transaction."""
    connection = db.engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(SAMPLE_DATA.read_text())
        connection.commit()
    finally:
        connection.close()


@sample_data_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
def load(if_empty):
    """Load sample_data.sql (development logins are listed in the README)."""
    has_users = db.session.scalar(select(func.count()).select_from(User))
    if has_users and if_empty:
        click.echo("users exist; sample data not loaded")
        return
    if not has_users:
        try:
            load_sample_data()
        except psycopg.errors.IntegrityError:
            has_users = True  # no user, but other rows the sample data collides with
    if has_users:
        raise click.ClickException(
            "The database already has data, so the sample data was not loaded (it would collide "
            "with it); use --if-empty to skip quietly, or ./dbcleanup.sh to start from an empty "
            "development database.")
    click.echo("sample data loaded")

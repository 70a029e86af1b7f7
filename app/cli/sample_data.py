from pathlib import Path

import click
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
    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("users exist; sample data not loaded")
        return
    load_sample_data()
    click.echo("sample data loaded")

"""Development sample data (sample_data.sql): the logins the README lists, their clients,
campaigns, DIDs and a few calls."""
from pathlib import Path

import psycopg
from sqlalchemy import func, select

from app.database.models import User
from app.domain.errors import Conflict
from app.extensions import db

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data.sql"


def load_sample_data() -> None:
    """Run sample_data.sql in one transaction."""
    connection = db.engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(SAMPLE_DATA.read_text())
        connection.commit()
    finally:
        connection.close()


def load(*, if_empty: bool) -> bool:
    """Load the sample data into an empty database; True when loaded. A database with users
    is left alone: False with `if_empty`, else a Conflict (the rows would collide)."""
    has_users = db.session.scalar(select(func.count()).select_from(User))
    db.session.rollback()
    if has_users and if_empty:
        return False
    if not has_users:
        try:
            load_sample_data()
            return True
        except psycopg.errors.IntegrityError:
            pass  # no user, but other rows the sample data collides with
    raise Conflict(
        "The database already has data, so the sample data was not loaded (it would collide "
        "with it); use --if-empty to skip quietly, or ./dbcleanup.sh to start from an empty "
        "development database.")

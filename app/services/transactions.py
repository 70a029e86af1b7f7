"""One commit per service operation, with constraint violations turned into 409 answers."""
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.services.persistence import constraint_name
from app.utils.exceptions import Conflict, NotFound


@contextmanager
def committing(conflict_for: Callable[[str | None], Conflict]) -> Iterator[None]:
    """Run the block and commit it; on any failure roll everything back.

    A constraint violation anywhere in the block (a flush or the commit) becomes the Conflict
    `conflict_for(constraint_name)` returns, so two concurrent writers racing past a check
    still get a 409, never a database error.
    """
    try:
        yield
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise conflict_for(constraint_name(error)) from None
    except BaseException:
        db.session.rollback()
        raise


def fetch(model, row_id: int, *, not_found: str, lock: bool = False):
    """The row with this primary key, locked FOR UPDATE when about to change it; else 404."""
    statement = select(model).where(model.id == row_id)
    if lock:
        statement = statement.with_for_update()
    row = db.session.scalar(statement)
    if row is None:
        raise NotFound(not_found)
    return row

"""How services read and write rows: one way to commit, one fetch-or-404, text search and
case-insensitive uniqueness.

A uniqueness or foreign-key race that slips past a service's own checks surfaces as an
IntegrityError at commit; `committing` turns the named constraint into the domain error the
service would have raised had it seen the clash first.
"""
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import ColumnElement, Select, exists, func, or_, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from app.domain.errors import AppError, Conflict, NotFound
from app.extensions import db

# What a violated constraint means: {constraint name: error}, or a function of the name
# (None: no meaning, the IntegrityError goes on).
OnViolation = Mapping[str, AppError] | Callable[[str | None], AppError | None]


def constraint_name(error: IntegrityError) -> str | None:
    """The constraint PostgreSQL named in the violation (psycopg's diagnostics)."""
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


@contextmanager
def committing(on_violation: OnViolation | None = None) -> Iterator[None]:
    """Run the block and commit it; on any failure roll everything back.

    A constraint violation anywhere in the block (a flush or the commit) raises the error
    `on_violation` gives for its name, so two concurrent writers racing past a check still get
    a 409 (or the 404/422 the service would have answered), never a database error.
    """
    try:
        yield
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        name = constraint_name(error)
        if callable(on_violation):
            mapped = on_violation(name)
        else:
            mapped = (on_violation or {}).get(name or "")
        if mapped is None:
            raise
        raise mapped from None
    except BaseException:
        db.session.rollback()
        raise


# FOR UPDATE queues behind the calls holding a row (a campaign's or a client's, FOR KEY SHARE)
# and, while it queues, makes every call that must wait for that row queue behind it; a call
# that holds the row and waits for such a call would deadlock with it. So the lock is asked
# for a slice at a time, and between slices the calls go on.
LOCK_SLICE = "50ms"
LOCK_ATTEMPTS = 200


def one_or_404(statement: Select, not_found: str | NotFound, *, lock: bool = False):
    """The one row `statement` selects, locked FOR UPDATE when about to change it; else 404."""
    row = _locked(statement) if lock else db.session.scalar(statement)
    if row is None:
        raise not_found if isinstance(not_found, NotFound) else NotFound(not_found)
    return row


def _locked(statement: Select):
    previous = db.session.scalar(text("SELECT current_setting('lock_timeout')"))
    for _ in range(LOCK_ATTEMPTS):
        try:
            with db.session.begin_nested():
                db.session.execute(text("SELECT set_config('lock_timeout', :t, true)"),
                                   {"t": LOCK_SLICE})
                row = db.session.scalar(statement.with_for_update())
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            time.sleep(random.uniform(0.005, 0.05))
            continue
        db.session.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": previous})
        return row
    raise Conflict("This row is busy with calls; try again in a moment.", code="busy")


def fetch(model, row_id: int, *, not_found: str, lock: bool = False):
    """The row with this primary key (see `one_or_404`)."""
    return one_or_404(select(model).where(model.id == row_id), not_found, lock=lock)


def contains_pattern(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, with its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def text_search(text: str, *columns) -> ColumnElement[bool]:
    """Rows where any of `columns` contains `text`, ignoring case (a list's `q` filter)."""
    pattern = contains_pattern(text)
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))


def taken_ignoring_case(column, value: str, *criteria, exclude_id: int | None = None) -> bool:
    """Whether another row (not `exclude_id`; among those matching `criteria`) already holds
    `value` in `column`, ignoring case."""
    conditions = [func.lower(column) == value.lower(), *criteria]
    if exclude_id is not None:
        conditions.append(column.class_.id != exclude_id)
    return bool(db.session.scalar(select(exists().where(*conditions))))

"""How services read and write rows: one way to commit, one fetch-or-404, text search and
case-insensitive uniqueness.

A uniqueness or foreign-key race that slips past a service's own checks surfaces as an
IntegrityError at commit; `committing` turns the named constraint into the domain error the
service would have raised had it seen the clash first.
"""
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.domain.errors import AppError, NotFound
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


def one_or_404(statement: Select, not_found: str | NotFound, *, lock: bool = False):
    """The one row `statement` selects, locked FOR UPDATE when about to change it; else 404."""
    if lock:
        statement = statement.with_for_update()
    row = db.session.scalar(statement)
    if row is None:
        raise not_found if isinstance(not_found, NotFound) else NotFound(not_found)
    return row


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

"""Commit helpers shared by the seller-side services.

A uniqueness or foreign-key race that slips past a service's own checks surfaces as an
IntegrityError at commit; these helpers turn the named constraint into the domain error the
service would have raised had it seen the clash first.
"""
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.utils.exceptions import AppError


def constraint_name(error: IntegrityError) -> str | None:
    """The constraint PostgreSQL named in the violation (psycopg's diagnostics)."""
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def commit(on_violation: dict[str, AppError] | None = None) -> None:
    """Commit the session; a violated constraint listed in `on_violation` raises its error."""
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        mapped = (on_violation or {}).get(constraint_name(error) or "")
        if mapped is not None:
            raise mapped from None
        raise


def contains_pattern(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, with its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"

"""Who is logged in: credential checks and session loading.

A password check (login, or the current password when changing it) goes: find the user, take
an attempt from the throttle (atomic, commits: 429 past the limit, before any bcrypt), check
the password with no database connection held (constant time whatever the stored cost), then
settle: forget the account's count, remake a hash whose cost is not the configured one.
"""
from dataclasses import dataclass

from sqlalchemy import update

from app.database.models import User
from app.domain.errors import Unauthorized
from app.extensions import db
from app.services import password_service, throttle_service, user_service
from app.services.persistence import committing

INVALID_CREDENTIALS = "Invalid username or password."


@dataclass(frozen=True)
class PasswordCheck:
    """What a check needs once the connection is given back: plain values, no ORM object."""

    user_id: int | None
    password_hash: str | None
    active: bool
    account: str
    address: str | None
    target_cost: int


def begin_check(login: str, user: User | None, address: str | None) -> PasswordCheck:
    """Take one attempt for this user (or the login string typed when no user matches) and
    this address; commits, so the caller holds no connection during bcrypt. 429 past a limit."""
    check = PasswordCheck(
        user_id=user.id if user is not None else None,
        password_hash=user.password_hash if user is not None else None,
        active=user is not None and user.is_active,
        account=throttle_service.account_key(login, user.id if user is not None else None),
        address=address, target_cost=password_service.target_cost())
    throttle_service.take_attempt(check.account, address)
    return check


def password_matches(check: PasswordCheck, password: str) -> bool:
    return password_service.verify(check.password_hash, password, target=check.target_cost)


def settle_success(check: PasswordCheck, password: str, *, rehash: bool = True) -> None:
    """After a right password: forget the account's count and, when the stored cost is not the
    configured one, store a new hash (only if nobody changed it meanwhile). Commits."""
    new_hash = (password_service.hash_password(password)
                if rehash and password_service.needs_rehash(check.password_hash) else None)
    with committing():
        throttle_service.record_success(check.account, check.address)
        if new_hash is not None:
            # A Core UPDATE: the same password, so no audit event and no session ends.
            db.session.execute(update(User).where(User.id == check.user_id,
                                                  User.password_hash == check.password_hash)
                               .values(password_hash=new_hash)
                               .execution_options(synchronize_session=False))


def authenticate(login: str, password: str, *, address: str | None = None) -> User:
    check = begin_check(login, user_service.find_by_login(login), address)
    if not password_matches(check, password) or not check.active:
        # One answer for every failure: wrong password, unknown user, inactive user.
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    settle_success(check, password)
    user = db.session.get(User, check.user_id)
    if user is None or not user.is_active:  # deleted or suspended during the check
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    return user


def end_all_sessions(user: User) -> None:
    """Logging out ends every session of the user: a copied cookie stops working too."""
    with committing():
        user.session_version += 1


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's user loader: `<id>:<session_version>`, active users only."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user

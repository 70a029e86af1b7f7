"""Users: creation, search, changes and deletion, with the rules that keep an admin in charge."""
from sqlalchemy import exists, func, or_, select

from app.database.models import CallLog, Campaign, Did, User
from app.domain.errors import Conflict, ValidationFailed
from app.domain.roles import Role
from app.extensions import db
from app.services import password_service
from app.services.pagination import Page, paginate
from app.services.persistence import committing, fetch, taken_ignoring_case, text_search


def hash_password(password: str) -> str:
    return password_service.hash_password(password)


def get_user(user_id: int) -> User:
    return fetch(User, user_id, not_found="No such user.")


def find_by_login(login: str) -> User | None:
    """A user by username or email, ignoring case."""
    login = login.strip().lower()
    return db.session.scalar(
        select(User).where(or_(func.lower(User.username) == login, func.lower(User.email) == login))
    )


def list_users(*, role=None, status=None, q=None, page=1, per_page=25) -> Page:
    statement = select(User).order_by(User.id)
    if role:
        statement = statement.where(User.role == role)
    if status:
        statement = statement.where(User.status == status)
    if q:
        statement = statement.where(text_search(q, User.username, User.email, User.full_name))
    return paginate(statement, page, per_page)


def create_user(data: dict) -> User:
    _ensure_unique(data.get("username"), data.get("email"))
    with committing(_duplicate_login):
        user = User(
            username=data["username"], email=data["email"],
            password_hash=hash_password(data["password"]), role=data["role"],
            status=data.get("status", "active"), full_name=data.get("full_name", ""),
            company_name=data.get("company_name", ""),
        )
        db.session.add(user)
    return user


def update_user(user_id: int, data: dict) -> User:
    user = get_user(user_id)
    _ensure_unique(data.get("username"), data.get("email"), exclude_id=user.id)
    loses_admin = user.role == Role.ADMIN and user.status == "active" and (
        data.get("role", Role.ADMIN) != Role.ADMIN or data.get("status", "active") != "active")
    with committing(_duplicate_login):
        if loses_admin:
            _ensure_another_active_admin(user)
        for field in ("username", "email", "role", "status", "full_name", "company_name"):
            if field in data:
                setattr(user, field, data[field])
        if "password" in data:
            user.password_hash = hash_password(data["password"])
        if "password" in data or data.get("status", "active") != "active":
            user.session_version += 1  # existing sessions stop working
    return user


def change_own_password(user: User, current_password: str, new_password: str, *,
                        address: str | None = None) -> User:
    """A user changing their own password must know the current one; other sessions end.

    The current-password check is throttled exactly like a login (the same account and
    address limits: a stolen session cookie cannot guess the password), and no database
    connection is held while bcrypt runs."""
    from app.services import auth_service  # auth_service uses this module

    check = auth_service.begin_check(user.username, user, address)
    if not auth_service.password_matches(check, current_password):
        raise ValidationFailed.field("current_password", "This is not your current password.")
    new_hash = hash_password(new_password)
    auth_service.settle_success(check, current_password, rehash=False)
    with committing():
        user = get_user(check.user_id)
        user.password_hash = new_hash
        user.session_version += 1
    return user


def delete_user(user_id: int) -> None:
    user = get_user(user_id)
    if user.role == Role.ADMIN and user.status == "active":
        _ensure_another_active_admin(user)
    owns = [label for label, model in (("DIDs", Did), ("campaigns", Campaign))
            if db.session.scalar(select(exists().where(model.seller_id == user.id)))]
    if db.session.scalar(select(exists().where(CallLog.seller_id == user.id))):
        owns.append("call history")
    if owns:
        raise Conflict(
            f"This user still has {', '.join(owns)}; set the status to inactive instead.",
            details={"owns": owns, "suggestion": {"status": "inactive"}},
            code="user_in_use",
        )
    with committing():
        db.session.delete(user)


def _ensure_another_active_admin(user: User) -> None:
    # Row locks on every active admin serialise concurrent demotions: two admins demoting
    # each other at the same time cannot both succeed.
    admins = db.session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.status == "active").with_for_update()
    ).all()
    if set(admins) <= {user.id}:
        raise Conflict("This is the last active admin; promote another admin first.",
                       code="last_admin")


def _ensure_unique(username: str | None, email: str | None, *, exclude_id: int | None = None):
    fields = {}
    for name, value, column in (("username", username, User.username), ("email", email, User.email)):
        if value is None:
            continue
        if taken_ignoring_case(column, value, exclude_id=exclude_id):
            fields[name] = ["Already taken."]
    if fields:
        raise Conflict("A user with this " + " and ".join(fields) + " already exists.",
                       details=fields, code="duplicate")


def _duplicate_login(constraint: str | None) -> Conflict | None:
    """Two requests racing past `_ensure_unique` still get a 409."""
    if constraint in ("uq_users_username_lower", "uq_users_email_lower"):
        return Conflict("A user with this username or email already exists.", code="duplicate")
    return None


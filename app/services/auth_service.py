"""Who is logged in: credential checks and session loading."""
from app.database.models import User
from app.extensions import bcrypt, db
from app.services import throttle_service, user_service
from app.utils.exceptions import Unauthorized

INVALID_CREDENTIALS = "Invalid username or password."

_dummy_hash: str | None = None


def _hash_to_burn_time() -> str:
    # Checking a password against some hash even for unknown users keeps the answer time the
    # same, so timing does not reveal which usernames exist.
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = bcrypt.generate_password_hash("not-a-real-password").decode()
    return _dummy_hash


def authenticate(login: str, password: str, *, address: str | None = None) -> User:
    throttle_service.ensure_not_blocked(login, address)
    user = user_service.find_by_login(login)
    password_hash = user.password_hash if user is not None else _hash_to_burn_time()
    password_ok = bcrypt.check_password_hash(password_hash, password)
    if user is None or not password_ok or not user.is_active:
        throttle_service.record_failure(login, address)
        # One answer for every failure: wrong password, unknown user, inactive user.
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    throttle_service.record_success(login)
    return user


def end_all_sessions(user: User) -> None:
    """Logging out ends every session of the user: a copied cookie stops working too."""
    user.session_version += 1
    db.session.commit()


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's user loader: `<id>:<session_version>`, active users only."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user

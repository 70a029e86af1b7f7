"""Personal API keys: `Authorization: Bearer <key>` on /api instead of a session.

A key is shown once; only its SHA-256 is stored (a key is 256 random bits: a fast hash is
enough, and a lookup by hash compares nothing secret in Python). A key acts as its user with
the user's role; a `read` key may only read. Revoked or expired keys, and keys of users who
are not active, are refused.
"""
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, text

from app.database.models import ApiKey, User
from app.extensions import db
from app.services.persistence import committing
from app.domain.errors import NotFound, ValidationFailed

KEY_PREFIX = "cck_"
LAST_USE_RESOLUTION = "1 minute"  # last_used_at is written at most this often per key


@dataclass(frozen=True)
class KeyUse:
    key_id: int
    scope: str
    user: User


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def list_keys(user_id: int) -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).where(ApiKey.user_id == user_id)
                                   .order_by(ApiKey.id)))


def create_key(user_id: int, data: dict) -> ApiKey:
    expires_at = data.get("expires_at")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=timezone.utc)
        if expires_at <= datetime.now(timezone.utc):
            raise ValidationFailed.field("expires_at", "Must be in the future.")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(user_id=user_id, name=data["name"], scope=data["scope"], prefix=key[:12],
                 key_hash=_hash(key), expires_at=expires_at)
    with committing():
        db.session.add(row)
    row.key_once = key
    return row


def revoke_key(user_id: int, key_id: int) -> None:
    row = db.session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id))
    if row is None:
        raise NotFound("No such API key.")
    if row.revoked_at is None:
        with committing():
            row.revoked_at = datetime.now(timezone.utc)


def authenticate(key: str) -> KeyUse | None:
    """The key's use when it is valid, else None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    digest = _hash(key)
    row = db.session.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None),
               (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > db.func.now()))).first()
    if row is None or not hmac.compare_digest(row.ApiKey.key_hash, digest):
        return None
    api_key, user = row
    if not user.is_active:
        return None
    with committing():
        db.session.execute(text(
            "UPDATE api_keys SET last_used_at = now() WHERE id = :id AND "
            f"(last_used_at IS NULL OR last_used_at < now() - interval '{LAST_USE_RESOLUTION}')"),
            {"id": api_key.id})
    return KeyUse(api_key.id, api_key.scope, user)

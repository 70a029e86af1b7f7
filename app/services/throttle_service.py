"""Login throttling, per account and per client address, shared by every process.

After too many failures inside a window the key is blocked for a while; a blocked login is
refused before its password is even checked, so guessing stops paying.
"""
from dataclasses import dataclass

from sqlalchemy import text

from app.extensions import db
from app.utils.exceptions import TooManyRequests


@dataclass(frozen=True)
class Limit:
    failures: int
    window_seconds: int
    block_seconds: int


ACCOUNT_LIMIT = Limit(failures=5, window_seconds=900, block_seconds=900)
ADDRESS_LIMIT = Limit(failures=20, window_seconds=900, block_seconds=900)

_RECORD_FAILURE = text("""
INSERT INTO login_throttles AS t (key, failures, window_started_at, blocked_until)
VALUES (:key, 1, now(), NULL)
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN t.window_started_at < now() - make_interval(secs => :window)
                    THEN 1 ELSE t.failures + 1 END,
    window_started_at = CASE WHEN t.window_started_at < now() - make_interval(secs => :window)
                             THEN now() ELSE t.window_started_at END
RETURNING failures
""")
_BLOCK = text("""
UPDATE login_throttles SET blocked_until = now() + make_interval(secs => :block), failures = 0,
                           window_started_at = now()
WHERE key = :key
""")
_RETRY_AFTER = text("""
SELECT ceil(extract(epoch FROM max(blocked_until) - now()))::int
FROM login_throttles WHERE key = ANY(:keys) AND blocked_until > now()
""")
_FORGET = text("DELETE FROM login_throttles WHERE key = :key")


def keys_for(login: str, address: str | None) -> list[tuple[str, Limit]]:
    keys = [(f"account:{login.strip().lower()[:300]}", ACCOUNT_LIMIT)]
    if address:
        keys.append((f"address:{address[:300]}", ADDRESS_LIMIT))
    return keys


def ensure_not_blocked(login: str, address: str | None) -> None:
    keys = [key for key, _ in keys_for(login, address)]
    retry_after = db.session.scalar(_RETRY_AFTER, {"keys": keys})
    if retry_after:
        raise TooManyRequests("Too many failed logins; try again later.",
                              details={"retry_after": retry_after},
                              headers={"Retry-After": str(retry_after)})


def record_failure(login: str, address: str | None) -> None:
    for key, limit in keys_for(login, address):
        failures = db.session.scalar(_RECORD_FAILURE, {"key": key, "window": limit.window_seconds})
        if failures >= limit.failures:
            db.session.execute(_BLOCK, {"key": key, "block": limit.block_seconds})
    db.session.commit()


def record_success(login: str) -> None:
    db.session.execute(_FORGET, {"key": keys_for(login, None)[0][0]})
    db.session.commit()

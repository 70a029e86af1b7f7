"""Login throttling, per account and per client address, shared by every process.

Every password check first *takes an attempt*: one transaction that counts it against the
account's key and the address's key (upserts in one global key order, each holding its row
lock until the commit) and refuses it, counting nothing, when either key is blocked or already
at its limit. So however many guesses arrive at once, in however many processes, no more than
the limit are ever checked: the check-and-count is atomic and comes before bcrypt. A key at
its limit is then blocked for `block_seconds` (429 with Retry-After).

The account's key is the user matched by the login (`user:<id>`: username, email, any case
or spacing count together), or the normalised string typed when no user matches
(`account:<login>`). A successful check forgets the account's count and gives the address its
attempt back, so a busy office behind one address is not blocked by its own logins.
"""
from dataclasses import dataclass

from sqlalchemy import text

from app.domain.errors import TooManyRequests
from app.extensions import db
from app.services.persistence import committing


@dataclass(frozen=True)
class Limit:
    failures: int
    window_seconds: int
    block_seconds: int


ACCOUNT_LIMIT = Limit(failures=5, window_seconds=900, block_seconds=900)
ADDRESS_LIMIT = Limit(failures=20, window_seconds=900, block_seconds=900)

# One attempt more on `key`; returns the attempts now counted in the window and, when the
# key is blocked, the seconds left. Its row stays locked until the transaction ends.
_TAKE = text("""
INSERT INTO login_throttles AS t (key, failures, window_started_at, blocked_until)
VALUES (:key, 1, now(), NULL)
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN t.window_started_at < now() - make_interval(secs => :window)
                    THEN 1 ELSE t.failures + 1 END,
    window_started_at = CASE WHEN t.window_started_at < now() - make_interval(secs => :window)
                             THEN now() ELSE t.window_started_at END
RETURNING failures,
          CASE WHEN blocked_until > now() THEN ceil(extract(epoch FROM blocked_until - now()))::int
          END AS blocked_for
""")
_BLOCK = text("""
UPDATE login_throttles
SET blocked_until = now() + make_interval(secs => :block), window_started_at = now()
WHERE key = :key AND (blocked_until IS NULL OR blocked_until <= now())
""")
_FORGET = text("DELETE FROM login_throttles WHERE key = :key")
_GIVE_BACK = text("UPDATE login_throttles SET failures = greatest(failures - 1, 0) WHERE key = :key")


def normalise(login: str) -> str:
    return " ".join(login.split()).lower()[:300]


def account_key(login: str, user_id: int | None) -> str:
    return f"user:{user_id}" if user_id is not None else f"account:{normalise(login)}"


def keys_for(account: str, address: str | None) -> list[tuple[str, Limit]]:
    keys = [(account, ACCOUNT_LIMIT)]
    if address:
        keys.append((f"address:{address[:300]}", ADDRESS_LIMIT))
    return sorted(keys, key=lambda pair: pair[0])  # one global order: no deadlock


def take_attempt(account: str, address: str | None) -> None:
    """Count one password check against the account and the address, or raise 429 counting
    nothing. Commits either way: the caller holds no connection afterwards."""
    with committing():
        with db.session.begin_nested() as counting:
            refused = _over_limit(account, address)
            if refused:
                counting.rollback()  # the attempt is not counted anywhere (nor its row locks held)
        for key, limit, blocked_for in refused:
            if not blocked_for:
                db.session.execute(_BLOCK, {"key": key, "block": limit.block_seconds})
    if refused:
        retry_after = max(blocked_for or limit.block_seconds for _, limit, blocked_for in refused)
        raise TooManyRequests("Too many failed password checks; try again later.",
                              details={"retry_after": retry_after},
                              headers={"Retry-After": str(retry_after)})


def _over_limit(account: str, address: str | None) -> list[tuple[str, Limit, int | None]]:
    """Count the attempt on each key; the keys it takes past their limit (or that are blocked),
    with the seconds their block has left."""
    refused = []
    for key, limit in keys_for(account, address):
        failures, blocked_for = db.session.execute(
            _TAKE, {"key": key, "window": limit.window_seconds}).one()
        if blocked_for or failures > limit.failures:
            refused.append((key, limit, blocked_for))
    return refused


def record_success(account: str, address: str | None) -> None:
    """The password was right: forget the account's count, give the address its attempt back
    (in the caller's transaction)."""
    for key, _ in keys_for(account, address):
        db.session.execute(_FORGET if key == account else _GIVE_BACK, {"key": key})

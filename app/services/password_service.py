"""Password hashes: making them, checking them in constant time whatever their cost, and
telling when one should be remade at the configured cost.

bcrypt's time doubles with each unit of cost. A check against a cheaper (or dearer) stored
hash than the dummy one used for unknown users would tell them apart, so every check does the
work of one hash at the *target* cost: the largest of the configured cost and the costs stored
(read by `target_cost`). A cheaper stored hash is padded with dummy checks at costs c, c+1, …,
target-1 (2^c + 2^c + … + 2^(target-1) = 2^target); an unknown user is checked against a dummy
at the target cost.

bcrypt runs with no database connection held (callers commit first) and, in a gevent worker,
in gevent's thread pool (bcrypt releases the GIL), so the worker's other requests go on.
"""
import re

import bcrypt as pybcrypt
from flask import current_app
from sqlalchemy import text

from app.extensions import bcrypt, db
from app.services.blocking import run_blocking

MAX_PADDED_COST = 16  # a stored hash dearer than this is slow whatever we do
_COST = re.compile(r"^\$2[abxy]?\$(\d\d)\$")
_SLOWEST_STORED = text(r"""
SELECT max(substring(password_hash FROM '^\$2[abxy]?\$(\d\d)\$')::int) FROM users
""")
_dummies: dict[int, str] = {}


def configured_cost() -> int:
    return int(current_app.config["BCRYPT_LOG_ROUNDS"])


def cost_of(password_hash: str | None) -> int | None:
    match = _COST.match(password_hash or "")
    return int(match.group(1)) if match else None


def hash_password(password: str) -> str:
    """A new hash at the configured cost (hold no database connection while calling this)."""
    rounds = configured_cost()
    return run_blocking(lambda: bcrypt.generate_password_hash(password, rounds).decode())


def needs_rehash(password_hash: str) -> bool:
    return cost_of(password_hash) != configured_cost()


def target_cost() -> int:
    """The cost every check takes the time of (needs the database: call before committing)."""
    slowest = db.session.scalar(_SLOWEST_STORED) or 0
    return max(configured_cost(), min(slowest, MAX_PADDED_COST))


def _dummy(cost: int) -> str:
    if cost not in _dummies:
        _dummies[cost] = pybcrypt.hashpw(b"not-a-real-password",
                                         pybcrypt.gensalt(rounds=cost)).decode()
    return _dummies[cost]


def _work(stored_hash: str | None, password: str, target: int) -> bool:
    stored_cost = cost_of(stored_hash)
    if stored_cost is None:  # unknown user (or an unusable hash): one check at the target cost
        bcrypt.check_password_hash(_dummy(target), password)
        return False
    ok = bcrypt.check_password_hash(stored_hash, password)
    for cost in range(max(stored_cost, 4), target):
        bcrypt.check_password_hash(_dummy(cost), password)
    return ok


def verify(stored_hash: str | None, password: str, *, target: int) -> bool:
    """Whether `password` matches `stored_hash` (None: no such user, always False), in the
    time of one check at cost `target`. Hold no database connection while calling this."""
    return run_blocking(_work, stored_hash, password, target)

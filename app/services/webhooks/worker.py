"""The delivery worker (`flask events deliver`): sends pending deliveries, at least once.

Each round claims a batch of due deliveries in one statement (`FOR UPDATE SKIP LOCKED`, then
committed at once): their `next_attempt_at` moves past the time a request may take (the lease)
and they get this round's `lease_token`. No lock is held while the requests run. A delivery
whose answer is recorded leaves the lease (sent, retried later, or failed); one whose worker
died is due again when its lease runs out, and is sent again: duplicates are possible, losses
are not. Several workers never hold the same delivery at once.

One call's events reach one subscription in order: a delivery is not due while an earlier
delivery of the same call for the same subscription is still pending.

Failures (any non-2xx, a timeout, a refused target) are retried with exponential backoff and
jitter until the retry window (24 h from the event, or from a redelivery) has passed; then the
delivery is failed. A subscription whose deliveries kept failing for the window is disabled
with the reason written on it.
"""
import logging
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row

from app.services.outbound import target
from app.services.webhooks import payloads

log = logging.getLogger(__name__)

CLAIM = """
WITH due AS (
    SELECT d.id FROM webhook_deliveries d
    JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.status = 'active'
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
      AND NOT (d.order_key IS NOT NULL AND EXISTS (
          SELECT 1 FROM webhook_deliveries e
          WHERE e.status = 'pending' AND e.subscription_id = d.subscription_id
            AND e.order_key = d.order_key AND e.id < d.id))
    ORDER BY d.next_attempt_at, d.id
    LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d
SET next_attempt_at = now() + make_interval(secs => %(lease)s), lease_token = %(token)s,
    attempts = d.attempts + 1, last_attempt_at = now()
FROM due, events ev, webhook_subscriptions s
WHERE d.id = due.id AND ev.id = d.event_id AND s.id = d.subscription_id
RETURNING d.id, d.attempts, ev.id AS event_id, ev.type, ev.created_at, ev.data,
          s.kind, s.url, s.secret
"""

RECORD_SUCCESSES = """
WITH r AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(codes)s::int[], %(ms)s::int[]) AS r(id, code, ms)
), d AS (
    UPDATE webhook_deliveries w
    SET status = 'sent', sent_at = now(), next_attempt_at = NULL, lease_token = NULL,
        last_status_code = r.code, last_error = NULL
    FROM r WHERE w.id = r.id AND w.lease_token = %(token)s
    RETURNING w.id, w.subscription_id, r.code, r.ms
), healthy AS (
    UPDATE webhook_subscriptions s SET failing_since = NULL
    WHERE s.id IN (SELECT subscription_id FROM d) AND s.failing_since IS NOT NULL
)
INSERT INTO webhook_attempts (delivery_id, at, status_code, error, duration_ms, next_attempt_at)
SELECT d.id, now(), d.code, NULL, d.ms, NULL FROM d
"""

RECORD_FAILURE = """
WITH d AS (
    UPDATE webhook_deliveries
    SET status = CASE WHEN now() + make_interval(secs => %(delay)s)
                           > window_started_at + make_interval(secs => %(window)s)
                      THEN 'failed' ELSE 'pending' END,
        next_attempt_at = CASE WHEN now() + make_interval(secs => %(delay)s)
                                    > window_started_at + make_interval(secs => %(window)s)
                               THEN NULL ELSE now() + make_interval(secs => %(delay)s) END,
        lease_token = NULL, last_status_code = %(code)s, last_error = %(error)s
    WHERE id = %(id)s AND lease_token = %(token)s
    RETURNING id, subscription_id, next_attempt_at
), failing AS (
    UPDATE webhook_subscriptions s
    SET failing_since = coalesce(s.failing_since, now()),
        status = CASE WHEN s.status = 'active' AND s.failing_since IS NOT NULL
                           AND s.failing_since <= now() - make_interval(secs => %(window)s)
                      THEN 'disabled' ELSE s.status END,
        disabled_reason = CASE WHEN s.status = 'active' AND s.failing_since IS NOT NULL
                                    AND s.failing_since <= now() - make_interval(secs => %(window)s)
                               THEN left('Disabled: every delivery failed since '
                                         || to_char(s.failing_since AT TIME ZONE 'UTC',
                                                    'YYYY-MM-DD HH24:MI "UTC"')
                                         || '; last error: ' || %(reason)s, 500)
                               ELSE s.disabled_reason END
    FROM d WHERE s.id = d.subscription_id
)
INSERT INTO webhook_attempts (delivery_id, at, status_code, error, duration_ms, next_attempt_at)
SELECT d.id, now(), %(code)s, %(error)s, %(ms)s, d.next_attempt_at FROM d
"""


@dataclass
class WorkerSettings:
    batch_size: int = 200
    concurrency: int = 16
    timeout: float = target.DEFAULT_TIMEOUT
    lease_seconds: float = 60.0           # longer than any request may take
    retry_base_seconds: float = 10.0      # first retry after about this long, then doubling
    retry_max_seconds: float = 3600.0
    retry_window_seconds: float = 86400.0
    idle_seconds: float = 0.5             # sleep when nothing was due
    flush_every: int = 50                 # successes marked sent per statement, at most …
    flush_seconds: float = 0.05           # … or this long after the previous mark
    allow_private: bool = False


def backoff_seconds(attempts: int, settings: WorkerSettings, rng=random) -> float:
    """Exponential backoff with full jitter between half and the whole step."""
    step = min(settings.retry_max_seconds, settings.retry_base_seconds * 2 ** max(0, attempts - 1))
    return step * (0.5 + rng.random() / 2)


def describe_failure(response: target.Response) -> str:
    if response.error:
        return response.error
    return f"HTTP {response.status_code}"


class DeliveryWorker:
    def __init__(self, conninfo: str, settings: WorkerSettings | None = None):
        self.conninfo = conninfo
        self.settings = settings or WorkerSettings()
        self._conn: psycopg.Connection | None = None
        self._pool = ThreadPoolExecutor(max_workers=self.settings.concurrency,
                                        thread_name_prefix="webhook")
        self.stopping = threading.Event()

    # -- database -------------------------------------------------------------------------
    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.conninfo, autocommit=True, row_factory=dict_row)
        return self._conn

    def claim(self, token: str) -> list[dict]:
        with self._connection().cursor() as cur:
            cur.execute(CLAIM, {"limit": self.settings.batch_size,
                                "lease": self.settings.lease_seconds, "token": token})
            return cur.fetchall()

    def record_sent(self, token: str, sent: list[tuple[dict, target.Response]]) -> None:
        """Mark answered deliveries sent, several in one statement."""
        if not sent:
            return
        with self._connection().cursor() as cur:
            cur.execute(RECORD_SUCCESSES, {
                "token": token, "ids": [delivery["id"] for delivery, _ in sent],
                "codes": [response.status_code for _, response in sent],
                "ms": [response.duration_ms for _, response in sent]})

    def record_failure(self, delivery: dict, token: str, response: target.Response) -> None:
        """Schedule the retry (or fail the delivery past its window; disable the
        subscription failing for a whole window) and log the attempt."""
        reason = describe_failure(response)
        with self._connection().cursor() as cur:
            cur.execute(RECORD_FAILURE, {
                "id": delivery["id"], "token": token, "code": response.status_code,
                "ms": response.duration_ms,
                "error": None if response.error is None else response.error[:500],
                "reason": reason[:300], "window": self.settings.retry_window_seconds,
                "delay": backoff_seconds(delivery["attempts"], self.settings)})

    # -- sending --------------------------------------------------------------------------
    def send(self, delivery: dict) -> target.Response:
        if delivery["kind"] == "postback":
            url = payloads.postback_url(delivery["url"], delivery["data"] or {})
            return target.send("GET", url, headers={
                "CapConduit-Event-Id": payloads.event_id(delivery["event_id"])},
                allow_private=self.settings.allow_private, timeout=self.settings.timeout)
        body, headers = payloads.webhook_request(delivery["secret"], delivery["event_id"],
                                                 delivery["type"], delivery["created_at"],
                                                 delivery["data"])
        return target.send("POST", delivery["url"], body=body, headers=headers,
                           allow_private=self.settings.allow_private, timeout=self.settings.timeout)

    def run_once(self) -> int:
        """Claim one batch, send it (concurrently) and record the answers as they come back:
        failures one by one, successes a few at a time (`flush_every`, or `flush_seconds`).
        Returns how many deliveries were attempted."""
        token = str(uuid.uuid4())
        batch = self.claim(token)
        if not batch:
            return 0
        futures = {self._pool.submit(self.send, delivery): delivery for delivery in batch}
        sent: list[tuple[dict, target.Response]] = []
        flushed = time.monotonic()
        for future in as_completed(futures):
            delivery = futures[future]
            try:
                response = future.result()
            except Exception as error:  # a delivery that cannot even be built: a failure
                response = target.Response(None, f"{type(error).__name__}: {error}"[:500], 0)
            if response.ok:
                sent.append((delivery, response))
            else:
                self.record_failure(delivery, token, response)
                log.info("delivery %s to %s failed: %s", delivery["id"], delivery["url"],
                         describe_failure(response))
            if len(sent) >= self.settings.flush_every or (
                    sent and time.monotonic() - flushed >= self.settings.flush_seconds):
                self.record_sent(token, sent)
                sent, flushed = [], time.monotonic()
        self.record_sent(token, sent)
        return len(batch)

    def run_forever(self) -> None:
        while not self.stopping.is_set():
            try:
                done = self.run_once()
            except psycopg.OperationalError as error:
                log.warning("event worker: database unavailable (%s); retrying", error)
                self._conn = None
                self.stopping.wait(2.0)
                continue
            except Exception:  # never let one bad round stop deliveries for good
                log.exception("event worker: round failed; retrying")
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                self.stopping.wait(2.0)
                continue
            if not done:
                self.stopping.wait(self.settings.idle_seconds)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._conn is not None:
            self._conn.close()

"""The API side: the sellers who edit their links and caps, the admins who read the call logs,
and the tally of every request."""
from __future__ import annotations

import http.client
import json
import math
import random
import threading
import time
from collections import Counter, defaultdict
from urllib.parse import urlencode

from bench.soak.config import DAILY_CAP_CAMPAIGN, DAILY_CAP_EVERY, DAILY_CAP_RAISE


class Tally:
    """Every API request, shared by the actor threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_route: dict[str, Counter] = defaultdict(Counter)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.connection_errors: list[str] = []
        self.server_errors: list[str] = []
        self.unexpected: list[str] = []
        self.notes: Counter = Counter()

    def record(self, route: str, status: int, seconds: float, body: bytes) -> None:
        with self.lock:
            self.by_route[route][status] += 1
            self.latency[route].append(seconds)
            if status >= 500:
                self.server_errors.append(f"{route} {status} {body[:300]!r}")

    def connection_error(self, route: str, exc: Exception) -> None:
        with self.lock:
            self.by_route[route]["connection error"] += 1
            self.connection_errors.append(f"{route}: {type(exc).__name__}: {exc}")

    def note(self, what: str, detail: str | None = None) -> None:
        with self.lock:
            self.notes[what] += 1
            if detail and len(self.unexpected) < 50:
                self.unexpected.append(f"{what}: {detail}")

    def summary(self) -> dict:
        with self.lock:
            total = Counter()
            routes = {}
            for route, statuses in sorted(self.by_route.items()):
                total.update(statuses)
                lat = sorted(self.latency[route])
                routes[route] = {"statuses": dict(statuses), "count": sum(statuses.values()),
                                 "p50_ms": _pct(lat, 0.5) * 1000 if lat else None,
                                 "p99_ms": _pct(lat, 0.99) * 1000 if lat else None}
            return {"requests": sum(total.values()), "statuses": dict(total), "routes": routes,
                    "server_errors": len(self.server_errors),
                    "server_error_samples": self.server_errors[:10],
                    "connection_errors": len(self.connection_errors),
                    "connection_error_samples": self.connection_errors[:10],
                    "notes": dict(self.notes), "unexpected_samples": self.unexpected[:20]}


def _pct(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


class ApiClient:
    """One browser-like session: keeps its cookies by hand (production cookies are Secure, and
    this is plain HTTP on loopback, so a cookie jar would not send them back)."""

    def __init__(self, port: int, tally: Tally):
        self.port, self.tally = port, tally
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def call(self, method: str, path: str, route: str, body: dict | None = None):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.tally.connection_error(f"{method} {route}", exc)
            return None, None
        elapsed = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            expired = "expires=thu, 01 jan 1970" in header.lower() or "max-age=0" in header.lower()
            if expired or not value:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        self.tally.record(f"{method} {route}", response.status, elapsed, raw)
        try:
            document = json.loads(raw) if raw else None
        except ValueError:
            document = None
        return response.status, document

    def login(self, username: str, password: str) -> bool:
        status, _ = self.call("POST", "/api/auth/login", "/api/auth/login",
                              {"username": username, "password": password})
        if status != 200:
            self.tally.note("login refused", f"{username}: {status}")
        return status == 200

    def close(self) -> None:
        self.conn.close()


class Actor(threading.Thread):
    def __init__(self, name: str, port: int, tally: Tally, deadline: float, seed: int,
                 stop_event: threading.Event, username: str, password: str):
        super().__init__(daemon=True, name=name)
        self.port, self.tally, self.deadline = port, tally, deadline
        self.rng = random.Random(seed)
        self.stop_event = stop_event
        self.username, self.password = username, password
        self.client = ApiClient(port, tally)
        self.error: str | None = None
        self.iterations = 0

    def running(self) -> bool:
        return not self.stop_event.is_set() and time.time() < self.deadline

    def pause(self, low: float, high: float) -> None:
        self.stop_event.wait(min(self.rng.uniform(low, high), max(0.0, self.deadline - time.time())))

    def request(self, method: str, path: str, route: str, body: dict | None = None):
        status, document = self.client.call(method, path, route, body)
        if status == 401:  # the session ended (it should not): log in again once, then retry
            self.tally.note("session lost", f"{self.name} {method} {route}")
            if self.client.login(self.username, self.password):
                status, document = self.client.call(method, path, route, body)
        return status, document

    def run(self) -> None:
        try:
            if not self.client.login(self.username, self.password):
                self.error = f"{self.username} could not log in"
                return
            max_iterations = int((self.deadline - time.time()) * 50) + 10  # bounded, whatever happens
            while self.running() and self.iterations < max_iterations:
                self.iterations += 1
                self.step()
        except Exception as exc:  # noqa: BLE001 - reported, and fails the run
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.client.close()

    def step(self) -> None:
        raise NotImplementedError


class SellerActor(Actor):
    """Reads the routing table and edits it: link caps up and down, weights, priorities, status;
    the campaign daily cap only ever goes up (see SOAK_SCHEMA)."""

    def __init__(self, *args, campaigns: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.campaigns = campaigns
        self.links: dict[int, dict] = {}  # setting id -> last document read
        self.next_daily_raise = time.time() + DAILY_CAP_EVERY

    def step(self) -> None:
        campaign = self.rng.choice(self.campaigns)
        if campaign == DAILY_CAP_CAMPAIGN and time.time() >= self.next_daily_raise:
            self.next_daily_raise += DAILY_CAP_EVERY
            self.raise_daily_cap(campaign)
        action = self.rng.choices(["list", "patch", "read one", "calls"], [35, 45, 10, 10])[0]
        base = f"/api/seller/campaigns/{campaign}/clients"
        if action == "list" or not any(d["campaign_id"] == campaign for d in self.links.values()):
            status, document = self.request("GET", base, "/api/seller/campaigns/{id}/clients")
            if status == 200:
                for item in document["items"]:
                    self.links[item["id"]] = item
            elif status is not None:
                self.tally.note("seller list failed", f"{status}")
        elif action == "patch":
            self.patch_link(campaign, base)
        elif action == "read one":
            link = self.rng.choice([d for d in self.links.values() if d["campaign_id"] == campaign])
            status, document = self.request("GET", f"{base}/{link['id']}",
                                             "/api/seller/campaigns/{id}/clients/{id}")
            if status == 200:
                self.links[link["id"]] = document
        else:
            status, document = self.request("GET", "/api/seller/call_logs?" + urlencode(
                {"limit": 20, "campaign_id": campaign}), "/api/seller/call_logs")
            if status == 200 and not isinstance(document.get("items"), list):
                self.tally.note("bad call log page", str(document)[:200])
            self.request("GET", "/api/seller/call_logs/summary", "/api/seller/call_logs/summary")
        self.pause(0.3, 1.2)

    def patch_link(self, campaign: int, base: str) -> None:
        link = self.rng.choice([d for d in self.links.values() if d["campaign_id"] == campaign])
        change = self.rng.choices(["concurrency", "total", "weight", "priority", "status"],
                                  [35, 30, 20, 8, 7])[0]
        if link["status"] != "active":
            body = {"status": "active"}  # a link switched off comes back on the next edit
        elif change == "concurrency":
            body = {"max_concurrency": self.rng.randint(1, 4)}
        elif change == "total":
            # From the last read: a call delivered since makes it stale (422 below the floor).
            body = {"total_calls_allowed": link["current_total_calls"] + self.rng.randint(0, 8)}
        elif change == "weight":
            body = {"weight": self.rng.randint(0, 100)}
        elif change == "priority":
            body = {"forwarding_priority": self.rng.randint(1, 2)}
        else:
            body = {"status": "inactive"}
        status, document = self.request("PATCH", f"{base}/{link['id']}",
                                        "/api/seller/campaigns/{id}/clients/{id}", body)
        if status == 200:
            self.links[link["id"]] = document
            self.tally.note(f"link edit: {next(iter(body))}")
        elif status == 422 and "total_calls_allowed" in body:
            self.tally.note("422: total below calls delivered since the last read")
            link["current_total_calls"] = link["current_total_calls"] + 1
        elif status is not None:
            self.tally.note("link edit refused", f"{status} {body} {document}")

    def raise_daily_cap(self, campaign: int) -> None:
        status, document = self.request("GET", f"/api/seller/campaigns/{campaign}",
                                        "/api/seller/campaigns/{id}")
        if status != 200:
            return
        new_cap = (document.get("daily_cap") or 0) + DAILY_CAP_RAISE
        status, document = self.request("PATCH", f"/api/seller/campaigns/{campaign}",
                                        "/api/seller/campaigns/{id}", {"daily_cap": new_cap})
        if status == 200:
            self.tally.note("campaign daily cap raised")
        elif status is not None:
            self.tally.note("daily cap raise refused", f"{status} {document}")


class AdminActor(Actor):
    """Pages through the call logs with the keyset cursor, opens calls, reads the summary."""

    def __init__(self, *args, run_started: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.run_started = run_started
        self.pages = 0
        self.duplicates = 0

    def step(self) -> None:
        action = self.rng.choices(["pages", "summary", "one"], [60, 25, 15])[0]
        if action == "pages":
            self.page_through()
        elif action == "summary":
            params = {} if self.rng.random() < 0.5 else {"from": self.run_started}
            status, document = self.request(
                "GET", "/api/admin/call_logs/summary" + (f"?{urlencode(params)}" if params else ""),
                "/api/admin/call_logs/summary")
            if status == 200 and "by_status" not in document:
                self.tally.note("bad summary", str(document)[:200])
        else:
            status, document = self.request("GET", "/api/admin/call_logs?limit=20",
                                            "/api/admin/call_logs")
            if status == 200 and document["items"]:
                call = self.rng.choice(document["items"])
                self.request("GET", f"/api/admin/call_logs/{call['id']}",
                             "/api/admin/call_logs/{id}")
        self.pause(0.2, 0.8)

    def page_through(self) -> None:
        params: dict = {"limit": self.rng.choice([20, 50, 100])}
        flavour = self.rng.random()
        if flavour < 0.2:
            params["status"] = self.rng.choice(["answered", "all_capped", "abandoned"])
        elif flavour < 0.35:
            params["campaign_id"] = self.rng.choice([1, 2, 3])
        seen: set[int] = set()
        for _ in range(self.rng.randint(1, 6)):
            status, document = self.request("GET", "/api/admin/call_logs?" + urlencode(params),
                                            "/api/admin/call_logs")
            if status != 200:
                return
            self.pages += 1
            for item in document["items"]:
                if item["id"] in seen:  # keyset paging must never repeat a row while calls arrive
                    self.duplicates += 1
                    self.tally.note("call log repeated across pages", str(item["id"]))
                seen.add(item["id"])
            if not document.get("next_cursor"):
                return
            params["cursor"] = document["next_cursor"]

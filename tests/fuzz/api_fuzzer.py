"""Schemathesis against CapConduit's own OpenAPI document, in process (WSGI, no network).

Shared by the bounded run in the test suite (tests/fuzz/test_api_schemathesis.py) and the long
run (scripts/fuzz_api.py). A run is a list of phases; each phase fuzzes a set of operations as
one identity (an admin or a seller session cookie, the internal Bearer token, nobody) and ends
with the database consistency checks below, so a phase that left half a change behind fails.

Every response must:
- never be a 5xx;
- use a status code the operation documents, with a body matching the documented schema and
  content type (schemathesis' conformance checks);
- when it is an error, have CapConduit's error shape `{"error": {"code", "message", "details"}}`.

Operations are driven one at a time through schemathesis' own per-operation Hypothesis tests
(examples, coverage and fuzzing phases), with a fixed seed and derandomized generation: the same
code fuzzes the same cases every run.
"""
from __future__ import annotations

import json
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import hypothesis
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_headers_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)
from sqlalchemy import text

from app.extensions import bcrypt, db

INTERNAL_TOKEN = "testing-internal-token-not-for-production"
SEED = 20261124

# Users the cookie phases act as. The fuzzer may change or delete any user it can name, so the
# admin it acts as is one it cannot guess: an id far from the small ids and range boundaries
# Hypothesis favours.
FUZZ_ADMIN = {"id": 1_900_000_001, "username": "fuzz-admin", "password": "fuzz-admin-password-2026"}
SELLER = {"username": "seller1", "password": "seller1-password-2026"}


def error_shape(ctx, response, case) -> None:
    """Every 4xx/5xx answers {"error": {"code": str, "message": str, "details": object}}."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} answer is not JSON: {response.content[:200]!r}")
    error = body.get("error") if isinstance(body, dict) else None
    if not (isinstance(body, dict) and set(body) == {"error"} and isinstance(error, dict)
            and isinstance(error.get("code"), str) and isinstance(error.get("message"), str)
            and isinstance(error.get("details"), dict)):
        raise AssertionError(f"{response.status_code} answer lacks the error shape: {body!r}"[:500])
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, error_shape]


# Each query returns the rows that break one rule; a consistent database returns none.
CONSISTENCY_CHECKS = {
    "in_flight equals the setting's reservations": """
        SELECT s.id, s.in_flight, count(r.uniqueid) AS reservations
        FROM campaign_client_settings s LEFT JOIN reservations r ON r.setting_id = s.id
        GROUP BY s.id HAVING s.in_flight <> count(r.uniqueid)""",
    "a reservation matches its setting's campaign and client": """
        SELECT r.uniqueid, r.attempt FROM reservations r
        JOIN campaign_client_settings s ON s.id = r.setting_id
        WHERE r.client_id <> s.client_id OR r.campaign_id <> s.campaign_id""",
    "answered calls stay within total_calls_allowed": """
        SELECT id FROM campaign_client_settings
        WHERE total_calls_allowed IS NOT NULL AND current_total_calls > total_calls_allowed""",
    "a campaign's DIDs belong to the campaign's seller": """
        SELECT cd.did_id FROM campaign_dids cd JOIN dids d ON d.id = cd.did_id
        JOIN campaigns c ON c.id = cd.campaign_id WHERE d.seller_id <> c.seller_id""",
    "no ps_endpoints row without its client or carrier": """
        SELECT id FROM ps_endpoints WHERE id NOT IN (SELECT endpoint FROM _owners)""",
    "no ps_aors row without its client or carrier": """
        SELECT id FROM ps_aors WHERE id NOT IN (SELECT endpoint FROM _owners)""",
    "no ps_auths row without its client or carrier": """
        SELECT id FROM ps_auths
        WHERE regexp_replace(id, '\\.out$', '') NOT IN (SELECT endpoint FROM _owners)""",
    "no ps_endpoint_id_ips row without its client or carrier": """
        SELECT id FROM ps_endpoint_id_ips WHERE endpoint NOT IN (SELECT endpoint FROM _owners)""",
    "every carrier has its endpoint": """
        SELECT id FROM carriers WHERE 'carrier-' || id NOT IN (SELECT id FROM ps_endpoints)""",
    "an endpoint's AOR and auth are its own": """
        SELECT e.id FROM ps_endpoints e
        WHERE (e.aors IS NOT NULL AND e.aors <> e.id)
           OR (e.auth IS NOT NULL AND e.auth NOT IN (SELECT id FROM ps_auths))
           OR (e.outbound_auth IS NOT NULL AND e.outbound_auth NOT IN (SELECT id FROM ps_auths))""",
}
_OWNERS = """
    WITH _owners AS (SELECT client_identifier AS endpoint FROM clients
                     UNION ALL SELECT 'carrier-' || id FROM carriers)
"""


def consistency_violations() -> dict[str, list]:
    """{rule: offending rows} for every rule the database breaks (needs an app context)."""
    db.session.rollback()
    broken = {}
    for rule, query in CONSISTENCY_CHECKS.items():
        sql = _OWNERS + query if "_owners" in query else query
        rows = [tuple(row) for row in db.session.execute(text(sql))]
        if rows:
            broken[rule] = rows[:10]
    db.session.rollback()
    return broken


@dataclass
class Identity:
    """Who a phase acts as: how each request is authenticated."""

    name: str
    cookies: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


@dataclass
class Phase:
    name: str
    identity: Callable[..., Identity]
    include: str  # regex on the path
    exclude: str | None = None
    max_examples: int = 10


@dataclass
class OperationResult:
    label: str
    cases: int
    statuses: Counter
    failure: str | None = None


@dataclass
class PhaseResult:
    phase: str
    identity: str
    seconds: float
    operations: list[OperationResult]
    violations: dict[str, list]

    @property
    def cases(self) -> int:
        return sum(operation.cases for operation in self.operations)

    @property
    def failures(self) -> list[OperationResult]:
        return [operation for operation in self.operations if operation.failure]

    def summary(self) -> str:
        statuses = Counter()
        for operation in self.operations:
            statuses.update(operation.statuses)
        lines = [f"{self.phase} as {self.identity}: {len(self.operations)} operations, "
                 f"{self.cases} cases in {self.seconds:.1f}s; statuses "
                 + ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))]
        for operation in self.failures:
            lines.append(f"  FAIL {operation.label}\n    "
                         + operation.failure.strip().replace("\n", "\n    "))
        for rule, rows in self.violations.items():
            lines.append(f"  INCONSISTENT: {rule}: {rows}")
        return "\n".join(lines)


def load_schema(app, *, coverage: bool = False):
    """The app's OpenAPI document as schemathesis sees it.

    `coverage` adds schemathesis' coverage phase: boundary and invalid values derived from
    every constraint (lengths, ranges, enums, formats, missing fields, wrong methods), many
    cases per operation; the long run uses it, the suite's bounded run does not.
    """
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"deterministic": True, "database": "none"},
        "phases": {"coverage": {"enabled": coverage}},
    })
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=config)


def ensure_fuzz_admin(app) -> None:
    with app.app_context():
        db.session.execute(text("""
            INSERT INTO users (id, username, email, password_hash, role, status, full_name,
                               company_name)
            VALUES (:id, :username, 'fuzz-admin@capconduit.example', :hash, 'admin', 'active',
                    'Fuzz Admin', 'CapConduit')
            ON CONFLICT (id) DO UPDATE SET status = 'active', role = 'admin'"""),
            {**FUZZ_ADMIN, "hash": bcrypt.generate_password_hash(FUZZ_ADMIN["password"]).decode()})
        db.session.commit()


def session_cookie(app, username: str, password: str) -> dict:
    client = app.test_client()
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, (username, response.status_code, response.get_data())
    return {"session": client.get_cookie("session").value}


def as_admin(app) -> Identity:
    ensure_fuzz_admin(app)
    return Identity("admin", cookies=session_cookie(app, FUZZ_ADMIN["username"],
                                                    FUZZ_ADMIN["password"]))


def as_seller(app) -> Identity:
    return Identity("seller", cookies=session_cookie(app, SELLER["username"], SELLER["password"]))


def as_internal(app) -> Identity:
    return Identity("internal token", headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"})


def as_nobody(app) -> Identity:
    return Identity("nobody")


LOGOUT = r"^/api/auth/logout$"


def standard_phases(examples: int) -> list[Phase]:
    """The run the suite and the script share; `examples` scales the fuzzing phase."""
    light = max(1, examples // 5)
    return [
        Phase("admin operations", as_admin, r"^/api/(admin|auth)/", LOGOUT, examples),
        Phase("seller operations", as_seller, r"^/api/(seller|auth)/", LOGOUT, examples),
        Phase("internal API", as_internal, r"^/api/internal/", None, examples * 2),
        Phase("seller on admin operations", as_seller, r"^/api/admin/", None, light),
        Phase("admin on seller operations", as_admin, r"^/api/seller/", None, light),
        # Logout is fuzzed here only: with no session there is nothing for it to end.
        Phase("not logged in", as_nobody, r"^/api/", None, light),
    ]


def run_phase(app, schema, phase: Phase) -> PhaseResult:
    identity = phase.identity(app)
    started = time.monotonic()
    filtered = schema.include(path_regex=phase.include)
    if phase.exclude:
        filtered = filtered.exclude(path_regex=phase.exclude)
    current: dict = {}

    def call_and_check(case):
        response = case.call(cookies=dict(identity.cookies), headers=dict(identity.headers))
        current["cases"] += 1
        current["statuses"][response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=dict(identity.headers))

    settings = hypothesis.settings(max_examples=phase.max_examples, derandomize=True,
                                   deadline=None, database=None, print_blob=False,
                                   suppress_health_check=list(hypothesis.HealthCheck))
    operations = []
    for result in get_all_tests(schema=filtered, test_func=call_and_check, settings=settings,
                                given_kwargs=None):
        if not isinstance(result, Ok):
            operations.append(OperationResult(str(result.err()), 0, Counter(),
                                              failure=f"schema error: {result.err()}"))
            continue
        operation, test = result.ok()
        current.update(cases=0, statuses=Counter())
        failure = None
        try:
            test()  # no app context around it: each request must push, and tear down, its own
        except (Exception, BaseExceptionGroup) as error:  # failed checks (a FailureGroup is
            failure = _describe(error)                       # a BaseExceptionGroup), app errors
        finally:
            with app.app_context():
                db.session.remove()
        operations.append(OperationResult(operation.label, current["cases"],
                                          current["statuses"], failure))
    with app.app_context():
        violations = consistency_violations()
    return PhaseResult(phase.name, identity.name, time.monotonic() - started, operations,
                       violations)


def _describe(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):  # schemathesis' report: the failures and a curl
        return str(error) + "".join(f"\n{type(sub).__name__}: {sub}" for sub in error.exceptions)
    return "".join(traceback.format_exception(error))[-3000:]

#!/usr/bin/env python3
"""The long API fuzzing run: schemathesis over every operation, as admin, seller, the internal
token and nobody, on a throwaway PostgreSQL (embedded, or TEST_DATABASE_URI).

    .venv/bin/python scripts/fuzz_api.py                    # about 5,000 cases, coverage on
    .venv/bin/python scripts/fuzz_api.py --examples 20000   # longer
    .venv/bin/python scripts/fuzz_api.py --no-coverage --phase seller

    .venv/bin/python scripts/fuzz_api.py --pages 200        # then the pages and cursors too

`--pages N` also runs the page fuzzer (tests/fuzz/test_pages_fuzz.py: every page's query
string and form posts, and login `next=` targets) with N Hypothesis examples per page, and
the decoded-cursor fuzzer (tests/integration/api/test_hostile_bodies.py) with 10 N cases,
through pytest on its own throwaway database.

Same phases and checks as the suite's bounded run (tests/fuzz/api_fuzzer.py), with more
fuzzing examples and schemathesis' coverage phase (boundary values of every constraint).
`--examples` is the fuzzing budget: it is spread over the phases' operations, and the coverage
phase adds its own cases on top. Each phase starts from the sample data. Prints a summary per
phase and a total; exits 1 when any check failed or the database was left inconsistent.
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from tests.fuzz.api_fuzzer import load_schema, run_phase, standard_phases  # noqa: E402
from tests.support.database import (TestDatabaseServer, migrate_from_scratch,  # noqa: E402
                                    reset_to_sample_data)


def per_operation_examples(schema, budget: int) -> int:
    """The `examples` for standard_phases() whose fuzzing cases add up to about `budget`."""
    weight = 0.0
    for phase in standard_phases(100):
        operations = schema.include(path_regex=phase.include)
        if phase.exclude:
            operations = operations.exclude(path_regex=phase.exclude)
        count = sum(1 for _ in operations.get_all_operations())
        weight += count * phase.max_examples / 100
    return max(1, math.ceil(budget / weight))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=5000,
                        help="fuzzing cases in all (default 5000), before coverage cases")
    parser.add_argument("--no-coverage", action="store_true",
                        help="skip schemathesis' coverage phase")
    parser.add_argument("--phase", action="append", default=[],
                        help="run only phases whose name contains this (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--pages", type=int, default=0, metavar="N",
                        help="also fuzz the pages and decoded cursors, N examples per page")
    args = parser.parse_args()

    server = TestDatabaseServer()
    try:
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": server.uri})
        migrate_from_scratch(app)
        schema = load_schema(app, coverage=not args.no_coverage)
        examples = per_operation_examples(schema, args.examples)
        phases = [phase for phase in standard_phases(examples)
                  if not args.phase or any(part in phase.name for part in args.phase)]
        print(f"{len(phases)} phases, {examples} fuzzing examples per operation in the main "
              f"phases, coverage {'off' if args.no_coverage else 'on'}", flush=True)
        started = time.monotonic()
        results = []
        for phase in phases:
            reset_to_sample_data(app)
            result = run_phase(app, schema, phase)
            results.append(result)
            print(result.summary(), flush=True)
        seconds = time.monotonic() - started
    finally:
        server.stop()

    cases = sum(result.cases for result in results)
    failures = [f"{result.phase}: {operation.label}" for result in results
                for operation in result.failures]
    inconsistent = [f"{result.phase}: {rule}" for result in results
                    for rule in result.violations]
    print(f"\nTOTAL {cases} cases over {sum(len(r.operations) for r in results)} operation runs "
          f"in {seconds:.0f}s; {len(failures)} failing operations, "
          f"{len(inconsistent)} consistency violations")
    for line in failures + inconsistent:
        print(f"  {line}")
    if args.json:
        args.json.write_text(json.dumps({
            "cases": cases, "seconds": round(seconds, 1), "examples_per_operation": examples,
            "coverage": not args.no_coverage, "failures": failures,
            "inconsistent": inconsistent,
            "phases": [{"phase": r.phase, "identity": r.identity, "cases": r.cases,
                        "seconds": round(r.seconds, 1), "operations": len(r.operations),
                        "failures": [o.label for o in r.failures]} for r in results],
        }, indent=2))
    pages_failed = False
    if args.pages:
        import os
        import subprocess
        env = dict(os.environ, PAGE_FUZZ_EXAMPLES=str(args.pages),
                   CURSOR_FUZZ_EXAMPLES=str(10 * args.pages))
        pages_failed = subprocess.call(
            [sys.executable, "-m", "pytest", "tests/fuzz/test_pages_fuzz.py",
             "tests/integration/api/test_hostile_bodies.py", "-k", "fuzzed or every_page"],
            cwd=ROOT, env=env) != 0
    return 1 if failures or inconsistent or pages_failed else 0


if __name__ == "__main__":
    sys.exit(main())

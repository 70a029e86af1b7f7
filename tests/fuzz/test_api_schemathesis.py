"""API fuzzing: a bounded, deterministic schemathesis run over every operation.

Each phase starts from the sample data and fuzzes its operations as one identity; see
tests/fuzz/api_fuzzer.py for the checks. scripts/fuzz_api.py runs the same phases longer.
"""
import pytest

from tests.fuzz.api_fuzzer import load_schema, run_phase, standard_phases

pytestmark = pytest.mark.slow

EXAMPLES = 6  # fuzzing examples per operation in the main phases


@pytest.mark.parametrize("phase", standard_phases(EXAMPLES), ids=lambda phase: phase.name.replace(" ", "_"))
def test_fuzz_api(app, phase):
    result = run_phase(app, load_schema(app, coverage=False), phase)
    print(result.summary())
    assert result.cases > 0
    assert not result.failures and not result.violations, result.summary()

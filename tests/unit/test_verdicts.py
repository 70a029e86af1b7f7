"""The routing engine's SQL writes only the verdicts app.domain.verdicts defines, so every
candidate a page or the API shows is worded, whatever step wrote it."""
import re

import pytest

from app.domain import verdicts
from app.domain.verdicts import Cap, Verdict
from app.services.routing import sql as routing_sql

FUNCTION = re.compile(r"CREATE OR REPLACE FUNCTION (\w+)\(.*?AS \$\$(.*?)\$\$", re.DOTALL)


def functions() -> dict[str, str]:
    return {name: body for name, body in FUNCTION.findall(routing_sql.source())}


# Where the SQL writes or tests a verdict: (function, pattern whose group is a whole verdict or,
# ending in ":", a verdict's kind).
VERDICT_SITES = (
    ("cc_plan", r"THEN '([^']*)'"),                      # the planner's refusals
    ("cc_plan", r"ELSE '([^']*:)' \|\|"),                # capped:<cap>
    ("cc_candidates_json", r"verdict, '([^']*)'\)"),     # not tried: standby
    ("cc_simulate", r"verdict := '([^']*)'"),            # the simulator's choice
    ("cc_reserve", r"MESSAGE = '([^']*?:?)'"),           # refused on the locked rows
    ("cc_reserve", r"RETURN '([^']*)'"),                 # dialled
    ("cc_route", r"v_verdict = '([^']*)'"),
    ("cc_attempt_result", r"'verdict' = '([^']*)'"),
    ("cc_attempt_result", r"to_jsonb\('([^']*:)' \|\|"),  # failed:<dial status>
    ("cc_reason_when_nothing_admitted", r"verdict LIKE '([^']*:)%'"),
    ("cc_reason_when_nothing_admitted", r"verdict = '([^']*)'"),
)


@pytest.mark.parametrize("function, pattern", VERDICT_SITES)
def test_every_verdict_the_sql_writes_or_reads_is_defined(function, pattern):
    found = re.findall(pattern, functions()[function])
    assert found, f"{function} no longer has {pattern!r}: update this list"
    for word in found:
        if word.endswith(":"):
            assert word[:-1] in (verdicts.CAPPED, verdicts.FAILED), word
        else:
            assert verdicts.is_known(word), f"{function} writes {word!r}"


def test_every_cap_the_sql_names_is_defined_and_worded():
    named = set(re.findall(r"THEN '([^']*)'", functions()["cc_cap_hit"]))
    assert named and named <= {cap.value for cap in Cap}
    assert all(verdicts.is_known(verdicts.capped(cap)) for cap in named)


def test_one_spelling_style():
    """Identifiers, as the pages' data attributes and API clients match them."""
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", v) for v in [*Verdict, *Cap])


def test_detailed_verdicts_split_into_kind_and_detail():
    assert verdicts.split(verdicts.capped(Cap.HOURLY)) == ("capped", "hourly")
    assert verdicts.split(verdicts.failed("BUSY")) == ("failed", "BUSY")
    assert verdicts.split(Verdict.ZERO_WEIGHT) == ("zero_weight", None)
    assert not verdicts.is_known("weight 0")
    assert not verdicts.is_known("capped:lunar")
    assert not verdicts.is_known("failed:")

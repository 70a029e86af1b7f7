"""The one definition of a call's status, as the model, services and pages read it."""
import re

from app.database.models.call_log import CallLog
from app.domain.call_status import CALL_STATUSES, DASHBOARD_OUTCOMES, FINAL_STATUSES, CallStatus


def test_every_status_but_in_progress_is_final_and_has_a_label():
    assert [s for s in CallStatus if not s.final] == [CallStatus.IN_PROGRESS]
    assert set(FINAL_STATUSES) == set(CALL_STATUSES) - {"in_progress"}
    assert CallStatus.ALL_CAPPED.label == "All capped"
    assert all(s.label and s.label[0].isupper() for s in CallStatus)


def test_the_database_accepts_exactly_these_statuses():
    check = next(c for c in CallLog.__table__.constraints if c.name and "status" in str(c.name))
    listed = set(re.findall(r"[a-z_]+", str(check.sqltext)))
    assert set(CALL_STATUSES) <= listed


def test_the_dashboard_shows_every_final_outcome_but_errors():
    assert set(DASHBOARD_OUTCOMES) == set(FINAL_STATUSES) - {"error"}

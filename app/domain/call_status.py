"""A call's status: the one definition the models, services, pages and the pages' scripts use.

`in_progress` while the call is up; every other status is a final outcome, written once when
the call ends. (The routing engine's SQL writes the same words; its CHECK constraint on
`call_logs.status` is built from this list.)
"""
from enum import StrEnum


class CallStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    NO_ROUTE = "no_route"
    ALL_CAPPED = "all_capped"
    ALL_FAILED = "all_failed"
    ABANDONED = "abandoned"
    ERROR = "error"
    DUPLICATE = "duplicate"
    CLOSED = "closed"
    OVERLOAD = "overload"

    @property
    def final(self) -> bool:
        """Whether the call has ended with this status."""
        return self is not CallStatus.IN_PROGRESS

    @property
    def label(self) -> str:
        """The status in words, as pages show it."""
        return _LABELS[self]

    @property
    def hangup_cause(self) -> int | None:
        """The Q.850 cause the dialplan hangs up with when routing refuses a call with this
        status (None: no refusal ends with it)."""
        return _HANGUP_CAUSES.get(self)

    @property
    def on_dashboard(self) -> bool:
        """Whether the dashboard's "today by outcome" has a bar for it (an `error` is a fault
        to look into in the call log, not an outcome to watch)."""
        return self.final and self is not CallStatus.ERROR


_LABELS = {
    CallStatus.IN_PROGRESS: "In progress", CallStatus.ANSWERED: "Answered",
    CallStatus.NO_ROUTE: "No route", CallStatus.ALL_CAPPED: "All capped",
    CallStatus.ALL_FAILED: "All failed", CallStatus.ABANDONED: "Abandoned",
    CallStatus.ERROR: "Error", CallStatus.DUPLICATE: "Duplicate", CallStatus.CLOSED: "Closed",
    CallStatus.OVERLOAD: "Overload",
}

_HANGUP_CAUSES = {
    CallStatus.NO_ROUTE: 1,      # unallocated number
    CallStatus.ALL_CAPPED: 34,   # no circuit/channel available
    CallStatus.ALL_FAILED: 34,
    CallStatus.ERROR: 41,        # temporary failure
    CallStatus.DUPLICATE: 21,    # call rejected
    CallStatus.CLOSED: 34,
    CallStatus.OVERLOAD: 41,     # temporary failure: the router could not keep up, try elsewhere
}

CALL_STATUSES: tuple[str, ...] = tuple(status.value for status in CallStatus)
FINAL_STATUSES: tuple[str, ...] = tuple(status.value for status in CallStatus if status.final)
DASHBOARD_OUTCOMES: tuple[str, ...] = tuple(status.value for status in CallStatus
                                            if status.on_dashboard)

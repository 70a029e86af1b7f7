"""What goes into and comes out of the routing engine."""
import re
from dataclasses import dataclass, fields, replace

from app.domain.call_status import CALL_STATUSES, CallStatus
from app.services.routing import dialplan_variables as variables

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# Longest value each text field may carry (the call_logs column sizes).
FIELD_LIMITS = {"uniqueid": 150, "linkedid": 150, "did": 32, "caller_id": 80, "dial_status": 16}


def clean_text(value: str | None, limit: int) -> str | None:
    """Channel data comes from callers and carriers: drop control bytes, bound the length."""
    if value is None:
        return None
    cleaned = _CONTROL_CHARACTERS.sub("", str(value)).strip()[:limit]
    return cleaned or None


class _Sanitized:
    def sanitized(self):
        changes = {f.name: clean_text(getattr(self, f.name), FIELD_LIMITS[f.name])
                   for f in fields(self) if f.name in FIELD_LIMITS}
        return replace(self, **changes)

# Refusals decided before routing could open the call: its log carries the reason itself.
REFUSED_BEFORE_ROUTING = (CallStatus.OVERLOAD,)


@dataclass(frozen=True)
class CallArrival(_Sanitized):
    uniqueid: str
    did: str | None
    caller_id: str | None = None
    linkedid: str | None = None


@dataclass(frozen=True)
class RouteDecision:
    action: str  # "dial" or "reject"
    dial: str | None = None
    timeout: int | None = None
    attempt: int | None = None
    reason: str | None = None

    @property
    def hangup_cause(self) -> int | None:
        if self.action != "reject" or self.reason not in CALL_STATUSES:
            return None
        return CallStatus(self.reason).hangup_cause

    @classmethod
    def reject(cls, reason: str) -> "RouteDecision":
        return cls(action="reject", reason=reason)

    def channel_variables(self) -> dict[str, str]:
        """The variables the dialplan reads after `route`, in the order they are set, the
        action last: if setting them is cut short, the dialplan never sees a new `dial` with
        an old target."""
        if self.action == "dial":
            values = {variables.DIAL: self.dial, variables.TIMEOUT: str(self.timeout),
                      variables.ATTEMPT: str(self.attempt)}
        else:
            values = {variables.REASON: self.reason,
                      variables.HANGUP_CAUSE: str(self.hangup_cause)}
        return {**values, variables.ACTION: self.action}


@dataclass(frozen=True)
class CallEnd(_Sanitized):
    """What Asterisk knows when a call ends (read in the `h` extension)."""

    uniqueid: str
    dial_status: str | None = None
    attempt: int | None = None       # CC_ATTEMPT: the attempt DIALSTATUS belongs to
    hangup_cause: int | None = None
    billsec: int | None = None
    did: str | None = None
    caller_id: str | None = None
    linkedid: str | None = None

    @property
    def answered_attempt(self) -> int | None:
        return self.attempt if self.dial_status == "ANSWER" else None

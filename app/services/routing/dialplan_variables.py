"""The channel variables that the shipped dialplan (asterisk/extensions.conf) and the routing
steps exchange: each name once, for the FastAGI handlers, the internal API, the benchmarks
and the tests."""

ACTION = "CC_ACTION"              # dial | reject: set last, so a cut-short answer is never half new
DIAL = "CC_DIAL"                  # the Dial() target, PJSIP/<client identifier>
TIMEOUT = "CC_TIMEOUT"            # Dial()'s ring timeout in seconds
ATTEMPT = "CC_ATTEMPT"            # the attempt a later DIALSTATUS belongs to
REASON = "CC_REASON"              # why a call is refused (a final call status)
HANGUP_CAUSE = "CC_HANGUP_CAUSE"  # the Q.850 cause the dialplan hangs up a refused call with

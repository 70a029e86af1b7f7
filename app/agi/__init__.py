"""FastAGI for CapConduit: the protocol, one session's API, and the asyncio server.

Importing this package starts nothing and registers nothing; the handlers are given to
:class:`AGIServer` (or :func:`run_forever`) explicitly.
"""
from app.agi.protocol import (
    AGIArgumentError,
    AGICommandError,
    AGIConnectionLost,
    AGIDeadChannel,
    AGIEnvironment,
    AGIError,
    AGIInvalidCommand,
    AGIProtocolError,
    AGIReply,
    AGITimeout,
    AGIUsageError,
)
from app.agi.server import (
    DEFAULT_BIND,
    ERROR_VARIABLES,
    AGIServer,
    Handler,
    Outcome,
    SessionRecord,
    parse_bind,
    run_forever,
    serve,
)
from app.agi.session import AGISession

__all__ = [
    "AGIArgumentError",
    "AGICommandError",
    "AGIConnectionLost",
    "AGIDeadChannel",
    "AGIEnvironment",
    "AGIError",
    "AGIInvalidCommand",
    "AGIProtocolError",
    "AGIReply",
    "AGIServer",
    "AGISession",
    "AGITimeout",
    "AGIUsageError",
    "DEFAULT_BIND",
    "ERROR_VARIABLES",
    "Handler",
    "Outcome",
    "SessionRecord",
    "parse_bind",
    "run_forever",
    "serve",
]

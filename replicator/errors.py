"""The one error taxonomy of the replicator.

Every failure is either *transient* (retry with backoff: a server restarting, a network
blip) or *terminal* (retrying cannot help: a malformed event, a mapping that does not
cover a column, a constraint the row violates). Terminal errors about one record go to the
dead-letter topic; terminal errors about the whole pipeline (bad config) stop the process.

`classify_db_error` is the single place that turns driver exceptions into these kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ReplicatorError(Exception):
    """Base of every error the replicator raises on purpose.

    `context` carries positions (table, key, topic, partition, offset) so that the message
    always says where the problem is. It must never hold row payloads or secrets.
    """

    transient: bool = False

    def __init__(self, message: str, **context: Any) -> None:
        self.message = message
        self.context = {k: v for k, v in context.items() if v is not None}
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if not self.context:
            return self.message
        where = " ".join(f"{k}={v}" for k, v in self.context.items())
        return f"{self.message} ({where})"


class TransientError(ReplicatorError):
    """Retrying later may succeed: the database or broker is unavailable or restarting."""

    transient = True


class TerminalError(ReplicatorError):
    """Retrying cannot succeed; the record goes to the dead-letter topic."""


class DecodeError(TerminalError):
    """The Kafka message is not a Debezium change event we understand."""


class MappingError(TerminalError):
    """The mapping could not turn a source row into target rows (bad value, missing column)."""


class SchemaDriftError(MappingError):
    """The source row has columns the mapping neither maps nor lists as dropped."""


class UnknownTableError(TerminalError):
    """No mapping covers the event's source table."""


class ApplyError(TerminalError):
    """The target database refused the rows for a reason retrying will not fix."""


class DurabilityError(ReplicatorError):
    """A batch's transaction could not be known to have committed: its offsets must not be
    committed. Not about one record (no dead letter) and not transient: the process stops,
    and its successor replays from the last committed offsets."""


class ApplyAbandoned(ReplicatorError):
    """A queued batch left unwritten because a batch before it failed to be written: the
    offsets of neither are committed, and the successor replays both, in order."""


class ConfigError(ReplicatorError):
    """The configuration or the mapping files are invalid; the process cannot start."""


@dataclass
class ConfigProblem:
    """One problem found while loading or validating a mapping, with where it is."""

    where: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


# sqlstate classes that mean "try again later": connection exceptions, operator
# intervention (admin shutdown, crash shutdown, cannot connect now), insufficient
# resources, serialization failures and deadlocks
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "57P", "53", "40001", "40P01", "55P03")


def classify_db_error(exc: BaseException, **context: Any) -> ReplicatorError:
    """Turn a psycopg (or other driver) exception into a transient or terminal error."""
    if isinstance(exc, ReplicatorError):
        return exc
    sqlstate = getattr(exc, "sqlstate", None)
    name = type(exc).__name__
    if sqlstate is None:
        # no sqlstate: the connection broke before the server answered
        try:
            import psycopg

            if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
                return TransientError(f"database unavailable: {name}: {_first_line(exc)}", **context)
        except ImportError:  # pragma: no cover
            pass
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return TransientError(f"connection failed: {name}: {_first_line(exc)}", **context)
        return ApplyError(f"{name}: {_first_line(exc)}", **context)
    if sqlstate.startswith(_TRANSIENT_SQLSTATE_PREFIXES):
        return TransientError(f"database transient error {sqlstate}: {_first_line(exc)}", **context)
    return ApplyError(f"database refused rows, sqlstate {sqlstate}: {_first_line(exc)}", sqlstate=sqlstate, **context)


# Kafka errors of an offset commit that mean this consumer is no longer (or not yet again)
# the group's owner of the partitions: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
# REBALANCE_IN_PROGRESS, FENCED_MEMBER_EPOCH, STALE_MEMBER_EPOCH, FENCED_INSTANCE_ID,
# librdkafka's _ASSIGNMENT_LOST and _STATE. Retrying the same commit cannot succeed: the
# consumer must go back to consume() to rejoin.
_COMMIT_SUPERSEDED_CODES = frozenset({25, 22, 27, 110, 113, 82, -142, -172})


def commit_superseded(exc: BaseException) -> bool:
    """True when an offset commit failed because the group moved on (a broker outage longer
    than the session timeout, a rebalance). The batch is already in PostgreSQL, so its
    offsets can be given up: the partition's next owner replays it, and the position
    guards make that replay change nothing."""
    args = getattr(exc, "args", ())
    err = args[0] if args else None
    code = getattr(err, "code", None)
    return callable(code) and code() in _COMMIT_SUPERSEDED_CODES


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

"""structlog set-up: JSON lines in production, readable lines on a terminal.

Event names are namespaced (`replicator.batch_applied`); positions (table, topic,
partition, offset) are key-value fields. Row payloads and secrets are never logged at info.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure(fmt: str = "auto", level: str = "info") -> None:
    lvl = getattr(logging, level.upper(), logging.INFO)
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


class _KafkaClientLogs(logging.Handler):
    """Forwards librdkafka's own log lines (connection failures, session timeouts...) into
    the structured log, so the replicator's output stays one JSON object per line."""

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= logging.ERROR else "warning" if record.levelno >= logging.WARNING \
            else "info"
        getattr(get_logger("replicator.kafka"), level)("replicator.kafka_client_log", client=record.name,
                                                        message=record.getMessage()[:500])


def kafka_client_logger() -> logging.Logger:
    """The `logger` to give every confluent-kafka client (its config key of that name).
    librdkafka otherwise writes its own `%3|...|FAIL|...` lines straight to stderr."""
    logger = logging.getLogger("librdkafka")
    if not any(isinstance(h, _KafkaClientLogs) for h in logger.handlers):
        logger.addHandler(_KafkaClientLogs())
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def get_logger(component: str):
    # initial values on the lazy proxy, not .bind(): binding at import time would freeze
    # the logger with whatever configuration existed before configure() ran
    return structlog.get_logger(component=component)

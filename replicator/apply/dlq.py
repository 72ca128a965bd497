"""The dead-letter topic: poison events kept byte-for-byte, with why and where.

A DLQ record has the original key and value bytes and headers: `dlq.reason`,
`dlq.error_class`, `dlq.source_topic`, `dlq.source_partition`, `dlq.source_offset`,
`dlq.source_table`. `replay` re-publishes records to their source topic, for after the
mapping has been fixed; the replicator then consumes them like any other event (and the
stale-write protection keeps an old replay from moving rows backwards).
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import Producer

from replicator.errors import ReplicatorError
from replicator.logs import kafka_client_logger


@dataclass(frozen=True)
class DeadLetter:
    key: bytes | None
    value: bytes | None
    reason: str
    error_class: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_table: str = ""

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            ("dlq.reason", self.reason.encode()[:4000]),
            ("dlq.error_class", self.error_class.encode()),
            ("dlq.source_topic", self.source_topic.encode()),
            ("dlq.source_partition", str(self.source_partition).encode()),
            ("dlq.source_offset", str(self.source_offset).encode()),
            ("dlq.source_table", self.source_table.encode()),
        ]

    @classmethod
    def from_error(cls, exc: BaseException, key, value, topic: str, partition: int, offset: int,
                   source_table: str = "") -> DeadLetter:
        reason = str(exc) if isinstance(exc, ReplicatorError) else f"{type(exc).__name__}: {exc}"
        if not source_table and isinstance(exc, ReplicatorError):
            source_table = str(exc.context.get("table", ""))
        return cls(key, value, reason, type(exc).__name__, topic, partition, offset, source_table)

    @staticmethod
    def parse_headers(headers) -> dict[str, str]:
        return {k: (v.decode("utf-8", "replace") if v is not None else "") for k, v in (headers or [])}


class DeadLetterWriter:
    """Produces dead letters and waits until the broker has them (before offsets commit)."""

    def __init__(self, producer: Producer, topic: str) -> None:
        self.producer, self.topic = producer, topic
        self._errors: list[str] = []

    def send(self, dl: DeadLetter) -> None:
        def on_delivery(err, _msg):
            if err is not None:
                self._errors.append(str(err))
        self.producer.produce(self.topic, key=dl.key, value=dl.value, headers=dl.headers(), on_delivery=on_delivery)

    def flush(self, timeout: float = 30.0) -> None:
        """Block until every dead letter is acknowledged; raise if any was not."""
        remaining = self.producer.flush(timeout)
        if remaining or self._errors:
            errs, self._errors = self._errors, []
            from replicator.errors import TransientError

            raise TransientError(f"dead-letter topic did not acknowledge {remaining or len(errs)} records: {errs[:3]}",
                                 topic=self.topic)


def _consumer(bootstrap: str, extra: dict[str, str], group: str):
    from confluent_kafka import Consumer

    return Consumer({"bootstrap.servers": bootstrap, "logger": kafka_client_logger(), **extra, "group.id": group, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "session.timeout.ms": 6000})


def read_dead_letters(bootstrap: str, topic: str, *, extra: dict[str, str] | None = None,
                      idle_timeout: float = 5.0, limit: int | None = None, after_group: str | None = None):
    """Yield (partition, offset, headers dict, key, value) of the dead-letter topic, from the
    beginning or from `after_group`'s committed offsets (the letters not handled yet),
    without committing anything (a throwaway group), until `idle_timeout` passes quietly.
    Reading to "the end" by idleness, not by the high watermark, because some brokers
    (Tansu) report a wrong one."""
    import time
    import uuid

    from confluent_kafka import TopicPartition

    c = _consumer(bootstrap, extra or {}, f"replicator-dlq-reader-{uuid.uuid4().hex[:8]}")
    try:
        md = c.list_topics(topic, timeout=10).topics.get(topic)
        if md is None or md.error is not None:
            return
        start = {p: 0 for p in md.partitions}
        if after_group is not None:
            marker = _consumer(bootstrap, extra or {}, after_group)
            try:
                for tp in marker.committed([TopicPartition(topic, p) for p in md.partitions], timeout=10):
                    start[tp.partition] = max(tp.offset, 0)
            finally:
                marker.close()
        c.assign([TopicPartition(topic, p, o) for p, o in start.items()])
        n, last = 0, time.monotonic()
        while time.monotonic() - last < idle_timeout:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            last = time.monotonic()
            yield m.partition(), m.offset(), DeadLetter.parse_headers(m.headers()), m.key(), m.value()
            n += 1
            if limit is not None and n >= limit:
                return
    finally:
        c.close()


def replay(bootstrap: str, topic: str, *, extra: dict[str, str] | None = None, table: str | None = None,
           dry_run: bool = False, handled_group: str | None = None) -> int:
    """Re-publish dead letters to their source topics, key and value unchanged.

    With `handled_group`, only the letters after that group's committed offsets are
    replayed, and once the broker has acknowledged them all (and no `table` filter left
    others behind) the group's offsets move past them: they are handled, and `replicator
    cutover check` no longer counts them."""
    from confluent_kafka import TopicPartition

    producer = Producer({"bootstrap.servers": bootstrap, "logger": kafka_client_logger(), **(extra or {}), "enable.idempotence": True})
    n = 0
    last: dict[int, int] = {}
    for _p, _o, headers, key, value in read_dead_letters(bootstrap, topic, extra=extra, after_group=handled_group):
        last[_p] = max(last.get(_p, -1), _o)
        if table and headers.get("dlq.source_table") != table:
            continue
        src = headers.get("dlq.source_topic")
        if not src:
            continue
        if not dry_run:
            producer.produce(src, key=key, value=value,
                             headers=[("dlq.replayed_from", f"{topic}@{_p}:{_o}".encode())])
        n += 1
    if producer.flush(30):
        raise RuntimeError("replay: the broker did not acknowledge every record")
    if handled_group is not None and not table and not dry_run and last:
        marker = _consumer(bootstrap, extra or {}, handled_group)
        try:
            marker.commit(offsets=[TopicPartition(topic, p, o + 1) for p, o in last.items()], asynchronous=False)
        finally:
            marker.close()
    return n

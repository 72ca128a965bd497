"""How large a batch may grow: `batch_max_events` messages or `batch_max_bytes` of message
bytes, whichever comes first.

Why a byte bound: a batch of 5,000 Debezium envelopes of a users table is 3 MB, but of
embedding chunks (3072 doubles, about 60 kB each as JSON) it is 300 MB of bytes and over
1 GB once decoded and mapped. Memory must not depend on what a row holds.

confluent-kafka's `consume(n)` counts messages only, and keeps taking them from
librdkafka's queue while the broker refills it, so asking for 5,000 takes 5,000 whatever
their size. The runner therefore asks for as many as the bytes left allow at the mean
message size seen so far, and never for more than the batch already holds (at first, as
many 64 kB messages as the budget holds, at most 64): a batch at most doubles per ask, so when the size of messages jumps (a topic of
embeddings after one of users) a batch passes its budget by one ask at most, and the mean
has caught up by the next.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BatchBudget:
    """The two bounds of a batch, and the mean message size learnt so far."""

    max_events: int
    max_bytes: int
    mean_bytes: float = 1024.0  # a Debezium envelope of an ordinary row: 0.5 to 2 kB
    first_ask: int = 0  # 0: as many 64 kB messages (an embedding event) as fit, 1 to 64

    def __post_init__(self) -> None:
        if self.first_ask <= 0:
            self.first_ask = max(1, min(64, self.max_bytes // 65536))

    def next_count(self, events: int, nbytes: int) -> int:
        """How many more messages to ask for, given what the batch holds; 0 when it is full.

        An empty batch always asks for at least one message, so one message larger than
        the whole byte budget still goes through, alone.
        """
        left_events = self.max_events - events
        left_bytes = self.max_bytes - nbytes
        if left_events <= 0 or left_bytes <= 0:
            return 0
        fits = int(left_bytes // self.mean_bytes)
        if fits <= 0:
            return 1 if events == 0 else 0
        return min(left_events, fits, max(self.first_ask, events))

    def observe(self, events: int, nbytes: int) -> None:
        """Learn from messages just consumed: up to their mean at once (memory is at
        stake), down halfway to it (one small message among large ones must not let the
        next ask take hundreds of large ones)."""
        if events > 0:
            seen = max(1.0, nbytes / events)
            self.mean_bytes = max(seen, (self.mean_bytes + seen) / 2)

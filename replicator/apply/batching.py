"""How large a batch may grow: `batch_max_events` messages or `batch_max_bytes` of message
bytes, whichever comes first.

Why a byte bound: a batch of 5,000 Debezium envelopes of a users table is 3 MB, but of
embedding chunks (3072 doubles, about 60 kB each as JSON) it is 300 MB of bytes and over
1 GB once decoded and mapped. Memory must not depend on what a row holds.

confluent-kafka's `consume(n, timeout)` counts messages only, and while it waits it keeps
taking them as the broker refills librdkafka's queue, so asking for 5,000 can take 5,000
whatever their size; and a message's size is known only once it is consumed. So the runner
(`Runner._consume_batch`) asks repeatedly, each time for as many as the bytes left allow at
the size estimate, and never for more than `ask_limit` (the budget over 64 kB, an embedding
event: 128 for 8 MiB). And its calls do not wait (timeout 0): each takes only what
librdkafka has queued already, which is bounded in bytes by the same budget (its queue,
plus one fetch in flight); only when nothing is queued does it wait, for one message.

So a batch passes its budget by one call at most, and that call by at most `ask_limit`
messages and what librdkafka held queued: at most twice the budget while messages are no
larger than 64 kB, and about three budgets whatever their size and whatever came before
them (a consumer reads every table's topic: users and embeddings interleave).

Before any message has been seen the size is unknown, and a replicator restarting on a
backlog of large rows would otherwise take `ask_limit` of them in its first call: so the
very first ask is for one message, which sets the estimate.

The size estimate goes up at once to the largest message of the last ask and down halfway
to its mean: small messages after large ones are taken in bigger asks within a few asks.
"""

from __future__ import annotations

from dataclasses import dataclass

PLANNED_MESSAGE_BYTES = 65536  # the largest ordinary Debezium event: a 3072-dimension embedding


@dataclass
class BatchBudget:
    """The two bounds of a batch, and what is known of message sizes so far."""

    max_events: int
    max_bytes: int
    size_estimate: float = 1024.0  # a Debezium envelope of an ordinary row: 0.5 to 2 kB
    ask_limit: int = 0  # 0: max_bytes // 64 kB, at least 1
    seen: bool = False  # has any ask brought a message (until then asks are for one)

    def __post_init__(self) -> None:
        if self.ask_limit <= 0:
            self.ask_limit = max(1, self.max_bytes // PLANNED_MESSAGE_BYTES)

    def next_count(self, events: int, nbytes: int) -> int:
        """How many more messages to ask for, given what the batch holds; 0 when it is full.

        An empty batch always asks for at least one message, so one message larger than
        the whole byte budget still goes through, alone.
        """
        left_events = self.max_events - events
        left_bytes = self.max_bytes - nbytes
        if left_events <= 0 or left_bytes <= 0:
            return 0
        if not self.seen:
            return 1  # the first message says how large they are
        fits = int(left_bytes // self.size_estimate)
        if fits <= 0:
            return 1 if events == 0 else 0
        return min(left_events, fits, self.ask_limit)

    def observe(self, events: int, nbytes: int, largest: int) -> None:
        """Learn from the messages one ask brought: `nbytes` in all, `largest` the largest."""
        if events > 0:
            if not self.seen:
                self.seen, self.size_estimate = True, float(max(largest, 1))
                return
            self.size_estimate = max(float(largest), (self.size_estimate + nbytes / events) / 2, 1.0)

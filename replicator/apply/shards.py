"""Writing one batch over several PostgreSQL connections at once.

Why: PostgreSQL runs a connection's statements on one core. Where the write is the longer
stage (the batch log's `apply_ms` above `map_ms`: updates of rows with several unique
indexes, wide rows) and the target has cores to spare, one connection's backend bounds the
apply rate; timed alone, two connections write a `users` batch 1.2-1.5x as fast as one
(docs/architecture.md, "Apply throughput"; off by default). The writes of one
batch for *different* target rows do not depend on each other: every write is guarded by
its own row's source position, tombstones and parked writes are per row, and foreign keys
are suspended during sync (docs/delivery-guarantees.md). So the runner splits a batch's
ops by target key (`fastpath.split_ops`: every op of a key, whatever its table or
contributor, lands in the same shard, in batch order), plans each shard, and `ShardWriters`
writes the shards at once: shard 0 on the runner's own connection in the apply thread,
the others on helper connections in helper threads, each shard in its own transaction.

What holds:
* every shard executes its statements in its own transaction; only when all have executed
  does any commit, so a shard that fails leaves nothing of the batch behind, and the runner
  writes the whole batch again in one transaction on its own connection: the path that
  classifies errors, retries transient ones and isolates a poison event, and in which two
  rows trading a unique value are decided by the batch's order, not by which shard won a race;
* a shard that waits on a lock for more than SHARD_LOCK_TIMEOUT gives up, which is how the
  one wait that would never end is broken: on a row of another shard that has executed and
  waits for this one before committing (two rows trading a unique value across shards).
  A deadlock between two shards still executing is PostgreSQL's to detect and break. Both
  end in the fallback above; so does a wait on anything else longer than the timeout
  (the prune's horizon lock): that batch is then written in one transaction, which waits;
* the runner commits the batch's Kafka offsets only after every shard has committed. The
  commits themselves are not atomic together: a crash, or a lost connection, between two
  of them leaves some shards written and the offsets not committed, and the batch is
  replayed; the shards that had committed are written again over their own rows, where
  the position guard accepts the equal position and writes the same values.
After a fallback the helper connections are closed (what killed one, a PostgreSQL restart,
has usually killed the others, and a dead connection is only found out when used) and rest
for a doubling number of batches (up to 64), so that data that keeps failing in parallel
costs one extra attempt now and then, not every batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import psycopg
from pydantic import SecretStr

from replicator import metrics
from replicator.apply.sink import ApplyStats, PostgresSink, WritePlan
from replicator.errors import DurabilityError
from replicator.logs import get_logger
from replicator.mapping.engine import MappingSet

log = get_logger("replicator.apply")

_MAX_REST = 64
# how long a shard waits for a lock before giving up: a wait on another shard's uncommitted
# row would otherwise last forever (that shard waits for this one to finish before it commits)
SHARD_LOCK_TIMEOUT = "1s"
_IDLE = psycopg.pq.TransactionStatus.IDLE


def execute_uncommitted(sink: PostgresSink, plan: WritePlan) -> ApplyStats:
    """One shard's statements, in a transaction left open for `ShardWriters` to end."""
    sink.conn.execute(f"SET LOCAL lock_timeout = '{SHARD_LOCK_TIMEOUT}'")  # opens the transaction
    return sink.execute(plan)


class ShardWriters:
    """The helper connections that write shards 1.. of a batch while the caller writes shard 0."""

    def __init__(self, dsn: SecretStr, mappings: MappingSet, shards: int) -> None:
        self.shards = shards
        self._dsn = dsn
        self._mappings = mappings
        self._sinks: list[PostgresSink] = []
        self._pool = ThreadPoolExecutor(shards - 1, thread_name_prefix="apply-shard") if shards > 1 else None
        self._rest = [0, 1]  # batches still to write on one connection, next rest

    def execute(self, primary: PostgresSink, plans: Sequence[WritePlan]) -> ApplyStats | None:
        """Write `plans[0]` on `primary` (this thread) and the others on the helpers, each
        in its own transaction; commit them all once every one has executed, else roll
        them all back. None: not done (a single plan, resting, or a shard failed, and
        nothing of the batch was committed); the caller writes the batch itself.

        A shard never commits before the others have executed, so a failure leaves nothing
        behind: the caller's one-transaction path then sees the batch whole, in its order
        (two rows trading a unique value are decided by source order, not by a race)."""
        if len(plans) < 2 or self._pool is None or not self._ready(len(plans) - 1):
            return None
        sinks = [primary, *self._sinks[:len(plans) - 1]]
        for i, sink in enumerate(sinks):
            status = sink.conn.info.transaction_status
            if status != _IDLE:
                self.close()
                raise DurabilityError(f"the target connection of shard {i} was in transaction state {status.name} "
                                      "before a batch's transaction, so its commit could not be trusted; "
                                      "offsets not committed")
        futures: list[Future[ApplyStats]] = [self._pool.submit(execute_uncommitted, sink, plan)
                                             for sink, plan in zip(sinks[1:], plans[1:])]
        outcomes: list[ApplyStats | BaseException] = []
        try:
            outcomes.append(execute_uncommitted(primary, plans[0]))
        except Exception as exc:  # noqa: BLE001 - collected with the helpers' below
            outcomes.append(exc)
        for f in futures:  # every shard has finished before any commits or rolls back
            exc = f.exception()
            outcomes.append(exc if exc is not None else f.result())
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        if not failed:
            try:
                for sink in sinks:
                    sink.conn.commit()
            except psycopg.Error as exc:
                # a shard before this one may have committed: the caller writes the batch
                # again, as after a crash between two commits (the position guards)
                failed = [exc]
        if not failed:
            self._rest[1] = 1
            total = ApplyStats()
            for o in outcomes:
                assert isinstance(o, ApplyStats)
                total.add(o)
            return total
        for sink in sinks:
            _roll_back(sink)
        bug = next((e for e in failed if not isinstance(e, psycopg.Error)), None)
        if bug is not None:
            raise bug  # not the database's refusal: as the one-connection path would raise it
        # the first refusal, not a shard cancelled by a lock timeout because of it
        first = next((e for e in failed if not isinstance(e, psycopg.errors.LockNotAvailable)), failed[0])
        self._fall_back(type(first).__name__, str(first))
        return None

    def _ready(self, helpers: int) -> bool:
        if self._rest[0] > 0:
            self._rest[0] -= 1
            return False
        self._sinks = [s for s in self._sinks if not s.conn.closed]
        try:
            while len(self._sinks) < helpers:
                conn = psycopg.connect(self._dsn.get_secret_value(), autocommit=False, connect_timeout=5)
                self._sinks.append(PostgresSink(conn, self._mappings))
        except psycopg.Error as exc:
            self._fall_back("connect", str(exc))
            return False
        return True

    def _fall_back(self, reason: str, error: str) -> None:
        metrics.SHARD_FALLBACKS.labels(reason).inc()
        log.warning("replicator.shards_fallback", reason=reason, error=error[:300],
                    rest_batches=self._rest[1], shards=self.shards)
        self._rest[0], self._rest[1] = self._rest[1], min(self._rest[1] * 2, _MAX_REST)
        # new helpers next time: a helper's connection is only found dead when used, and
        # what killed one (a PostgreSQL restart) has usually killed the others
        self.close()

    def backend_pids(self) -> list[int]:
        """The helper connections' PostgreSQL backends (for bench/apply.py's CPU accounting)."""
        return [s.conn.info.backend_pid for s in self._sinks if not s.conn.closed]

    def close(self) -> None:
        """Close the helper connections (a transaction left open is rolled back)."""
        for s in self._sinks:
            try:
                s.conn.close()
            except Exception:  # noqa: BLE001 - already broken
                pass
        self._sinks = []

    def shutdown(self) -> None:
        self.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def _roll_back(sink: PostgresSink) -> None:
    """End a shard's transaction without its writes; the stage tables created in it are gone."""
    sink.forget_stages()
    if sink.conn.closed or sink.conn.info.transaction_status == _IDLE:
        return
    try:
        sink.conn.rollback()
    except psycopg.Error:
        sink.conn.close()  # broken: closing ends the transaction too

"""`replicator run`: the long-running consumer-group reader. A thin orchestrator.

One iteration: consume up to `batch_max_events` messages or `batch_max_bytes` of them
(batching.py), decode them (events.py), map
them (mapping engine), apply all resulting target operations in ONE PostgreSQL
transaction (sink.py), send poison events to the dead-letter topic and wait for the
broker's acknowledgement, and only then commit the Kafka offsets. A crash at any point
replays from the last committed offsets; the sink's position checks make that replay
harmless (docs/delivery-guarantees.md).

Two stages overlap: while one apply thread writes batch N to PostgreSQL, the main thread
consumes and maps the next ones. Up to `apply_queue_batches` mapped batches (and
`apply_queue_bytes` of their messages) wait for the apply thread, which writes them one
at a time in consumption order; the main thread commits each batch's offsets after its
transaction committed, in the same order. The queue absorbs the swings of the two stages
(a batch of updates costs PostgreSQL twice a batch of inserts; mapping is steadier):
with one batch in flight, each step took the longer of the two. If a batch's write
fails, the batches queued behind it are not written and no later offset is committed.
A rebalance waits for every batch in flight and commits them before giving partitions up.

A queued batch keeps its messages and its plan only: its events and operations are
released while the next batch is mapped (FastMapper.map), its rows once it is committed.
Freed a queue later, they were cold, and freed a batch at once they emptied whole
allocator arenas that the next batch mapped again. A batch the database refuses is mapped
again from its messages to be written event by event (`_remap`).

Transient errors (database restarting, broker away) are retried with capped exponential
backoff, keeping the same batch; terminal errors of one event send that event to the DLQ
and the pipeline goes on.
"""

from __future__ import annotations

import signal
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from replicator import metrics
from replicator.apply.batching import BatchBudget
from replicator.apply.dlq import DeadLetter, DeadLetterWriter
from replicator.apply import fastpath
from replicator.apply.fastpath import FastMapper, Mapped
from replicator.apply.shards import ShardWriters
from replicator.apply.sink import ApplyStats, PostgresSink, WritePlan, WritePlanner
from replicator.config import Settings
from replicator.errors import (ApplyAbandoned, ApplyError, DurabilityError, ReplicatorError, SchemaDriftError, TransientError,
                               classify_db_error, commit_superseded)
from replicator.events import decode_message
from replicator.logs import get_logger, kafka_client_logger
from replicator.mapping.engine import MappingSet
from replicator.runtime import quiet_garbage_collector

log = get_logger("replicator.apply")


@dataclass
class Batch:
    """One consumed batch on its way through the two stages."""

    msgs: list[Message]
    # the events that could not be decoded or mapped: dead letters once the batch is written
    dead: list[Mapped]
    # one plan per shard of the batch's ops (shards.py); None: write event by event (planning failed)
    plans: list[WritePlan] | None = None
    # every event's Mapped: kept only while planning failed (then the batch is written event
    # by event); otherwise released once the batch is planned (Runner.prepare)
    mapped: list[Mapped] | None = None
    # events the database refused when the batch was written event by event: dead letters too
    refused: list[Mapped] = field(default_factory=list)
    # for the batch's metrics (fastpath.tally): counted when it is mapped, again if written event by event
    tally: tuple = ()
    spans: dict[tuple[str, int], list[int]] = field(default_factory=dict)  # first, last offset
    n_ops: int = 0
    fast: int = 0  # events the C core decoded and mapped (fastpath.py)
    shards: int = 0  # transactions that wrote it at once (shards.py); 1: one transaction
    nbytes: int = 0  # its messages' keys and values: what it counts against apply_queue_bytes
    # seconds per stage: main thread consume, map (+plan), wait for the apply thread,
    # offset commit; apply thread: write
    consume_s: float = 0.0
    map_s: float = 0.0
    wait_s: float = 0.0
    apply_s: float = 0.0
    commit_s: float = 0.0


@dataclass
class RunTotals:
    events: int = 0  # every message consumed (row changes, schema changes, tombstones...)
    changes: int = 0  # row change events among them
    applied_ops: int = 0
    dead_letters: int = 0
    batches: int = 0


class Runner:
    """Consume, map, apply, commit; until stopped."""

    def __init__(self, settings: Settings, mappings: MappingSet,
                 on_batch: Callable[[RunTotals], None] | None = None) -> None:
        self.s = settings
        self.mappings = mappings
        self.on_batch = on_batch
        self.stopping = False
        self.totals = RunTotals()
        self.conn: psycopg.Connection | None = None
        self.sink: PostgresSink | None = None
        self.planner = WritePlanner(mappings)
        self.shards = ShardWriters(settings.target_dsn, mappings, settings.apply_connections)
        # decode + map: the common case in C (fastpath.py), the rest by self._map
        self.mapper = FastMapper(mappings, self._map, enabled=settings.fast_path)
        self.last_progress = time.monotonic()
        self.idle_since = time.monotonic()
        self.failing_stage: str | None = None  # set while a transient failure is being retried
        self.lag_messages: dict[tuple[str, int], int] = {}
        self._lag_refreshed = 0.0
        self._reconcile_refreshed = 0.0
        self.assigned: list[TopicPartition] = []
        self._apply_thread = ThreadPoolExecutor(1, thread_name_prefix="apply")
        self.budget = BatchBudget(settings.batch_max_events, settings.batch_max_bytes)
        # partitions revoked during the consume call just made (_consume_batch)
        self._revoked: set[tuple[str, int]] = set()
        # mapped batches handed to the apply thread, oldest first, and their message bytes
        self._inflight: deque[tuple[Batch, Future[None]]] = deque()
        self._inflight_bytes = 0
        # set by the apply thread when a write failed: the batches queued behind it are not written
        self._write_failed = False
        # the last batch's Mapped, released while the next one is mapped (FastMapper.map)
        self._spent: list[Mapped] | None = None
        # librdkafka's own log lines go through the structured log (logs.kafka_client_logger)
        kafka = {"bootstrap.servers": settings.kafka_bootstrap_servers, "logger": kafka_client_logger(),
                 **settings.kafka_extra}
        self.consumer = Consumer({
            **kafka,
            "group.id": settings.kafka_group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": settings.kafka_session_timeout_ms,
            "heartbeat.interval.ms": max(1000, settings.kafka_session_timeout_ms // 5),
            "max.poll.interval.ms": 600000,
            "topic.metadata.refresh.interval.ms": 10000,
            # debezium envelopes are ~1 kB: the 1 MB default per-partition fetch caps a batch
            # at ~1000 events and makes the broker round trip the bottleneck. What librdkafka
            # prefetches is bounded by the batch's byte budget (its default is 64 MB queued
            # plus a 50 MB fetch: with large rows, more than the rest of the process)
            "max.partition.fetch.bytes": settings.batch_max_bytes,
            # librdkafka refuses a fetch smaller than the largest message it accepts
            "fetch.max.bytes": max(settings.batch_max_bytes,
                                   int(settings.kafka_extra.get("message.max.bytes", 1_000_000))),
            "queued.max.messages.kbytes": max(1, settings.batch_max_bytes // 1024),
            # once that queue is full, the next fetch waits this long (librdkafka's default,
            # 1 s, left large rows consumed at a fraction of what the rest could take)
            "fetch.queue.backoff.ms": 10,
            "fetch.wait.max.ms": 100,
            # the consumer must not see what a transactional producer aborted
            "isolation.level": "read_committed",
            # range (the default) gives every single-partition topic to the same member;
            # roundrobin spreads one-topic-per-table subscriptions across pods
            "partition.assignment.strategy": "roundrobin",
            **{k: v for k, v in settings.kafka_extra.items() if k.startswith("partition.")},
        })
        self.producer = Producer({**kafka, "enable.idempotence": True, "linger.ms": 5})
        self.dlq = DeadLetterWriter(self.producer, settings.dlq_topic)

    # lifecycle

    def install_signal_handlers(self) -> None:
        def stop(signum, _frame):
            log.info("replicator.stopping", signal=signal.Signals(signum).name)
            self.stopping = True
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def _connect(self) -> None:
        if self.conn is not None and not self.conn.closed:
            return
        self.conn = psycopg.connect(self.s.target_dsn.get_secret_value(), autocommit=False, connect_timeout=5)
        self.sink = PostgresSink(self.conn, self.mappings)

    def _reset_connection(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - the connection is already broken
                pass
        self.conn, self.sink = None, None
        self.shards.close()

    def prepare_target(self) -> None:
        def prepare() -> None:
            self._connect()
            assert self.conn is not None and self.sink is not None
            self.sink.prepare()
            if self.s.suspend_foreign_keys:
                from replicator.target import suspend

                # children can arrive before parents (one topic per table): FKs are
                # validated at cutover instead (docs/delivery-guarantees.md)
                for fk in suspend(self.conn, sorted(self.mappings.target_tables())):
                    log.warning("replicator.fk_suspended", table=fk.table, constraint=fk.name)
        self._retry("connect", prepare)

    def ensure_topics(self) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.s.kafka_bootstrap_servers, "logger": kafka_client_logger(),
                             **self.s.kafka_extra})
        existing = set(admin.list_topics(timeout=10).topics)
        wanted = self.mappings.topics() + self.mappings.schema_topics() + [self.s.dlq_topic]
        missing = [t for t in wanted if t not in existing]
        if missing:
            for t, f in admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1) for t in missing]).items():
                try:
                    f.result(10)
                except Exception as exc:  # noqa: BLE001 - created concurrently is fine
                    if "already exists" not in str(exc).lower() and "TOPIC_ALREADY_EXISTS" not in str(exc):
                        raise
            log.info("replicator.topics_created", topics=missing)

    def run(self) -> RunTotals:
        """Run until SIGTERM/SIGINT (or `stop_after_idle_s` without events)."""
        if self.s.kafka_create_missing_topics:
            self.ensure_topics()
        self.prepare_target()
        tune_interpreter()
        # row topics, plus the schema-change topics so DDL drift is reported before any row
        topics = self.mappings.topics() + self.mappings.schema_topics()
        self.consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
        log.info("replicator.started", topics=len(topics), group=self.s.kafka_group_id,
                 fast_path_tables=self.mapper.tables,
                 fast_path="off" if not self.s.fast_path else "on" if fastpath.available() else
                 "unavailable: replicator/_fastmap.c was not built (no compiler at install?); the Python path maps every event")
        self.idle_since = time.monotonic()
        try:
            while not self.stopping:
                self._refresh_reconcile_metrics()
                t0 = time.perf_counter()
                msgs, nbytes = self._consume_batch()
                consume_s = time.perf_counter() - t0
                if not msgs:
                    self._spent = None
                    self.finish_inflight()  # nothing new: commit what is being applied now
                    self._refresh_idle_lag()
                    # idle only counts once partitions are assigned: a group join takes seconds
                    if (self.s.stop_after_idle_s is not None and self.assigned
                            and time.monotonic() - self.idle_since > self.s.stop_after_idle_s):
                        log.info("replicator.idle_exit", idle_s=self.s.stop_after_idle_s)
                        break
                    continue
                self.idle_since = time.monotonic()
                self.process(msgs, consume_s, nbytes)
        except DurabilityError as exc:
            log.error("replicator.stopped_unsafe_commit", error=str(exc),
                      consequence="offsets not committed; a restart replays from the last committed offsets")
            raise
        finally:
            try:
                self.finish_inflight()  # drain: SIGTERM ends with the last batch committed
            finally:
                self._apply_thread.shutdown(wait=True)
                self.close()
        return self.totals

    def _consume_batch(self) -> tuple[list[Message], int]:
        """Messages until the batch holds `batch_max_events` or `batch_max_bytes` (keys
        and values), or `batch_max_wait_ms` has passed; a consume call per
        `budget.ask_limit` messages at most (batching.py). With their bytes; without the
        error events (a partition's end), which are logged.

        Each call takes only what librdkafka has queued already (timeout 0), and that
        queue is bounded in bytes by the same budget: a call that waited would keep taking
        messages as the broker refilled the queue, however large they were. Only when
        nothing is queued does the loop wait, and then for one message."""
        deadline = time.monotonic() + self.s.batch_max_wait_ms / 1000
        msgs: list[Message] = []
        nbytes = 0
        self._revoked = set()
        consume = self.consumer.consume
        while True:
            want = self.budget.next_count(len(msgs), nbytes)
            if want <= 0:
                break
            got = consume(want, 0)
            if not got:
                left = deadline - time.monotonic()
                got = consume(1, left) if left > 0 else []
            if self._revoked:
                # partitions were revoked inside a call: what the batch took from them
                # before it is dropped, not applied. Each restarts from its committed
                # offset, at its new owner or here, so nothing is applied twice (what the
                # call returned is of the new assignment)
                gone, self._revoked = self._revoked, set()
                kept = [m for m in msgs if (m.topic(), m.partition()) not in gone]
                log.info("replicator.revoked_within_batch", dropped=len(msgs) - len(kept), kept=len(kept),
                         partitions=sorted(f"{t}[{p}]" for t, p in gone))
                msgs = kept
                nbytes = fastpath.BATCH.message_sizes(msgs)[0]
            if not got:
                break  # the wait is over and nothing came
            size, largest, errors = fastpath.BATCH.message_sizes(got)
            self.budget.observe(len(got), size, largest)
            msgs += [m for m in got if not self._is_error(m)] if errors else got
            nbytes += size
            if time.monotonic() >= deadline:
                break
        return msgs, nbytes

    def _refresh_reconcile_metrics(self, every_s: float = 60.0) -> None:
        """Export the reconcile gauges (from `_replicator.reconcile_runs`) and the tombstone
        gauges once a minute, on a short connection of its own (the apply thread owns the
        other)."""
        now = time.monotonic()
        if now - self._reconcile_refreshed < every_s:
            return
        self._reconcile_refreshed = now
        from replicator.apply import prune
        from replicator.reconcile.history import export_metrics

        try:
            with psycopg.connect(self.s.target_dsn.get_secret_value(), autocommit=True, connect_timeout=5) as conn:
                export_metrics(conn)
                prune.export_metrics(conn)
        except psycopg.Error as exc:  # the gauges keep their last values; the pipeline is unaffected
            log.warning("replicator.reconcile_metrics_unavailable", error=type(exc).__name__)

    def _refresh_idle_lag(self) -> None:
        now = time.monotonic()
        if now - self._lag_refreshed < 5 or not self.assigned:
            return
        self._lag_refreshed = now
        try:
            committed = self.consumer.committed(self.assigned, timeout=5)
        except Exception:  # noqa: BLE001 - the broker may be away; lag stays at its last value
            return
        for tp in committed:
            if tp.offset is not None and tp.offset >= 0:
                self._record_lag_messages(tp.topic, tp.partition, tp.offset)

    def close(self) -> None:
        try:
            self.producer.flush(10)
            self.consumer.close()  # leaves the group so partitions move at once
        finally:
            self._reset_connection()
            self.shards.shutdown()
        log.info("replicator.stopped", events=self.totals.events, changes=self.totals.changes,
                 dead_letters=self.totals.dead_letters)

    def _on_assign(self, consumer, partitions) -> None:
        self.assigned = list(partitions)
        self.idle_since = time.monotonic()
        metrics.ASSIGNED_PARTITIONS.set(len(self.assigned))
        log.info("replicator.partitions_assigned", partitions=[f"{p.topic}[{p.partition}]" for p in partitions])

    def _on_revoke(self, consumer, partitions) -> None:
        # finish and commit the batches in flight, so the next owner starts exactly after
        # them: nothing lost, nothing applied twice
        self.finish_inflight()
        self._revoked |= {(p.topic, p.partition) for p in partitions}
        self.assigned = []
        metrics.ASSIGNED_PARTITIONS.set(0)
        log.info("replicator.partitions_revoked", partitions=[f"{p.topic}[{p.partition}]" for p in partitions])

    def _is_error(self, m: Message) -> bool:
        err = m.error()
        if err is None:
            return False
        if err.code() not in (KafkaError._PARTITION_EOF,):
            log.warning("replicator.kafka_error", error=str(err), topic=m.topic(), partition=m.partition())
        return True

    # one batch

    def process(self, msgs: list[Message], consume_s: float = 0.0, nbytes: int | None = None) -> None:
        """Map a consumed batch (this thread), then queue it for the apply thread: once
        the queue has room, after committing the batches already written."""
        batch = self.prepare(msgs)
        batch.consume_s = consume_s
        batch.nbytes = fastpath.BATCH.message_sizes(msgs)[0] if nbytes is None else nbytes
        while self._inflight and self._inflight[0][1].done():
            self._finish_oldest()
        # at least one batch is always in flight, however large
        while self._inflight and (len(self._inflight) >= self.s.apply_queue_batches
                                  or self._inflight_bytes + batch.nbytes > self.s.apply_queue_bytes):
            self._finish_oldest()
        self._inflight.append((batch, self._apply_thread.submit(self._write, batch)))
        self._inflight_bytes += batch.nbytes
        metrics.APPLY_QUEUE.set(len(self._inflight))

    def prepare(self, msgs: list[Message]) -> Batch:
        """Decode, map and plan a consumed batch: the main thread's work (pure; no I/O)."""
        t0 = time.perf_counter()
        spent, self._spent = self._spent, None
        mapped = self.mapper.map(msgs, spent)
        del spent
        ops, spans = fastpath.BATCH.ops_and_spans(mapped)
        tally = fastpath.BATCH.tally(mapped)  # its last item: how many failed
        batch = Batch(msgs, [m for m in mapped if m.error is not None] if tally[3] else [], spans=spans, tally=tally)
        batch.fast = len(msgs) - self.mapper.handed_back
        batch.n_ops = len(ops)
        try:
            # split, reduce and group here, while the apply thread writes the previous batch
            shards = fastpath.BATCH.split_ops(ops, self.s.apply_connections) if self.s.apply_connections > 1 else [ops]
            batch.plans = [self.planner.plan(shard) for shard in shards if shard]
        except Exception as exc:  # noqa: BLE001 - a bug in planning: isolate the event responsible
            log.warning("replicator.plan_failed", error=str(exc)[:300], events=len(msgs))
        del ops
        if batch.plans is None:
            batch.mapped = mapped
        else:
            # the plan holds what the write needs. The events and their ops go now, while
            # the next batch is mapped, instead of when this one is committed, a queue later
            self._spent = mapped
        batch.map_s = time.perf_counter() - t0
        return batch

    def finish_inflight(self) -> None:
        """Wait for every batch in flight, committing each one's offsets once it is
        durable, in order. Re-raises what stopped an apply (see _finish_oldest)."""
        while self._inflight:
            self._finish_oldest()

    def _finish_oldest(self) -> None:
        """Wait for the oldest batch in flight and commit its offsets once it is durable.
        If its write (or that commit) failed, the batches behind it are dropped unwritten
        and uncommitted, and the error is re-raised: a restart replays them all from the
        last committed offsets."""
        batch, done = self._inflight[0]  # counted in flight until committed
        try:
            t0 = time.perf_counter()
            done.result()
            t1 = time.perf_counter()
            self._retry("commit", lambda: self._commit(batch.spans))
        except BaseException:
            self._write_failed = True  # a batch not yet started is not written (_write)
            for _, later in self._inflight:
                later.cancel()
            self._inflight.clear()
            self._inflight_bytes = 0
            metrics.APPLY_QUEUE.set(0)
            raise
        self._inflight.popleft()
        self._inflight_bytes -= batch.nbytes
        metrics.APPLY_QUEUE.set(len(self._inflight))
        batch.wait_s, batch.commit_s = t1 - t0, time.perf_counter() - t1
        self._observe(batch)

    def _write(self, batch: Batch) -> None:
        """The apply thread: one PostgreSQL transaction, then the batch's dead letters,
        acknowledged by the broker before the offsets may be committed. Not after an
        earlier batch's write failed: its offsets will not be committed, so neither may
        this batch's, and a restart replays both in order."""
        if self._write_failed:
            raise ApplyAbandoned(f"not written: an earlier batch's write failed ({_positions(batch)})")
        try:
            self._write_batch(batch)
        except BaseException:
            self._write_failed = True
            raise

    def _write_batch(self, batch: Batch) -> None:
        t0 = time.perf_counter()
        self._retry("apply", lambda: self._apply(batch))
        batch.plans = batch.mapped = None  # committed: its rows are freed here, still warm from the COPY
        dead = batch.dead + batch.refused
        for m in dead:
            self._dead_letter(m)
        if dead:
            self._retry("dlq", self.dlq.flush)
        batch.apply_s = time.perf_counter() - t0

    def _map(self, msg: Message) -> Mapped:
        """The Python path of decode + map, for every message the C core does not take."""
        ev = None
        try:
            ev = decode_message(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value())
            if ev.kind == "change":
                return Mapped(msg, ev, self.mappings.map_event(ev))
            if ev.kind == "schema_change":
                if not self.mappings.maps_database(ev.source_name, ev.database):
                    return Mapped(msg, ev)  # DDL of a database this mapping does not read
                metrics.SCHEMA_CHANGES.labels(ev.source_name or msg.topic()).inc()
                log.info("replicator.schema_change", topic=msg.topic(), partition=msg.partition(),
                         offset=msg.offset(), database=ev.database, ddl=(ev.ddl or "")[:200])
                self.mappings.check_schema_change(ev)
            return Mapped(msg, ev)
        except Exception as exc:  # noqa: BLE001 - terminal, or a transform bug: this record's problem, not the pipeline's
            return Mapped(msg, ev, (), exc)

    def _remap(self, batch: Batch) -> list[Mapped]:
        """The batch's events mapped again, for writing it event by event after its plan
        was refused (its Mapped were released once it was planned). The Python path,
        without the first pass's side effects: the events that failed then are taken as
        they were (their dead letters are sent once), and schema changes are not reported
        again. Mapping is deterministic (transforms are pure), so the ops are the same."""
        failed = {(m.msg.topic(), m.msg.partition(), m.msg.offset()): m for m in batch.dead}
        out = []
        for msg in batch.msgs:
            m = failed.get((msg.topic(), msg.partition(), msg.offset())) if failed else None
            if m is None:
                try:
                    ev = decode_message(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value())
                    m = Mapped(msg, ev, self.mappings.map_event(ev)) if ev.kind == "change" else Mapped(msg, ev)
                except Exception as exc:  # noqa: BLE001 - it did not fail the first time: fail it the same way
                    m = Mapped(msg, None, (), exc)
            out.append(m)
        return out

    def _apply(self, batch: Batch) -> None:
        self._connect()
        assert self.conn is not None and self.sink is not None
        batch.refused = []
        if not batch.n_ops:
            return
        t0 = time.perf_counter()
        self._require_idle(batch, "before")
        if batch.plans is None:
            assert batch.mapped is not None
            stats = self._apply_one_by_one(batch, batch.mapped)
        else:
            # the shards at once, each in its own transaction (shards.py); None: a single
            # shard, or the parallel write failed: the whole batch in one transaction here
            try:
                stats = self.shards.execute(self.sink, batch.plans)
            except DurabilityError as exc:  # a connection held a transaction before the batch's
                self._reset_connection()
                raise DurabilityError(str(exc), positions=_positions(batch)) from exc
            batch.shards = len(batch.plans) if stats is not None else 1
            if stats is None:
                stats = self._apply_in_one_transaction(batch)
        self._require_idle(batch, "after")
        self._record(stats, batch.n_ops, time.perf_counter() - t0)

    def _apply_in_one_transaction(self, batch: Batch) -> ApplyStats:
        """Every shard's plan in one transaction on the runner's connection; a terminal
        refusal sends the batch event by event, a transient one is raised for a retry."""
        assert self.conn is not None and self.sink is not None and batch.plans is not None
        try:
            with self.conn.transaction():
                stats = ApplyStats()
                for plan in batch.plans:
                    stats.add(self.sink.execute(plan))
        except psycopg.Error as exc:
            self.sink.forget_stages()
            err = classify_db_error(exc)
            if err.transient:
                self._reset_connection()
                raise err from exc
            # a terminal refusal in the batch: find the events responsible, one by one
            log.warning("replicator.batch_refused", error=str(err), events=len(batch.msgs))
            stats = self._apply_one_by_one(batch, self._remap(batch))
        return stats

    def _require_idle(self, batch: Batch, when: str) -> None:
        """The connection holds no transaction between batches. If a statement outside
        `conn.transaction()` had opened one (psycopg, not in autocommit, begins a
        transaction implicitly), each batch's `conn.transaction()` would be a savepoint in
        it: "committed" batches would sit uncommitted while their Kafka offsets were
        committed, and be lost with the connection. So a batch whose commit cannot be
        trusted stops the process before its offsets are committed."""
        assert self.conn is not None
        status = self.conn.info.transaction_status
        if status == psycopg.pq.TransactionStatus.IDLE:
            return
        self._reset_connection()  # rolls back whatever the open transaction held
        raise DurabilityError(f"the target connection was in transaction state {status.name} {when} a batch's "
                              "transaction, so its commit could not be trusted; offsets not committed",
                              positions=_positions(batch))

    def _apply_one_by_one(self, batch: Batch, mapped: list[Mapped]) -> ApplyStats:
        """Each event's ops in a savepoint of one transaction: the events the database
        refuses become `batch.refused` (dead letters), and the batch's tally counts them so."""
        assert self.conn is not None and self.sink is not None
        total = ApplyStats()
        mapped = list(mapped)  # a retry starts again from the events as they were mapped
        with self.conn.transaction():
            for i, m in enumerate(mapped):
                if m.error is not None or not m.ops:
                    continue
                try:
                    with self.conn.transaction():  # a savepoint per event
                        total.add(self.sink.apply(m.ops))
                except psycopg.Error as exc:
                    self.sink.forget_stages()
                    err = classify_db_error(exc, table=m.ops[0].table, key=m.ops[0].legacy_key,
                                            topic=m.msg.topic(), partition=m.msg.partition(), offset=m.msg.offset())
                    if err.transient:
                        raise err from exc
                    mapped[i] = m._replace(error=err)
                    batch.refused.append(mapped[i])
                except Exception as exc:  # noqa: BLE001 - planning this event's ops failed: its problem only
                    mapped[i] = m._replace(error=exc)
                    batch.refused.append(mapped[i])
        batch.tally = fastpath.BATCH.tally(mapped)
        return total

    def _record(self, stats: ApplyStats, n_ops: int, seconds: float) -> None:
        metrics.APPLY_SECONDS.observe(seconds)
        for table, n in stats.per_table.items():
            metrics.ROWS_APPLIED.labels(table, "all").inc(n)
        if stats.parked or stats.unparked:
            log.info("replicator.parked_writes", parked=stats.parked, unparked=stats.unparked)
        metrics.PARKED.inc(stats.parked)
        metrics.UNPARKED.inc(stats.unparked)
        metrics.DIRECT_COPIED.inc(stats.copied)
        metrics.DIRECT_FALLBACKS.inc(stats.direct_fallbacks)
        metrics.STALE_REFUSED.labels("all").inc(stats.stale)
        self.totals.applied_ops += n_ops

    def _dead_letter(self, m: Mapped) -> None:
        exc = m.error
        assert exc is not None
        table = m.event.source_table if m.event is not None and m.event.kind == "change" else ""
        if not table and isinstance(exc, SchemaDriftError):
            table = str(exc.context.get("table", ""))
        dl = DeadLetter.from_error(exc, m.msg.key(), m.msg.value(), m.msg.topic(), m.msg.partition(),
                                   m.msg.offset(), table)
        self.dlq.send(dl)
        reason = type(exc).__name__
        metrics.DLQ_EVENTS.labels(table or m.msg.topic(), reason).inc()
        if isinstance(exc, SchemaDriftError):
            metrics.SCHEMA_DRIFT.labels(table).inc()
        self.totals.dead_letters += 1
        log.error("replicator.dead_letter", reason=str(exc)[:500], error_class=reason, table=table,
                  topic=m.msg.topic(), partition=m.msg.partition(), offset=m.msg.offset())

    def _commit(self, spans: dict[tuple[str, int], list[int]]) -> None:
        """Commit the offset after the last message of each partition in the batch.

        When the group has moved on (errors.commit_superseded: the session timed out during
        a broker outage, or a rebalance), the offsets are given up instead of retried: the
        retry could never succeed, and it would keep the consumer from rejoining. The batch
        is in PostgreSQL already; whoever owns the partition next replays it harmlessly."""
        try:
            self.consumer.commit(offsets=[TopicPartition(t, p, last + 1) for (t, p), (_first, last) in spans.items()],
                                 asynchronous=False)
        except KafkaException as exc:
            if not commit_superseded(exc):
                raise
            metrics.COMMITS_SUPERSEDED.inc()
            log.warning("replicator.commit_superseded", error=str(exc)[:300],
                        positions=[f"{t}[{p}]@{a}-{b}" for (t, p), (a, b) in spans.items()],
                        consequence="offsets not committed; the next owner replays these events, which changes nothing")
            return
        for (t, p), (_first, last) in spans.items():
            self._record_lag_messages(t, p, last + 1)

    def _record_lag_messages(self, topic: str, partition: int, committed: int) -> None:
        """Log end offset minus committed offset. The end offset is the high watermark the
        broker sent with its last fetch response (no extra request). Correct on Apache
        Kafka; Tansu reports a wrong high watermark (LOCAL-STACK.md)."""
        try:
            _low, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
        except Exception:  # noqa: BLE001 - no fetch response yet: nothing to report
            return
        if high is None or high < 0:
            return
        lag = max(0, high - committed)
        self.lag_messages[(topic, partition)] = lag
        metrics.LAG_MESSAGES.labels(topic, str(partition)).set(lag)

    def readiness(self, stall_after_s: float) -> tuple[bool, str]:
        """Ready = connected, assigned, and not stuck: nothing applied for `stall_after_s`
        while messages are waiting is stuck; an idle source is not."""
        if self.failing_stage is not None:
            return False, f"retrying {self.failing_stage}"
        if not self.assigned:
            return False, "no partitions assigned"
        idle = time.monotonic() - self.last_progress
        waiting = sum(self.lag_messages.get((tp.topic, tp.partition), 0) for tp in self.assigned)
        if idle > stall_after_s and waiting > 0:
            return False, f"stuck: nothing applied for {idle:.0f}s while {waiting} messages wait"
        return True, "ready"

    def _observe(self, batch: Batch) -> None:
        now = time.time()
        # one pass, keyed by topic; labels are resolved once per topic, not per event
        counts, newest, firsts, dead = batch.tally
        tables = {topic: ev.source_table for topic, ev in firsts.items()}
        # one increment per label set, not per event: labels() lookups cost microseconds
        for (topic, op, outcome), n in counts.items():
            metrics.EVENTS.labels(tables[topic], op, outcome).inc(n)
        for topic, ts in newest.items():
            metrics.LAST_APPLIED_TS.labels(tables[topic]).set(ts / 1000)
            metrics.LAG_SECONDS.labels(tables[topic]).set(max(0.0, now - ts / 1000))
        metrics.BATCH_SIZE.observe(len(batch.msgs))
        metrics.FAST_PATH_EVENTS.inc(batch.fast)
        self.totals.events += len(batch.msgs)
        self.totals.changes += sum(counts.values())
        self.totals.batches += 1
        self.last_progress = time.monotonic()
        log.info("replicator.batch_applied", events=len(batch.msgs), ops=batch.n_ops,
                 tables=sorted(set(tables.values())),
                 positions=[f"{t}[{p}]@{a}-{b}" for (t, p), (a, b) in batch.spans.items()],
                 dead_letters=dead, fast_path=batch.fast, shards=batch.shards, **{f"{stage}_ms": round(getattr(batch, f"{stage}_s") * 1000, 1)
                                       for stage in ("consume", "map", "wait", "apply", "commit")})
        if self.on_batch:
            self.on_batch(self.totals)

    def _retry(self, stage: str, fn: Callable[[], object]) -> None:
        """Run `fn`, retrying transient failures with capped exponential backoff, forever
        (a pod that waits for its database beats a crash loop); terminal errors propagate."""
        delay = 0.2
        while True:
            try:
                fn()
                self.failing_stage = None
                return
            except (TransientError, psycopg.OperationalError, psycopg.InterfaceError) as exc:
                err = exc if isinstance(exc, ReplicatorError) else classify_db_error(exc)
                if isinstance(err, ApplyError):
                    raise
                if isinstance(exc, psycopg.Error):
                    self._reset_connection()
            except Exception as exc:  # noqa: BLE001 - kafka commit failures arrive as KafkaException
                if not isinstance(exc, KafkaException):
                    raise
                err = exc
            self.failing_stage = stage
            metrics.RETRIES.labels(stage).inc()
            log.warning("replicator.retry", stage=stage, error=str(err)[:300], backoff_s=round(delay, 2))
            if self.stopping and stage != "commit":
                raise TransientError(f"stopping while {stage} kept failing: {err}")
            time.sleep(delay)
            delay = min(delay * 2, self.s.retry_max_backoff_s)


def _positions(batch: Batch) -> str:
    """The batch's offsets, as an error names them: topic[partition]@first-last, ..."""
    return ",".join(f"{t}[{p}]@{a}-{b}" for (t, p), (a, b) in batch.spans.items())


def _offset_spans(msgs: list[Message]) -> dict[tuple[str, int], list[int]]:
    """(topic, partition) -> [first offset, last offset] of consumed messages."""
    return fastpath.BATCH.ops_and_spans([Mapped(m) for m in msgs])[1]


def tune_interpreter() -> None:
    """Process-wide settings for the hot path (this process is the replicator).

    The GIL switch interval: the apply thread mostly waits on PostgreSQL, but each time a
    statement returns it needs the GIL back, and the busy main thread gives it up only
    every switch interval (5 ms by default). With half a dozen round trips a batch that
    doubled the apply stage (measured: ~100 ms against ~55 ms at 0.5 ms). And the garbage
    collector (runtime.py).
    """
    import sys

    sys.setswitchinterval(0.0005)
    quiet_garbage_collector()

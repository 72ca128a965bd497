"""Batches queued for the apply thread (Runner.process, `apply_queue_batches`): written one
at a time in consumption order, their offsets committed in that order, and when one
batch's write fails, none queued behind it is written and no later offset is committed.
Real PostgreSQL and broker; the batches are in-memory messages of a real topic, handed
to the runner as its consume loop hands them."""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest
from confluent_kafka import Message, TopicPartition

from replicator import metrics
from replicator.apply.runner import Runner
from replicator.config import Settings
from replicator.errors import DurabilityError
from replicator.mapping.loader import load_mappings
from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import create_target_db, unique
from tests.integration.test_durability_guard import developer_messages

pytestmark = pytest.mark.stack


@pytest.fixture
def case(stack):
    """A runner (4 batches may queue) on a fresh target, and 30 messages of a real topic."""
    db = unique("queue_")
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    ms = load_mappings([REPO_ROOT / "config" / "mappings"], env={"LEGACY_MAIN_DATABASE": db})
    s = Settings(kafka_bootstrap_servers=stack.broker.bootstrap(), kafka_group_id=unique("queue_"),
                 target_dsn=stack.postgres.dsn(tgt), metrics_port=0, apply_queue_batches=4)
    runner = Runner(s, ms)
    runner.ensure_topics()
    runner.prepare_target()
    msgs = developer_messages(db, 30)
    try:
        yield runner, tgt, msgs, msgs[0].topic()
    finally:
        runner.close()


def _rows(stack, tgt: str) -> int:
    with psycopg.connect(stack.postgres.dsn(tgt), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM app.users").fetchone()[0]


def _committed(runner: Runner, topic: str) -> int:
    return runner.consumer.committed([TopicPartition(topic, 0)], timeout=10)[0].offset


def _queue_three_behind_a_lock(stack, runner: Runner, tgt: str, msgs) -> None:
    """Hand three batches of 10 to the runner while a lock holds the first one's write,
    so that the other two wait in the queue behind it; then release the lock."""
    lock = psycopg.connect(stack.postgres.dsn(tgt))
    lock.execute("LOCK TABLE app.users IN ACCESS EXCLUSIVE MODE")
    try:
        for i in range(3):
            runner.process(msgs[i * 10:(i + 1) * 10])
        time.sleep(0.5)
        assert len(runner._inflight) == 3, "the batches did not queue behind the one being written"
        assert not any(done.done() for _, done in runner._inflight)
        assert metrics.APPLY_QUEUE._value.get() == 3
    finally:
        lock.rollback()
        lock.close()


def test_queued_batches_are_written_and_committed_in_order(stack, case):
    runner, tgt, msgs, topic = case
    committed: list[int] = []
    commit = runner._commit

    def commit_in_order(spans):
        commit(spans)
        committed.append(_committed(runner, topic))

    runner._commit = commit_in_order
    _queue_three_behind_a_lock(stack, runner, tgt, msgs)
    runner.finish_inflight()
    assert committed == [10, 20, 30]
    assert _rows(stack, tgt) == 30
    assert metrics.APPLY_QUEUE._value.get() == 0
    assert runner.totals.applied_ops == 30


def test_a_failed_write_leaves_the_batches_behind_it_unwritten_and_uncommitted(stack, case):
    runner, tgt, msgs, topic = case
    check = runner._require_idle
    started: list[int] = []

    def refuse_the_second(batch, when):
        if when == "before":
            started.append(batch.msgs[0].offset())
        if batch.msgs[0].offset() == 10:
            raise DurabilityError("injected: the second batch's transaction cannot be known to have committed")
        check(batch, when)

    runner._require_idle = refuse_the_second
    _queue_three_behind_a_lock(stack, runner, tgt, msgs)
    with pytest.raises(DurabilityError, match="injected"):
        runner.finish_inflight()
    runner._apply_thread.shutdown(wait=True)
    assert not runner._inflight
    # the first batch is written and committed; the third never reached the database
    assert _rows(stack, tgt) == 10
    assert _committed(runner, topic) == 10
    assert started == [0, 10]


def test_the_queue_holds_at_most_apply_queue_bytes_of_messages(stack, case):
    runner, tgt, msgs, _topic = case
    batch_bytes = sum(len(m.key()) + len(m.value()) for m in msgs[:10])
    runner.s = runner.s.model_copy(update={"apply_queue_bytes": 2 * batch_bytes + 50})
    lock = psycopg.connect(stack.postgres.dsn(tgt))
    lock.execute("LOCK TABLE app.users IN ACCESS EXCLUSIVE MODE")
    try:
        runner.process(msgs[:10])
        runner.process(msgs[10:20])
        assert len(runner._inflight) == 2
        third = threading.Thread(target=runner.process, args=(msgs[20:30],))
        third.start()
        third.join(1.0)
        # two batches' bytes are in flight: the third waits for the first to be written
        assert third.is_alive() and len(runner._inflight) == 2
        lock.rollback()
        third.join(30)
        assert not third.is_alive()
        assert runner._inflight_bytes <= 2 * batch_bytes + 50
        runner.finish_inflight()
        assert _rows(stack, tgt) == 30 and runner._inflight_bytes == 0
    finally:
        lock.close()


def test_a_refused_batch_is_written_event_by_event_from_its_messages(stack, case):
    """A batch's Mapped are released once it is planned (Runner.prepare); when the database
    refuses the batch, it is mapped again from its messages and written event by event. The
    event the database refuses and the one that could not be decoded are each dead-lettered
    once, the others are applied, and the batch's metrics count them so."""
    runner, tgt, msgs, topic = case
    batch = msgs[:10]
    # offset 3 trims and lower-cases to offset 2's email: app.users.email refuses it
    env = json.loads(batch[3].value())
    env["after"]["email"] = " U3@example.com"
    batch[3] = Message(topic=topic, partition=0, offset=3, key=batch[3].key(), value=json.dumps(env).encode())
    batch[6] = Message(topic=topic, partition=0, offset=6, key=batch[6].key(), value=b"{not json")
    sent: list[tuple[int, str]] = []
    dead_letter = runner._dead_letter
    runner._dead_letter = lambda m: (sent.append((m.msg.offset(), type(m.error).__name__)), dead_letter(m))
    table = f"{env['source']['db']}.Developer"
    dead_before = metrics.EVENTS.labels(table, "c", "dead_letter")._value.get()
    applied_before = metrics.EVENTS.labels(table, "c", "applied")._value.get()
    runner.process(batch)
    queued, _done = runner._inflight[0]
    assert queued.mapped is None and len(runner._spent) == 10  # released with the next batch
    runner.finish_inflight()
    assert sorted(sent) == [(3, "ApplyError"), (6, "DecodeError")]
    assert _rows(stack, tgt) == 8
    assert runner.totals.dead_letters == 2 and _committed(runner, topic) == 10
    # the undecodable message is no change event: only the refused one counts as a dead change
    assert metrics.EVENTS.labels(table, "c", "dead_letter")._value.get() - dead_before == 1
    assert metrics.EVENTS.labels(table, "c", "applied")._value.get() - applied_before == 8
    # the next batch releases the last one's Mapped as it is mapped
    runner.process(msgs[10:20])
    runner.finish_inflight()
    assert _rows(stack, tgt) == 18

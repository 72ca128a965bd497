"""Batches are bounded by bytes as well as by events: large rows (embeddings, long texts)
do not make a batch, and the process, grow with them (batching.py, REPLICATOR_BATCH_MAX_BYTES).
Real broker and PostgreSQL; the runner in this process, so each batch can be seen."""

from __future__ import annotations

import json

import psycopg
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from replicator.apply.runner import Runner
from replicator.config import Settings
from replicator.mapping.loader import load_mappings
from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import create_target_db, unique

pytestmark = pytest.mark.stack


def developer_event(db: str, i: int, name_bytes: int) -> tuple[bytes, bytes]:
    row = {"id": i, "email": f"u{i}@example.com", "name": "n" * name_bytes, "pictureUrl": None,
           "username": f"u{i}", "hasCompletedOnboarding": 1, "resetToken": None, "resetTokenExpiry": None,
           "magicLinkToken": None, "stripeCustomerId": None, "createdAt": 1700000000000, "updatedAt": 1700000000000}
    env = {"before": None, "after": row, "op": "c", "ts_ms": 1700000000000,
           "source": {"connector": "mysql", "name": "legacy_main", "db": db, "table": "Developer",
                      "snapshot": "false", "file": "binlog.000001", "pos": 1000 + i, "row": 0,
                      "ts_ms": 1700000000000}}
    return json.dumps({"id": i}).encode(), json.dumps(env).encode()


def test_large_rows_are_batched_by_bytes_and_all_applied(stack):
    db = unique("budget_")
    topic = f"legacy_main.{db}.Developer"
    admin = AdminClient({"bootstrap.servers": stack.broker.bootstrap()})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(10)
    n, name_bytes, budget = 200, 32_000, 256 * 1024
    p = Producer({"bootstrap.servers": stack.broker.bootstrap(), "linger.ms": 5})
    for i in range(1, n + 1):
        k, v = developer_event(db, i, name_bytes)
        p.produce(topic, key=k, value=v)
    assert p.flush(30) == 0
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    ms = load_mappings([REPO_ROOT / "config" / "mappings"], env={"LEGACY_MAIN_DATABASE": db})
    sizes: list[int] = []

    def on_batch(totals) -> None:
        sizes.append(totals.changes - sum(sizes))

    s = Settings(kafka_bootstrap_servers=stack.broker.bootstrap(), kafka_group_id=unique("g_"),
                 target_dsn=stack.postgres.dsn(tgt), metrics_port=0, batch_max_events=5000,
                 batch_max_bytes=budget, stop_after_idle_s=3.0)
    Runner(s, ms, on_batch=on_batch).run()
    with psycopg.connect(stack.postgres.dsn(tgt)) as conn:
        assert conn.execute("SELECT count(*), min(length(name)) FROM app.users").fetchone() == (n, name_bytes)
    assert sum(sizes) == n, sizes
    # ~32.4 kB a message: the budget holds 8. A message's size is known only once it is
    # consumed, so a batch may pass its budget by one ask of at most ask_limit messages
    # (256 kB / 64 kB = 4; batching.py), e.g. when the connectors' small schema-change
    # messages, which the runner also reads, came first. By events alone, this would be
    # one batch of 200.
    fits, ask_limit = budget // 32_000, 4
    assert max(sizes) <= fits + ask_limit, str(sizes)
    assert len(sizes) >= n // (fits + ask_limit), str(sizes)
    admin.delete_topics([topic])[topic].result(10)


def test_large_rows_after_small_ones_stay_within_the_queue_bound(stack):
    """Small rows teach the size estimate that messages are 1 kB; then 400 kB rows come,
    at the start of an ask of 16 (the ask limit at 1 MiB): 6.4 MB if it took them all.
    Calls do not wait (only for one message, when nothing is queued), so a call takes at
    most what librdkafka has queued: its queue (the budget) and one fetch (the budget, or
    one message). Measured here: the largest batch 1.42-1.63 MB; 3.03 MB when each call
    waited for what it asked (the runner before this test)."""
    db = unique("budget_")
    topic = f"legacy_main.{db}.Developer"
    admin = AdminClient({"bootstrap.servers": stack.broker.bootstrap()})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(10)
    # 1 + 16 * 37 small rows: the first ask (one message) and 37 asks of 16 take them
    # all, so the next ask of 16 begins at the first large row
    small, large, large_bytes, budget = 1 + 16 * 37, 40, 400_000, 1 << 20
    p = Producer({"bootstrap.servers": stack.broker.bootstrap(), "linger.ms": 5})
    for i in range(1, small + large + 1):
        k, v = developer_event(db, i, 500 if i <= small else large_bytes)
        p.produce(topic, key=k, value=v)
    assert p.flush(30) == 0
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    ms = load_mappings([REPO_ROOT / "config" / "mappings"], env={"LEGACY_MAIN_DATABASE": db})
    s = Settings(kafka_bootstrap_servers=stack.broker.bootstrap(), kafka_group_id=unique("g_"),
                 target_dsn=stack.postgres.dsn(tgt), metrics_port=0, batch_max_events=5000,
                 batch_max_bytes=budget, stop_after_idle_s=3.0,
                 # long enough for the local broker to refill the queue many times within
                 # one waiting call (a real cluster does it in milliseconds)
                 batch_max_wait_ms=5000)
    runner = Runner(s, ms)
    batch_bytes: list[int] = []
    consume_batch = runner._consume_batch

    def recording_consume_batch():
        msgs, nbytes = consume_batch()
        assert nbytes == sum(len(m) + len(m.key() or b"") for m in msgs)
        batch_bytes.append(nbytes)
        return msgs, nbytes

    runner._consume_batch = recording_consume_batch  # type: ignore[method-assign]
    runner.run()
    with psycopg.connect(stack.postgres.dsn(tgt)) as conn:
        assert conn.execute("SELECT count(*), max(length(name)) FROM app.users").fetchone() == (small + large, large_bytes)
    # the budget, then one call of at most librdkafka's queue (the budget) and one fetch
    # (the budget); 16 asks of 400 kB rows would be 6.4 MB
    assert max(batch_bytes) <= 3 * budget + large_bytes, [b for b in batch_bytes if b]
    admin.delete_topics([topic])[topic].result(10)

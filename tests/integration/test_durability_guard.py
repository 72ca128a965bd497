"""A batch is only acknowledged (its offsets committed) once its transaction really
committed. A statement run outside `conn.transaction()` on the runner's connection opens a
transaction implicitly; every later batch would then be a savepoint inside it, "committed"
without being durable. The runner refuses such a batch (Runner._require_idle). Real
PostgreSQL; the batch is built from in-memory Kafka messages (no broker needed)."""

from __future__ import annotations

import json

import psycopg
import pytest
from confluent_kafka import Message

from replicator.apply.runner import Runner
from replicator.config import Settings
from replicator.errors import DurabilityError
from replicator.mapping.loader import load_mappings
from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import create_target_db, unique

pytestmark = pytest.mark.stack


def developer_messages(db: str, n: int) -> list[Message]:
    out = []
    for i in range(1, n + 1):
        row = {"id": i, "email": f"u{i}@example.com", "name": f"N {i}", "pictureUrl": None, "username": f"u{i}",
               "hasCompletedOnboarding": 1, "resetToken": None, "resetTokenExpiry": None, "magicLinkToken": None,
               "stripeCustomerId": None, "createdAt": 1700000000000, "updatedAt": 1700000000000}
        env = {"before": None, "after": row, "op": "c", "ts_ms": 1700000000000,
               "source": {"connector": "mysql", "name": "legacy_main", "db": db, "table": "Developer",
                          "snapshot": "false", "file": "binlog.000001", "pos": 1000 + i, "row": 0,
                          "ts_ms": 1700000000000}}
        out.append(Message(topic=f"legacy_main.{db}.Developer", partition=0, offset=i - 1,
                           key=json.dumps({"id": i}).encode(), value=json.dumps(env).encode()))
    return out


@pytest.mark.parametrize("connections", [1, 2])
def test_a_batch_inside_a_leaked_transaction_is_refused_and_nothing_is_acknowledged(stack, connections):
    db = unique("durable_")
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    ms = load_mappings([REPO_ROOT / "config" / "mappings"], env={"LEGACY_MAIN_DATABASE": db})
    s = Settings(kafka_bootstrap_servers="127.0.0.1:9", kafka_group_id=unique("g_"),
                 target_dsn=stack.postgres.dsn(tgt), metrics_port=0, apply_connections=connections)
    runner = Runner(s, ms)
    runner.prepare_target()
    batch = runner.prepare(developer_messages(db, 20))
    assert batch.n_ops == 20
    assert len(batch.plans) == connections  # 20 keys: every shard has some

    def committed_rows() -> int:
        with psycopg.connect(stack.postgres.dsn(tgt), autocommit=True) as other:
            return other.execute("SELECT count(*) FROM app.users").fetchone()[0]

    # the leak: a query outside conn.transaction() on a connection not in autocommit
    runner.conn.execute("SELECT 1")
    assert runner.conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    with pytest.raises(DurabilityError) as info:
        runner._apply(batch)
    assert "INTRANS before" in str(info.value) and "Developer[0]@0-19" in str(info.value)
    assert runner.conn is None  # closed: the open transaction is rolled back, not committed
    assert committed_rows() == 0

    # a leak between that check and the batch's transaction (no such statement exists
    # today; this is what the second check is for): caught after the "commit"
    runner._connect()
    check = runner._require_idle

    def check_then_leak(b, when):
        check(b, when)
        if when == "before":
            runner.conn.execute("SELECT 1")

    runner._require_idle = check_then_leak
    with pytest.raises(DurabilityError) as info:
        runner._apply(batch)
    # one connection: found after the batch's "commit"; in shards (apply/shards.py), each
    # shard's connection is checked before its transaction
    assert ("INTRANS after" if connections == 1 else "shard 0 was in transaction state INTRANS before") \
        in str(info.value)
    assert "Developer[0]@0-19" in str(info.value)
    assert committed_rows() == 0  # the batch was a savepoint of the leaked transaction
    runner._require_idle = check

    # a clean connection: the same batch commits, and is visible to another connection
    runner._connect()
    runner._apply(batch)
    assert runner.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert committed_rows() == 20
    runner.close()

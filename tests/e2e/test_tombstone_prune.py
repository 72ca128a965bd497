"""Tombstones are bounded, and a replay after pruning still cannot resurrect a deleted row.
Real MariaDB, Debezium, broker and PostgreSQL: rows are created and one hard-deleted, then
`replicator tombstones prune` (while the replicator runs) raises app.users' replay horizon
and drops the tombstone. Then the deleted row's insert is delivered again (its original
bytes, produced once more) and must be refused with no tombstone left to do so; and a
second replicator with a fresh consumer group (a consumer rewound to the start of the
topic) re-reads everything and changes nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import psycopg
import pytest
from confluent_kafka import Consumer, Producer

from replicator.keys import remap_key
from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import ReplicatorProcess, create_source_db, create_target_db, mysql, unique, wait_for

pytestmark = pytest.mark.stack


def test_a_rewound_consumer_after_pruning_does_not_resurrect_a_deleted_row(stack, tmp_path):
    src = create_source_db(stack, REPO_ROOT / "config" / "legacy" / "slice_main.sql")
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    # two connections (apply/shards.py): each shard takes the horizon lock the prune waits for
    env = {"LEGACY_MAIN_DATABASE": src, "REPLICATOR_APPLY_CONNECTIONS": "2"}

    def query(sql: str):
        with psycopg.connect(stack.postgres.dsn(tgt)) as c:
            return c.execute(sql).fetchall()

    def ids():
        return {r[0] for r in query("SELECT id FROM app.users")}

    def prune(rp, *args):
        out = subprocess.run([sys.executable, "-m", "replicator.cli", "tombstones", "prune", *args], env=rp.env,
                             capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    uid = {i: remap_key("legacy_main", "Developer", i) for i in range(1, 6)}
    first = ReplicatorProcess(stack, target_db=tgt, env=env, log=tmp_path / "run1.log")
    with first:
        with mysql(stack, src) as conn, conn.cursor() as cur:
            for i in (1, 2, 3):
                cur.execute("INSERT INTO Developer (id, email, name) VALUES (%s, %s, 'n')", (i, f"d{i}@example.com"))
            cur.execute("DELETE FROM Developer WHERE id = 2")
        wait_for(lambda: ids() == {uid[1], uid[3]}, 90, "rows 1 and 3, row 2 deleted")
        assert query("SELECT count(*) FROM _replicator.tombstones") == [(1,)]
        # once the group has committed past the delete, the tombstone is below the horizon
        deadline, dry = time.monotonic() + 60, ""
        while "would prune 1 tombstone" not in dry:
            assert time.monotonic() < deadline, f"the group's offsets never passed the delete: {dry}"
            time.sleep(1)
            dry = prune(first, "--dry-run")
        out = prune(first)
        assert re.search(r"app\.users: horizon \{[\d,]+\}; pruned 1 tombstone", out), out
        assert query("SELECT count(*) FROM _replicator.tombstones") == [(0,)]
        [(horizon,)] = query("SELECT pos FROM _replicator.horizons WHERE target_table = 'app.users'")

        # the insert of row 2 delivered again (a producer's retry, a replayed copy): older
        # than the delete, whose tombstone is gone; only the horizon can refuse it now
        topic = f"legacy_main.{src}.Developer"
        key, value = original_insert(stack, topic, 2)
        producer = Producer({"bootstrap.servers": stack.broker.bootstrap()})
        producer.produce(topic, key=key, value=value)
        assert producer.flush(30) == 0
        with mysql(stack, src) as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO Developer (id, email, name) VALUES (4, 'd4@example.com', 'n')")
        wait_for(lambda: uid[4] in ids(), 90, "row 4, written after the duplicate")
        assert ids() == {uid[1], uid[3], uid[4]}, "row 2 came back"

    # a consumer rewound to the start of the topic: every event again, all below the horizon
    second = ReplicatorProcess(stack, target_db=tgt, env=env, log=tmp_path / "run2.log")
    with second:
        with mysql(stack, src) as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO Developer (id, email, name) VALUES (5, 'd5@example.com', 'n')")
        wait_for(lambda: uid[5] in ids(), 90, "the replay, then row 5")
    assert ids() == {uid[1], uid[3], uid[4], uid[5]}
    # refused below the horizon before any write: the replayed delete left no tombstone
    assert query("SELECT count(*) FROM _replicator.tombstones") == [(0,)]
    assert horizon and query("SELECT pos FROM _replicator.horizons") == [(horizon,)]


def original_insert(stack, topic: str, dev_id: int) -> tuple[bytes, bytes]:
    """The key and value bytes Debezium wrote for the insert of one Developer row."""
    c = Consumer({"bootstrap.servers": stack.broker.bootstrap(), "group.id": unique("read_"),
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None or m.error() or m.value() is None:
                continue
            ev = json.loads(m.value())
            if ev.get("op") == "c" and ev["after"]["id"] == dev_id:
                return m.key(), m.value()
    finally:
        c.close()
    raise AssertionError(f"no insert of Developer {dev_id} in {topic}")

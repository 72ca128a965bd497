"""Poison events on the real stack: they land in the dead-letter topic with their original
bytes and the reason, and the events after them are applied."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg
import pytest
from confluent_kafka import Producer

from replicator.apply.dlq import read_dead_letters
from replicator.apply.fastpath import key_hash
from replicator.keys import remap_key
from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import ReplicatorProcess, create_source_db, create_target_db, mysql, wait_for

pytestmark = pytest.mark.stack


def test_poison_events_go_to_the_dlq_and_the_pipeline_keeps_going(stack, tmp_path):
    src = create_source_db(stack, REPO_ROOT / "config" / "legacy" / "slice_main.sql")
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    topic = f"legacy_main.{src}.Developer"
    rp = ReplicatorProcess(stack, target_db=tgt, env={"LEGACY_MAIN_DATABASE": src}, log=tmp_path / "run.log")
    dlq_topic = rp.env["REPLICATOR_DLQ_TOPIC"]
    garbage = b"\x00\xffthis is not json"
    drift = json.dumps({
        "before": None, "op": "c", "ts_ms": 1,
        "after": {"id": 77, "email": "drift@example.com", "name": None, "pictureUrl": None, "username": None,
                  "hasCompletedOnboarding": 0, "resetToken": None, "resetTokenExpiry": None, "magicLinkToken": None,
                  "stripeCustomerId": None, "createdAt": 0, "updatedAt": 0, "brandNewColumn": "x"},
        "source": {"connector": "mysql", "name": "legacy_main", "db": src, "table": "Developer",
                   "file": "binlog.000001", "pos": 4, "row": 0, "ts_ms": 1, "snapshot": "false"},
    }).encode()
    with rp:
        with mysql(stack, src) as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO Developer (id, email) VALUES (1, 'before@example.com')")
        wait_for(lambda: _count(stack, tgt) == 1, 90, "the row before the poison")
        p = Producer({"bootstrap.servers": stack.broker.bootstrap()})
        p.produce(topic, key=b'{"id":99}', value=garbage)
        p.produce(topic, key=b'{"id":77}', value=drift)
        assert p.flush(10) == 0
        with mysql(stack, src) as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO Developer (id, email) VALUES (2, 'after@example.com')")
        wait_for(lambda: _count(stack, tgt) == 2, 60, "the row after the poison")
        assert rp.alive()
    with psycopg.connect(stack.postgres.dsn(tgt)) as conn:
        ids = {r[0] for r in conn.execute("SELECT id FROM app.users")}
    assert ids == {remap_key("legacy_main", "Developer", 1), remap_key("legacy_main", "Developer", 2)}

    records = list(read_dead_letters(stack.broker.bootstrap(), dlq_topic, idle_timeout=3))
    assert len(records) == 2
    by_key = {r[3]: r for r in records}
    _p, _o, h, _k, value = by_key[b'{"id":99}']
    assert value == garbage, "the original bytes are kept"
    assert h["dlq.error_class"] == "DecodeError" and h["dlq.source_topic"] == topic
    assert h["dlq.source_partition"].isdigit() and h["dlq.source_offset"].isdigit()
    _p, _o, h, _k, value = by_key[b'{"id":77}']
    assert value == drift
    assert h["dlq.error_class"] == "SchemaDriftError"
    assert "brandNewColumn" in h["dlq.reason"] and "legacy_main.Developer" in h["dlq.reason"]
    assert h["dlq.source_table"] == f"{src}.Developer"

    out = subprocess.run([sys.executable, "-m", "replicator.cli", "dlq", "list"], capture_output=True, text=True,
                         env={**rp.env}, cwd=REPO_ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "2 dead letter(s)" in out.stdout and "SchemaDriftError" in out.stdout
    assert "drift@example.com" not in out.stdout, "dlq list must not print payloads"


def _count(stack, db) -> int:
    with psycopg.connect(stack.postgres.dsn(db)) as conn:
        return conn.execute("SELECT count(*) FROM app.users").fetchone()[0]


def test_a_row_the_target_refuses_goes_to_the_dlq_and_the_rest_of_its_batch_is_applied(stack, tmp_path):
    """Two legacy developers whose emails differ only by a leading space collide on app.users.email
    (the mapping trims and lower-cases emails): PostgreSQL refuses the second with a unique violation,
    a terminal error. It is dead-lettered with its position; its batch-mates are applied.
    Written over two connections (apply/shards.py): the two rows are in different shards, the
    batch falls back to one transaction, and the source's order decides, not a race."""
    shard = [key_hash((remap_key("legacy_main", "Developer", n),)) % 2 for n in (1, 2)]
    assert shard[0] != shard[1]
    src = create_source_db(stack, REPO_ROOT / "config" / "legacy" / "slice_main.sql")
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    rp = ReplicatorProcess(stack, target_db=tgt, env={"LEGACY_MAIN_DATABASE": src, "REPLICATOR_APPLY_CONNECTIONS": "2"},
                           log=tmp_path / "run.log")
    with rp:
        with mysql(stack, src) as conn, conn.cursor() as cur:
            conn.begin()
            cur.executemany("INSERT INTO Developer (id, email) VALUES (%s, %s)",
                            [(1, "ada@example.com"), (2, " ada@example.com"), (3, "bob@example.com")])
            conn.commit()
            cur.execute("INSERT INTO Developer (id, email) VALUES (4, 'cy@example.com')")
        wait_for(lambda: _count(stack, tgt) == 3, 90, "the three rows that fit")
        assert rp.alive()
    with psycopg.connect(stack.postgres.dsn(tgt)) as conn:
        ids = {r[0] for r in conn.execute("SELECT id FROM app.users")}
    assert ids == {remap_key("legacy_main", "Developer", n) for n in (1, 3, 4)}
    [(_p, _o, h, key, _v)] = list(read_dead_letters(stack.broker.bootstrap(), rp.env["REPLICATOR_DLQ_TOPIC"],
                                                    idle_timeout=3))
    assert key == b'{"id":2}'
    assert h["dlq.error_class"] == "ApplyError" and "23505" in h["dlq.reason"]
    assert "app.users" in h["dlq.reason"] and "offset=" in h["dlq.reason"]

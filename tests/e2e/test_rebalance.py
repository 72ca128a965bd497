"""Partition rebalances while a writer runs: a second replicator joins the group, then the
first leaves. Nothing is lost (the target equals the source) and nothing is applied twice
(the events the two processes applied add up to exactly the messages in the topic), also
when the revocation is served inside a batch that already holds messages of the revoked
partitions (the set-up makes that the common case, and the test checks it happened)."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import (ReplicatorProcess, create_source_db, create_target_db, mysql,
                                        slice_matches, unique, wait_for)

pytestmark = pytest.mark.stack


def _writer(stack, db, stop: threading.Event) -> None:
    n = 0
    with mysql(stack, db) as conn, conn.cursor() as cur:
        while not stop.is_set():
            n += 1
            cur.execute("INSERT INTO Developer (id, email) VALUES (%s, %s)", (n, f"r{n}@example.com"))
            if n % 3 == 0:
                cur.execute("UPDATE Developer SET name=%s WHERE id=%s", (f"u{n}", n - 1))
            time.sleep(0.01)


def _messages_in(bootstrap: str, topic: str) -> int:
    # counted by reading, not from the high watermark (Tansu reports a wrong one)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"count-{uuid.uuid4().hex}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False, "session.timeout.ms": 6000})
    c.subscribe([topic])
    n, last = 0, time.monotonic()
    while time.monotonic() - last < 8:
        msgs = c.consume(1000, 1.0)
        if msgs:
            n += sum(1 for m in msgs if m.error() is None)
            last = time.monotonic()
    c.close()
    return n


def _applied(log_path) -> int:
    for line in reversed(log_path.read_text().splitlines()):
        if '"replicator.stopped"' in line:
            return json.loads(line)["changes"]
    raise AssertionError(f"no clean stop in {log_path}")


def test_rebalance_loses_nothing_and_applies_nothing_twice(stack, tmp_path):
    src = create_source_db(stack, REPO_ROOT / "config" / "legacy" / "slice_main.sql")
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    topic = f"legacy_main.{src}.Developer"
    admin = AdminClient({"bootstrap.servers": stack.broker.bootstrap()})
    admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])[topic].result(10)
    # a 64 kB byte budget: one message per consume call, so a batch is built from dozens
    # of calls; and a long batch wait, so a batch in progress waits through the rebalance
    # and the revocation is served inside it (Runner._consume_batch drops what it took)
    env = {"LEGACY_MAIN_DATABASE": src, "REPLICATOR_BATCH_MAX_EVENTS": "100",
           "REPLICATOR_BATCH_MAX_BYTES": "65536", "REPLICATOR_BATCH_MAX_WAIT_MS": "5000"}
    group = unique("g_")
    a = ReplicatorProcess(stack, target_db=tgt, env=env, log=tmp_path / "a.log", group=group)
    b = ReplicatorProcess(stack, target_db=tgt, env=env, log=tmp_path / "b.log", group=group)
    stop = threading.Event()
    writer = threading.Thread(target=_writer, args=(stack, src, stop))
    writer.start()
    def applying(name: str) -> bool:
        return '"replicator.batch_applied"' in (tmp_path / f"{name}.log").read_text()

    # each step waits for the state the next one needs (not a fixed time: the group join
    # takes 3 s or more, and a slow one made b join alongside a instead of taking from it)
    try:
        a.start()
        wait_for(lambda: applying("a"), 90, "a applying batches")
        time.sleep(2)
        b.start()  # rebalance: partitions split between a and b
        wait_for(lambda: applying("b"), 90, "b applying batches")
        time.sleep(4)
        assert a.stop() == 0  # a leaves: its partitions move to b
        time.sleep(6)
    finally:
        stop.set()
        writer.join()
    try:
        wait_for(lambda: slice_matches(stack, src, tgt), 120, "target equal to source after two rebalances")
        time.sleep(3)  # let b commit its last batch
    finally:
        assert b.stop() == 0
    total = _messages_in(stack.broker.bootstrap(), topic)
    assert _applied(tmp_path / "a.log") > 0 and _applied(tmp_path / "b.log") > 0, "both must have worked"
    assert _applied(tmp_path / "a.log") + _applied(tmp_path / "b.log") == total
    # and the case this set-up is for happened: a batch held messages of a partition that
    # was revoked while it was being built, and dropped them (applied once, by the next owner)
    assert _dropped_within_batches(tmp_path / "a.log") + _dropped_within_batches(tmp_path / "b.log") > 0, \
        "no revocation was served inside a batch that held messages of the revoked partitions"


def _dropped_within_batches(log_path) -> int:
    return sum(json.loads(line)["dropped"] for line in log_path.read_text().splitlines()
               if '"replicator.revoked_within_batch"' in line)

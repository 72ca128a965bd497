"""The broker goes away in the middle of a run while changes keep arriving: the replicator
waits and retries (no exit, no crash loop), and the run ends with nothing lost.

The stack's broker keeps topics in memory, so a restart would lose them. This test runs
its own Tansu broker on an S3 store (moto_server, LOCAL-STACK.md), on which topics and
committed offsets survive the broker's restart, as they do on a real Kafka cluster. The
changes are Debezium-format messages produced straight to the broker: the test is about
the consumer's side of the outage.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from replicator.events import decode_message
from replicator.mapping.loader import load_mappings
from replicator.stack.manager import REPO_ROOT
from replicator.stack.process import wait_until
from replicator.stack.workspace import ReplicatorProcess, create_target_db, unique, wait_for

pytestmark = pytest.mark.stack

KEYS = 300
COLUMNS = ("id", "email", "name", "picture_url", "username", "has_completed_onboarding", "created_at", "updated_at")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DurableBroker:
    """Tansu on an S3 bucket served by moto_server; `stop`/`start` restart the broker only."""

    def __init__(self, workdir: Path, binary: Path) -> None:
        self.dir, self.binary = workdir, binary
        self.port, self.s3_port = free_port(), free_port()
        self.s3: subprocess.Popen | None = None
        self.broker: subprocess.Popen | None = None

    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> DurableBroker:
        moto = Path(sys.executable).parent / "moto_server"
        self.s3 = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(self.s3_port)],
                                   stdout=open(self.dir / "s3.log", "ab"), stderr=subprocess.STDOUT)
        import boto3

        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.s3_port}", aws_access_key_id="test",
                          aws_secret_access_key="test", region_name="us-east-1")
        wait_for(lambda: s3.create_bucket(Bucket="tansu") is not None, 30, "moto_server's S3 endpoint")
        self.start()
        return self

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT": f"http://127.0.0.1:{self.s3_port}",
               "AWS_ALLOW_HTTP": "true"}
        self.broker = subprocess.Popen(
            [str(self.binary), "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "s3://tansu/"],
            env=env, stdout=open(self.dir / "broker.log", "ab"), stderr=subprocess.STDOUT)
        assert wait_until(self._listening, 30), f"the S3-backed broker did not start: {self.dir / 'broker.log'}"

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.5).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        assert self.broker is not None and self.broker.poll() is None, "the broker should have been running"
        self.broker.send_signal(signal.SIGTERM)
        self.broker.wait(30)

    def __exit__(self, *exc) -> None:
        for p in (self.broker, self.s3):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


def change(i: int, key: int, db: str) -> tuple[bytes, bytes]:
    """A Debezium MySQL change of the slice's Developer table: key `key`, i-th change."""
    row = {"id": key, "email": f"user{key}@example.com", "name": f"Name {i}", "pictureUrl": None,
           "username": f"user{key}", "hasCompletedOnboarding": i % 2, "resetToken": None, "resetTokenExpiry": None,
           "magicLinkToken": None, "stripeCustomerId": None, "createdAt": 1_700_000_000_000 + key,
           "updatedAt": 1_700_000_000_000 + i}
    env = {"before": None, "after": row, "op": "c" if i < KEYS else "u", "ts_ms": 1_700_000_000_000 + i,
           "source": {"version": "3.6.3.Final", "connector": "mysql", "name": "legacy_main", "ts_ms": 1_700_000_000_000 + i,
                      "snapshot": "false", "db": db, "table": "Developer", "server_id": 1,
                      "file": "binlog.000001", "pos": 1000 + i, "row": 0}}
    return json.dumps({"id": key}).encode(), json.dumps(env).encode()


def test_broker_outage_mid_run_loses_nothing(stack, tmp_path):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    db = unique("outage_")
    topic = f"legacy_main.{db}.Developer"
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    produced: list[tuple[bytes, bytes]] = []
    stop = threading.Event()
    with DurableBroker(tmp_path, stack.broker.binary()) as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap()})
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(10)
        # a producer that keeps going through the outage (its client buffers and retries).
        # Batches of ~25 messages, as Debezium's producer makes under load: Tansu stores
        # each produced batch as one S3 object and serves a fetch an object at a time, so
        # with batches of one or two (linger 5 ms) the consumer's catch-up was bounded by
        # S3 round trips (~30 messages/s on a slow machine: the run could not catch up in 120 s)
        producer = Producer({"bootstrap.servers": broker.bootstrap(), "enable.idempotence": True, "linger.ms": 100})

        def write() -> None:
            i = 0
            while not stop.is_set():
                k, v = change(i, i if i < KEYS else (i * 37) % KEYS, db)
                producer.produce(topic, key=k, value=v)
                produced.append((k, v))
                producer.poll(0)
                i += 1
                time.sleep(0.004)

        writer = threading.Thread(target=write)
        env = {"LEGACY_MAIN_DATABASE": db, "REPLICATOR_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap(),
               "REPLICATOR_RETRY_MAX_BACKOFF_S": "2", "REPLICATOR_BATCH_MAX_EVENTS": "200"}

        def count() -> int:
            with psycopg.connect(stack.postgres.dsn(tgt)) as c:
                return c.execute("SELECT count(*) FROM app.users").fetchone()[0]

        with ReplicatorProcess(stack, target_db=tgt, env=env, log=tmp_path / "run.log") as rp:
            writer.start()
            try:
                wait_for(lambda: count() > 50, 90, "rows flowing before the outage")
                broker.stop()
                time.sleep(6)  # consumes, commits and fetches all fail meanwhile
                assert rp.alive(), "the replicator must wait, not exit, while the broker is away"
                broker.start()
                time.sleep(4)  # changes produced after the restart too
            finally:
                stop.set()
                writer.join()
            assert producer.flush(60) == 0, "the producer could not deliver everything after the restart"
            expected = _final_rows(db, topic, produced)
            wait_for(lambda: _target_rows(stack, tgt) == expected, 120,
                     f"the target holding the final state of all {len(expected)} keys after the broker outage")
            assert rp.alive()
    log = (tmp_path / "run.log").read_text()
    assert len(produced) > 2 * KEYS, "the run should have updated rows, not only created them"
    # 6 s away is as long as the session timeout: the group usually dropped this member, so
    # the commit of the batch in flight was given up (not retried forever) and it rejoined
    noticed = ("replicator.commit_superseded", "replicator.retry", "replicator.kafka_error")
    assert any(s in log for s in noticed), "the outage should have been noticed"
    assert "Traceback" not in log
    # librdkafka's complaints about the broker arrive through the structured log, as JSON,
    # not as its own `%3|...|FAIL|...` lines on stderr
    assert "replicator.kafka_client_log" in log
    raw = [line for line in log.splitlines() if line.startswith("%")]
    assert not raw, f"librdkafka wrote to stderr directly: {raw[:3]}"


def _final_rows(db: str, topic: str, produced: list[tuple[bytes, bytes]]) -> dict:
    """What the mapping makes of the last change of every key."""
    ms = load_mappings([REPO_ROOT / "config" / "mappings"], env={"LEGACY_MAIN_DATABASE": db})
    last = {}
    for offset, (k, v) in enumerate(produced):
        last[k] = decode_message(topic, 0, offset, k, v)
    out = {}
    for ev in last.values():
        [op] = ms.map_event(ev)
        out[op.key[0]] = tuple(op.values[c] for c in COLUMNS)
    return out


def _target_rows(stack, tgt: str) -> dict:
    with psycopg.connect(stack.postgres.dsn(tgt)) as c:
        return {r[0]: tuple(r) for r in c.execute(f"SELECT {', '.join(COLUMNS)} FROM app.users").fetchall()}

"""Lag in messages = log end offset - committed offset, per partition.

Tansu reports the high watermark as the base offset of the last batch plus one
(LOCAL-STACK.md), which is the true log end offset only when every produced batch holds one
message. So this test produces one message per batch (a flush after each); on Apache Kafka
the same code reads the real high watermark."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from replicator import metrics
from replicator.apply.runner import Runner, _offset_spans
from replicator.config import Settings
from replicator.mapping.loader import load_mappings
from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import unique

pytestmark = pytest.mark.stack


def test_lag_messages_is_log_end_minus_committed(stack):
    topic = unique("lag_")
    admin = AdminClient({"bootstrap.servers": stack.broker.bootstrap()})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(10)
    p = Producer({"bootstrap.servers": stack.broker.bootstrap(), "linger.ms": 0})
    for i in range(10):
        p.produce(topic, key=str(i).encode(), value=b"{}")
        p.flush(10)  # one message per batch: Tansu's high watermark is then exact
    ms = load_mappings([REPO_ROOT / "config" / "mappings"], env={})
    r = Runner(Settings(kafka_bootstrap_servers=stack.broker.bootstrap(), kafka_group_id=unique("g_"),
                        metrics_port=0), ms)
    try:
        r.consumer.assign([TopicPartition(topic, 0, 0)])
        got = []
        while len(got) < 4:
            got += [m for m in r.consumer.consume(4 - len(got), 5) if m.error() is None]
        r._commit(_offset_spans(got))
        assert r.lag_messages[(topic, 0)] == 6
        assert metrics.LAG_MESSAGES.labels(topic, "0")._value.get() == 6
        rest = []
        while len(rest) < 6:
            rest += [m for m in r.consumer.consume(6 - len(rest), 5) if m.error() is None]
        r._commit(_offset_spans(rest))
        assert r.lag_messages[(topic, 0)] == 0
    finally:
        r.consumer.close()

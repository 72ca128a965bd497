"""/readyz logic: connected, assigned, not stuck (stuck = no progress while messages wait)."""

from __future__ import annotations

import time

from confluent_kafka import TopicPartition

from replicator.apply.runner import Runner
from replicator.config import Settings
from replicator.mapping.loader import load_mappings
from replicator.stack.manager import REPO_ROOT


def runner() -> Runner:
    ms = load_mappings([REPO_ROOT / "config" / "mappings"], env={})
    # no broker is contacted until subscribe(): constructing is pure
    return Runner(Settings(kafka_bootstrap_servers="127.0.0.1:1", metrics_port=0), ms)


def test_not_ready_without_partitions():
    assert runner().readiness(60) == (False, "no partitions assigned")


def test_ready_when_idle_with_nothing_waiting():
    r = runner()
    r.assigned = [TopicPartition("t", 0)]
    r.last_progress = time.monotonic() - 3600
    r.lag_messages = {("t", 0): 0}
    assert r.readiness(60) == (True, "ready")


def test_stuck_when_nothing_applied_while_messages_wait():
    r = runner()
    r.assigned = [TopicPartition("t", 0)]
    r.last_progress = time.monotonic() - 120
    r.lag_messages = {("t", 0): 42}
    ok, why = r.readiness(60)
    assert not ok and "42 messages wait" in why
    r.last_progress = time.monotonic()
    assert r.readiness(60)[0]


def test_not_ready_while_retrying_a_transient_failure():
    r = runner()
    r.assigned = [TopicPartition("t", 0)]
    r.failing_stage = "apply"
    assert r.readiness(60) == (False, "retrying apply")

"""errors.commit_superseded: which offset-commit failures are given up (the group moved on)
and which are retried (the broker is away, or anything else)."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from replicator.errors import commit_superseded


@pytest.mark.parametrize("code", [KafkaError.UNKNOWN_MEMBER_ID, KafkaError.ILLEGAL_GENERATION,
                                  KafkaError.REBALANCE_IN_PROGRESS, KafkaError.FENCED_INSTANCE_ID,
                                  KafkaError._ASSIGNMENT_LOST, KafkaError._STATE])
def test_a_commit_refused_because_the_group_moved_on_is_given_up(code):
    assert commit_superseded(KafkaException(KafkaError(code)))


@pytest.mark.parametrize("code", [KafkaError._TRANSPORT, KafkaError._TIMED_OUT, KafkaError.COORDINATOR_NOT_AVAILABLE,
                                  KafkaError.NOT_COORDINATOR, KafkaError._ALL_BROKERS_DOWN])
def test_a_commit_that_failed_on_the_way_is_retried(code):
    assert not commit_superseded(KafkaException(KafkaError(code)))


def test_other_exceptions_are_not_superseded_commits():
    assert not commit_superseded(RuntimeError("boom"))
    assert not commit_superseded(KafkaException("no KafkaError inside"))

"""The runner's batch loop (Runner._consume_batch) around consume(): the byte budget, and a
rebalance served inside one of its consume calls. The consumer here is a script standing
in for confluent-kafka's consume() (the loop's bookkeeping is what is tested; the real
broker's rebalances are in tests/e2e/test_rebalance.py)."""

from __future__ import annotations

import time

from confluent_kafka import Message, TopicPartition

from replicator.apply.runner import Runner
from replicator.config import Settings
from replicator.mapping.loader import load_mappings
from replicator.stack.manager import REPO_ROOT


class ScriptedConsume:
    """Returns the prepared lists in turn (then nothing); before the call numbered
    `revoke_at`, serves a revocation of `revoked` through the runner's callback, as
    librdkafka does inside consume(). A call that waits (timeout > 0) and gets nothing
    lasts its whole timeout, as the real one does. `asked` records (count, waited)."""

    def __init__(self, runner: Runner, calls: list[list[Message]], revoke_at: int | None = None,
                 revoked: list[TopicPartition] = ()):
        self.runner, self.calls, self.revoke_at, self.revoked = runner, calls, revoke_at, revoked
        self.asked: list[tuple[int, bool]] = []

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        if len(self.asked) == self.revoke_at:
            self.runner._on_revoke(None, self.revoked)
        self.asked.append((num_messages, timeout > 0))
        got = self.calls.pop(0) if self.calls else []
        assert len(got) <= num_messages, "the script gives at most what is asked"
        if not got and timeout > 0:
            time.sleep(timeout)
        return got


def messages(topic: str, partition: int, first: int, n: int, size: int = 100) -> list[Message]:
    return [Message(topic=topic, partition=partition, offset=first + i, key=b"k", value=b"v" * size)
            for i in range(n)]


def runner(**settings) -> Runner:
    """A runner past its first ask (which is for one message: tested below)."""
    ms = load_mappings([REPO_ROOT / "config" / "mappings"], env={})
    r = Runner(Settings(metrics_port=0, batch_max_wait_ms=50, **settings), ms)
    r.budget.seen = True
    return r


def test_the_first_ask_of_a_runner_is_for_one_message_then_the_estimate_sizes_the_asks():
    r = runner(batch_max_events=300)
    r.budget.seen = False  # as after start
    script = ScriptedConsume(r, [messages("a", 0, 0, 1, size=2_000_000), messages("a", 0, 1, 2, size=2_000_000)])
    r.consumer = script
    got, nbytes = r._consume_batch()
    assert nbytes == 3 * (2_000_000 + 1)
    # one 2 MB message says how large they are: 8 MiB then holds 3 more at most
    assert script.asked[:2] == [(1, False), (3, False)] and len(got) == 3


def test_a_batch_is_built_from_asks_of_at_most_ask_limit_until_the_event_count():
    r = runner(batch_max_events=300)  # 8 MiB: at most 128 messages an ask
    script = ScriptedConsume(r, [messages("a", 0, 0, 128), messages("a", 0, 128, 128), messages("a", 0, 256, 44)])
    r.consumer = script
    got, nbytes = r._consume_batch()
    assert [m.offset() for m in got] == list(range(300)) and nbytes == 300 * 101
    assert script.asked == [(128, False), (128, False), (44, False)]  # each takes what is queued


def test_nothing_queued_waits_for_one_message_and_the_wait_ends_the_batch():
    r = runner(batch_max_events=300)
    queued, arrives = messages("a", 0, 0, 100), messages("a", 0, 100, 1)
    r.consumer = script = ScriptedConsume(r, [queued, [], arrives, []])
    t0 = time.monotonic()
    got, _nbytes = r._consume_batch()
    assert [m.offset() for m in got] == list(range(101))
    # what was queued, then a wait for one message (which came), then nothing queued and a
    # wait that ran to the batch deadline (50 ms)
    assert script.asked == [(128, False), (128, False), (1, True), (128, False), (1, True)]
    assert time.monotonic() - t0 >= 0.05


def test_a_call_never_waits_for_more_than_one_message():
    """A call that waits keeps taking messages as the broker refills librdkafka's queue,
    whatever their size; a call that does not wait takes at most what the queue (bounded
    by the byte budget) holds. So only asks for one message may wait."""
    r = runner(batch_max_events=5000)
    r.consumer = script = ScriptedConsume(r, [[], messages("a", 0, 0, 1)] + [messages("a", 0, 1 + i, 1) for i in range(50)])
    r._consume_batch()
    assert all(n == 1 for n, waited in script.asked if waited)


def test_messages_of_a_partition_revoked_mid_batch_are_dropped_and_the_rest_kept():
    r = runner(batch_max_events=1000)
    first = messages("a", 0, 0, 64) + messages("a", 1, 0, 64)  # all the first ask wanted
    after = messages("a", 1, 64, 10)  # the call that served the revocation: the new assignment
    script = ScriptedConsume(r, [first, after], revoke_at=1, revoked=[TopicPartition("a", 0)])
    r.consumer = script
    got, nbytes = r._consume_batch()
    assert nbytes == 74 * 101
    # partition a[0]'s 64 messages are gone (its next owner starts at its committed offset);
    # a[1], kept by this consumer, keeps its messages in order
    assert [(m.partition(), m.offset()) for m in got] == [(1, o) for o in range(74)]
    assert script.asked[:2] == [(128, False), (128, False)]
    assert r._revoked == set()


def test_error_events_are_left_out_of_the_batch():
    from confluent_kafka import KafkaError

    r = runner(batch_max_events=300)
    eof = Message(topic="a", partition=0, error=KafkaError(KafkaError._PARTITION_EOF))
    r.consumer = ScriptedConsume(r, [messages("a", 0, 0, 3) + [eof] + messages("a", 1, 0, 2)])
    got, nbytes = r._consume_batch()
    assert [(m.partition(), m.offset()) for m in got] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    assert nbytes == 5 * 101

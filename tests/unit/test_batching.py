"""The batch budget: a batch ends at its event count or its byte budget, whichever first,
whatever the size of the messages and whatever came before them (batching.py)."""

from hypothesis import given
from hypothesis import strategies as st

from replicator.apply.batching import BatchBudget

MiB = 1 << 20


def fill(budget: BatchBudget, sizes: list[int], asks: list[int] | None = None) -> list[int]:
    """What the runner's consume loop takes from a topic of messages of `sizes`, when
    consume() returns all it is asked for (the worst case for memory) or what is left."""
    taken: list[int] = []
    queue = list(sizes)
    while queue:
        want = budget.next_count(len(taken), sum(taken))
        if want <= 0:
            break
        got, queue = queue[:want], queue[want:]
        if asks is not None:
            asks.append(len(got))
        budget.observe(len(got), sum(got), max(got))
        taken += got
        if len(got) < want:
            break  # the consume call timed out short of what was asked
    return taken


def batches(budget: BatchBudget, sizes: list[int]) -> list[list[int]]:
    out, queue = [], list(sizes)
    while queue:
        got = fill(budget, queue)
        queue = queue[len(got):]
        out.append(got)
    return out


def test_small_events_fill_the_event_count():
    b = BatchBudget(max_events=5000, max_bytes=8 * MiB)
    asks: list[int] = []
    assert len(fill(b, [600] * 20000, asks=asks)) == 5000
    # the first ask is for one message (its size is the first estimate), then full asks
    assert b.ask_limit == 128 and asks == [1] + [128] * 39 + [7]


def test_large_events_stop_at_the_byte_budget():
    b = BatchBudget(max_events=5000, max_bytes=8 * MiB)
    out = batches(b, [64_000] * 2000)
    assert all(sum(batch) <= 8 * MiB for batch in out)
    assert max(len(batch) for batch in out) == (8 * MiB) // 64_000
    assert sum(len(batch) for batch in out) == 2000


def test_large_events_after_small_ones_pass_the_budget_by_one_ask_at_most():
    """Users (600 B) then embeddings (64 kB) in one consumer: when the embeddings arrive the
    estimate says 600 B, and consume() takes whatever is asked for."""
    b = BatchBudget(max_events=5000, max_bytes=8 * MiB)
    [small] = batches(b, [600] * 5000)
    mixed = fill(b, [600] * 100 + [64_000] * 5000)
    assert sum(mixed) <= 8 * MiB + b.ask_limit * 64_000  # at most twice the budget
    nxt = fill(b, [64_000] * 5000)
    assert sum(nxt) <= 8 * MiB  # the estimate has caught up


def test_small_events_after_a_large_one_are_taken_in_full_asks_again_soon():
    b = BatchBudget(max_events=5000, max_bytes=8 * MiB)
    fill(b, [1_000_000])  # one large document
    asks: list[int] = []
    fill(b, [600] * 5000, asks=asks)
    assert asks[:5] == [8, 16, 33, 66, 128]  # the estimate halves towards 600 B per ask


def test_a_restart_on_a_backlog_of_large_rows_asks_for_one_message_first():
    """Nothing is known of the sizes at start: 5 MB documents must not be taken
    `ask_limit` (128) at a time, i.e. 640 MB, before the first one has been seen."""
    b = BatchBudget(max_events=5000, max_bytes=8 * MiB)
    asks: list[int] = []
    first = fill(b, [5_000_000] * 300, asks=asks)
    assert asks == [1] and len(first) == 1
    assert all(len(batch) == 1 for batch in batches(b, [5_000_000] * 20))  # 8 MiB holds one


def test_one_message_larger_than_the_budget_still_goes_alone():
    b = BatchBudget(max_events=100, max_bytes=1000, size_estimate=5000, seen=True)
    assert b.next_count(0, 0) == 1
    assert b.next_count(1, 5000) == 0


def test_the_event_count_bounds_even_tiny_messages():
    b = BatchBudget(max_events=10, max_bytes=1 << 30, size_estimate=1, seen=True)
    assert b.next_count(0, 0) == 10
    assert b.next_count(7, 7) == 3
    assert b.next_count(10, 10) == 0


def test_the_ask_limit_follows_the_budget():
    assert BatchBudget(max_events=5000, max_bytes=8 * MiB).ask_limit == 128
    assert BatchBudget(max_events=5000, max_bytes=256 << 10).ask_limit == 4
    assert BatchBudget(max_events=5000, max_bytes=1000).ask_limit == 1


@given(st.lists(st.integers(min_value=0, max_value=200_000), min_size=1, max_size=600),
       st.integers(min_value=1, max_value=500), st.integers(min_value=1_000, max_value=2_000_000))
def test_a_batch_is_bounded_and_never_empty(sizes, max_events, max_bytes):
    """Whatever the sizes, even when consume() takes all it is asked for: at least one
    message, at most max_events, in order; below the byte budget before its last ask, and
    that ask no larger than ask_limit."""
    b = BatchBudget(max_events=max_events, max_bytes=max_bytes)
    queue = sizes
    while queue:
        asks: list[int] = []  # what each consume call returned
        taken = fill(b, queue, asks=asks)
        assert 1 <= len(taken) <= max_events
        assert taken == queue[:len(taken)]  # in order, nothing skipped
        before_last = len(taken) - asks[-1]
        assert before_last == 0 or sum(taken[:before_last]) < max_bytes
        assert asks[-1] <= b.ask_limit
        queue = queue[len(taken):]

"""The batch budget: a batch ends at its event count or its byte budget, whichever first,
whatever the size of the messages (batching.py)."""

from hypothesis import given
from hypothesis import strategies as st

from replicator.apply.batching import BatchBudget


def fill(budget: BatchBudget, sizes: list[int], prefetched_bytes: int | None = None,
         asks: list[int] | None = None) -> list[int]:
    """What the runner's consume loop takes from a topic of messages of `sizes`: a consume
    call returns what is asked, but at most what librdkafka has prefetched (its queue is
    bounded by bytes, at least one message) or what is left."""
    taken: list[int] = []
    queue = list(sizes)
    while queue:
        want = budget.next_count(len(taken), sum(taken))
        if want <= 0:
            break
        got = queue[:want]
        if prefetched_bytes is not None:
            n, total = 0, 0
            while n < len(got) and (n == 0 or total + got[n] <= prefetched_bytes):
                total += got[n]
                n += 1
            got = got[:n]
        queue = queue[len(got):]
        if asks is not None:
            asks.append(len(got))
        budget.observe(len(got), sum(got))
        taken += got
        if len(got) < want:
            break  # the consume call timed out short of what was asked
    return taken


def test_small_events_fill_the_event_count_in_a_few_asks():
    b = BatchBudget(max_events=5000, max_bytes=8 << 20, mean_bytes=600)
    asks = []
    assert len(fill(b, [600] * 20000, asks=asks)) == 5000
    assert asks == [64, 64, 128, 256, 512, 1024, 2048, 904]  # the batch doubles per ask


def test_a_jump_in_message_size_passes_the_budget_by_one_ask_at_most():
    """A consumer of users (600 B) and embeddings (64 kB) topics: the mean is 600 B when
    the embeddings arrive, and consume() takes whatever is asked for."""
    b = BatchBudget(max_events=5000, max_bytes=8 << 20, mean_bytes=600)
    fill(b, [600] * 5000)
    first = fill(b, [64_000] * 5000)
    assert sum(first) <= 2 * (8 << 20)
    assert 64 * 64_000 < sum(first)  # it does pass the budget, once
    second = fill(b, [64_000] * 5000)
    assert sum(second) <= 8 << 20  # the mean has caught up


def test_large_events_stop_at_the_byte_budget():
    b = BatchBudget(max_events=5000, max_bytes=8 << 20)
    batches = []
    queue = [64_000] * 2000
    while queue:
        got = fill(b, queue, prefetched_bytes=8 << 20)
        queue = queue[len(got):]
        batches.append(got)
    # the first ask (64) cannot know their size; after it, asks are sized to the budget
    assert all(sum(batch) <= 8 << 20 for batch in batches)
    assert max(len(batch) for batch in batches[1:]) == (8 << 20) // 64_000
    assert sum(len(batch) for batch in batches) == 2000


def test_one_message_larger_than_the_budget_still_goes_alone():
    b = BatchBudget(max_events=100, max_bytes=1000, mean_bytes=5000)
    assert b.next_count(0, 0) == 1
    assert b.next_count(1, 5000) == 0


def test_the_event_count_bounds_even_tiny_messages():
    b = BatchBudget(max_events=10, max_bytes=1 << 30, mean_bytes=1)
    assert b.next_count(0, 0) == 10
    assert b.next_count(7, 7) == 3
    assert b.next_count(10, 10) == 0
    b = BatchBudget(max_events=5000, max_bytes=1 << 30, mean_bytes=1)
    assert b.next_count(0, 0) == 64
    assert b.next_count(3000, 3000) == 2000


@given(st.lists(st.integers(min_value=0, max_value=200_000), min_size=1, max_size=600),
       st.integers(min_value=1, max_value=500), st.integers(min_value=1_000, max_value=2_000_000))
def test_a_batch_is_bounded_and_never_empty(sizes, max_events, max_bytes):
    """Whatever the sizes, even when consume() takes all it is asked for: at least one
    message, at most max_events, in order. A message's size is known only once it is
    consumed, so the bound on bytes is: below the budget before the last ask, and that
    ask took no more messages than the batch already held (or the first 64)."""
    b = BatchBudget(max_events=max_events, max_bytes=max_bytes)
    queue = sizes
    while queue:
        asks: list[int] = []  # what each consume call returned
        taken = fill(b, queue, asks=asks)
        assert 1 <= len(taken) <= max_events
        assert taken == queue[:len(taken)]  # in order, nothing skipped
        before_last = len(taken) - asks[-1]
        assert sum(taken[:before_last]) < max_bytes or before_last == 0
        assert asks[-1] <= max(64, before_last)
        queue = queue[len(taken):]


def test_the_first_ask_fits_the_budget_for_embedding_sized_messages():
    assert BatchBudget(max_events=5000, max_bytes=8 << 20).next_count(0, 0) == 64
    assert BatchBudget(max_events=5000, max_bytes=256 << 10).next_count(0, 0) == 4
    assert BatchBudget(max_events=5000, max_bytes=1000).next_count(0, 0) == 1

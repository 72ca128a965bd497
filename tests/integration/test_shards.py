"""A batch written over several connections at once (apply/shards.py), on the real PostgreSQL.

* For random sequences of change events applied in random batches, writing each batch as
  shards (2 or 3 connections, each shard its own transaction) leaves the target exactly as
  one transaction per batch does; and replaying any prefix sharded changes nothing. The
  test also checks the shards really ran in parallel (no fallback), so it is not the
  one-connection path passing under another name.
* Two shards that write the same unique value: one waits on the other's uncommitted row
  until the lock timeout, every shard is rolled back (nothing of the batch is committed),
  `execute` hands the batch back (None), the fallback is counted, and the helpers rest
  before trying again.
* A helper connection killed between batches: that batch is handed back with nothing of it
  committed, and the next one is written in parallel again on a new connection.
* A prune holding the horizon lock: the shards give up after the lock timeout instead of
  waiting, and hand the batch back.
"""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from replicator import metrics
from replicator.apply import fastpath
from replicator.apply.shards import ShardWriters
from tests.integration.sink_targets import MYSQL_SOURCE, ACCOUNTS, prepared_sink
from tests.integration.test_sink_replay import DDL, NOTES, TRUNCATE, events, state, step

pytestmark = pytest.mark.stack

HANDLES = """
  - source: main
    table: Handle
    dropped: []
    targets:
      - table: app.handles
        columns:
          id: {key: id}
          handle: handle
        on_delete: hard
"""


@pytest.fixture(scope="module")
def db(stack, tmp_path_factory):
    sink, ms = prepared_sink(stack, tmp_path_factory.mktemp("shards"), MYSQL_SOURCE + ACCOUNTS + NOTES + HANDLES,
                             DDL + "CREATE TABLE app.handles (id uuid PRIMARY KEY, handle text UNIQUE);\n")
    writers = ShardWriters(SecretStr(sink.conn.info.dsn), ms, 3)
    yield sink, ms, writers
    writers.shutdown()
    sink.conn.close()


def plans_of(sink, ops, n):
    return [sink.planner.plan(shard) for shard in fastpath.BATCH.split_ops(ops, n) if shard]


def apply_sharded(sink, ms, writers, evs, cuts, n) -> int:
    """Apply `evs` in the batches `cuts` makes, each split in `n` shards; returns how many
    batches of more than one shard were not written in parallel."""
    bounds = sorted({0, len(evs), *[c % (len(evs) + 1) for c in cuts]})
    handed_back = 0
    for a, b in zip(bounds, bounds[1:]):
        plans = plans_of(sink, [op for e in evs[a:b] for op in ms.map_event(e)], n)
        if writers.execute(sink, plans) is None:
            handed_back += len(plans) > 1
            with sink.conn.transaction():
                for plan in plans:
                    sink.execute(plan)
    return handed_back


def apply_in_one_transaction_per_batch(sink, ms, evs, cuts) -> None:
    bounds = sorted({0, len(evs), *[c % (len(evs) + 1) for c in cuts]})
    for a, b in zip(bounds, bounds[1:]):
        with sink.conn.transaction():
            sink.apply([op for e in evs[a:b] for op in ms.map_event(e)])


def fresh(sink) -> None:
    with sink.conn.transaction():
        sink.conn.execute(TRUNCATE + ", app.handles")
    sink._direct_rest.clear()


@settings(max_examples=50, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture], database=None)
@given(steps=st.lists(step, min_size=1, max_size=30), cuts=st.lists(st.integers(0, 40), max_size=4),
       n=st.integers(2, 3), prefix=st.integers(0, 30), replay_cuts=st.lists(st.integers(0, 40), max_size=4))
def test_sharded_batches_leave_the_target_as_one_transaction_does(db, steps, cuts, n, prefix, replay_cuts):
    sink, ms, writers = db
    evs = events(steps)
    fresh(sink)
    apply_in_one_transaction_per_batch(sink, ms, evs, cuts)
    once = state(sink.conn)
    fresh(sink)
    assert apply_sharded(sink, ms, writers, evs, cuts, n) == 0
    assert state(sink.conn) == once
    assert apply_sharded(sink, ms, writers, evs[:prefix], replay_cuts, n) == 0
    assert apply_sharded(sink, ms, writers, evs, replay_cuts, n) == 0
    assert state(sink.conn) == once


def _handle_event(i: int, key: int, handle: str):
    from replicator.events import ChangeEvent, KafkaCoordinates

    return ChangeEvent(kind="change", coordinates=KafkaCoordinates("t", 0, i), source_connector="mysql",
                       source_name="main", database="main", table="Handle", op="c",
                       after={"id": key, "handle": handle}, position=(2, 100 + i, 0),
                       source_ts_ms=1_700_000_000_000 + i)


def _keys_in_two_shards(sink, ms) -> tuple[int, int]:
    """Two source ids whose target rows land in different shards of 3."""
    first = None
    for k in range(1, 100):
        [op] = ms.map_event(_handle_event(0, k, "x"))
        shard = fastpath.BATCH.split_ops([op], 3).index([op])
        if first is None:
            first = (k, shard)
        elif shard != first[1]:
            return first[0], k
    raise AssertionError("no two keys in different shards")


def test_shards_that_trade_a_unique_value_hand_the_batch_back(db):
    sink, ms, writers = db
    fresh(sink)
    a, b = _keys_in_two_shards(sink, ms)
    ops = [op for i, k in enumerate((a, b)) for op in ms.map_event(_handle_event(i, k, "same"))]
    plans = plans_of(sink, ops, 3)
    assert len(plans) == 2
    before = metrics.SHARD_FALLBACKS.labels("LockNotAvailable")._value.get()
    writers._rest = [0, 1]
    # one shard waits on the other's uncommitted row, which waits for it before committing:
    # the lock timeout ends the wait, and both shards are rolled back
    assert writers.execute(sink, plans) is None
    assert metrics.SHARD_FALLBACKS.labels("LockNotAvailable")._value.get() == before + 1
    with sink.conn.transaction():
        assert sink.conn.execute("SELECT count(*) FROM app.handles").fetchone()[0] == 0
    # so the one-transaction path sees the batch whole: the first in batch order keeps the value
    with pytest.raises(psycopg.errors.UniqueViolation), sink.conn.transaction():
        for plan in plans:
            sink.execute(plan)
    sink.forget_stages()
    # the helpers rest for the next batch (the caller writes it alone), then try again
    assert writers._rest[0] == 1
    assert writers.execute(sink, plans) is None
    assert writers._rest[0] == 0
    fresh(sink)
    ok = [op for i, k in enumerate((a, b)) for op in ms.map_event(_handle_event(i, k, f"h{k}"))]
    assert writers.execute(sink, plans_of(sink, ok, 3)) is not None
    assert writers._rest == [0, 1]


def test_a_killed_helper_connection_hands_one_batch_back_and_is_replaced(db):
    sink, ms, writers = db
    fresh(sink)
    writers._rest = [0, 1]
    a, b = _keys_in_two_shards(sink, ms)
    batch = lambda i, tag: plans_of(sink, [op for j, k in enumerate((a, b))  # noqa: E731
                                           for op in ms.map_event(_handle_event(i + j, k, f"{tag}{k}"))], 3)
    assert writers.execute(sink, batch(0, "one")) is not None
    helper_pids = [s.conn.info.backend_pid for s in writers._sinks]
    with sink.conn.transaction():
        for pid in helper_pids:
            assert sink.conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
    # the dead connection is only found out when used: that batch is handed back ...
    plans = batch(10, "two")
    assert writers.execute(sink, plans) is None
    with sink.conn.transaction():
        assert sink.conn.execute("SELECT array_agg(handle ORDER BY handle) FROM app.handles").fetchone()[0] == \
            sorted([f"one{a}", f"one{b}"])  # the live shard's writes were rolled back with the dead one's
    with sink.conn.transaction():
        for plan in plans:
            sink.execute(plan)
    writers._rest = [0, 1]  # skip the rest, to see the replacement at once
    # ... and the next one runs on a new helper connection
    assert writers.execute(sink, batch(20, "three")) is not None
    assert not set(helper_pids) & {s.conn.info.backend_pid for s in writers._sinks}
    with sink.conn.transaction():
        assert sink.conn.execute("SELECT array_agg(handle ORDER BY handle) FROM app.handles").fetchone()[0] == \
            sorted([f"three{a}", f"three{b}"])


def test_a_prune_holding_the_horizon_lock_makes_the_shards_fall_back_not_hang(db):
    """`tombstones prune` holds the horizon lock exclusively while it raises a horizon; each
    shard waits for it shared. A shard gives up after the lock timeout, and the batch is
    handed back (the one-transaction path then waits for the prune without a timeout)."""
    import time

    from replicator.apply.sink import HORIZON_LOCK

    sink, ms, writers = db
    fresh(sink)
    writers._rest = [0, 1]
    a, b = _keys_in_two_shards(sink, ms)
    plans = plans_of(sink, [op for i, k in enumerate((a, b)) for op in ms.map_event(_handle_event(i, k, f"p{k}"))], 3)
    before = metrics.SHARD_FALLBACKS.labels("LockNotAvailable")._value.get()
    with psycopg.connect(sink.conn.info.dsn) as pruner:
        pruner.execute("SELECT pg_advisory_xact_lock(%s)", (HORIZON_LOCK,))
        t0 = time.monotonic()
        assert writers.execute(sink, plans) is None
        assert time.monotonic() - t0 < 5, "the shards must give up, not wait for the prune"
        pruner.rollback()
    assert metrics.SHARD_FALLBACKS.labels("LockNotAvailable")._value.get() == before + 1
    with sink.conn.transaction():
        assert sink.conn.execute("SELECT count(*) FROM app.handles").fetchone()[0] == 0
        for plan in plans:
            sink.execute(plan)
    with sink.conn.transaction():
        assert sink.conn.execute("SELECT count(*) FROM app.handles").fetchone()[0] == 2

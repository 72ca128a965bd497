"""The replay-horizon rule (replicator/apply/horizon.py), without servers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from replicator.apply.horizon import Floor, drop_below_horizon, horizon_of, lowest, partition_floor, table_horizon
from replicator.apply.sink import CopyGroup, DeleteGroup


def test_the_floor_is_the_next_change_to_apply():
    changes = [(8, (1, 80, 0)), (9, (1, 90, 0)), (10, (1, 100, 0)), (11, (1, 110, 0))]
    assert partition_floor(10, changes, True) == Floor((1, 100, 0))


def test_a_caught_up_partition_stands_just_above_its_last_applied_change():
    f = partition_floor(12, [(8, (1, 80, 0)), (9, (1, 90, 0))], True)
    assert f == Floor((1, 90, 0), caught_up=True)
    assert (1, 90, 0) < horizon_of(f) < (1, 90, 1)


def test_caught_up_partitions_stand_above_the_newest_change_of_any():
    """Keys spread a table over partitions: a delete applied in one partition must fall
    below the horizon even though another partition's last change is older."""
    a = partition_floor(2, [(0, (1, 10, 0)), (1, (1, 30, 0))], True)
    b = partition_floor(3, [(0, (1, 20, 0)), (1, (1, 40, 0)), (2, (1, 50, 0))], True)
    assert (1, 50, 0) < horizon_of(lowest([a, b])) < (1, 50, 1)
    # while a partition with a change still to apply holds the horizon at that change
    c = partition_floor(0, [(0, (1, 45, 0))], True)
    assert horizon_of(lowest([a, b, c])) == (1, 45, 0)


def test_a_partition_the_group_never_committed_has_no_floor():
    f = partition_floor(None, [(0, (1, 1, 0))], True)
    assert not f.known and "not committed" in f.reason


def test_an_empty_partition_constrains_nothing():
    assert partition_floor(None, [], False) == Floor(None)
    assert lowest([Floor(None), Floor((2, 5, 0))]) == Floor((2, 5, 0))


def test_unknown_wins_over_any_position():
    bad = Floor(None, "why")
    assert lowest([Floor((1, 1, 0)), bad]) is bad


def test_a_table_fed_by_two_servers_has_no_horizon():
    h = table_horizon({"a.db.T": "a", "b.db.U": "b"}, {"a.db.T": Floor((1, 1, 0)), "b.db.U": Floor((1, 2, 0))})
    assert not h.known and "several source servers" in h.reason


def test_a_table_takes_the_lowest_floor_of_its_topics():
    h = table_horizon({"a.db.T": "a", "a.db.U": "a"}, {"a.db.T": Floor((1, 9, 0)), "a.db.U": Floor((1, 4, 0))})
    assert h == Floor((1, 4, 0))
    both_caught_up = {"a.db.T": Floor((1, 9, 0), caught_up=True), "a.db.U": Floor((1, 4, 0), caught_up=True)}
    assert table_horizon({"a.db.T": "a", "a.db.U": "a"}, both_caught_up) == Floor((1, 9, 0, 0))


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1000)), min_size=1, max_size=40), st.data())
def test_no_change_still_to_apply_lies_below_the_floor(events, data):
    """Whatever the stream (positions in source order, as Debezium writes a partition) and
    wherever the group committed, no event at or after the committed offset is below the
    horizon, and the horizon is a position the partition holds or, caught up, just above the last."""
    positions = sorted((f, p, 0) for f, p in events)
    committed = data.draw(st.integers(0, len(positions)))
    changes = list(enumerate(positions))
    h = horizon_of(partition_floor(committed, changes, True))
    assert h in positions if committed < len(positions) else h[:3] == positions[-1] < h
    assert all(p >= h for o, p in changes if o >= committed)
    assert all(p < h for o, p in changes if o < committed and p < positions[min(committed, len(positions) - 1)])


def groups(positions):
    return [CopyGroup("upsert", "app.t", "c", ("id",), [(i,) for i in range(len(positions))], list(positions),
                      [frozenset({int})], len(positions)),
            DeleteGroup("app.t", "c", [[str(i) for i in range(len(positions))]], list(positions)),
            CopyGroup("upsert", "app.other", "c", ("id",), [(1,)], [(0, 0, 0)], [frozenset({int})], 1)]


@given(st.lists(st.integers(0, 50), min_size=1, max_size=30), st.integers(0, 60))
def test_dropping_below_a_horizon_keeps_exactly_the_newer_writes(raw, h):
    positions = [(1, p, 0) for p in raw]
    steps, dropped = drop_below_horizon(groups(positions), {"app.t": (1, h, 0)})
    newer = [i for i, p in enumerate(positions) if p >= (1, h, 0)]
    assert dropped == 2 * (len(positions) - len(newer))
    kept = {type(s).__name__ + s.table: s for s in steps}
    assert kept["CopyGroupapp.other"].rows == [(1,)]  # another table: untouched
    if not newer:
        assert set(kept) == {"CopyGroupapp.other"}
        return
    assert kept["CopyGroupapp.t"].rows == [(i,) for i in newer] and kept["CopyGroupapp.t"].count == len(newer)
    assert kept["DeleteGroupapp.t"].keys == [[str(i) for i in newer]]
    assert all(p >= (1, h, 0) for s in steps if s.table == "app.t" for p in s.positions)

"""Property tests (hypothesis) for the mapping engine, reduce_ops and the transforms registry."""

from __future__ import annotations

import builtins
import copy
import inspect
import io
import os
import random
import socket
import subprocess
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import transforms
from builders import mysql_change
from replicator.apply.sink import reduce_ops
from replicator.mapping.engine import TargetOp
from replicator.mapping.loader import load_mappings

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES = HERE / "fixtures"

# property runs must not write a hypothesis example database (-p no:cacheprovider runs)
PROPS = settings(database=None, deadline=None, max_examples=150,
                 suppress_health_check=[HealthCheck.too_slow])

SLICE = load_mappings([REPO / "config" / "mappings" / "slice.yaml"], env={})
MERGE = load_mappings([FIXTURES / "merge.yaml"], env={})

# --- strategies -----------------------------------------------------------------------------

ids = st.integers(min_value=1, max_value=2**31 - 1)
texts = st.text(max_size=40)
opt_texts = st.none() | texts
# DATETIME(3) as Debezium encodes it: epoch ms of the wall clock, 1970..2100 (0 = zero date)
epoch_ms = st.integers(min_value=0, max_value=4_102_444_800_000)
emails = st.one_of(st.emails(), texts)


@st.composite
def developer_rows(draw) -> dict:
    """legacy_main.Developer rows (config/legacy/slice_main.sql), every column present."""
    return {
        "id": draw(ids),
        "email": draw(emails),
        "name": draw(opt_texts),
        "pictureUrl": draw(opt_texts),
        "username": draw(opt_texts),
        "hasCompletedOnboarding": draw(st.sampled_from([0, 1])),
        "resetToken": draw(opt_texts),
        "resetTokenExpiry": draw(st.none() | epoch_ms),
        "magicLinkToken": draw(opt_texts),
        "stripeCustomerId": draw(opt_texts),
        "createdAt": draw(epoch_ms),
        "updatedAt": draw(epoch_ms),
    }


ops = st.sampled_from(["c", "u", "r", "d"])


def _event(op: str, table: str, row: dict, pos: int = 1234):
    return mysql_change(op, table, before=row if op in ("u", "d") else None,
                        after=None if op == "d" else row, pos=pos)


# --- (a) transforms are pure ------------------------------------------------------------------


@PROPS
@given(row=developer_rows(), op=ops)
def test_mapping_is_deterministic_and_does_not_mutate_the_row(row, op):
    ev = _event(op, "Developer", row)
    snapshot_after, snapshot_before = copy.deepcopy(ev.after), copy.deepcopy(ev.before)
    first = SLICE.map_event(ev)
    second = SLICE.map_event(ev)
    assert first == second
    assert len(first) == 1
    assert ev.after == snapshot_after
    assert ev.before == snapshot_before


@PROPS
@given(row=developer_rows(), op=ops)
def test_map_row_does_not_mutate_its_input(row, op):
    tm = SLICE.tables["legacy_main.Developer"]
    original = copy.deepcopy(row)
    a = tm.map_row(op, row, (3, 10, 0), 1_700_000_000_000)
    assert row == original
    assert list(row) == list(original)  # not even reordered
    assert a == tm.map_row(op, dict(original), (3, 10, 0), 1_700_000_000_000)


@PROPS
@given(row=developer_rows())
def test_the_same_row_from_two_decodes_maps_equal(row):
    # two independently decoded events (fresh dicts) must give equal ops
    a = SLICE.map_event(_event("c", "Developer", row))
    b = SLICE.map_event(_event("c", "Developer", copy.deepcopy(row)))
    assert a == b


# --- (b) merge contributors stay in their lane --------------------------------------------------


@st.composite
def settings_rows(draw) -> dict:
    return {"id": draw(ids), "developerId": draw(ids), "theme": draw(st.sampled_from(["D", "L", None])),
            "locale": draw(st.none() | st.sampled_from(["de", "fr", "en-GB"]))}


@st.composite
def stats_rows(draw) -> dict:
    return {"id": draw(ids), "developerId": draw(ids),
            "logins": draw(st.none() | st.integers(min_value=0, max_value=2**31)),
            "lastLoginAt": draw(st.none() | epoch_ms)}


@st.composite
def merge_developer_rows(draw) -> dict:
    return {"id": draw(ids), "email": draw(emails), "name": draw(opt_texts),
            "hasCompletedOnboarding": draw(st.none() | st.sampled_from([0, 1])),
            "resetToken": draw(opt_texts), "isDeleted": draw(st.sampled_from([0, 1])),
            "updatedAt": draw(epoch_ms)}


contributions = st.one_of(
    st.tuples(st.just("Developer"), merge_developer_rows()),
    st.tuples(st.just("DeveloperSettings"), settings_rows()),
    st.tuples(st.just("DeveloperStats"), stats_rows()),
)


def _feeds(ms) -> dict:
    return {t.contributor: t for t in ms.target_tables()["app.users"]}


def test_merge_fixture_shape():
    feeds = _feeds(MERGE)
    assert {c: f.owned for c, f in feeds.items()} == {
        "account": ("email", "name", "onboarded", "deleted_at"),
        "settings": ("theme", "locale"),
        "stats": ("login_count", "last_login_at"),
    }
    owned = [set(f.owned) for f in feeds.values()]
    assert not (owned[0] & owned[1] or owned[0] & owned[2] or owned[1] & owned[2])


@PROPS
@given(contribution=contributions, op=ops)
def test_a_merge_contributor_never_writes_columns_it_does_not_own(contribution, op):
    table, row = contribution
    feeds = _feeds(MERGE)
    result = MERGE.map_event(_event(op, table, row))
    for o in result:
        feed = feeds[o.contributor]
        assert o.source_table == f"legacy_main.{table}"
        assert set(o.values) <= set(feed.owned) | set(feed.key)
        if o.kind == "clear":
            assert set(o.values) == set(feed.owned)
            assert all(v is None for v in o.values.values())
        if o.kind == "upsert":
            assert set(feed.key) <= set(o.values)
            assert o.key == tuple(o.values[k] for k in feed.key)


@PROPS
@given(row=stats_rows())
def test_a_soft_deleting_merge_contributor_only_writes_owned_columns(row):
    ms = load_mappings([FIXTURES / "merge_soft.yaml"], env={})
    feed = _feeds(ms)["stats"]
    row = {k: v for k, v in row.items() if k != "lastLoginAt"}  # merge_soft.yaml has no lastLoginAt
    result = ms.map_event(_event("d", "DeveloperStats", row))
    assert [o.kind for o in result] == ["upsert"]
    for o in result:
        assert set(o.values) <= set(feed.owned) | set(feed.key)


# --- (c) reduce_ops -------------------------------------------------------------------------


TABLES = ("app.users", "app.projects")
CONTRIBUTORS = ("a", "b")


@st.composite
def op_batches(draw, distinct_positions: bool = True) -> list[TargetOp]:
    n = draw(st.integers(min_value=0, max_value=30))
    out = []
    pos = 0
    for _ in range(n):
        table = draw(st.sampled_from(TABLES))
        k = (draw(st.integers(min_value=1, max_value=3)),)
        contributor = draw(st.sampled_from(CONTRIBUTORS))
        kind = draw(st.sampled_from(["upsert", "delete", "clear"]))
        # increasing positions, sometimes crossing a binlog file boundary
        pos += draw(st.integers(min_value=1 if distinct_positions else 0, max_value=5))
        position = (3 + pos // 40, pos % 40, draw(st.integers(0, 2)) if not distinct_positions else 0)
        values = {"id": k[0], "v": draw(st.integers())} if kind == "upsert" else {}
        out.append(TargetOp(table, kind, k, values, contributor, position))
    return out


def _group(op: TargetOp) -> tuple:
    return (op.table, op.key, op.contributor)


def _by_position(ops: list[TargetOp]) -> list[TargetOp]:
    return sorted(ops, key=lambda o: (o.position, _group(o)))


@PROPS
@given(batch=op_batches())
def test_reduce_ops_keeps_exactly_the_newest_op_per_key(batch):
    """The newest op per key; before it, when it is not a delete, the newest delete older
    than it (a row deleted and written again: the delete still ends what others wrote)."""
    reduced = reduce_ops(batch)
    groups = {_group(o) for o in batch}
    assert {_group(o) for o in reduced} == groups
    for g in groups:
        mine = [o for o in reduced if _group(o) == g]
        ops = [b for b in batch if _group(b) == g]
        newest = max(ops, key=lambda b: b.position)
        assert mine[-1] is newest
        older_deletes = [b for b in ops if b.kind == "delete" and b.position < newest.position]
        if newest.kind != "delete" and older_deletes:
            assert mine[:-1] == [max(older_deletes, key=lambda b: b.position)]
            assert reduced.index(mine[0]) < reduced.index(mine[-1])  # the delete goes first
        else:
            assert len(mine) == 1


@PROPS
@given(batch=op_batches())
def test_reduce_ops_is_idempotent(batch):
    once = reduce_ops(batch)
    # the same ops (their order across keys is free: `plan` groups them per table and kind)
    assert _by_position(reduce_ops(once)) == _by_position(once)


@PROPS
@given(batch=op_batches(), seed=st.integers())
def test_reduce_ops_ignores_arrival_order_when_positions_are_distinct(batch, seed):
    shuffled = list(batch)
    random.Random(seed).shuffle(shuffled)
    assert _by_position(reduce_ops(shuffled)) == _by_position(reduce_ops(batch))


@PROPS
@given(batch=op_batches(distinct_positions=False))
def test_reduce_ops_on_equal_positions_keeps_the_later_op(batch):
    reduced = reduce_ops(batch)
    last = {_group(o): o for o in reduced}  # a key's kept delete, if any, comes before its newest op
    for g, o in last.items():
        mine = [b for b in batch if _group(b) == g]
        top = max(b.position for b in mine)
        assert o is [b for b in mine if b.position == top][-1]


# --- (d) transforms do no I/O -------------------------------------------------------------------


class IOAttempted(BaseException):
    """Raised by the patched I/O entry points; a BaseException so `except Exception` cannot hide it."""


def _project_transforms() -> dict[str, tuple[str, object]]:
    registry = transforms.load_all()
    return {name: entry for name, entry in sorted(registry.items())
            if getattr(entry[1], "__module__", "") in transforms.MODULES}


PROJECT_TRANSFORMS = _project_transforms()


def test_the_registry_holds_the_project_transforms():
    assert {"coalesce", "lower_trim", "empty_to_null", "display_name", "always"} <= set(PROJECT_TRANSFORMS)
    assert PROJECT_TRANSFORMS["always"][0] == "predicate"
    assert PROJECT_TRANSFORMS["display_name"][0] == "column"


scalars = st.one_of(st.none(), st.text(max_size=30), st.integers(), st.booleans(),
                    st.floats(allow_nan=True), st.binary(max_size=10),
                    st.sampled_from(["", " ", "a@b", "  X@Y.z ", "0", "null"]))


def _arity(fn) -> tuple[int, int]:
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        fixed = sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
        return fixed, fixed + 4
    n = sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and p.default is p.empty)
    return n, n


def _no_io_patches(attempts: list[str]) -> ExitStack:
    def blocker(what: str):
        def block(*args, **kwargs):
            attempts.append(what)
            raise IOAttempted(what)
        return block

    stack = ExitStack()
    for target, attr in ((socket, "socket"), (builtins, "open"), (io, "open"), (os, "open"),
                         (subprocess, "Popen")):
        stack.enter_context(mock.patch.object(target, attr, blocker(f"{target.__name__}.{attr}")))
    return stack


@pytest.mark.parametrize("name", sorted(PROJECT_TRANSFORMS))
@PROPS
@given(data=st.data())
def test_transforms_do_no_io(name, data):
    kind, fn = PROJECT_TRANSFORMS[name]
    if kind == "column":
        lo, hi = _arity(fn)
        args = data.draw(st.lists(scalars, min_size=lo, max_size=hi), label="args")
    else:
        args = [data.draw(st.dictionaries(st.text(max_size=10), scalars, max_size=6), label="row")]
    attempts: list[str] = []
    with _no_io_patches(attempts):
        try:
            fn(*args)
        except (TypeError, ValueError, AttributeError, ArithmeticError):  # bad data, not I/O
            pass
    assert attempts == []


def test_the_io_guard_itself_catches_io():
    attempts: list[str] = []
    with pytest.raises(IOAttempted), _no_io_patches(attempts):
        open(os.devnull)
    with pytest.raises(IOAttempted), _no_io_patches(attempts):
        socket.socket()
    assert attempts == ["builtins.open", "socket.socket"]

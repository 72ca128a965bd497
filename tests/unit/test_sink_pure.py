"""Unit tests for the pure helpers of replicator.apply.sink (no database)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replicator.apply import sink
from replicator.apply.sink import key_parts, pos_column, pos_text
from replicator.keys import remap_key
from replicator.mapping.engine import TargetOp

U1 = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
U2 = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")


def upsert(key=U1, pos=(3, 100, 0), contributor="developer", table="app.users", **values):
    return TargetOp(table, "upsert", (key,), {"id": key, **values}, contributor, pos)


def delete(key=U1, pos=(3, 100, 0), contributor="developer", table="app.users"):
    return TargetOp(table, "delete", (key,), {}, contributor, pos)


def clear(key=U1, pos=(3, 100, 0), contributor="settings", table="app.users"):
    return TargetOp(table, "clear", (key,), {"theme": None}, contributor, pos, creates_row=False)


# --- reduce_ops -----------------------------------------------------------------------------


@pytest.fixture(params=["python", "c"])
def reduce_ops(request):
    """Each reduce test runs on both: sink.reduce_ops and the C core's (fastpath.py)."""
    if request.param == "python":
        return sink.PYTHON_PLAN.reduce_ops
    from replicator import _fastmap

    return _fastmap.reduce_ops


def test_delete_after_upsert_keeps_the_delete(reduce_ops):
    up, de = upsert(pos=(3, 100, 0), email="a"), delete(pos=(3, 200, 0))
    assert reduce_ops([up, de]) == [de]


def test_upsert_after_delete_keeps_both_the_delete_first(reduce_ops):
    """The row was deleted, then created again: the delete still ends what the table's other
    contributors wrote, as it would in a batch of its own."""
    de, up = delete(pos=(3, 100, 0)), upsert(pos=(3, 200, 0), email="again")
    assert reduce_ops([de, up]) == [de, up]


def test_one_delete_per_key_whatever_the_sequence(reduce_ops):
    d1, u1 = delete(pos=(3, 100, 0)), upsert(pos=(3, 200, 0), email="again")
    d2, u2 = delete(pos=(3, 300, 0)), upsert(pos=(3, 400, 0), email="and again")
    assert reduce_ops([d1, u1, d2, u2]) == [d2, u2]  # the newest delete before the last upsert
    assert reduce_ops([d1, u1, d2]) == [d2]  # ends deleted: that delete is enough


def test_equal_positions_keep_the_later_op(reduce_ops):
    a, b = upsert(pos=(3, 100, 0), email="first"), upsert(pos=(3, 100, 0), email="second")
    [kept] = reduce_ops([a, b])
    assert kept is b
    up, de = upsert(pos=(3, 100, 0)), delete(pos=(3, 100, 0))
    assert reduce_ops([up, de]) == [de]
    assert reduce_ops([de, up]) == [de, up]


def test_an_older_op_arriving_later_loses(reduce_ops):
    new, old = upsert(pos=(3, 200, 0), email="new"), upsert(pos=(3, 100, 0), email="old")
    assert reduce_ops([new, old]) == [new]


def test_positions_compare_binlog_file_first(reduce_ops):
    # (4, 10, 0) is in the next binlog file: newer than any position in file 3
    a, b = upsert(pos=(3, 900_000, 5), email="a"), upsert(pos=(4, 10, 0), email="b")
    assert reduce_ops([b, a]) == [b]


def test_row_number_orders_changes_of_one_binlog_event(reduce_ops):
    a, b = upsert(pos=(3, 100, 1), email="a"), upsert(pos=(3, 100, 0), email="b")
    assert reduce_ops([a, b]) == [a]


def test_keys_contributors_and_tables_are_reduced_separately(reduce_ops):
    ops = [
        upsert(U1, (3, 1, 0), email="u1"),
        upsert(U2, (3, 2, 0), email="u2"),
        clear(U1, (3, 3, 0)),
        upsert(U1, (3, 4, 0), table="app.profiles", bio="b"),
        upsert(U1, (3, 5, 0), email="u1 again"),
    ]
    out = reduce_ops(ops)
    assert out == [ops[4], ops[1], ops[2], ops[3]]


def test_reduce_ops_of_nothing(reduce_ops):
    assert reduce_ops([]) == []
    assert reduce_ops(iter([])) == []


def test_reduce_ops_accepts_a_generator(reduce_ops):
    gen = (upsert(pos=(3, i, 0), email=str(i)) for i in range(5))
    [kept] = reduce_ops(gen)
    assert kept.values["email"] == "4"


# --- key_parts ------------------------------------------------------------------------------


def test_key_parts_is_one_list_of_texts_per_key_column():
    assert key_parts([(U1, 7), (U2, None)]) == [["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                                                  "6ba7b810-9dad-11d1-80b4-00c04fd430c8"], ["7", None]]


def test_key_parts_text_is_what_postgres_casts_back():
    # uuid::text is lowercase; PostgreSQL's uuid input takes either case, but the text is
    # only the CAST's input: the tombstone's key text is computed by PostgreSQL
    u = uuid.UUID("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")
    when = dt.datetime(2024, 1, 1, 12, 30, tzinfo=dt.timezone.utc)
    assert key_parts([(u, 42, "a|b", when, b"\x00\xff", "")]) == [
        ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"], ["42"], ["a|b"], ["2024-01-01 12:30:00+00:00"], ["\\x00ff"], [""]]


def test_key_parts_of_a_remapped_key():
    u = remap_key("legacy_main", "Developer", 42)
    assert key_parts([(u,)]) == [[str(u)]]


@given(st.lists(st.tuples(st.integers(), st.text(), st.none() | st.uuids()), min_size=1, max_size=20))
def test_key_parts_transposes_keys_without_losing_one(keys):
    parts = key_parts(keys)
    assert len(parts) == 3 and all(len(column) == len(keys) for column in parts)
    back = [(int(i), s, None if u is None else uuid.UUID(u)) for i, s, u in zip(*parts)]
    assert back == keys


# --- pos_text -------------------------------------------------------------------------------


def test_pos_text_is_a_bigint_array_literal():
    assert pos_text((3, 900, 0)) == "{3,900,0}"
    assert pos_text((24_023_928, 24_023_976)) == "{24023928,24023976}"
    assert pos_text([2**62, 0]) == "{4611686018427387904,0}"
    assert pos_text(()) == "{}"


def test_pos_text_rejects_non_integers():
    with pytest.raises(ValueError):
        pos_text(("x",))


# --- pos_column -----------------------------------------------------------------------------


@pytest.mark.parametrize("contributor,column", [
    ("developer", "_pos_developer"),
    ("Developer", "_pos_developer"),
    ("developer_settings", "_pos_developer_settings"),
    ("Developer Settings-v2", "_pos_developer_settings_v2"),
    ("legacy.main", "_pos_legacy_main"),
    ('x"; DROP TABLE app.users; --', "_pos_x___drop_table_app_users____"),
    ("café", "_pos_caf_"),
])
def test_pos_column_sanitises_names(contributor, column):
    assert pos_column(contributor) == column


def test_pos_column_is_a_plain_identifier():
    import re

    for name in ("a", "Account", "ä-ö ü", "1st feed", "ünïcødé"):
        assert re.fullmatch(r"_pos_[a-z0-9_]+", pos_column(name))


# --- planning -------------------------------------------------------------------------------


def test_ops_of_one_shape_in_any_key_order_form_one_group_with_values_in_column_order():
    from replicator.apply.sink import WritePlanner
    from replicator.mapping.loader import load_mappings
    from replicator.stack.manager import REPO_ROOT

    planner = WritePlanner(load_mappings([REPO_ROOT / "config" / "mappings"], env={}))
    a = TargetOp("app.users", "upsert", (U1,), {"id": U1, "email": "a", "name": "A"}, "developer", (1, 1, 0))
    b = TargetOp("app.users", "upsert", (U2,), {"name": "B", "id": U2, "email": "b"}, "developer", (1, 2, 0))
    c = TargetOp("app.users", "upsert", (uuid.uuid4(),), {"id": U1, "email": "c"}, "developer", (1, 3, 0))
    plan = planner.plan([a, b, c])
    groups = [(g.columns, g.rows) for g in plan.steps]
    assert groups == [(("id", "email", "name"), [(U1, "a", "A"), (U2, "b", "B")]), (("id", "email"), [(U1, "c")])]
    assert plan.per_table == {"app.users": 3}

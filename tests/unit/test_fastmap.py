"""The C core (replicator/_fastmap.c) gives exactly what the Python path gives.

Every message goes through `FastMapper.map` and, separately, through the runner's Python
path (`Runner._map`: decode_message + MappingSet.map_event); the two results must be equal
value for value, with the same Python types, for any envelope: canonical changes, which
the C core must take itself (counted), and every variation it must hand back (deletes,
unknown binlog files, drift, missing columns, values a converter refuses, odd snapshot
and transaction fields, undecodable bytes).
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import transforms
from replicator.apply import fastpath
from replicator.apply.runner import Runner
from replicator.config import Settings
from replicator.events import _binlog_numbers
from replicator.mapping.engine import TargetOp
from replicator.mapping.loader import load_mappings

TOPIC = "legacy_main.legacy_main.Account"


@transforms.column_function(name="test_fastmap_initials")
def _initials(first: Any, last: Any) -> Any:
    if first == "boom":
        raise ValueError("a transform refusing a value")
    if first == "interrupt":
        raise KeyboardInterrupt  # as a signal handler may raise inside any Python code
    return None if first is None and last is None else f"{(first or '?')[:1]}{(last or '?')[:1]}"


MAPPING = """\
version: 1
sources:
  legacy_main:
    kind: mysql
    topic_prefix: legacy_main
    database: legacy_main
    timezone: UTC
tables:
  - source: legacy_main
    table: Owner
    key: [id]
    targets:
      - table: app.owners
        columns:
          id: {key: id}
  - source: legacy_main
    table: Account
    key: [id]
    dropped: [secret]
    targets:
      - table: app.accounts
        columns:
          id: {key: id}
          owner_id: {ref: legacy_main.Owner, ref_column: ownerId}
          email: {function: lower_trim, args: [email]}
          initials: {function: test_fastmap_initials, args: [first, last]}
          first: first
          nickname: {from: nick, default: "anonymous"}
          active: {from: active, type: boolean}
          created_at: {from: createdAt, type: timestamptz}
          label: {from: label, type: text}
          origin: {const: legacy_main}
          tier: {const: 3}
        soft_delete: {flag: isDeleted, at: deletedAt}
        on_delete: soft
      - table: billing.accounts
        contributor: billing
        key: [account_id]
        columns:
          account_id: {key: id}
          plan: {from: plan, default: free}
        on_delete: hard
  - source: legacy_main
    table: Tag
    key: [id]
    targets:
      - table: app.tags
        columns:
          id: {key: id}
          label: label
        on_delete: soft
  - source: legacy_main
    table: Packed
    key: [id]
    targets:
      - table: app.packed
        columns:
          id: {key: id}
          extra: {pack: {a: a, b: b}}
"""


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> Runner:
    path = Path(tmp_path_factory.mktemp("fastmap")) / "mapping.yaml"
    path.write_text(textwrap.dedent(MAPPING))
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:9", kafka_group_id="test_fastmap",
                        target_dsn="postgresql://unused", metrics_port=0)
    return Runner(settings, load_mappings([path], env={}))


def test_the_extension_is_built():
    # the suite requires the C core: a build that lost it must fail here, not skip
    assert fastpath.available(), "replicator/_fastmap.c was not built: run `pip install -e .` with a C compiler"
    from replicator import _fastmap

    assert callable(_fastmap.map_batch)


def test_eligible_tables(runner):
    # the packed column has no program: that table takes the Python path
    assert runner.mapper.tables == ["legacy_main.Account", "legacy_main.Owner", "legacy_main.Tag"]


def account(**over: Any) -> dict[str, Any]:
    row = {"id": 7, "ownerId": 3, "email": " A@B.io ", "first": "Ada", "last": "Lovelace", "nick": None,
           "active": 1, "createdAt": 1700000000123, "label": "x", "plan": "pro", "secret": "s",
           "isDeleted": 0, "deletedAt": None}
    row.update(over)
    return row


def envelope(op: str = "c", after: dict | None = None, before: dict | None = None, **source: Any) -> dict:
    src = {"version": "3.6.3.Final", "connector": "mysql", "name": "legacy_main", "ts_ms": 1700000000999,
           "snapshot": "false", "db": "legacy_main", "table": "Account", "server_id": 1,
           "file": "binlog.000007", "pos": 4000, "row": 0}
    src.update(source)
    return {"before": before, "after": after if after is not None or op == "d" else account(), "op": op,
            "ts_ms": 1700000001000, "source": src, "transaction": None}


def message(value: Any, key: Any = None, offset: int = 0, topic: str = TOPIC, raw: bool = False) -> Message:
    enc = (lambda v: v) if raw else (lambda v: None if v is None else json.dumps(v).encode())
    return Message(topic=topic, partition=2, offset=offset, key=enc(key if key is not None or raw else {"id": 7}),
                   value=enc(value))


def both(runner: Runner, msgs: list[Message]) -> tuple[list, list, int]:
    """(C core's results, the Python path's, how many messages the C core handed back)."""
    slow_calls = []
    mapper = fastpath.FastMapper(runner.mappings, lambda m: (slow_calls.append(m), runner._map(m))[1])
    fast = mapper.map(msgs)
    return fast, [runner._map(m) for m in msgs], len(slow_calls)


def assert_same(fast: list, slow: list) -> None:
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow):
        assert type(a) is type(b) is fastpath.Mapped
        assert a.msg is b.msg
        assert a.event == b.event
        assert (type(a.error), str(a.error)) == (type(b.error), str(b.error))
        assert list(a.ops) == list(b.ops)
        for x, y in zip(a.ops, b.ops):
            assert type(x) is type(y)
            assert [(k, type(v)) for k, v in x.values.items()] == [(k, type(v)) for k, v in y.values.items()]
            # an aware datetime equals another of the same instant in any zone: the zone too
            assert [(v.tzinfo, v.fold) for v in x.values.values() if isinstance(v, datetime)] == \
                [(v.tzinfo, v.fold) for v in y.values.values() if isinstance(v, datetime)]
            assert list(map(type, x.key)) == list(map(type, y.key))
            assert type(x.position) is type(y.position) and list(map(type, x.position)) == [int] * len(x.position)


def warm(runner: Runner) -> None:
    """The C core reads a binlog file's number from the cache the Python path fills."""
    runner._map(message(envelope()))
    assert "binlog.000007" in _binlog_numbers


def test_canonical_changes_are_taken_by_the_c_core(runner):
    warm(runner)
    msgs = [message(envelope(op, account(id=i, createdAt=1700000000000 + i * 997)), {"id": i}, offset=i)
            for i, op in enumerate(["c", "u", "r"] * 20)]
    msgs.append(message(envelope("c", account(id=99)), topic="legacy_main.legacy_main.Owner"))
    # a soft-delete target without a soft_delete rule: deleted_at is NULL while the row exists
    msgs.append(message(envelope("u", {"id": 5, "label": "x"}, table="Tag"), topic="legacy_main.legacy_main.Tag"))
    fast, slow, handed_back = both(runner, msgs)
    assert_same(fast, slow)
    assert handed_back == 1  # only the Owner event: its row does not match the Owner mapping's columns
    assert all(m.error is None and len(m.ops) == 2 for m in fast[:-2])
    assert fast[-1].ops[0].values == {"id": fast[-1].ops[0].key[0], "label": "x", "deleted_at": None}


def test_mapping_a_batch_releases_the_previous_one_item_by_item(runner):
    """The runner hands the previous batch's Mapped to the next map call (Runner.prepare):
    each is released as a message is mapped, and the mapping is the same."""
    warm(runner)
    msgs = [message(envelope("c", account(id=i)), {"id": i}, offset=i) for i in range(6)]
    previous = runner.mapper.map(msgs)
    event = previous[0].event
    refs = sys.getrefcount(event)
    shorter = msgs[:4]
    now = runner.mapper.map(shorter, previous)
    # one item per message mapped; the rest goes when the caller drops the list
    assert previous[:4] == [None] * 4 and all(m is not None for m in previous[4:])
    assert sys.getrefcount(event) == refs - 1
    assert_same(now, [runner._map(m) for m in shorter])
    longer = msgs + msgs
    assert_same(runner.mapper.map(longer, list(now)), [runner._map(m) for m in longer])
    python_only = fastpath.FastMapper(runner.mappings, runner._map, enabled=False)
    spent = list(now)
    assert_same(python_only.map(shorter, spent), [runner._map(m) for m in shorter])
    assert spent == []


HANDED_BACK = {
    "delete": envelope("d", None, account()),
    "truncate": envelope("t", None, None),
    "unknown binlog file": envelope(file="binlog.009999"),
    "position as text": envelope(pos="4000"),
    "postgresql connector": envelope(connector="postgresql"),
    "other table in the topic": envelope(table="Other"),
    "other database": envelope(db="elsewhere"),
    "new column (drift)": envelope(after=account(brandNew=1)),
    "missing column": envelope(after={k: v for k, v in account().items() if k != "email"}),
    "a transform refuses": envelope(after=account(first="boom")),
    "a converter refuses": envelope(after=account(active="maybe")),
    "a key beyond the int range": envelope(after=account(id=2**70)),
    "snapshot as a number": envelope(snapshot=1),
    "no source": {"op": "c", "after": account()},
}


@pytest.mark.parametrize("case", sorted(HANDED_BACK))
def test_what_the_c_core_hands_back_maps_as_before(runner, case):
    warm(runner)
    fast, slow, handed_back = both(runner, [message(HANDED_BACK[case])])
    assert_same(fast, slow)
    assert handed_back == 1


KEYS = [b'{"id": 7}', b' {"id":7} ', b'{"id": 7, "id": 8}', b'{"\\u0069d": 7}', b'{"id": "\xc3\xa9"}',
        b'{"id": 7, "other": [1]}', b'{"id": 7}x', b'{"id": 7', b'[7]', b'7', b'null', b'{}', b'{"id": 1e3}',
        b'{"id": 99999999999999999999}', b'{"\xff": 1}', b'{"id": 7}\n', b'']


@pytest.mark.parametrize("key", KEYS, ids=lambda k: repr(k)[:30])
def test_a_message_key_reads_as_orjson_reads_it(runner, key):
    """The C core reads a flat key object itself (read_key), orjson the rest; a key that is
    not JSON sends the message to the Python path, which dead-letters it."""
    import orjson

    warm(runner)
    fast, slow, handed_back = both(runner, [message(json.dumps(envelope()).encode(), key=key, raw=True)])
    assert_same(fast, slow)
    try:
        orjson.loads(key)
        assert handed_back == 0 and fast[0].error is None
    except orjson.JSONDecodeError:
        assert handed_back == 1 and type(fast[0].error).__name__ == "DecodeError"


def test_a_base_exception_in_a_transform_is_not_swallowed(runner):
    # the C core hands an Exception back to the Python path; a KeyboardInterrupt (or
    # SystemExit) raised in a transform stops the batch, as it stops the Python path
    warm(runner)
    msg = message(envelope(after=account(first="interrupt")))
    with pytest.raises(KeyboardInterrupt):
        runner._map(msg)
    with pytest.raises(KeyboardInterrupt):
        runner.mapper.map([message(envelope()), msg])


def test_bytes_that_are_not_an_envelope(runner):
    warm(runner)
    msgs = [message(b"{not json", raw=True, key=b'{"id": 7}'), message(b"[1, 2]", raw=True, key=b'{"id": 7}'),
            message(json.dumps(envelope()).encode(), raw=True, key=b"{broken"),
            message(json.dumps(envelope()).encode(), raw=True, key=b"[7]"),
            message(None, raw=True, key=b'{"id": 7}'),
            message(json.dumps({"schema": {}, "payload": envelope()}).encode(), raw=True, key=b'{"id": 7}')]
    fast, slow, _ = both(runner, msgs)
    assert_same(fast, slow)
    assert [type(m.error).__name__ for m in fast[:2]] == ["DecodeError"] * 2


values = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**64, max_value=2**64),
                   st.sampled_from([0, 1, -1, 2**42 - 1, 2**42, -2**42, 2**62 - 1, 2**62, 1700000000123]),
                   st.text(max_size=12), st.sampled_from(["true", "false", "2024-01-02T03:04:05Z", "", "boom"]),
                   st.floats(allow_nan=False, allow_infinity=False))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.fixed_dictionaries(
    {}, optional={c: values for c in ("id", "ownerId", "email", "first", "last", "nick", "active", "createdAt",
                                      "label", "plan", "isDeleted", "deletedAt", "secret")}), min_size=1, max_size=6),
    ops=st.lists(st.sampled_from(["c", "u", "r", "d"]), min_size=6, max_size=6),
    snapshot=st.sampled_from(["false", "true", "last", "False", "", None, True, False]),
    tx=st.sampled_from([None, {"id": "12:34"}, {"id": 0}, {"id": ""}, {"other": 1}, "text"]),
    before=st.sampled_from([None, "same", "text"]),
    key=st.sampled_from([{"id": 7}, None, [7], "text"]))
def test_any_envelope_maps_as_the_python_path_does(runner, rows, ops, snapshot, tx, before, key):
    warm(runner)
    msgs = []
    for i, row in enumerate(rows):
        env = envelope(ops[i], row if ops[i] != "d" else None, row if before == "same" or ops[i] == "d" else
                       (before if before == "text" else None), snapshot=snapshot, pos=4000 + i)
        env["transaction"] = tx
        msgs.append(message(env, key=key, offset=i))
    fast, slow, _ = both(runner, msgs)
    assert_same(fast, slow)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.fixed_dictionaries({"id": st.integers(min_value=0, max_value=2**62 - 1),
                                     "ownerId": st.one_of(st.none(), st.integers(min_value=0, max_value=2**62 - 1)),
                                     "active": st.one_of(st.integers(min_value=-3, max_value=3), st.booleans()),
                                     "createdAt": st.integers(min_value=-2**42 + 1, max_value=2**42 - 1),
                                     "nick": st.one_of(st.none(), st.text(max_size=5))}))
def test_well_formed_rows_never_leave_the_c_core(runner, values):
    # the common case over its whole range: the C core's own inline conversions (uuid of
    # an int key, epoch milliseconds to a UTC datetime, an int to a bool) equal the converters
    warm(runner)
    fast, slow, handed_back = both(runner, [message(envelope("u", account(**values)))])
    assert_same(fast, slow)
    assert handed_back == 0


# --- planning: the C core's functions against sink.py's (sink.PYTHON_PLAN) -----------------

_UUIDS = [uuid.UUID(int=i) for i in (1, 2, 3)]
_AWARE = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
_plan_values = st.one_of(st.none(), st.booleans(), st.text(max_size=3), st.sampled_from(_UUIDS),
                         st.sampled_from([_AWARE, _AWARE.replace(tzinfo=None), 0.5, b"x"]),
                         st.integers(min_value=-2**70, max_value=2**70),
                         st.sampled_from([2**15 - 1, 2**15, -2**15, -2**15 - 1, 2**31 - 1, 2**31, -2**31, -2**31 - 1]))


@st.composite
def target_ops(draw):
    kind = draw(st.sampled_from(["upsert", "upsert", "delete", "clear"]))
    key = (draw(st.sampled_from(_UUIDS + [7, "k"])),)
    columns = draw(st.permutations(["id", "a", "b", "c"]))[:draw(st.integers(min_value=1, max_value=4))]
    values = {c: draw(_plan_values) for c in columns} if kind != "delete" else {}
    return TargetOp(draw(st.sampled_from(["app.t", "app.u"])), kind, key, values,
                    draw(st.sampled_from(["main", "side"])),
                    (1, draw(st.integers(min_value=0, max_value=4)), draw(st.integers(min_value=0, max_value=1))),
                    (), "src", draw(st.booleans()), draw(st.booleans()))


def same_ops(a, b) -> None:
    assert a == b
    assert [type(x.new_row) for x in a] == [type(x.new_row) for x in b]
    assert [list(x.values) for x in a] == [list(x.values) for x in b]  # column order too


@settings(max_examples=400, deadline=None)
@given(ops=st.lists(target_ops(), max_size=30))
def test_planning_functions_equal_the_python_ones(ops):
    from replicator import _fastmap
    from replicator.apply.sink import PYTHON_PLAN as py

    reduced = py.reduce_ops(ops)
    same_ops(_fastmap.reduce_ops(ops), reduced)
    parts = py.partition_ops(reduced)
    c_parts = _fastmap.partition_ops(reduced)
    assert list(c_parts) == list(parts)
    for table in parts:
        for c_kind, kind in zip(c_parts[table], parts[table]):
            same_ops(c_kind, kind)
    writes = [o for o in ops if o.values]
    groups = py.by_shape(writes)
    assert _fastmap.by_shape(writes) == groups
    for group in groups:
        columns = tuple(group[0].values)
        try:
            rows, positions = py.copy_rows(group, columns)
        except KeyError as exc:  # a later op of the group lacks a column: both refuse it
            with pytest.raises(KeyError, match=re.escape(str(exc))):
                _fastmap.copy_rows(group, columns)
            continue
        assert _fastmap.copy_rows(group, columns) == (rows, positions)
        assert _fastmap.column_types(rows) == py.column_types(rows)


_split_keys = st.one_of(
    st.tuples(st.sampled_from(_UUIDS)),
    st.tuples(st.integers(min_value=-2**70, max_value=2**70)),
    st.tuples(st.text(max_size=4), st.one_of(st.none(), st.integers(), st.booleans())),
    st.just(()))


@settings(max_examples=300, deadline=None)
@given(ops=st.lists(target_ops(), max_size=40), keys=st.lists(_split_keys, min_size=1, max_size=40),
       n=st.integers(min_value=1, max_value=5))
def test_split_ops_equals_the_python_function_and_keeps_a_key_in_one_shard(ops, keys, n):
    from replicator import _fastmap

    ops = [op._replace(key=keys[i % len(keys)]) for i, op in enumerate(ops)]
    shards = _fastmap.split_ops(ops, n)
    assert shards == fastpath.PYTHON_BATCH.split_ops(ops, n)
    assert len(shards) == n
    # every op once, each shard in batch order, and every op of a key in one shard
    assert sorted(id(o) for shard in shards for o in shard) == sorted(map(id, ops))
    for shard in shards:
        positions = [next(i for i, o in enumerate(ops) if o is op) for op in shard]
        assert positions == sorted(positions)
    owner = {}
    for j, shard in enumerate(shards):
        for op in shard:
            assert owner.setdefault(op.key, j) == j
    # a UUID part hashes as its int, so a key of UUIDs lands where its ints would
    uuid_ops = [op._replace(key=(u,)) for op, u in zip(ops, _UUIDS)]
    assert [len(s) for s in _fastmap.split_ops(uuid_ops, n)] == \
        [len(s) for s in _fastmap.split_ops([op._replace(key=(op.key[0].int,)) for op in uuid_ops], n)]


def test_split_ops_refuses_what_is_not_a_batch():
    from replicator import _fastmap

    with pytest.raises(ValueError):
        _fastmap.split_ops([], 0)
    with pytest.raises(ValueError):
        fastpath.PYTHON_BATCH.split_ops([], 0)
    with pytest.raises(TypeError):
        _fastmap.split_ops([("not", "an", "op")], 2)
    with pytest.raises(TypeError):  # an unhashable key part: as hash() refuses it
        _fastmap.split_ops([TargetOp("t", "upsert", ([1],), {}, "c", (1,), (), "s", True, True)], 2)


def test_column_types_markers():
    from replicator import _fastmap
    from replicator.apply.copy_binary import BeyondInt2, BeyondInt4, NaiveDatetime, column_types

    rows = [(1, _AWARE, None), (2**31, _AWARE.replace(tzinfo=None), "x"), (True, _AWARE, None)]
    expected = [frozenset({int, bool, BeyondInt4, BeyondInt2}), frozenset({datetime, NaiveDatetime}),
                frozenset({type(None), str})]
    assert column_types(rows) == expected
    assert _fastmap.column_types(rows) == expected
    assert _fastmap.column_types([]) == column_types([]) == []


# --- the binary COPY stream: the C core's against psycopg's dumpers -----------------------

_OIDS = {"uuid": 2950, "text": 25, "varchar": 1043, "bool": 16, "int2": 21, "int4": 23, "int8": 20,
         "float8": 701, "timestamptz": 1184, "bytea": 17}
_column_values = {
    # any 128-bit int, and the edges of the C core's digit reading (binary_copy)
    "uuid": st.uuids() | st.builds(uuid.UUID, int=st.integers(min_value=0, max_value=2**128 - 1))
    | st.sampled_from([uuid.UUID(int=v) for v in (0, 1, 2**30 - 1, 2**30, 2**120, 2**128 - 1)]), "text": st.text(max_size=8).filter(lambda t: "\x00" not in t),
    "varchar": st.text(max_size=8).filter(lambda t: "\x00" not in t), "bool": st.booleans(),
    "int2": st.integers(min_value=-2**15, max_value=2**15 - 1),
    "int4": st.integers(min_value=-2**31, max_value=2**31 - 1),
    "int8": st.integers(min_value=-2**63, max_value=2**63 - 1),
    "float8": st.floats(allow_nan=False), "bytea": st.binary(max_size=8),
    "timestamptz": st.datetimes(timezones=st.just(timezone.utc)),
}


@settings(max_examples=300, deadline=None)
@given(data=st.data(), types=st.lists(st.sampled_from(sorted(_OIDS)), min_size=1, max_size=6),
       n=st.integers(min_value=0, max_value=5))
def test_binary_copy_writes_what_psycopg_writes(data, types, n):
    from replicator import _fastmap
    from replicator.apply.copy_binary import psycopg_payload

    rows = [tuple(data.draw(st.none() | _column_values[t]) for t in types) for _ in range(n)]
    positions = [data.draw(st.tuples(*[st.integers(min_value=-2**63, max_value=2**63 - 1)] * 3)) for _ in rows]
    oids = [_OIDS[t] for t in types] + [1016]
    assert _fastmap.binary_copy(rows, positions, oids[:-1]) == psycopg_payload(rows, positions, oids)


def test_binary_copy_leaves_what_it_does_not_write_to_psycopg():
    from replicator import _fastmap

    aware = datetime(2024, 1, 2, tzinfo=timezone.utc)
    for oids, row in [([1184], (aware.replace(tzinfo=None),)),  # naive
                      ([1184], (aware.astimezone(timezone(timedelta(hours=2))),)),  # another zone
                      ([23], (2**31,)), ([21], (2**15,)), ([20], (2**63,)),  # beyond the column's range
                      ([25], (5,)), ([2950], ("not a uuid",)), ([16], (1,)),  # not the column's type
                      ([3802], ("{}",))]:  # a type it does not write (jsonb)
        assert _fastmap.binary_copy([row], [(1, 2, 3)], oids) is None, (oids, row)
    assert _fastmap.binary_copy([(1,)], [(2**64, 0)], [23]) is None  # a position beyond bigint


_hashables = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**130, max_value=2**130), st.text(max_size=4),
              st.uuids(), st.builds(uuid.UUID, int=st.integers(min_value=0, max_value=2**128 - 1)), st.floats()),
    lambda inner: st.lists(inner, max_size=4).map(tuple), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(value=_hashables)
def test_the_c_hash_of_a_batch_key_is_hash(value):
    """reduce_ops hashes a key without UUID.__hash__'s call into Python (value_hash): a
    batch's dict is read with both, so it must be hash() itself."""
    from replicator import _fastmap

    assert _fastmap.value_hash(value) == (hash(value), True)


# --- a batch's bookkeeping: the C core's against fastpath.PYTHON_BATCH ----------------------


@settings(max_examples=200, deadline=None)
@given(picks=st.lists(st.tuples(st.none() | st.binary(max_size=40), st.none() | st.binary(max_size=300),
                                st.booleans()), max_size=20))
def test_message_sizes_equal_the_python_function(picks):
    from confluent_kafka import KafkaError

    from replicator import _fastmap

    msgs = [Message(topic=TOPIC, key=key, value=value, error=KafkaError(KafkaError._PARTITION_EOF) if error else None)
            for key, value, error in picks]
    got = _fastmap.message_sizes(msgs)
    assert got == fastpath.PYTHON_BATCH.message_sizes(msgs)
    assert got[0] == sum(len(v or b"") + len(k or b"") for k, v, _e in picks)
    assert got[2] == sum(e for _k, _v, e in picks)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.tuples(st.sampled_from(["fast", "delete", "bad", "drift", "heartbeat"]),
                                st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=40),
                                st.booleans()), max_size=25))
def test_batch_bookkeeping_equals_the_python_functions(runner, picks):
    from replicator import _fastmap

    warm(runner)
    msgs = []
    for kind, partition, offset, other_topic in picks:
        # a str of its own per message, as a consumer gives: the C functions compare texts
        topic = ("legacy_main.legacy_main.Owner" if other_topic else TOPIC) + " "
        topic = topic[:-1]
        value = {"fast": envelope(ts_ms=1700000000000 + offset), "delete": envelope("d", None, account()),
                 "drift": envelope(after=account(brandNew=1)), "heartbeat": {"ts_ms": 5}}.get(kind)
        raw = b"{not json" if kind == "bad" else json.dumps(value).encode()
        msgs.append(Message(topic=topic, partition=partition, offset=offset, key=b'{"id": 7}', value=raw))
    mapped = runner.mapper.map(msgs)
    # some events failed at apply time: the one-by-one path gives them an error
    mapped = [m._replace(error=ValueError("refused")) if i % 7 == 3 else m for i, m in enumerate(mapped)]
    py = fastpath.PYTHON_BATCH
    ops, spans = _fastmap.ops_and_spans(mapped)
    assert (ops, spans) == py.ops_and_spans(mapped)
    assert _fastmap.tally(mapped) == py.tally(mapped)


json_values = st.recursive(st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
                           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                           max_leaves=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(["op", "source", "after", "before", "transaction", "ts_ms", "source.connector",
                              "source.file", "source.pos", "source.row", "source.snapshot", "source.name",
                              "source.db", "source.table", "source.ts_ms", "after.id", "after.email",
                              "after.createdAt", "after.active", "after.ownerId", "after.isDeleted", "after.nick"]),
       value=json_values, drop=st.booleans())
def test_any_field_of_any_json_type_maps_as_the_python_path_does(runner, where, value, drop):
    # the C core reads Python objects of any type without crashing, and hands back what
    # it does not expect: a field replaced by any JSON value, or missing
    warm(runner)
    env = envelope("u", account())
    *parents, leaf = where.split(".")
    node = env
    for p in parents:
        node = node[p]
    if drop:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    fast, slow, _ = both(runner, [message(env)])
    assert_same(fast, slow)


# --- reading the envelope: the C core's reader (read_envelope) against orjson ---------------

READ_KNOWN = ("active", "email", "id", "nick", "ünïcode")
_SOURCE_READ = ("connector", "name", "db", "table", "file", "pos", "row", "snapshot", "ts_ms")


def strict(v: Any) -> Any:
    """`v` with its types spelled out: 1, 1.0 and True (and 0.0 and -0.0) differ."""
    if isinstance(v, dict):
        return {k: strict(x) for k, x in v.items()}
    if isinstance(v, list):
        return [strict(x) for x in v]
    return (type(v).__name__, v.hex() if isinstance(v, float) else v)


def orjson_read(raw: bytes) -> dict | None:
    """What the C reader must find in `raw`: orjson's parse cut down to the fields fast_one
    reads (None where orjson refuses the bytes or the envelope is not an object)."""
    import orjson

    try:
        env = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(env, dict):
        return None
    out: dict[str, Any] = {k: env[k] for k in ("op", "after") if k in env}
    if "before" in env:
        out["before"] = env["before"] if isinstance(env["before"], dict) else None
    if "source" in env:
        out["source"] = {k: env["source"][k] for k in _SOURCE_READ if k in env["source"]}
    if "transaction" in env:
        tx = env["transaction"]
        out["transaction"] = {k: tx[k] for k in ("id",) if k in tx} if isinstance(tx, dict) else None
    return out


def check_read(raw: bytes) -> dict | None:
    """The C reader's result for `raw`, which, where it takes the bytes at all, must be
    exactly orjson's."""
    from replicator import _fastmap

    got = _fastmap.read_envelope(raw, READ_KNOWN)
    if got is not None:
        want = orjson_read(raw)
        assert want is not None, f"the C reader took bytes orjson refuses: {raw!r}"
        assert strict(got) == strict(want), raw
    return got


_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=10**19 - 1),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                     st.sampled_from(["", "\\", '"', "\x00\x1f", "é", "😀", "\u2028", "a/b"]))
_rows = st.dictionaries(st.sampled_from(READ_KNOWN), _scalars, max_size=5)
_sources = st.dictionaries(st.sampled_from(_SOURCE_READ + ("version", "server_id", "gtid", "query")),
                           _scalars, max_size=9)
_envelopes = st.fixed_dictionaries(
    {"op": st.sampled_from(["c", "u", "r", "d"]), "after": _rows, "source": _sources},
    optional={"before": st.one_of(st.none(), _rows, st.just("text")), "ts_ms": _scalars,
              "transaction": st.one_of(st.none(), st.fixed_dictionaries({}, optional={
                  "id": _scalars, "total_order": st.integers(0, 9),
                  "data_collection_order": st.integers(0, 9)})), "ts_us": _scalars})


def _encode(env: dict, ascii_only: bool, spaced: bool) -> bytes:
    return json.dumps(env, ensure_ascii=ascii_only,
                      separators=(", ", ": ") if spaced else (",", ":"), indent=2 if spaced else None).encode()


@settings(max_examples=400, deadline=None)
@given(env=_envelopes, ascii_only=st.booleans(), spaced=st.booleans())
def test_the_c_reader_takes_every_flat_envelope_and_reads_what_orjson_reads(env, ascii_only, spaced):
    # the common case never leaves the reader (escapes, any Unicode, any whitespace, ints
    # to 64 bits, any finite float), and what it reads is orjson's value, type for type.
    # Except an escaped column name in `after` (Debezium writes UTF-8 names as they are):
    # the reader matches those names byte for byte, so that one takes the Python path
    escaped_name = ascii_only and any(not k.isascii() for k in env["after"])
    assert (check_read(_encode(env, ascii_only, spaced)) is not None) != escaped_name


@pytest.mark.parametrize("special", ['\\"', "\\\\", "\\u00e9", "\\ud83d\\ude00", "\\n", "é", "😀", "\x01", "\x1f",
                                     "\x7f", "\xff"])
def test_the_c_reader_finds_a_strings_end_at_every_offset(special):
    """The string scan goes 16 bytes at a time while 16 are left: an escape, a non-ASCII
    character or a control byte at any offset, in strings shorter and longer than a block,
    near the end of the bytes or not, is read as orjson reads it (or handed back)."""
    for length in (0, 1, 14, 15, 16, 17, 31, 32, 33, 47):
        for at in range(length + 1):
            text = "a" * at + special + "b" * (length - at)
            for raw in (('{"op":"c","after":{"email":"%s"},"source":{"name":"n"}}' % text),
                        ('{"op":"c","source":{"name":"n"},"after":{"email":"%s"}}' % text)):
                data = raw.encode("utf-8", "surrogateescape") if special != "\xff" else raw.encode("latin-1")
                got = check_read(data)
                if special in ("\x01", "\x1f", "\xff"):
                    assert got is None  # not JSON: a raw control byte, a byte that is not UTF-8
                else:
                    assert got is not None and got["after"]["email"] == orjson_read(data)["after"]["email"]


_noise = st.sampled_from([b'"', b"\\", b",", b"}", b"{", b"]", b"[", b":", b"e", b"E", b"-", b"+", b"0", b"9",
                          b".", b"u", b"d8", b"\x01", b"\xff", b"\xc3", b"\xed\xa0\x80", b" ", b"\n", b"null",
                          b"tru", b"1e400", b"00", b'"after"', b"\\ud800", b"\\u00"])


@settings(max_examples=1500, deadline=None)
@given(env=_envelopes, ascii_only=st.booleans(), cuts=st.lists(st.tuples(
    st.floats(min_value=0, max_value=1, exclude_max=True), st.integers(0, 3), _noise), min_size=1, max_size=3))
def test_the_c_reader_never_takes_what_orjson_would_not_read_the_same(env, ascii_only, cuts):
    # malformed and odd bytes: the reader hands back (None) or reads exactly what orjson reads
    raw = bytearray(_encode(env, ascii_only, False))
    for where, drop, noise in cuts:
        i = int(where * len(raw))
        raw[i:i + drop] = noise
    check_read(bytes(raw))


@pytest.mark.parametrize("raw, taken", [
    (b'{"op":"c","after":{"id":1}}', True),
    (b' \n{"op":"c","after":{"id":1}}\t\r\n', True),
    (b'{"op":"c","after":{"id":1},"after":{"id":2}}', True),  # the last one counts, as in a dict
    (b'{"op":"c","after":{"id":1,"id":2}}', True),
    (b'{"source":{"name":"a"},"source":{"db":"b"},"op":"c","after":{}}', True),
    (b'{"transaction":{"id":"1"},"transaction":"x","op":"c","after":{}}', True),
    (b'{"op":"c","after":{"\xc3\xbcn\xc3\xafcode":"\xf0\x9f\x98\x80"}}', True),
    (b'{"op":"c","after":{"id":1},"before":{"other":"\\u00e9\\ud83d\\ude00"}}', True),
    (b'{"op":"c","after":{"id":-9223372036854775808}}', True),
    (b'{"op":"c","after":{"id":9999999999999999999}}', True),
    (b'{"op":"c","after":{"id":1.5e-400}}', True),
    (b'{"op":"c","after":{"id":-0.0}}', True),
    (b'{"op":"c","after":{"id":1},"ts_ms":[{"a":[1,2,{}]},[]]}', True),  # skipped, but checked
    (b'{"op":"c","after":{"id":1e400}}', False),  # orjson refuses an infinite double
    (b'{"op":"c","after":{"id":-9223372036854775809}}', False),  # orjson reads it as a float
    (b'{"op":"c","after":{"id":10000000000000000000}}', False),  # 20 digits: the Python path's
    (b'{"op":"c","after":{"id":01}}', False),
    (b'{"op":"c","after":{"id":1,}}', False),
    (b'{"op":"c","after":{"id":1}}x', False),
    (b'{"op":"c","after":{"id":"\\ud800"}}', False),
    (b'{"op":"c","after":{"id":"\\udc00\\ud800"}}', False),
    (b'{"op":"c","after":{"id":"\xed\xa0\x80"}}', False),
    (b'{"op":"c","after":{"id":"\xff"}}', False),
    (b'{"op":"c","after":{"id":"\x01"}}', False),
    (b'{"op":"c","after":{"id":"\\x"}}', False),
    (b'{"op":"c","after":{"id":[1]}}', False),  # a nested value in a row: the Python path's
    (b'{"op":"c","after":{"brandNew":1}}', False),  # schema drift: the Python path reports it
    (b'{"op":"c","after":{"\\u0069d":1}}', False),  # an escaped column name
    (b'{"\\u006fp":"c","after":{"id":1}}', False),  # an escaped envelope key
    (b'{"op":"c","after":null}', False),
    (b'{"op":"c","after":{"id":1},"ts_ms":' + b"[" * 80 + b"]" * 80 + b"}", False),  # deeper than the reader goes
    (b'[{"op":"c"}]', False),
    (b"", False),
])
def test_the_c_reader_on_edge_cases(raw, taken):
    assert (check_read(raw) is not None) == taken

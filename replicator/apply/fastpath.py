"""The apply path's common case in C: which tables may take it, and what it runs on.

`replicator/_fastmap.c` reads a Debezium MySQL change (op c/u/r) from its JSON bytes,
building only the fields it uses, and maps it with the
table's column programs (`engine.ColumnProgram`) into the same `Mapped`, `ChangeEvent`
and `TargetOp` values that `decode_message` and the generated mapping code build; it
calls the same transform functions and converters. A message it does not take (a delete,
a PostgreSQL source, a table with a filter or a packed column, an unknown binlog file,
JSON its reader does not take: a nested value in a row, an escaped key, a huge number)
or any error at all goes to the Python path, which maps it again from its bytes: the C
core never decides an error. tests/unit/test_fastmap.py holds both paths equal over
random rows and envelopes.

Why: in one Python process the apply rate of a table like `users` is bound by the
interpreter's own work per event, under one GIL (docs/architecture.md, "Apply throughput").

The extension is built by `pip install` (setup.py). Where it could not be (no compiler),
`FastMapper` runs the Python path for every message and the runner logs it at start.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, NamedTuple, TypeVar

from confluent_kafka import Message

from replicator import events, keys
from replicator.apply.copy_binary import BeyondInt2, BeyondInt4, NaiveDatetime
from replicator.events import ChangeEvent, KafkaCoordinates
from replicator.mapping.engine import ColumnProgram, MappingSet, TableMapping, TargetOp

try:
    from replicator import _fastmap
except ImportError:  # pragma: no cover - the suite requires it (tests/unit/test_fastmap.py)
    _fastmap = None


T = TypeVar("T")


class Mapped(NamedTuple):
    """One consumed message after decode + map: its ops, or the error that stops it."""

    msg: Message
    event: ChangeEvent | None = None
    ops: list[TargetOp] | tuple[()] = ()
    error: BaseException | None = None


# the codes _fastmap.c reads (its FETCH_* and CONV_* enums)
_FETCH = {"field": 0, "call": 1, "row": 2, "row_ts": 3, "const": 4}
_CONV_NONE, _CONV_CALL, _CONV_INT_NONZERO, _CONV_EPOCH_MS, _CONV_UUID_INT = range(5)
_MAX_CALL_ARGS = 8
_LONG_LONG = 2**63

if _fastmap is not None:
    _fastmap.setup(KafkaCoordinates, ChangeEvent, TargetOp, Mapped, uuid.UUID, uuid.SafeUUID.unknown,
                   events._json_loads, events._binlog_numbers)
    _fastmap.setup_plan(NaiveDatetime, BeyondInt4, BeyondInt2)


def available() -> bool:
    return _fastmap is not None


def ops_and_spans(mapped: list[Mapped]) -> tuple[list[TargetOp], dict[tuple[str, int], list[int]]]:
    """The ops of the events without an error, and each (topic, partition)'s first and
    last offset in the batch."""
    ops = [op for m in mapped if m.error is None for op in m.ops]
    spans: dict[tuple[str, int], list[int]] = {}
    for m in mapped:
        msg = m.msg
        k = (msg.topic(), msg.partition())
        o = msg.offset()
        span = spans.get(k)
        if span is None:
            spans[k] = [o, o]
        elif o > span[1]:
            span[1] = o
        elif o < span[0]:
            span[0] = o
    return ops, spans


def tally(mapped: list[Mapped]) -> tuple[dict[tuple[str, str, str], int], dict[str, int],
                                         dict[str, ChangeEvent], int]:
    """For the batch's metrics: events per (topic, op, outcome), the newest source
    timestamp per topic, each topic's first change event, and the dead letters."""
    counts: dict[tuple[str, str, str], int] = {}
    newest: dict[str, int] = {}
    firsts: dict[str, ChangeEvent] = {}
    dead = 0
    for m in mapped:
        ev = m.event
        if m.error is not None:
            dead += 1
        if ev is None or ev.kind != "change":
            continue
        topic = ev.coordinates.topic
        firsts.setdefault(topic, ev)
        k = (topic, ev.op or "", "dead_letter" if m.error is not None else ("applied" if m.ops else "filtered"))
        counts[k] = counts.get(k, 0) + 1
        ts = ev.source_ts_ms
        if ts is not None and ts > newest.get(topic, 0):
            newest[topic] = ts
    return counts, newest, firsts, dead


_HASH_MASK = 2**64 - 1


def key_hash(key: tuple[Any, ...]) -> int:
    """A target key's shard hash: its parts' hashes folded, as unsigned 64-bit. The same
    key gives the same hash within a process, which is all a batch's split needs (each
    batch's shards commit before the next batch is split). A UUID part is hashed by its
    int, which is what UUID.__hash__ returns."""
    h = 0
    for part in key:
        ph = hash(part.int) if type(part) is uuid.UUID else hash(part)
        h = ((h * 1000003) ^ (ph & _HASH_MASK)) & _HASH_MASK
    return h


def split_ops(ops: list[TargetOp], n: int) -> list[list[TargetOp]]:
    """A batch's ops in `n` shards by target key (shards.py), each in batch order: every
    op of one key, whatever its table or contributor, lands in the same shard."""
    if n < 1:
        raise ValueError("split_ops needs at least one shard")
    shards: list[list[TargetOp]] = [[] for _ in range(n)]
    for op in ops:
        shards[key_hash(op.key) % n].append(op)
    return shards


def message_sizes(msgs: list[Message]) -> tuple[int, int, int]:
    """What a consume call brought: its bytes (keys and values; len(message) is its
    value's length), its largest value, and how many of its messages are errors (a
    partition's end...)."""
    nbytes = largest = errors = 0
    for m in msgs:
        n = len(m)
        nbytes += n + len(m.key() or b"")
        if n > largest:
            largest = n
        if m.error() is not None:
            errors += 1
    return nbytes, largest, errors


class BatchFunctions(NamedTuple):
    ops_and_spans: Callable[[list[Mapped]], tuple[list[TargetOp], dict[tuple[str, int], list[int]]]]
    tally: Callable[[list[Mapped]], tuple[dict, dict, dict, int]]
    split_ops: Callable[[list[TargetOp], int], list[list[TargetOp]]]
    message_sizes: Callable[[list[Message]], tuple[int, int, int]]


PYTHON_BATCH = BatchFunctions(ops_and_spans, tally, split_ops, message_sizes)


def plan_functions(python: T) -> T:
    """`python`'s functions (a NamedTuple of them: sink.PYTHON_PLAN, PYTHON_BATCH), or the
    C core's functions of the same names where it was built."""
    if _fastmap is None:
        return python
    return type(python)(*(getattr(_fastmap, name) for name in python._fields))


def column_code(name: str, p: ColumnProgram) -> tuple[Any, ...] | None:
    """One column as _fastmap.c's tuple: (name, fetch, argument, conversion, converter,
    parameters, default); None when it cannot run there."""
    if p.fetch == "call" and len(p.arg[1]) > _MAX_CALL_ARGS:
        return None
    conv_kind, params = _CONV_CALL, ()
    if p.conv is None:
        conv_kind = _CONV_NONE
    elif p.inline is not None and p.inline.kind == "int_nonzero":
        conv_kind = _CONV_INT_NONZERO
    elif p.inline is not None and p.inline.kind == "epoch_ms":
        n = p.inline.names
        # the C core builds the datetime from its fields: only for these two, and only
        # where the float division is exact to the microsecond (2**42 ms)
        if (n["EXACT_NEG"] == -n["EXACT"] and n["EXACT"] <= 2**42 and n["UTC"] is timezone.utc
                and n["fromtimestamp"] == datetime.fromtimestamp):
            conv_kind, params = _CONV_EPOCH_MS, (n["EXACT"], n["fromtimestamp"], n["UTC"])
    elif p.inline is not None and p.inline.kind == "uuid_of_int":
        n = p.inline.names
        if n["uuid_of_int"] is keys._uuid_of_int and n["LIMIT"] < _LONG_LONG:
            conv_kind, params = _CONV_UUID_INT, (n["LIMIT"], n["prefix"])
    return (name, _FETCH[p.fetch], p.arg, conv_kind, p.conv, params, p.default)


def table_code(tm: TableMapping) -> tuple[Any, ...] | None:
    """A table as _fastmap.c's tuple, or None when its events take the Python path: a
    PostgreSQL source (its positions and topic names), a filter or a skipped table
    (`upserts_of` is None then), a column without a program."""
    if tm.source.kind != "mysql" or tm.upserts_of is None:
        return None
    targets = []
    for t in tm.targets:
        if t.programs is None:
            return None
        cols = [column_code(name, p) for name, p in t.programs]
        if any(c is None for c in cols):
            return None
        targets.append((t.table, t.contributor, bool(t.spec.creates_row), tuple(t.key), tuple(cols)))
    return (tm.source.topic_prefix, tm.source.database or "", tm.spec.table, tuple(sorted(tm.known_columns)),
            tuple(tm.spec.key), tm.qualified, tuple(targets))


def table_codes(mappings: MappingSet) -> dict[str, tuple[Any, ...]]:
    """topic -> table code, for the topics of exactly one eligible table."""
    by_topic: dict[str, list[TableMapping]] = {}
    for tm in mappings.by_event.values():
        by_topic.setdefault(tm.topic, []).append(tm)
    out = {}
    for topic, tms in by_topic.items():
        code = table_code(tms[0]) if len(tms) == 1 else None
        if code is not None:
            out[topic] = code
    return out


class FastMapper:
    """Maps a batch of messages, each through the C core when it can take it, else
    through `slow` (the runner's Python path)."""

    def __init__(self, mappings: MappingSet, slow: Callable[[Message], Mapped], enabled: bool = True) -> None:
        self.slow = slow
        self.codes = table_codes(mappings) if enabled and _fastmap is not None else {}
        self.handed_back = 0  # messages of the last batch that took the Python path

    def _slow(self, msg: Message) -> Mapped:
        self.handed_back += 1
        return self.slow(msg)

    @property
    def tables(self) -> list[str]:
        """The source tables whose common case runs in C."""
        return sorted(f"{c[0]}.{c[2]}" for c in self.codes.values())

    def map(self, msgs: list[Message], release: list[Mapped] | None = None) -> list[Mapped]:
        """Every message's `Mapped`, in order; `handed_back` then says how many took the
        Python path. `release`, the previous batch's `Mapped` list, is emptied item by item
        as this batch is mapped (`_fastmap.map_batch`): what it frees is reused at once."""
        if not self.codes:
            self.handed_back = len(msgs)
            if release is not None:
                release.clear()
            return [self.slow(m) for m in msgs]
        self.handed_back = 0
        return _fastmap.map_batch(msgs, self.codes, self._slow, release)


# the runner's per-batch bookkeeping: in C where the extension was built (the same results,
# tests/unit/test_fastmap.py), else PYTHON_BATCH
BATCH = plan_functions(PYTHON_BATCH)

"""The sink's two COPY formats on the real PostgreSQL: binary (when every value fits its
column's binary dumper) and text (anything else) must write exactly the same rows, and a
value PostgreSQL refuses must fail the batch as a database error (so the runner isolates
the event), never crash the process."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb

from replicator.apply import sink as sink_module
from replicator.errors import classify_db_error
from replicator.mapping.engine import TargetOp
from tests.integration.sink_targets import prepared_sink

pytestmark = pytest.mark.stack

MAPPING = """
version: 1
sources:
  main: {kind: mysql, topic_prefix: main, database: main}
tables:
  - source: main
    table: Thing
    targets:
      - table: app.things
        columns: {id: {key: id}, label: label, flag: flag, big: big, ratio: ratio, amount: amount,
                  seen_at: seen_at, day: day, blob: blob, doc: doc, level: level}
        on_delete: hard
"""

DDL = """
CREATE SCHEMA app;
CREATE TABLE app.things (id uuid PRIMARY KEY, label text, flag boolean, big bigint, ratio float8,
  amount numeric(12, 2), seen_at timestamptz, day date, blob bytea, doc jsonb, level int);
"""

COLUMNS = ("id", "label", "flag", "big", "ratio", "amount", "seen_at", "day", "blob", "doc", "level")


@pytest.fixture()
def target(stack, tmp_path):
    sink, _ms = prepared_sink(stack, tmp_path, MAPPING, DDL)
    yield sink.conn, sink
    sink.conn.close()


def op(i: int, level, label="x") -> TargetOp:
    values = {"id": uuid.UUID(int=i), "label": f"{label}\t{i}\\n" if i % 3 else None, "flag": i % 2 == 0,
              "big": 2**40 + i, "ratio": i / 7, "amount": Decimal(f"{i}.25"),
              "seen_at": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=i),
              "day": dt.date(2024, 2, 1) + dt.timedelta(days=i), "blob": bytes([i % 256, 0, 255]),
              "doc": Jsonb({"i": i, "tab": "a\tb"}), "level": level}
    return TargetOp("app.things", "upsert", (values["id"],), values, "thing", (1, 100 + i, 0))


def rows(conn) -> list[tuple]:
    return conn.execute(f"SELECT {', '.join(COLUMNS)} FROM app.things ORDER BY id").fetchall()


def test_binary_and_text_copy_write_the_same_rows(target, monkeypatch):
    conn, sink = target
    # `level` is int4: binary while every value is within its range (and NULL is NULL).
    # The same ops written through forced COPY text must give identical rows
    ops = [op(i, None if i % 2 else (-1) ** i * (2**31 - 1 - i)) for i in range(50)]
    plan = sink.planner.plan(ops)
    [group] = plan.steps
    assert sink_module.binary_ok(["uuid", "text", "bool", "int8", "float8", "numeric", "timestamptz", "date",
                                  "bytea", "jsonb", "int4"], group.types), "this batch must take the binary path"
    with conn.transaction():
        sink.execute(plan)
    binary_rows = rows(conn)
    conn.execute("TRUNCATE app.things")
    conn.commit()
    monkeypatch.setattr(sink_module, "binary_ok", lambda *_: False)
    with conn.transaction():
        sink.apply(ops)
    assert rows(conn) == binary_rows
    assert len(binary_rows) == 50 and binary_rows[4][1] == "x\t4\\n" and binary_rows[3][1] is None


def test_a_value_that_is_not_binary_safe_goes_as_text(target):
    conn, sink = target
    with conn.transaction():
        sink.apply([op(i, str(i)) for i in range(10)])  # text for an int4 column: COPY text
    assert [r[-1] for r in rows(conn)] == list(range(10))


def test_an_int_beyond_int4_is_never_wrapped_but_refused_by_postgres(target):
    """psycopg's binary int4 dumper would write 2**31 as -2**31: such a group goes as text."""
    conn, sink = target
    with pytest.raises(psycopg.errors.NumericValueOutOfRange):
        with conn.transaction():
            sink.apply([op(1, 5), op(2, 2**31)])
    sink.forget_stages()
    assert rows(conn) == []


def test_a_refused_value_fails_the_batch_as_a_database_error_and_the_rest_applies(target):
    conn, sink = target
    bad = op(7, None, label="nul\x00inside")  # PostgreSQL text cannot hold NUL
    with pytest.raises(psycopg.Error) as info:
        with conn.transaction():
            sink.apply([op(i, None) for i in range(5)] + [bad])
    assert not classify_db_error(info.value).transient  # terminal: the runner isolates the event
    sink.forget_stages()
    with conn.transaction():
        sink.apply([op(i, None) for i in range(5)])
    assert len(rows(conn)) == 5

"""pgvector columns on the real PostgreSQL: a converted embedding (VectorText) is COPYed
in binary, PostgreSQL's own text input of the same numbers gives the same stored vector,
and a group the binary format cannot take (a value beyond float4) goes as text, where
PostgreSQL judges it and the refusal is a database error for that batch."""

from __future__ import annotations

import random
import uuid

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replicator.apply import sink as sink_module
from replicator.apply.sink import PostgresSink
from replicator.errors import classify_db_error
from replicator.mapping.convert import VectorText, get_converter
from replicator.mapping.engine import TargetOp
from replicator.mapping.loader import load_mappings
from replicator.stack.workspace import create_target_db

pytestmark = pytest.mark.stack

MAPPING = """
version: 1
sources:
  emb: {kind: postgresql, topic_prefix: emb, database: emb, schema: public}
tables:
  - source: emb
    table: chunk
    targets:
      - table: rag.chunks
        columns: {id: {key: id}, embedding: {from: embedding, type: vector}}
        on_delete: hard
"""

DDL = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA rag;
CREATE TABLE rag.chunks (id uuid PRIMARY KEY, embedding vector);
"""

to_vector = get_converter("vector")


@pytest.fixture()
def target(stack, tmp_path):
    (tmp_path / "m.yaml").write_text(MAPPING)
    (tmp_path / "ddl.sql").write_text(DDL)
    name = create_target_db(stack, [tmp_path / "ddl.sql"])
    conn = psycopg.connect(stack.postgres.dsn(name))
    sink = PostgresSink(conn, load_mappings([tmp_path / "m.yaml"], env={}))
    sink.prepare()
    conn.commit()
    yield conn, sink
    conn.close()


def op(i: int, embedding, pos: int = 0) -> TargetOp:
    values = {"id": uuid.UUID(int=i), "embedding": embedding}
    return TargetOp("rag.chunks", "upsert", (values["id"],), values, "chunk", (0, 100 + i + pos))


def stored(conn) -> list[tuple]:
    return conn.execute("SELECT id, embedding::text FROM rag.chunks ORDER BY id").fetchall()


def test_embeddings_are_copied_in_binary_and_equal_what_postgres_makes_of_the_text(target, monkeypatch):
    conn, sink = target
    rnd = random.Random(7)
    vectors = [[rnd.uniform(-0.08, 0.08) for _ in range(3072)] for _ in range(20)]
    ops = [op(i, to_vector(v)) for i, v in enumerate(vectors)]
    assert all(type(o.values["embedding"]) is VectorText for o in ops)
    [group] = sink.planner.plan(ops).steps
    assert sink_module.binary_ok(["uuid", "vector"], group.types), "this group must take the binary path"
    with conn.transaction():
        sink.apply(ops)
    binary = stored(conn)
    # what PostgreSQL makes of the same numbers as text: its own parser, no help from us
    expected = [(uuid.UUID(int=i), conn.execute("SELECT %s::vector::text", (str(v),)).fetchone()[0])
                for i, v in enumerate(vectors)]
    assert binary == expected
    conn.execute("TRUNCATE rag.chunks")
    conn.commit()
    monkeypatch.setattr(sink_module, "binary_ok", lambda *_: False)  # the same ops as COPY text
    with conn.transaction():
        sink.apply(ops)
    assert stored(conn) == binary


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.floats(min_value=-1e30, max_value=1e30, width=64) | st.integers(-2**40, 2**40),
                         min_size=3, max_size=3), min_size=1, max_size=6))
def test_any_finite_vector_is_stored_as_postgres_reads_its_text(target, vectors):
    conn, sink = target
    with conn.transaction():
        conn.execute("TRUNCATE rag.chunks")
        sink.apply([op(i, to_vector(v)) for i, v in enumerate(vectors)])
    expected = [conn.execute("SELECT %s::vector::text", (str([float(x) for x in v]),)).fetchone()[0]
                for v in vectors]
    assert [text for _, text in stored(conn)] == expected


def test_a_value_beyond_float4_goes_as_text_and_postgres_refuses_it(target):
    conn, sink = target
    too_big = to_vector([1e39, 0.0, 0.0])
    assert type(too_big) is str  # no binary form: beyond float4
    with pytest.raises(psycopg.Error) as info:
        with conn.transaction():
            sink.apply([op(1, to_vector([0.5, 0.25, 0.0])), op(2, too_big)])
    assert not classify_db_error(info.value).transient  # terminal: the runner isolates the event
    sink.forget_stages()
    with conn.transaction():
        sink.apply([op(1, to_vector([0.5, 0.25, 0.0]))])
    assert stored(conn) == [(uuid.UUID(int=1), "[0.5,0.25,0]")]

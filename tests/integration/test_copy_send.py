"""The COPY writer that sends a whole payload in one GIL-free libpq call (copy_send.py), on
the real PostgreSQL: it is the one the sink takes here, what it sends arrives byte for
byte (a payload of several MB, far above psycopg's 128 kB pieces, binary and text), an
error of the server still comes out of the COPY as psycopg's exception, the connection is
left as psycopg expects it (non-blocking, usable)."""

from __future__ import annotations

import psycopg
import pytest

from replicator.apply import copy_send
from replicator.apply.copy_binary import binary_payload
from replicator.stack.workspace import create_target_db

pytestmark = pytest.mark.stack

DDL = "CREATE TABLE items (id bigint PRIMARY KEY, label text, pos bigint[]);"


@pytest.fixture()
def conn(stack, tmp_path):
    ddl = tmp_path / "items.sql"
    ddl.write_text(DDL)
    db = create_target_db(stack, [ddl])
    with psycopg.connect(stack.postgres.dsn(db)) as c:
        yield c


def copy_with(conn: psycopg.Connection, statement: str, payload: bytes) -> None:
    cur = conn.cursor()
    writer = copy_send.writer_for(cur)
    assert isinstance(writer, copy_send.GilFreeWriter), "psycopg's libpq was not found in this process"
    with cur.copy(statement, writer=writer) as cp:
        cp.write(payload)


def test_a_payload_of_megabytes_arrives_whole_in_binary_and_text(conn):
    rows = [(i, f"label {i} " + "x" * (i % 50)) for i in range(60_000)]
    positions = [(1, i, 0) for i in range(60_000)]
    payload = binary_payload(rows, positions, [20, 25, 1016], conn)
    assert payload is not None and len(payload) > 4 * 1024 * 1024
    copy_with(conn, "COPY items (id, label, pos) FROM STDIN (FORMAT BINARY)", payload)
    text = "".join(f"{100_000 + i}\tt\\t{i}\t{{1,{i},0}}\n" for i in range(30_000)).encode()
    copy_with(conn, "COPY items (id, label, pos) FROM STDIN", text)
    conn.commit()
    got = conn.execute("SELECT count(*), sum(id), sum(length(label)), sum(pos[2]) FROM items").fetchone()
    assert got == (90_000, sum(r[0] for r in rows) + sum(100_000 + i for i in range(30_000)),
                   sum(len(r[1]) for r in rows) + sum(len(f"t\t{i}") for i in range(30_000)),
                   sum(range(60_000)) + sum(range(30_000)))
    assert conn.execute("SELECT label FROM items WHERE id = 100007").fetchone() == ("t\t7",)
    assert conn.pgconn.nonblocking == 1


def test_a_refused_row_raises_psycopgs_error_and_leaves_the_connection_usable(conn):
    conn.execute("INSERT INTO items VALUES (5, 'there', '{1,1,0}')")
    conn.commit()
    rows = [(i, "new") for i in range(20_000)]  # id 5 collides
    payload = binary_payload(rows, [(1, i, 0) for i in range(20_000)], [20, 25, 1016], conn)
    with pytest.raises(psycopg.errors.UniqueViolation):
        copy_with(conn, "COPY items (id, label, pos) FROM STDIN (FORMAT BINARY)", payload)
    conn.rollback()
    assert conn.pgconn.nonblocking == 1
    assert conn.execute("SELECT count(*), min(label) FROM items").fetchone() == (1, "there")


"""The sink's statements that find target rows by a key given as text (hard deletes and the
drain of parked writes) must use the table's key index: on a table of 78 M rows, a
sequential scan per batch is minutes per batch. Before this test the match was
`t.id::text = key`, which no index serves; bench/runner_soak.py showed the lag rising as
the table grew. Real PostgreSQL; the planner is asked with sequential scans disabled, so a
sequential scan in the plan means no index could serve the match. Also: rows are found for
UUID, integer, composite and varchar keys alike."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from replicator.apply.sink import key_parts
from tests.integration.sink_targets import (ACCOUNTS, ACCOUNTS_DDL, MEMBERSHIPS, MEMBERSHIPS_DDL, MYSQL_SOURCE,
                                           prepared_sink)

pytestmark = pytest.mark.stack

MAPPING = MYSQL_SOURCE + ACCOUNTS + MEMBERSHIPS + """
  - source: main
    table: Tag
    key: [name]
    dropped: []
    targets:
      - table: app.tags
        key: [name]
        columns:
          name: name
          color: color
        on_delete: hard
"""

DDL = "CREATE SCHEMA app;\n" + ACCOUNTS_DDL + MEMBERSHIPS_DDL + """
CREATE TABLE app.tags (name varchar(40) PRIMARY KEY, color text);
"""


@pytest.fixture()
def target(stack, tmp_path):
    sink, ms = prepared_sink(stack, tmp_path, MAPPING, DDL)
    yield sink, ms
    sink.conn.close()


@pytest.fixture()
def sink(target):
    return target[0]


def plan_of(conn: psycopg.Connection, statement, params) -> str:
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        rows = conn.execute(psycopg.sql.SQL("EXPLAIN (FORMAT JSON) ") + statement, params).fetchall()
    return json.dumps(rows[0][0])


@pytest.mark.parametrize("table, contributor", [("app.accounts", "account"), ("app.memberships", "membership"),
                                                ("app.tags", "tag")])
def test_hard_deletes_find_rows_through_the_key_index(sink, table, contributor):
    n_keys = len(sink.planner.key_columns[(table, contributor)])
    plan = plan_of(sink.conn, sink.delete_statement(table, contributor), (*[["1"]] * n_keys, ["{1,1,0}"]))
    assert table.split(".")[1] not in seq_scans(plan), plan


def seq_scans(plan_json: str) -> list[str]:
    """The relations the plan reads with a sequential scan."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("Node Type") == "Seq Scan":
                found.append(node.get("Relation Name"))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(json.loads(plan_json))
    return found


def test_the_drain_of_parked_writes_finds_rows_through_the_key_index(sink):
    [stats] = [t for t in sink._feeds["app.accounts"] if t.contributor == "stats"]
    plan = plan_of(sink.conn, sink.drain_statement("app.accounts", stats),
                   ("app.accounts", "stats", "app.accounts", ["account"]))
    assert "accounts" not in seq_scans(plan), plan


def test_deletes_remove_exactly_their_rows(sink):
    """The typed match finds exactly the keyed rows: UUID, composite integer and varchar
    keys, '' and '|' included."""
    conn = sink.conn
    a, b = uuid.uuid4(), uuid.uuid4()
    with conn.transaction():
        conn.execute("INSERT INTO app.accounts (id, name) VALUES (%s, 'a'), (%s, 'b')", (a, b))
        conn.execute("INSERT INTO app.memberships VALUES (1, 2, 'x'), (2, 1, 'y'), (1, 3, 'z')")
        conn.execute("INSERT INTO app.tags VALUES ('red', 'r'), ('a|b', 'pipe'), ('', 'empty')")
    for table, contributor, keys in [("app.accounts", "account", [(a,)]),
                                     ("app.memberships", "membership", [(2, 1)]),
                                     ("app.tags", "tag", [("red",), ("",)])]:
        with conn.transaction():
            conn.execute(sink.delete_statement(table, contributor),
                         (*key_parts(keys), ["{1,1,0}"] * len(keys)))
    assert conn.execute("SELECT id FROM app.accounts").fetchall() == [(b,)]
    assert sorted(conn.execute("SELECT org_id, user_id FROM app.memberships").fetchall()) == [(1, 3), (2, 1)]
    assert sorted(conn.execute("SELECT name FROM app.tags").fetchall()) == [("a|b",)]
    conn.rollback()



def tombstone_reads(conn: psycopg.Connection) -> tuple[int, int]:
    """Tombstones read in this transaction: by sequential scan, and fetched from the heap
    through an index."""
    return conn.execute("SELECT coalesce(seq_tup_read, 0), coalesce(idx_tup_fetch, 0) "
                        "FROM pg_stat_xact_user_tables WHERE schemaname = '_replicator' "
                        "AND relname = 'tombstones'").fetchone()


def test_a_batch_reads_only_its_own_keys_tombstones(target):
    """Upserts, a follower's updates and parked writes, and rows the source created, with
    20,000 tombstones in the table: the batch reads a few tombstones per key, not all of
    them. NOT EXISTS was planned as a hash of every tombstone, and the direct COPY's probe
    (EXISTS, pos >= $1) as a sequential scan: per batch, a cost that grew with every delete
    ever applied. Counted in the transaction's own statistics (pg_stat_xact_user_tables)."""
    from replicator.events import ChangeEvent, KafkaCoordinates

    sink, ms = target
    conn = sink.conn
    with conn.transaction():
        conn.execute("INSERT INTO _replicator.tombstones (target_table, contributor, key, pos) "
                     "SELECT 'app.accounts', c, gen_random_uuid()::text, ARRAY[1, i, 0]::bigint[] "
                     "FROM generate_series(1, 10000) AS i, unnest(ARRAY['account', 'stats']) AS c")
        conn.execute("ANALYZE _replicator.tombstones")
        # 50 accounts exist; the followers' writes for 50 others are parked
        conn.execute("INSERT INTO app.accounts (id) SELECT gen_random_uuid() FROM generate_series(1, 50)")

    def change(table, op, i, row):
        return ChangeEvent(kind="change", coordinates=KafkaCoordinates("t", 0, i), source_connector="mysql",
                           source_name="main", database="main", table=table, op=op, after=row,
                           position=(2, i, 0), source_ts_ms=1_700_000_000_000)

    evs = [change("Account", "c", i, {"id": i, "name": f"n{i}", "level": i}) for i in range(1, 51)] + \
          [change("Account", "u", 100 + i, {"id": i, "name": f"m{i}", "level": i}) for i in range(51, 101)] + \
          [change("AccountStats", "u", 200 + i, {"id": 1000 + i, "accountId": i, "score": i}) for i in range(1, 151)]
    ops = [op for e in evs for op in ms.map_event(e)]

    with conn.transaction():
        before = tombstone_reads(conn)
        stats = sink.execute(sink.planner.plan(ops))
        after = tombstone_reads(conn)
    assert stats.upserted >= 100 and stats.parked >= 1, stats
    seq, fetched = after[0] - before[0], after[1] - before[1]
    assert seq == 0 and fetched <= 300, (seq, fetched)


def test_a_plan_made_while_the_tombstones_were_empty_stays_cheap_as_they_grow(stack, tmp_path):
    """Statements run from the first batch on, when the tombstones are empty and have no
    statistics; the tombstones then grow with no ANALYZE. The per-row key check must still
    probe the primary key: with an index on (target_table, contributor, pos) beside it, the
    planner took that one and read every tombstone of the contributor for each row (4 M
    fetches for a batch of 200 rows over 20,000 tombstones)."""
    from replicator.events import ChangeEvent, KafkaCoordinates

    sink, ms = prepared_sink(stack, tmp_path, MAPPING, DDL)
    conn = sink.conn

    def batch(first: int, n: int):
        evs = [ChangeEvent(kind="change", coordinates=KafkaCoordinates("t", 0, i), source_connector="mysql",
                           source_name="main", database="main", table="Account", op="u",
                           after={"id": i, "name": f"n{i}", "level": i}, position=(2, i, 0),
                           source_ts_ms=1_700_000_000_000) for i in range(first, first + n)]
        return sink.planner.plan([op for e in evs for op in ms.map_event(e)])

    for b in range(15):  # past psycopg's prepare threshold and PostgreSQL's five custom plans
        with conn.transaction():
            sink.execute(batch(1 + b, 1))
    with conn.transaction():  # the tombstones grow; nothing analyzes them. Newer than the
        # batch (binlog file 3 against 2), so that its upsert must probe them row by row
        conn.execute("INSERT INTO _replicator.tombstones (target_table, contributor, key, pos) "
                     "SELECT 'app.accounts', 'account', gen_random_uuid()::text, ARRAY[3, i, 0]::bigint[] "
                     "FROM generate_series(1, 20000) AS i")
    with conn.transaction():
        before = tombstone_reads(conn)
        sink.execute(batch(100, 200))
        after = tombstone_reads(conn)
    # none by sequential scan, or fetched through an index that does not lead with the key:
    # the one read is the newest tombstone (PostgresSink._tombstoned_since), once per group
    assert (after[0] - before[0], after[1] - before[1]) == (0, 1), (before, after)
    conn.close()

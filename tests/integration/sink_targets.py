"""Shared by the sink's integration tests: a fresh target database with its mapping and DDL,
and a prepared `PostgresSink` on it; and the merge case several of them use (an account
created by one source table, its score filled by another that never creates the row)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from replicator.apply.sink import PostgresSink
from replicator.mapping.engine import MappingSet
from replicator.mapping.loader import load_mappings
from replicator.stack.manager import Stack
from replicator.stack.workspace import create_target_db

MYSQL_SOURCE = """
version: 1
sources:
  main: {kind: mysql, topic_prefix: main, database: main}
tables:
"""

ACCOUNTS = """
  - source: main
    table: Account
    dropped: []
    targets:
      - table: app.accounts
        columns:
          id: {key: id}
          name: name
          level: {from: level, type: int}
        on_delete: hard
  - source: main
    table: AccountStats
    key: [accountId]
    dropped: [id]
    targets:
      - table: app.accounts
        contributor: stats
        creates_row: false
        columns:
          id: {ref: main.Account, ref_column: accountId}
          score: {from: score, type: int}
        on_delete: clear
"""

ACCOUNTS_DDL = "CREATE TABLE app.accounts (id uuid PRIMARY KEY, name text, level int, score int);\n"

# a composite key whose target order differs from the source's
MEMBERSHIPS = """
  - source: main
    table: Membership
    key: [orgId, userId]
    dropped: []
    targets:
      - table: app.memberships
        key: [user_id, org_id]
        columns:
          org_id: {from: orgId, type: int}
          user_id: {from: userId, type: int}
          role: role
        on_delete: hard
"""

MEMBERSHIPS_DDL = ("CREATE TABLE app.memberships (org_id int NOT NULL, user_id bigint NOT NULL, role text, "
                   "PRIMARY KEY (user_id, org_id));\n")


def prepared_sink(stack: Stack, folder: Path, mapping: str, ddl: str) -> tuple[PostgresSink, MappingSet]:
    """A new target database from `ddl`, and a sink on a connection of its own (the caller
    closes `sink.conn`), prepared and committed."""
    (folder / "m.yaml").write_text(mapping)
    (folder / "ddl.sql").write_text(ddl)
    name = create_target_db(stack, [folder / "ddl.sql"])
    ms = load_mappings([folder / "m.yaml"], env={})
    conn = psycopg.connect(stack.postgres.dsn(name))
    sink = PostgresSink(conn, ms)
    sink.prepare()
    conn.commit()
    return sink, ms

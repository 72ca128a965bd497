"""Target-side preparation that is not row data: foreign keys during sync and at cutover.

Children and parents arrive on different topics, so a child can be applied before its
parent. The target's foreign keys between mapped tables are therefore *suspended* while
the replicator streams (their definitions are kept in `_replicator.suspended_fks` and the
constraints dropped) and *restored* at cutover: re-added `NOT VALID` (cheap, enforced for
new rows at once) and then `VALIDATE`d, which reports orphans instead of failing silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from replicator.apply.sink import META_SCHEMA


@dataclass(frozen=True)
class ForeignKey:
    table: str  # schema-qualified, as regclass text
    name: str
    definition: str  # pg_get_constraintdef output: FOREIGN KEY (...) REFERENCES ...


@dataclass(frozen=True)
class RestoreResult:
    fk: ForeignKey
    validated: bool
    error: str | None = None


def _ensure_meta(conn: psycopg.Connection) -> None:
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    conn.execute(f"""CREATE TABLE IF NOT EXISTS {META_SCHEMA}.suspended_fks (
        table_name text NOT NULL, constraint_name text NOT NULL, definition text NOT NULL,
        suspended_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (table_name, constraint_name))""")


def foreign_keys(conn: psycopg.Connection, tables: list[str]) -> list[ForeignKey]:
    """Foreign keys whose referencing table is one of `tables` (schema.table)."""
    rows = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace "
        "WHERE c.contype = 'f' AND (n.nspname || '.' || r.relname) = ANY(%s) ORDER BY 1, 2", (tables,)).fetchall()
    return [ForeignKey(*r) for r in rows]


def suspend(conn: psycopg.Connection, tables: list[str]) -> list[ForeignKey]:
    """Record and drop the foreign keys of `tables`. Idempotent; one transaction."""
    with conn.transaction():
        _ensure_meta(conn)
        fks = foreign_keys(conn, tables)
        for fk in fks:
            conn.execute(f"INSERT INTO {META_SCHEMA}.suspended_fks (table_name, constraint_name, definition) "
                         "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", (fk.table, fk.name, fk.definition))
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.SQL(fk.table), sql.Identifier(fk.name)))
    return fks


def suspended(conn: psycopg.Connection) -> list[ForeignKey]:
    with conn.transaction():
        _ensure_meta(conn)
        rows = conn.execute(f"SELECT table_name, constraint_name, definition FROM {META_SCHEMA}.suspended_fks "
                            "ORDER BY 1, 2").fetchall()
    return [ForeignKey(*r) for r in rows]


def restore(conn: psycopg.Connection) -> list[RestoreResult]:
    """Re-add every suspended foreign key NOT VALID, then validate it. A key whose
    validation fails (orphans) stays NOT VALID, enforced for new rows, and is reported."""
    results = []
    for fk in suspended(conn):
        with conn.transaction():
            conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID").format(
                sql.SQL(fk.table), sql.Identifier(fk.name), sql.SQL(fk.definition)))
            conn.execute(f"DELETE FROM {META_SCHEMA}.suspended_fks WHERE table_name = %s AND constraint_name = %s",
                         (fk.table, fk.name))
        try:
            with conn.transaction():
                conn.execute(sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
                    sql.SQL(fk.table), sql.Identifier(fk.name)))
            results.append(RestoreResult(fk, True))
        except psycopg.errors.ForeignKeyViolation as exc:
            results.append(RestoreResult(fk, False, str(exc).splitlines()[0]))
    return results

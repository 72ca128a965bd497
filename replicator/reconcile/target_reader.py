"""Reading the target (new PostgreSQL) side: types, chunk digests, per-row hashes, fields.

All hashing happens in PostgreSQL with the canonical SQL forms of digest.py, so a clean
chunk costs one aggregate query and transfers two numbers. Only a chunk whose digest
differs is read row by row (key text, row hash, the contributor's `_pos_` column), and only
differing rows are read column by column (to name the columns that differ).

The session runs in UTC with JIT off (JIT compilation costs more than a 10k-row digest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from replicator.reconcile.digest import Digest, kind_of
from replicator.reconcile.feeds import Feed


@dataclass
class ActualRow:
    key: str
    hash: int
    pos: tuple | None
    owned_null: bool
    deleted: bool


class TargetReader:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: psycopg.Connection | None = None
        self._cols_cache: dict[tuple[str, str], bool] = {}

    def connect(self) -> TargetReader:
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
            self.conn.execute("SET TimeZone = 'UTC'")
            self.conn.execute("SET jit = off")
            self.conn.execute("SET extra_float_digits = 1")
        return self

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def execute(self, query: str, args: Sequence | None = None) -> list[tuple]:
        self.connect()
        assert self.conn is not None
        cur = self.conn.execute(query, args)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description is not None else []

    # --- catalog -----------------------------------------------------------------------------

    def column_types(self, table: str) -> dict[str, tuple[str, str]]:
        """column -> (canonical kind, type name); {} when the table does not exist."""
        rows = self.execute("""
            SELECT a.attname, coalesce(bt.typname, t.typname), coalesce(bt.typtype, t.typtype)::text, et.typname
            FROM pg_attribute a
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
            LEFT JOIN pg_type et ON et.oid = coalesce(bt.typelem, t.typelem) AND coalesce(bt.typcategory, t.typcategory) = 'A'
            WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped""", (_regclass(table),))
        return {name: (kind_of(typ, typtype, elem), typ) for name, typ, typtype, elem in rows}

    def estimate(self, table: str) -> int:
        rows = self.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", (_regclass(table),))
        return max(int(rows[0][0]), 0) if rows and rows[0][0] is not None else 0

    # --- digests ------------------------------------------------------------------------------

    def digest(self, feed: Feed, where: str, args: Sequence, hash_sql: str | None = None) -> Digest:
        count, x = self.execute(
            f"SELECT count(*), coalesce(bit_xor({hash_sql or feed.row_hash_sql}), 0) FROM {feed.table_sql} AS t "
            f"WHERE ({where}) AND {feed.digest_filter_sql}", args)[0]
        return Digest(int(count), int(x))

    def bucket_digests(self, feed: Feed, exclude: str = "false") -> dict[int, Digest]:
        rows = self.execute(
            f"SELECT {feed.bucket_sql()} AS b, count(*), bit_xor({feed.row_hash_sql}) FROM {feed.table_sql} AS t "
            f"WHERE {feed.digest_filter_sql} AND NOT ({exclude}) GROUP BY 1")
        return {int(b): Digest(int(c), int(x)) for b, c, x in rows}

    # --- rows -----------------------------------------------------------------------------------

    def _row_select(self, feed: Feed) -> str:
        pos = f"t.{_q(feed.spec.pos_column)}" if self.has_column(feed.spec.target, feed.spec.pos_column) else "NULL::bigint[]"
        return (f"SELECT {feed.key_sql}, {feed.row_hash_sql}, {pos}, {feed.owned_null_sql}, {feed.deleted_sql} "
                f"FROM {feed.table_sql} AS t")

    def rows(self, feed: Feed, where: str, args: Sequence) -> dict[str, ActualRow]:
        """Every target row of the feed in the range (a follower's too: a row without its data
        is a row; a union feed's: only the rows it wrote)."""
        out = {}
        for k, h, pos, onull, deleted in self.execute(
                f"{self._row_select(feed)} WHERE ({where}) AND {feed.scope_sql}", args):
            out[k] = ActualRow(k, int(h), tuple(pos) if pos is not None else None, bool(onull), bool(deleted))
        return out

    def rows_by_keys(self, feed: Feed, keys: Sequence[str]) -> dict[str, ActualRow]:
        out: dict[str, ActualRow] = {}
        keys = list(keys)
        for i in range(0, len(keys), 5000):
            out.update(self.rows(feed, f"{feed.key_sql} = ANY(%s)", (keys[i:i + 5000],)))
        return out

    def fields(self, feed: Feed, keys: Sequence[str]) -> dict[str, list[str]]:
        """Canonical field texts of these rows, per compared column."""
        out: dict[str, list[str]] = {}
        keys = list(keys)
        fs = ", ".join(feed.field_sqls())
        for i in range(0, len(keys), 2000):
            for r in self.execute(f"SELECT {feed.key_sql}, {fs} FROM {feed.table_sql} AS t "
                                  f"WHERE {feed.key_sql} = ANY(%s)", (keys[i:i + 2000],)):
                out[r[0]] = list(r[1:])
        return out

    def keys_outside(self, feed: Feed, lo: Any, hi: Any, limit: int) -> tuple[int, list[str]]:
        """Rows of an ordered feed's table whose key lies outside [lo, hi]: count and a sample."""
        kc = feed.col(feed.spec.target_key[0])
        where = f"({kc} < %s OR {kc} > %s) AND {feed.digest_filter_sql}"
        (n,) = self.execute(f"SELECT count(*) FROM {feed.table_sql} AS t WHERE {where}", (lo, hi))[0]
        keys = [r[0] for r in self.execute(f"SELECT {feed.key_sql} FROM {feed.table_sql} AS t WHERE {where} "
                                           f"ORDER BY 1 LIMIT {int(limit)}", (lo, hi))] if n else []
        return int(n), keys

    def has_column(self, table: str, column: str) -> bool:
        k = (table, column)
        if k not in self._cols_cache:
            self._cols_cache[k] = column in self.column_types(table)
        return self._cols_cache[k]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _regclass(table: str) -> str:
    schema, name = table.split(".", 1)
    return f"{_q(schema)}.{_q(name)}"


def range_where(feed: Feed, lo: Any, lo_inclusive: bool, hi: Any) -> tuple[str, list]:
    """WHERE clause over the target key column for (lo, hi] / [lo, hi] (None: open)."""
    kc = feed.col(feed.spec.target_key[0])
    conds, args = [], []
    if lo is not None:
        conds.append(f"{kc} {'>=' if lo_inclusive else '>'} %s")
        args.append(lo)
    if hi is not None:
        conds.append(f"{kc} <= %s")
        args.append(hi)
    return (" AND ".join(conds) or "true"), args


__all__ = ["ActualRow", "TargetReader", "range_where"]

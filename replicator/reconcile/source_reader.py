"""Reading legacy rows straight from the source database, in legacy-key order.

MySQL/MariaDB through pymysql's unbuffered `SSCursor`, PostgreSQL through a psycopg
server-side cursor; each chunk is one short statement (keyset pagination on the legacy
key: `WHERE key > last ORDER BY key LIMIT n`), so no long transaction pins the legacy
database. Values are the drivers' native ones (datetime, Decimal, bytes, dict), which the
mapping's converters accept; MySQL DATETIME/TIMESTAMP are decoded by `fromisoformat`
(C) instead of pymysql's regex parser, the same values about twice as fast. TIMESTAMP
columns are read in a UTC session and returned as aware UTC datetimes (they are instants).

pymysql is pure Python and parses every field of every row, which made it the largest cost
of a re-modelled reconcile. So a MySQL chunk whose columns all have types with an exact
JSON form is read as one `JSON_ARRAY(...)` text per row and parsed by orjson (C): one field
per row for pymysql instead of one per column. The values are the same Python values as the
column-by-column read (DECIMAL goes through text, dates through the same `fromisoformat`);
`tests/integration/test_source_reader.py` holds the two reads equal. Other types (floats,
binary strings, JSON, TIME, BIT...) use the column-by-column read.

`position()` is the source's current log position in the `SourcePosition` form the
pipeline stores with target rows: MySQL `(binlog file number, position, 0)` from SHOW
MASTER STATUS (SHOW BINARY LOG STATUS on MySQL 8.4), PostgreSQL `(pg_current_wal_lsn(), 0)`.
Every change committed before the call has a smaller position; every later one is >= it.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from collections.abc import Sequence
from typing import Any

from replicator.events import SourcePosition
from replicator.mapping.model import SourceSpec
from replicator.reconcile.digest import Digest, signed64

_BINLOG_NUMBER = re.compile(r"\.(\d+)$")


def _fast_datetime(s: Any) -> Any:
    try:
        return dt.datetime.fromisoformat(s)
    except (ValueError, TypeError):
        return s  # zero dates stay text, as pymysql leaves them


def _fast_timestamp(s: Any) -> Any:
    d = _fast_datetime(s)
    return d.replace(tzinfo=dt.timezone.utc) if isinstance(d, dt.datetime) else d


def _fast_date(s: Any) -> Any:
    try:
        return dt.date.fromisoformat(s)
    except (ValueError, TypeError):
        return s


def parse_lsn(text: str) -> int:
    hi, _, lo = text.partition("/")
    return (int(hi, 16) << 32) | int(lo, 16)


# MySQL DATA_TYPE -> how a JSON_ARRAY element is selected and turned back into the value
# the column-by-column read gives; types not listed are read column by column
_JSON_SAFE: dict[str, tuple[str, Any]] = {
    **{t: ("{}", None) for t in ("tinyint", "smallint", "mediumint", "int", "bigint")},
    **{t: ("{}", None) for t in ("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set")},
    "decimal": ("CAST({} AS CHAR)", lambda v: v if v is None else Decimal(v)),
    "datetime": ("{}", _fast_datetime),
    "timestamp": ("{}", _fast_timestamp),
    "date": ("{}", _fast_date),
}


class SourceReader:
    """One connection to one legacy database (a mapping `source`)."""

    def __init__(self, name: str, spec: SourceSpec, params: dict) -> None:
        self.name, self.spec, self.params = name, spec, params
        self.kind = spec.kind
        self.conn: Any = None
        self.database = params.get("database") or spec.database
        self.schema = spec.schema_ or "public"
        self.json_rows = True  # MySQL: read chunks as JSON_ARRAY text when the types allow
        self._types: dict[str, dict[str, str]] = {}

    # --- connection --------------------------------------------------------------------------

    def connect(self) -> SourceReader:
        if self.conn is not None:
            return self
        if self.kind == "mysql":
            import pymysql
            from pymysql.constants import FIELD_TYPE
            from pymysql.converters import conversions

            conv = dict(conversions)
            conv[FIELD_TYPE.DATETIME] = _fast_datetime
            conv[FIELD_TYPE.TIMESTAMP] = _fast_timestamp
            conv[FIELD_TYPE.DATE] = _fast_date
            p = {k: v for k, v in self.params.items() if k != "database"}
            self.conn = pymysql.connect(**p, database=self.database, autocommit=True, conv=conv,
                                        charset="utf8mb4", connect_timeout=10,
                                        # a chunk read as one JSON text is as long as the chunk
                                        init_command="SET time_zone = '+00:00', group_concat_max_len = 1073741824")
        else:
            import psycopg

            self.conn = psycopg.connect(self.params["dsn"], autocommit=False, connect_timeout=10)
            self.conn.execute("SET TimeZone = 'UTC'")
            self.conn.commit()
        return self

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self.conn = None

    def _mysql(self, query: str, args: Sequence | None = None, unbuffered: bool = False) -> list[tuple]:
        import pymysql.cursors

        cur = self.conn.cursor(pymysql.cursors.SSCursor) if unbuffered else self.conn.cursor()
        try:
            cur.execute(query, args)
            return list(cur.fetchall())
        finally:
            cur.close()

    def _pg(self, query: Any, args: Sequence | None = None, server_side: bool = False) -> list[tuple]:
        try:
            if server_side:
                with self.conn.cursor(name="reconcile_chunk") as cur:
                    cur.itersize = 5000
                    cur.execute(query, args)
                    rows = cur.fetchall()
            else:
                rows = self.conn.execute(query, args).fetchall()
            self.conn.commit()
            return rows
        except Exception:
            self.conn.rollback()
            raise

    # --- identifiers ---------------------------------------------------------------------------

    def qi(self, name: str) -> str:
        if self.kind == "mysql":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def qt(self, table: str) -> str:
        return self.qi(table) if self.kind == "mysql" else f"{self.qi(self.schema)}.{self.qi(table)}"

    # --- catalog ---------------------------------------------------------------------------------

    def columns(self, table: str) -> dict[str, str]:
        """column -> type name (MySQL DATA_TYPE, PostgreSQL udt_name); {} if the table is absent."""
        self.connect()
        if self.kind == "mysql":
            rows = self._mysql("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
                               "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (self.database, table))
        else:
            rows = self._pg("SELECT column_name, udt_name FROM information_schema.columns "
                            "WHERE table_schema = %s AND table_name = %s", (self.schema, table))
        return {c: str(t).lower() for c, t in rows}

    def charsets(self, table: str) -> dict[str, str]:
        """MySQL: column -> character set of its character columns ({} for PostgreSQL)."""
        if self.kind != "mysql":
            return {}
        self.connect()
        rows = self._mysql("SELECT COLUMN_NAME, CHARACTER_SET_NAME FROM information_schema.COLUMNS "
                           "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND CHARACTER_SET_NAME IS NOT NULL",
                           (self.database, table))
        return {c: str(cs).lower() for c, cs in rows}

    def estimate(self, table: str) -> int:
        """Row count estimate from the catalog (exact COUNT for small tables)."""
        self.connect()
        if self.kind == "mysql":
            rows = self._mysql("SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                               "AND TABLE_NAME = %s", (self.database, table))
            est = int(rows[0][0] or 0) if rows else 0
        else:
            rows = self._pg("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                            (f"{self.qi(self.schema)}.{self.qi(table)}",))
            est = max(int(rows[0][0] or 0), 0) if rows and rows[0][0] is not None else 0
        if est < 200_000:
            est = int(self._exec(f"SELECT COUNT(*) FROM {self.qt(table)}")[0][0])
        return est

    def key_span(self, table: str, key: str) -> tuple[Any, Any]:
        self.connect()
        k = self.qi(key)
        # ORDER BY ... LIMIT 1 rather than MIN/MAX: PostgreSQL has no min(uuid)
        lo = self._exec(f"SELECT {k} FROM {self.qt(table)} ORDER BY {k} LIMIT 1")
        hi = self._exec(f"SELECT {k} FROM {self.qt(table)} ORDER BY {k} DESC LIMIT 1")
        return (lo[0][0] if lo else None), (hi[0][0] if hi else None)

    def _exec(self, query: str, args: Sequence | None = None) -> list[tuple]:
        return self._mysql(query, args) if self.kind == "mysql" else self._pg(query, args)

    # --- position ----------------------------------------------------------------------------------

    def position(self) -> SourcePosition:
        self.connect()
        if self.kind == "mysql":
            for stmt in ("SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"):
                try:
                    rows = self._mysql(stmt)
                except Exception:  # noqa: BLE001 - the other spelling, or no privilege
                    continue
                if rows:
                    m = _BINLOG_NUMBER.search(str(rows[0][0]))
                    if m:
                        return (int(m.group(1)), int(rows[0][1]), 0)
            return ()
        (lsn,) = self._pg("SELECT pg_current_wal_lsn()::text")[0]
        return (parse_lsn(lsn), 0)

    # --- rows ----------------------------------------------------------------------------------------

    def _key_cond(self, key: Sequence[str], op: str, n: int) -> str:
        if len(key) == 1:
            return f"{self.qi(key[0])} {op} %s"
        return "(" + ", ".join(self.qi(k) for k in key) + f") {op} (" + ", ".join(["%s"] * n) + ")"

    def read_chunk(self, table: str, select: Sequence[str], key: Sequence[str], *, after: tuple | None = None,
                   lo: tuple | None = None, hi: tuple | None = None, limit: int = 10000) -> list[dict]:
        """Up to `limit` rows with key > after (and lo <= key <= hi), in key order, as dicts."""
        self.connect()
        conds, args = [], []
        for bound, op in ((after, ">"), (lo, ">="), (hi, "<=")):
            if bound is not None:
                conds.append(self._key_cond(key, op, len(bound)))
                args.extend(bound)
        where = (" WHERE " + " AND ".join(conds)) if conds else ""
        order = ", ".join(self.qi(k) for k in key)
        tail = f" FROM {self.qt(table)}{where} ORDER BY {order} LIMIT {int(limit)}"
        if self.kind == "mysql" and self.json_rows:
            plan = self._json_plan(table, select)
            if plan is not None:
                keys = ", ".join(f"{self.qi(k)} AS _k{i}" for i, k in enumerate(key))
                inner = f"SELECT JSON_ARRAY({plan[0]}) AS _j, {keys}{tail}"
                rows = self._read_json_chunk(inner, args, len(key), select, plan[1])
                if rows is not None:
                    return rows
                return self._read_json_rows(f"SELECT JSON_ARRAY({plan[0]}){tail}", args, select, plan[1])
        query = f"SELECT {', '.join(self.qi(c) for c in select)}{tail}"
        rows = self._mysql(query, args, unbuffered=True) if self.kind == "mysql" else \
            self._pg(query, args, server_side=True)
        return [dict(zip(select, r)) for r in rows]

    def _json_plan(self, table: str, select: Sequence[str]) -> tuple[str, list[tuple[int, Any]]] | None:
        """(the JSON_ARRAY arguments, [(index, decoder)]) when every column has a JSON-safe type."""
        types = self._types.get(table)
        if types is None:
            types = self._types[table] = self.columns(table)
        exprs, decoders = [], []
        for i, c in enumerate(select):
            safe = _JSON_SAFE.get(types.get(c, ""))
            if safe is None:
                return None
            exprs.append(safe[0].format(self.qi(c)))
            if safe[1] is not None:
                decoders.append((i, safe[1]))
        return ", ".join(exprs), decoders

    def _read_json_chunk(self, inner: str, args: Sequence, n_keys: int, select: Sequence[str],
                         decoders: list[tuple[int, Any]]) -> list[dict] | None:
        """The whole chunk as ONE JSON text (GROUP_CONCAT of the rows' JSON_ARRAYs in key
        order), so pymysql reads one field per chunk. None when the server could not build
        it whole (longer than max_allowed_packet or group_concat_max_len): read row by row."""
        from orjson import JSONDecodeError, loads

        order = ", ".join(f"_k{i}" for i in range(n_keys))
        ((count, text),) = self._mysql(
            f"SELECT COUNT(*), CONCAT('[', GROUP_CONCAT(_j ORDER BY {order} SEPARATOR ','), ']') "
            f"FROM ({inner}) AS chunk", args)
        if not count:
            return []
        try:
            rows = loads(text) if text is not None else None
        except JSONDecodeError:
            rows = None  # truncated: the server cut it at group_concat_max_len
        if rows is None or len(rows) != count:
            return None
        out = []
        for values in rows:
            for i, decode in decoders:
                values[i] = decode(values[i])
            out.append(dict(zip(select, values)))
        return out

    def _read_json_rows(self, query: str, args: Sequence, select: Sequence[str],
                        decoders: list[tuple[int, Any]]) -> list[dict]:
        from orjson import loads

        out = []
        for (text,) in self._mysql(query, args, unbuffered=True):
            values = loads(text)
            for i, decode in decoders:
                values[i] = decode(values[i])
            out.append(dict(zip(select, values)))
        return out

    def read_by_keys(self, table: str, select: Sequence[str], key: Sequence[str], keys: Sequence[tuple]) -> list[dict]:
        """The rows with these legacy keys (those that exist)."""
        self.connect()
        out: list[dict] = []
        keys = list(dict.fromkeys(tuple(k) for k in keys))
        cols = ", ".join(self.qi(c) for c in select)
        for i in range(0, len(keys), 1000):
            part = keys[i:i + 1000]
            if len(key) == 1:
                marks = ", ".join(["%s"] * len(part))
                query = f"SELECT {cols} FROM {self.qt(table)} WHERE {self.qi(key[0])} IN ({marks})"
                args = [k[0] for k in part]
            else:
                tup = "(" + ", ".join(["%s"] * len(key)) + ")"
                query = (f"SELECT {cols} FROM {self.qt(table)} WHERE (" + ", ".join(self.qi(k) for k in key) +
                         f") IN ({', '.join([tup] * len(part))})")
                args = [v for k in part for v in k]
            out.extend(dict(zip(select, r)) for r in self._exec(query, args))
        return out

    def digest_range(self, table: str, key: str, row_hash_sql: str, lo: Any, hi: Any) -> Digest:
        """Count and XOR of row hashes computed by the source database (plain-copy pushdown)."""
        self.connect()
        conds, args = [], []
        if lo is not None:
            conds.append(f"{self.qi(key)} >= %s")
            args.append(lo)
        if hi is not None:
            conds.append(f"{self.qi(key)} <= %s")
            args.append(hi)
        where = (" WHERE " + " AND ".join(conds)) if conds else ""
        agg = "BIT_XOR" if self.kind == "mysql" else "bit_xor"
        count, x = self._exec(f"SELECT COUNT(*), {agg}({row_hash_sql}) FROM {self.qt(table)} AS t{where}", args)[0]
        x = int(x or 0)
        return Digest(int(count), signed64(x) if self.kind == "mysql" else x)


__all__ = ["SourceReader", "parse_lsn"]

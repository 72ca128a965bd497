"""A direct source-vs-target comparison through the mapping, for one legacy table.

Reads every source row, maps it with the same code the stream uses (`TableMapping.map_row`),
and compares the expected target rows with what the target holds, per target table:
missing, extra and different rows with sample keys in both vocabularies. A union feed
(`union: true`: one of several feeds creating distinct rows of a table) is compared with
the target rows it wrote (its `_pos_<contributor>` set). It loads whole tables into memory
and is meant for the demo and tests; the chunked, digest-first, in-flight-aware version is
the reconciler (`replicator reconcile`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from replicator.mapping.engine import TableMapping, position_column


@dataclass
class TableDiff:
    table: str
    contributor: str
    checked: int = 0
    missing: list[tuple] = field(default_factory=list)  # (legacy key, target key)
    extra: list[tuple] = field(default_factory=list)
    different: list[tuple] = field(default_factory=list)  # (legacy key, target key, columns)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.different)

    def summary(self) -> str:
        s = (f"{self.table:28} checked={self.checked:<7} missing={len(self.missing):<4} "
             f"extra={len(self.extra):<4} different={len(self.different):<4}")
        for what, rows in (("missing", self.missing), ("extra", self.extra), ("different", self.different)):
            for r in rows[:3]:
                s += f"\n    {what}: legacy={r[0]} new={r[1]}" + (f" columns={r[2]}" if len(r) > 2 else "")
        return s


def normalise(v: Any) -> Any:
    """Make a mapped value and a value read back from PostgreSQL comparable."""
    obj = getattr(v, "obj", None)  # psycopg Jsonb/Json wrappers
    if obj is not None:
        return normalise(obj)
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.timezone.utc)
    if isinstance(v, Decimal):
        return v.normalize()
    if isinstance(v, memoryview):
        return bytes(v)
    if isinstance(v, str) and len(v) > 2 and v[0] == "[" and v[-1] == "]":
        # pgvector text: the converter writes 1.0 where the server prints 1
        try:
            return tuple(float(x) for x in v[1:-1].split(","))
        except ValueError:
            return v
    if isinstance(v, list):
        return tuple(normalise(x) for x in v)
    return v


def compare(tm: TableMapping, source_rows: Iterable[Mapping[str, Any]], target: psycopg.Connection) -> list[TableDiff]:
    expected: dict[tuple[str, str], dict[tuple, tuple[tuple, dict]]] = {}
    for t in tm.targets:
        expected[(t.table, t.contributor)] = {}
    for row in source_rows:
        for op in tm.map_row("r", row):
            if op.kind == "upsert":
                expected[(op.table, op.contributor)][op.key] = (op.legacy_key, dict(op.values))
    diffs = []
    for t in tm.targets:
        exp = expected[(t.table, t.contributor)]
        cols = [n for n, _ in t.columns]
        schema, name = t.table.split(".", 1)
        q = sql.SQL("SELECT {} FROM {}.{}").format(sql.SQL(", ").join(map(sql.Identifier, cols)),
                                                  sql.Identifier(schema), sql.Identifier(name))
        got = {}
        rows: Iterable = ()
        if not t.spec.union:
            rows = target.execute(q)
        elif _has_column(target, t.table, position_column(t.contributor)):
            # several feeds create distinct rows of this table: this feed's rows are the ones it
            # wrote, so another union feed's rows are never extras of this one (without its
            # position column the pipeline never wrote the table: no row is this feed's)
            rows = target.execute(q + sql.SQL(" WHERE {} IS NOT NULL").format(
                sql.Identifier(position_column(t.contributor))))
        for r in rows:
            values = dict(zip(cols, r))
            got[tuple(values[k] for k in t.key)] = values
        d = TableDiff(t.table, t.contributor, checked=len(exp))
        for key, (legacy, values) in exp.items():
            have = got.get(key)
            if have is None:
                d.missing.append((legacy, key))
                continue
            bad = [c for c in cols if normalise(values[c]) != normalise(have[c])]
            if bad:
                d.different.append((legacy, key, bad))
        # a non-creating contributor or a soft-delete leaves rows we do not own; only rows
        # that this feed creates can be "extra"
        soft = t.soft_delete_column if t.spec.on_delete == "soft" else None
        if t.spec.creates_row:
            for key in got.keys() - exp.keys():
                # a soft-deleted row stays in the target after its source row is gone
                if soft is not None and got[key].get(soft) is not None:
                    continue
                d.extra.append(("?", key))
        diffs.append(d)
    return diffs


def _has_column(conn: psycopg.Connection, table: str, column: str) -> bool:
    schema, name = table.split(".", 1)
    return conn.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                        "AND column_name = %s", (schema, name, column)).fetchone() is not None

"""What is compared for one feed (legacy table -> target table, one contributor).

`FeedSpec` is plain, picklable data decided once from the mapping and the live catalogs:
the columns the contributor owns (plus the target key), their canonical kinds, the source
columns to read, the strategy (see plan.py) and whether the whole digest can be pushed down
into both databases (plain copies only). `Feed` adds what cannot be pickled: the compiled
`TableMapping`, the canonical-text functions and the SQL fragments, rebuilt in each worker.

Columns compared: the feed's own mapped columns (a merge contributor never answers for
another contributor's columns), plus the soft-delete column, which must be NULL while the
source row exists.

Rows compared: every target row, except for a union feed (`union: true`, several feeds
creating distinct rows of one table): its rows are those it wrote, i.e. whose
`_pos_<contributor>` is set, so another union feed's rows are never its extras.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql as psql

from replicator.mapping.engine import CompiledTarget, MappingSet, TableMapping, position_column
from replicator.reconcile import digest as dg
from replicator.reconcile.plan import Strategy, bucket_sql

# source column type families (MySQL DATA_TYPE / PostgreSQL udt_name)
_INT = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "int2", "int4", "int8"}
_TEXT = {"varchar", "char", "text", "tinytext", "mediumtext", "longtext", "bpchar"}


def family(source_type: str) -> str:
    t = source_type.lower()
    if t in _INT:
        return "int"
    if t == "uuid":
        return "uuid"
    if t in _TEXT:
        return "text"
    return "other"


@dataclass(frozen=True)
class FeedSpec:
    source: str  # mapping source name
    source_table: str  # "<source>.<table>"
    legacy_table: str
    target: str
    contributor: str
    creates_row: bool
    on_delete: str
    legacy_key: tuple[str, ...]
    target_key: tuple[str, ...]
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    owned: tuple[str, ...]
    soft_delete_column: str | None
    select: tuple[str, ...]  # source columns to read
    strategy: Strategy
    pushdown: tuple[tuple[str, str], ...] | None = None  # per column: (source column, kind) when SQL can hash both sides
    key_family: str = "other"
    has_pos: bool = False  # the target has this contributor's _pos_ column (the sink prepared it)
    union: bool = False  # one of several feeds creating distinct rows of the table: its rows are those it wrote

    @property
    def id(self) -> str:
        return f"{self.source_table}->{self.target}#{self.contributor}"

    @property
    def pos_column(self) -> str:
        return position_column(self.contributor)


def feeds_of(ms: MappingSet, target: str) -> list[tuple[TableMapping, CompiledTarget]]:
    out = []
    for tm in ms.tables.values():
        for t in tm.targets:
            if t.table == target:
                out.append((tm, t))
    return out


def compared_columns(t: CompiledTarget) -> tuple[str, ...]:
    names = [n for n, _ in t.columns]
    if t.soft_delete_column and t.soft_delete_column not in names:
        names.append(t.soft_delete_column)
    return tuple(names)


def choose_strategy(ms: MappingSet, tm: TableMapping, t: CompiledTarget, key_family: str,
                    target_kinds: Mapping[str, str], key_min: Any = None, key_max: Any = None) -> Strategy:
    """Ordered when the target key is a monotone function of the single legacy key column."""
    from replicator.reconcile.plan import v8_strategy

    uuid_key = len(t.key) == 1 and target_kinds.get(t.key[0]) == "uuid"
    fallback = Strategy("buckets", uuid_key=uuid_key)
    if len(tm.spec.key) != 1 or len(t.key) != 1:
        return fallback
    k = tm.spec.key[0]
    spec = t.spec.column_specs()[t.key[0]]
    tkind = target_kinds.get(t.key[0])
    remapped = spec.key == k or (spec.ref is not None and spec.ref_column == k)
    if remapped and key_family == "int" and tkind == "uuid":
        if key_min is not None and (int(key_min) < 0 or int(key_max) >= 1 << 62):
            return fallback  # such keys become version-5 UUIDs: no order
        if spec.key == k:
            return v8_strategy(tm.source.namespace, tm.spec.table)
        ref_source, _, ref_table = spec.ref.partition(".")  # type: ignore[union-attr]
        return v8_strategy(ms.sources[ref_source].namespace, ref_table)
    if remapped and key_family == "uuid" and tkind == "uuid":
        return Strategy("identity", key_type="uuid")  # existing UUIDs are kept
    if spec.from_ == k and spec.default is None and spec.type in ("none", "int", "uuid"):
        if key_family == "int" and tkind == "int":
            return Strategy("identity", key_type="int")
        if key_family == "uuid" and tkind == "uuid":
            return Strategy("identity", key_type="uuid")
    return fallback


_UTF8 = {"utf8mb4", "utf8mb3", "utf8", "ascii"}


def pushdown_columns(tm: TableMapping, t: CompiledTarget, source_kind: str, source_types: Mapping[str, str],
                     target_kinds: Mapping[str, str], target_types: Mapping[str, str],
                     charsets: Mapping[str, str] | None = None) -> tuple | None:
    """(source column, kind) per compared column when every one is a plain copy that both
    databases can canonicalise identically in SQL; else None (hash mapped rows in Python)."""
    if tm.filter is not None or t.filter is not None or t.soft_delete_column or t.spec.on_delete != "hard":
        return None
    out = []
    for name, spec in t.spec.column_specs().items():
        if spec.from_ is None or spec.default is not None or spec.type not in ("none", "int", "text"):
            return None
        kind = target_kinds.get(name)
        st = source_types.get(spec.from_)
        if kind is None or st is None:
            return None
        if source_kind == "mysql":
            fam = family(st)
            ok = (fam == "int" and kind == "int" and spec.type in ("none", "int")) or \
                 (fam == "text" and kind == "text" and spec.type in ("none", "text"))
        else:  # postgresql: the same type on both sides uses the same SQL form
            ok = st == target_types.get(name) and spec.type == "none"
        if not ok:
            return None
        if source_kind == "mysql" and kind == "text" and (charsets or {}).get(spec.from_) in _UTF8:
            kind = "text:utf8"
        out.append((spec.from_, kind))
    if tuple(n for n, _ in t.columns) != tuple(t.spec.column_specs()):
        return None
    return tuple(out)


def source_columns(tm: TableMapping, available: set[str]) -> tuple[str, ...]:
    """The source columns to read: what the mapping reads (all known ones if a filter looks at the row)."""
    has_filter = tm.filter is not None or any(t.filter is not None for t in tm.targets)
    wanted = set(tm.known_columns) if has_filter else set(tm.known_columns) - set(tm.spec.dropped)
    wanted |= set(tm.spec.key)
    return tuple(sorted(c for c in wanted if c in available))


def q(name: str) -> str:
    """A quoted PostgreSQL identifier as text."""
    return '"' + name.replace('"', '""') + '"'


def qtable(table: str) -> str:
    schema, name = table.split(".", 1)
    return f"{q(schema)}.{q(name)}"


@dataclass
class Feed:
    """A FeedSpec with its mapping and canonical functions: what a worker compares with."""

    spec: FeedSpec
    tm: TableMapping
    target: CompiledTarget
    field_fns: list = field(default_factory=list)
    key_fns: list = field(default_factory=list)
    key_idx: list = field(default_factory=list)
    row_fields: Any = None
    key_from_fields: bool = False

    @classmethod
    def build(cls, spec: FeedSpec, ms: MappingSet) -> Feed:
        tm = ms.tables[spec.source_table]
        t = next(x for x in tm.targets if x.table == spec.target and x.contributor == spec.contributor)
        kinds = dict(zip(spec.columns, spec.kinds))
        f = cls(spec, tm, t)
        f.field_fns = [dg.py_field_fn(k) for k in spec.kinds]
        f.key_fns = [dg.py_text(kinds[k]) for k in spec.target_key]
        f.key_idx = [spec.columns.index(k) for k in spec.target_key]
        f.row_fields = dg.compile_row_fields(spec.columns, spec.kinds)
        # the key text is the key's fields when no key column is text-like (no length prefix)
        f.key_from_fields = all(kinds[k] not in dg.TEXT_KINDS for k in spec.target_key)
        return f

    # --- python side ---------------------------------------------------------------------

    def key_text(self, key_values: tuple) -> str:
        return dg.SEP.join(fn(v) for fn, v in zip(self.key_fns, key_values))

    def fields(self, values: Mapping[str, Any]) -> list[str]:
        return [fn(values.get(c)) for fn, c in zip(self.field_fns, self.spec.columns)]

    def owned_null_fields(self, fields: list[str]) -> bool:
        return all(fields[i] == dg.NULL for i, c in enumerate(self.spec.columns) if c not in self.spec.target_key)

    def key_values_from_text(self, key_text: str) -> tuple:
        """The target key as Python values (for writes) from its canonical text."""
        kinds = dict(zip(self.spec.columns, self.spec.kinds))
        out = []
        for col, part in zip(self.spec.target_key, key_text.split(dg.SEP)):
            k = kinds[col]
            out.append(uuid.UUID(part) if k == "uuid" else int(part) if k == "int" else part)
        return tuple(out)

    def key_fields_from_text(self, key_text: str) -> list[str]:
        kinds = dict(zip(self.spec.columns, self.spec.kinds))
        return [f"{len(part.encode())}:{part}" if kinds[col] in dg.TEXT_KINDS else part
                for col, part in zip(self.spec.target_key, key_text.split(dg.SEP))]

    # --- SQL side ----------------------------------------------------------------------------

    @property
    def table_sql(self) -> str:
        return qtable(self.spec.target)

    def col(self, name: str) -> str:
        return f"t.{q(name)}"

    @property
    def key_sql(self) -> str:
        kinds = dict(zip(self.spec.columns, self.spec.kinds))
        parts = [dg.sql_text(kinds[k], self.col(k)) for k in self.spec.target_key]
        return parts[0] if len(parts) == 1 else "concat_ws(E'\\x1e', " + ", ".join(parts) + ")"

    def field_sqls(self) -> list[str]:
        return [dg.sql_field(k, self.col(c)) for c, k in zip(self.spec.columns, self.spec.kinds)]

    @property
    def row_hash_sql(self) -> str:
        return dg.sql_row_hash(dg.sql_row_text(self.field_sqls()))

    @property
    def owned_null_sql(self) -> str:
        """The row carries none of this contributor's data: it never wrote the row (its position
        is NULL: column defaults are not its data) or its columns are all NULL (cleared)."""
        cols = [c for c in self.spec.columns if c not in self.spec.target_key]
        cond = "(" + " AND ".join(f"{self.col(c)} IS NULL" for c in cols) + ")" if cols else "true"
        if self.spec.has_pos:
            cond = f"({self.col(self.spec.pos_column)} IS NULL OR {cond})"
        return cond

    @property
    def deleted_sql(self) -> str:
        sd = self.spec.soft_delete_column
        return f"({self.col(sd)} IS NOT NULL)" if sd else "false"

    @property
    def scope_sql(self) -> str:
        """The target rows that belong to this feed at all: every row, or for a union feed the
        rows it wrote (its position column is set). Rows outside the scope are never its
        extras, never read as its rows."""
        if self.spec.union:
            return f"({self.col(self.spec.pos_column)} IS NOT NULL)"
        return "true"

    @property
    def digest_filter_sql(self) -> str:
        """Which target rows the feed answers for in a digest (a merge follower: rows holding its data)."""
        return self.scope_sql if self.spec.creates_row else f"NOT {self.owned_null_sql}"

    def counts_in_digest(self, fields: list[str]) -> bool:
        return self.spec.creates_row or not self.owned_null_fields(fields)

    def bucket_sql(self) -> str:
        s = self.spec.strategy
        return bucket_sql(s.bits, self.key_sql if not s.uuid_key else self.col(self.spec.target_key[0]), s.uuid_key)

    def ident(self) -> psql.Composable:
        schema, name = self.spec.target.split(".", 1)
        return psql.SQL("{}.{}").format(psql.Identifier(schema), psql.Identifier(name))


__all__ = ["Feed", "FeedSpec", "choose_strategy", "compared_columns", "family", "feeds_of", "pushdown_columns",
           "q", "qtable", "source_columns"]

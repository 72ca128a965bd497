"""`replicator mapping validate`: check the mappings against the LIVE source and target catalogs.

Loading a mapping (`load_mappings`) only proves it is well-formed. Whether it still fits the
databases it connects is a different question: a legacy column added yesterday, a new NOT
NULL column in the target, a column type changed by a migration. Each of those would fail
at run time, row by row, in the dead-letter topic; `validate` finds them before a single
event is read, from information_schema (MySQL/MariaDB and PostgreSQL) and pg_catalog
(foreign keys from pg_constraint, enum labels from pg_enum).

For every mapped legacy table and each of its targets it reports:

- missing_source_table / missing_source_column: the table, or a column the mapping reads
  (`from`/`key`/`ref_column`/`args`, soft-delete columns, the table key), is not in the source;
- source_column_unaccounted: a source column is neither read, nor `dropped`, nor a key
  column (the drift guard `TableMapping.check_drift` applies per event, found up front);
- missing_target_table / missing_target_column: a produced target column does not exist;
- not_null_unproduced: a target NOT NULL column without a default (not identity, not
  generated, not the sink's own `_pos_*`) that a row-creating feed does not produce;
- type_incompatible: see `_type_problem`. `function:` and `const:` columns are NOT
  type-checked (their result type is not declared anywhere); nor is the source side of a
  column with a declared `type:` other than enum (the converter checks values at run time);
- fk_unmapped: a target FK column written by a plain `from:` of a non-uuid column (a legacy
  int would never match a remapped UUID), or by a `key:`/`ref:` whose legacy table's
  mapping does not feed the FK's referenced table (the UUIDs would come from the wrong
  namespace). Unproduced nullable FK columns are not reported (another writer may own them).

Problems come back sorted by (where, kind, message): the same catalogs give the same list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
import pymysql

from replicator.errors import ReplicatorError
from replicator.mapping.engine import CompiledTarget, MappingSet, TableMapping
from replicator.mapping.model import ColumnSpec

ProblemKind = Literal["source_replica_identity", "not_null_unproduced", "type_incompatible", "fk_unmapped", "source_column_unaccounted",
                      "missing_source_table", "missing_target_table", "missing_target_column",
                      "missing_source_column"]


@dataclass(frozen=True)
class Problem:
    """One mismatch between a mapping and a live catalog. `where` is e.g.
    "legacy_main.Developer -> app.users.email" (or just the legacy table)."""

    kind: ProblemKind
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.message}"


class CatalogUnavailable(ReplicatorError):
    """A catalog could not be read (no settings, cannot connect, no privilege). `source` is the
    mapping's source name, or "target"."""

    def __init__(self, source: str, detail: str) -> None:
        self.source = source
        super().__init__(f"cannot read the catalog of {'the target' if source == 'target' else f'source {source!r}'}: {detail}")


@dataclass(frozen=True)
class Col:
    type: str  # MySQL DATA_TYPE or PostgreSQL udt_name, lower case: "varchar", "int4", "timestamptz"
    full: str  # for messages: MySQL COLUMN_TYPE ("tinyint(1)"), PostgreSQL data_type
    required: bool = False  # target: NOT NULL, no default, not identity, not generated
    labels: tuple[str, ...] | None = None  # an enum's labels (MySQL inline, PostgreSQL pg_enum)


Tables = dict[str, dict[str, Col]]  # table -> column -> Col

# --- reading the catalogs ----------------------------------------------------------------------

_MYSQL_LABEL = re.compile(r"'((?:[^']|'')*)'")


def _read_mysql(name: str, params: Mapping, database: str) -> Tables:
    try:
        with pymysql.connect(**{"connect_timeout": 10, **params}) as conn, conn.cursor() as cur:
            cur.execute("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS "
                        "WHERE TABLE_SCHEMA = %s", (database,))
            rows = cur.fetchall()
    except pymysql.MySQLError as exc:
        raise CatalogUnavailable(name, str(exc)) from exc
    out: Tables = {}
    for table, column, dtype, ctype in rows:
        labels = tuple(s.replace("''", "'") for s in _MYSQL_LABEL.findall(ctype)) if dtype.lower() == "enum" else None
        out.setdefault(table, {})[column] = Col(dtype.lower(), ctype.lower(), labels=labels)
    return out


def _read_pg(name: str, dsn: str, schemas: list[str]) -> tuple[Tables, dict[tuple[str, str], str]]:
    """Columns of `schemas` keyed "schema.table", and FK columns (table, column) -> referenced table."""
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            enums = {(s, t): tuple(labels) for s, t, labels in conn.execute(
                "SELECT n.nspname, t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e "
                "JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace GROUP BY 1, 2")}
            cols = conn.execute(
                "SELECT table_schema, table_name, column_name, udt_schema, udt_name, data_type, is_nullable, "
                "column_default, is_identity, is_generated FROM information_schema.columns "
                "WHERE table_schema = ANY(%s)", (schemas,)).fetchall()
            fks = conn.execute(
                "SELECT cn.nspname || '.' || cl.relname, a.attname, rn.nspname || '.' || rc.relname "
                "FROM pg_constraint c "
                "JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace cn ON cn.oid = cl.relnamespace "
                "JOIN pg_class rc ON rc.oid = c.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace "
                "CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(attnum, refnum) "
                "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
                "WHERE c.contype = 'f' AND cn.nspname = ANY(%s)", (schemas,)).fetchall()
    except psycopg.Error as exc:
        raise CatalogUnavailable(name, str(exc).strip()) from exc
    out: Tables = {}
    for schema, table, column, udt_schema, udt, dtype, nullable, default, identity, generated in cols:
        required = nullable == "NO" and default is None and identity != "YES" and generated != "ALWAYS"
        out.setdefault(f"{schema}.{table}", {})[column] = Col(udt.lower(), dtype.lower(), required,
                                                              enums.get((udt_schema, udt)))
    return out, {(t, c): ref for t, c, ref in fks}


# --- type compatibility --------------------------------------------------------------------------

_PG_TEXT = {"text", "varchar", "bpchar", "citext"}
_PG_INT = {"int2", "int4", "int8", "numeric"}
_PG_FLOAT = {"float4", "float8", "numeric"}
# source type (MySQL DATA_TYPE or PostgreSQL udt_name) -> family, for columns without `type:`
_FAMILY = {**dict.fromkeys(("varchar", "char", "text", "tinytext", "mediumtext", "longtext", "enum", "set",
                            "bpchar", "citext"), "text"),
           **dict.fromkeys(("tinyint", "smallint", "mediumint", "int", "bigint", "int2", "int4", "int8"), "int"),
           **dict.fromkeys(("decimal", "numeric"), "decimal"),
           **dict.fromkeys(("float", "double", "real", "float4", "float8"), "float"),
           **dict.fromkeys(("datetime", "timestamp", "date", "time", "year", "timestamptz", "timetz"), "temporal"),
           **dict.fromkeys(("blob", "tinyblob", "mediumblob", "longblob", "binary", "varbinary", "bytea"), "binary"),
           "bool": "bool", "uuid": "uuid", "json": "json", "jsonb": "json"}
# `type: none` writes the Debezium value unchanged: which target types take each family as is.
# temporal and binary are absent on purpose: Debezium emits epoch numbers / base64 text for them.
_PLAIN = {"text": _PG_TEXT, "int": _PG_INT, "decimal": {"numeric"}, "float": _PG_FLOAT, "bool": {"bool"},
          "uuid": {"uuid"}, "json": {"json", "jsonb"}}
# a declared `type:` -> the target types its converter's output fits (enum, vector: see below)
_DECLARED = {"boolean": {"bool"}, "timestamptz": {"timestamptz"}, "timestamp": {"timestamp"}, "date": {"date"},
             "json": {"json", "jsonb"}, "decimal": {"numeric"}, "uint64": {"numeric"}, "bytes": {"bytea"},
             "uuid": {"uuid"}, "text": _PG_TEXT, "int": _PG_INT, "float": _PG_FLOAT}


def _type_problem(spec: ColumnSpec, src: Col | None, tgt: Col) -> str | None:
    """Why `spec` cannot write into `tgt` (None: compatible or not checked). `src` is None when
    the column is not read from one source column or that column is missing."""
    if spec.key is not None or spec.ref is not None:
        return None if tgt.type == "uuid" else f"`{'key' if spec.key else 'ref'}:` writes a UUID, target is {tgt.full}"
    if spec.from_ is None:
        return None  # function / const: result type undeclared, not checked
    kind = spec.type
    if kind == "enum":
        if tgt.labels is None:
            # a value map into plain text is a legitimate rename of codes
            return None if tgt.type in _PG_TEXT else f"`type: enum` writes a label, target is {tgt.full} ({tgt.type})"
        wanted = set((spec.values or {}).values()) | ({spec.default} if isinstance(spec.default, str) else set())
        lacking = sorted(wanted - set(tgt.labels))
        if lacking:
            return f"enum {tgt.type} has no label(s) {lacking} (labels: {list(tgt.labels)})"
        unmapped = sorted(set(src.labels) - set(spec.values or {})) if src and src.labels else []
        return f"source enum value(s) {unmapped} are not in `values`" if unmapped and spec.default is None else None
    if kind == "vector":
        return None if tgt.type in ("vector", "halfvec") else f"`type: vector` needs a vector/halfvec target, got {tgt.type}"
    if kind != "none":
        return None if tgt.type in _DECLARED[kind] else f"`type: {kind}` does not fit target {tgt.full} ({tgt.type})"
    if src is None:
        return None
    family = _FAMILY.get(src.type)
    if family == "int" and tgt.type == "bool":
        return f"source {src.full} into boolean needs `type: boolean`"
    if family == "text" and tgt.labels is not None:
        # a text/enum source written as is into a PostgreSQL enum: every source label must exist
        lacking = sorted(set(src.labels or ()) - set(tgt.labels))
        return f"enum {tgt.type} lacks source value(s) {lacking}" if lacking else None
    if family == "temporal":
        return f"source {src.full} arrives as epoch/ISO text: declare `type:` timestamptz, timestamp or date"
    if family == "binary":
        return f"source {src.full} arrives as base64 text: declare `type: bytes`"
    if family is None:
        return f"no rule for source {src.full} -> target {tgt.full}: declare a `type:`"
    return None if tgt.type in _PLAIN[family] else f"source {src.full} does not fit target {tgt.full} ({tgt.type})"


# --- the checks ------------------------------------------------------------------------------------


def validate(ms: MappingSet, *, source_params: Mapping[str, Mapping], target_dsn: str) -> list[Problem]:
    """Check `ms` against the live catalogs. `source_params[name]` is pymysql connect kwargs
    for a mysql source, {"dsn": ...} for a postgresql one. Raises CatalogUnavailable."""
    sources: dict[str, Tables] = {}
    replica_identity: dict[str, dict[str, str]] = {}
    located: dict[str, str] = {}  # for messages: the database (and schema) actually read
    for name in sorted({tm.source_name for tm in ms.tables.values()}):
        spec, params = ms.sources[name], source_params.get(name)
        if params is None:
            raise CatalogUnavailable(name, "no connection settings given")
        if spec.kind == "mysql":
            located[name] = params.get("database") or spec.database
            sources[name] = _read_mysql(name, params, located[name])
        else:
            schema = spec.schema_ or "public"
            located[name] = f"schema {schema}"
            tables, _ = _read_pg(name, params["dsn"], [schema])
            sources[name] = {k.partition(".")[2]: v for k, v in tables.items()}
            replica_identity[name] = _read_replica_identity(name, params["dsn"], schema)
    feeds = ms.target_tables()
    target, fks = _read_pg("target", target_dsn, sorted({t.partition(".")[0] for t in feeds}))

    problems: set[Problem] = set()
    for tm in ms.tables.values():
        src = sources[tm.source_name].get(tm.spec.table)
        if src is None:
            problems.add(Problem("missing_source_table", tm.qualified,
                                 f"table {tm.spec.table!r} not in source {located[tm.source_name]}"))
        else:
            problems.update(_check_source(tm, src))
            ident = replica_identity.get(tm.source_name, {}).get(tm.spec.table)
            if ident is not None and ident != "f" and not tm.spec.skip:
                # without FULL, an update that leaves a TOASTed column (a 3072-float vector,
                # long text) unchanged arrives with that column NULL, and a delete carries
                # only the key: the stream would write NULLs over real values
                problems.add(Problem("source_replica_identity", tm.qualified,
                                     f"REPLICA IDENTITY is {_IDENTITY.get(ident, ident)}, needs FULL: "
                                     f"ALTER TABLE {tm.spec.table} REPLICA IDENTITY FULL"))
        for t in tm.targets:
            problems.update(_check_target(ms, tm, t, src or {}, target, fks))
    return sorted(problems, key=lambda p: (p.where, p.kind, p.message))


_IDENTITY = {"d": "DEFAULT", "n": "NOTHING", "i": "INDEX", "f": "FULL"}


def _read_replica_identity(name: str, dsn: str, schema: str) -> dict[str, str]:
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            rows = conn.execute("SELECT c.relname, c.relreplident FROM pg_class c JOIN pg_namespace n "
                                "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                                (schema,)).fetchall()
    except psycopg.Error as exc:
        raise CatalogUnavailable(name, f"cannot read replica identities: {type(exc).__name__}") from exc
    return {r[0]: r[1] for r in rows}


def _check_source(tm: TableMapping, src: dict[str, Col]) -> list[Problem]:
    out = []
    for k in tm.spec.key:
        if k not in src:
            out.append(Problem("missing_source_column", tm.qualified, f"key column {k!r} not in the source table"))
    for t in tm.targets:
        reads = [(n, c) for n, spec in t.spec.column_specs().items() for c in spec.source_columns()]
        if (sd := t.spec.soft_delete) is not None:
            reads += [(sd.column, c) for c in (sd.flag, sd.status_column, *sd.at_columns) if c]
        out += [Problem("missing_source_column", f"{tm.qualified} -> {t.table}.{n}",
                        f"reads source column {c!r}, which {tm.qualified} does not have")
                for n, c in reads if c not in src]
    unaccounted = sorted(set(src) - tm.known_columns)
    if unaccounted and not tm.spec.skip:
        out.append(Problem("source_column_unaccounted", tm.qualified,
                           f"source column(s) {', '.join(unaccounted)} neither mapped, `dropped` nor key"))
    return out


def _check_target(ms: MappingSet, tm: TableMapping, t: CompiledTarget, src: dict[str, Col], target: Tables,
                  fks: dict[tuple[str, str], str]) -> list[Problem]:
    cols = target.get(t.table)
    if cols is None:
        return [Problem("missing_target_table", f"{tm.qualified} -> {t.table}", "target table does not exist")]
    out = []
    specs = t.spec.column_specs()
    produced = [n for n, _ in t.columns]
    if t.soft_delete_column and t.soft_delete_column not in produced:
        produced.append(t.soft_delete_column)  # on_delete: soft stamps deleted_at on delete
    if t.spec.creates_row:
        # the sink INSERTs only this feed's columns: every other required column would fail
        out += [Problem("not_null_unproduced", f"{tm.qualified} -> {t.table}.{c}",
                        "NOT NULL without a default, but this feed creates rows without producing it")
                for c, col in cols.items() if col.required and c not in produced and not c.startswith("_pos_")]
    for name in produced:
        where = f"{tm.qualified} -> {t.table}.{name}"
        tgt = cols.get(name)
        if tgt is None:
            out.append(Problem("missing_target_column", where, f"column {name!r} not in {t.table}"))
            continue
        spec = specs.get(name)
        if spec is None or name == t.soft_delete_column:  # the soft-delete stamp is a timestamp
            if tgt.type not in ("timestamptz", "timestamp"):
                out.append(Problem("type_incompatible", where, f"soft-delete column is {tgt.full}, needs a timestamp"))
            continue
        ref_table = fks.get((t.table, name))
        if ref_table is not None and (msg := _fk_problem(ms, tm, spec, src, ref_table)):
            # the FK message says what to do; an int-into-uuid type complaint would only repeat it
            out.append(Problem("fk_unmapped", where, msg))
            continue
        reads = spec.from_ or spec.key or spec.ref_column
        if msg := _type_problem(spec, src.get(reads) if reads else None, tgt):
            out.append(Problem("type_incompatible", where, msg))
    return out


def _fk_problem(ms: MappingSet, tm: TableMapping, spec: ColumnSpec, src: dict[str, Col], ref_table: str) -> str | None:
    if spec.from_ is not None:
        col = src.get(spec.from_)
        if spec.type == "uuid" or (col is not None and col.type == "uuid"):
            return None  # already a UUID in the source: nothing to remap
        return (f"FK to {ref_table} written by plain `from: {spec.from_}` ({col.full if col else 'unknown type'}) "
                f"without remapping: use `ref:` with `ref_column:`")
    # `key:` remaps in this table's own namespace, `ref:` in the referenced legacy table's
    legacy = tm.qualified if spec.key is not None else spec.ref
    if legacy is None:
        return None  # function / const
    fed = sorted({t.table for t in ms.tables[legacy].targets}) if legacy in ms.tables else []
    if ref_table in fed:
        return None
    return f"FK to {ref_table}, but the UUIDs come from {legacy}, whose mapping feeds {fed or 'nothing'}"


# --- connection settings from the environment ---------------------------------------------------


def source_params_from_env(ms: MappingSet, env: Mapping[str, str]) -> dict[str, dict]:
    """`source_params` for `validate` from REPLICATOR_SOURCE_<NAME>_DSN, one per mapped source:
    mysql://user:pass@host:port/db or postgresql://...; the database defaults to the mapping's."""
    out: dict[str, dict] = {}
    for name in sorted({tm.source_name for tm in ms.tables.values()}):
        spec = ms.sources[name]
        var = f"REPLICATOR_SOURCE_{re.sub(r'[^A-Za-z0-9]', '_', name).upper()}_DSN"
        dsn = env.get(var)
        if not dsn:
            raise CatalogUnavailable(name, f"{var} is not set")
        url = urlsplit(dsn)
        scheme = url.scheme.partition("+")[0]
        try:
            port = url.port
        except ValueError as exc:
            raise CatalogUnavailable(name, f"{var} has an invalid port") from exc
        if spec.kind == "mysql" and scheme in ("mysql", "mariadb"):
            out[name] = {"host": url.hostname or "127.0.0.1", "port": port or 3306,
                         "user": unquote(url.username or ""), "password": unquote(url.password or ""),
                         "database": unquote(url.path.lstrip("/")) or spec.database}
        elif spec.kind == "postgresql" and scheme in ("postgresql", "postgres"):
            if not url.path.strip("/"):
                dsn = urlunsplit(url._replace(path="/" + quote(spec.database)))
            out[name] = {"dsn": dsn}
        else:
            # never echo the DSN: it may hold a password
            raise CatalogUnavailable(name, f"{var} has scheme {url.scheme!r}, source kind is {spec.kind}")
    return out


__all__ = ["CatalogUnavailable", "Problem", "ProblemKind", "source_params_from_env", "validate"]

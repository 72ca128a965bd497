"""The compiled mapping: one legacy row change in, zero or more target operations out.

This is the single source of truth that the streaming apply, the backfill, the reconciler
and `explain` all call (`MappingSet.map_event` / `TableMapping.map_row`). It is pure: it
reads the event and the compiled mapping, and does no I/O.

Compilation happens once at load time. Each target column becomes a Python expression
over the row (`row["createdAt"]` through its bound converter); the expressions of one
target are compiled into a single function that builds the whole values dict, so mapping
a row costs one call per target, not two or three calls per column (a converter's common
case is even evaluated in place: mapping/inline.py). Each column is also
available on its own (`CompiledTarget.columns`) for the delete, soft-delete and reconcile
paths; both come from the same expression, so they cannot disagree.
"""

from __future__ import annotations

import re
from functools import cached_property
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from replicator.errors import ConfigError, MappingError, SchemaDriftError, UnknownTableError
from replicator.events import ChangeEvent, SourcePosition
from replicator.keys import key_remapper
from replicator.mapping.convert import ConversionError, get_converter
from replicator.mapping.inline import InlineCase
from replicator.mapping.model import ColumnSpec, MappingFile, SourceSpec, TableSpec, TargetSpec

OpKind = Literal["upsert", "delete", "clear"]
_NOT_IDENT = re.compile(r"[^a-z0-9_]")


def position_column(contributor: str) -> str:
    """The target column holding the source position of a contributor's last write."""
    return "_pos_" + _NOT_IDENT.sub("_", contributor.lower())
ColumnFn = Callable[..., Any]  # (row) -> value; soft-delete columns also take the commit time


class ColumnProgram(NamedTuple):
    """One target column as data rather than code: what `_column_expr`'s expression does,
    for the apply path's C core (apply/fastpath.py, _fastmap.c) to evaluate.

    `fetch`: "field" (row[arg]), "call" (arg[0](*row[f] for f in arg[1])), "row" (arg(row)),
    "row_ts" (arg(row, commit ts)) or "const" (arg). Then `conv` (None: the value as it
    is), whose common case is `inline` (mapping/inline.py), then `default` for NULL: () or
    (the default,).
    """

    fetch: Literal["field", "call", "row", "row_ts", "const"]
    arg: Any
    conv: Callable[[Any], Any] | None = None
    inline: InlineCase | None = None
    default: tuple[Any, ...] = ()


class TargetOp(NamedTuple):
    """One write to one target row, as produced by the mapping (an immutable value; a
    NamedTuple because one is built per event on the apply path).

    `upsert` writes `values` (the contributor's own columns, key included); `delete`
    removes the row; `clear` sets the contributor's non-key columns to NULL (a merge
    contributor's delete). `position` is the source position the sink stores with the row
    (per contributor) and compares to refuse stale writes.
    """

    table: str
    kind: OpKind
    key: tuple[Any, ...]
    values: Mapping[str, Any]
    contributor: str
    position: SourcePosition
    legacy_key: tuple[Any, ...] = ()
    source_table: str = ""
    creates_row: bool = True
    # the source says this change created the row (op c or r): the sink may COPY it
    # straight into the table, and falls back to the guarded upsert if it already exists
    new_row: bool = False


@dataclass(frozen=True)
class CompiledTarget:
    spec: TargetSpec
    table: str
    key: tuple[str, ...]
    contributor: str
    columns: tuple[tuple[str, ColumnFn], ...]
    owned: tuple[str, ...]  # non-key columns this contributor writes
    soft_delete_column: str | None
    filter: Callable[[Mapping[str, Any]], bool] | None
    # (row, commit_ts_ms) -> {column: value} for every column; values -> key tuple
    build: Callable[[Mapping[str, Any], int | None], dict[str, Any]] = lambda row, ts: {}
    key_of: Callable[[Mapping[str, Any]], tuple[Any, ...]] = lambda values: ()
    refs: tuple[tuple[str, _RefRemap], ...] = ()  # foreign-key columns, bound in _check_refs
    # the same columns as data, for the apply path's C core (apply/fastpath.py); None when
    # a column has no program (a packed column)
    programs: tuple[tuple[str, ColumnProgram], ...] | None = None


@dataclass(frozen=True)
class TableMapping:
    """A legacy table compiled: how its rows become target operations."""

    source_name: str
    source: SourceSpec
    spec: TableSpec
    targets: tuple[CompiledTarget, ...]
    known_columns: frozenset[str]
    filter: Callable[[Mapping[str, Any]], bool] | None
    file: Path
    read_columns: frozenset[str] = frozenset()  # source columns some target column reads
    legacy_key_of: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None = None
    # (row, position, commit_ts_ms, new_row) -> the upserts of a row that exists, as one
    # generated function; None when a filter decides per row (map_row's general path)
    upserts_of: Callable[..., list[TargetOp]] | None = None

    @cached_property
    def qualified(self) -> str:
        return f"{self.source_name}.{self.spec.table}"

    @property
    def topic(self) -> str:
        s = self.source
        middle = s.schema_ if s.kind == "postgresql" else s.database
        return f"{s.topic_prefix}.{middle}.{self.spec.table}"

    def legacy_key(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        if self.legacy_key_of is not None:
            return self.legacy_key_of(row)
        return tuple(row.get(k) for k in self.spec.key)

    def check_drift(self, row: Mapping[str, Any], ev: ChangeEvent | None = None) -> None:
        if self.known_columns.issuperset(row):
            return
        unknown = [c for c in row if c not in self.known_columns]
        if unknown:
            raise SchemaDriftError(
                f"source columns not in the mapping and not listed as dropped: {sorted(unknown)}",
                table=self.qualified, key=self.legacy_key(row),
                position=str(ev.coordinates) if ev else None)

    def map_row(self, op: str, row: Mapping[str, Any], position: SourcePosition = (),
                commit_ts_ms: int | None = None) -> list[TargetOp]:
        """Map one row image. `op` is c/u/r (row exists) or d (row deleted)."""
        if op != "d" and self.upserts_of is not None:
            try:
                return self.upserts_of(row, position, commit_ts_ms, op == "c" or op == "r")
            except (ConversionError, KeyError, TypeError, ValueError):
                pass  # the general path below maps it again and says which target failed
        if self.spec.skip:
            return []
        legacy_key = self.legacy_key(row)
        new_row = op == "c" or op == "r"
        ctx: dict[str, Any] | None = None  # the row plus its commit time, for the rarer paths
        table_ok = self.filter is None or op == "d" or bool(self.filter(row))
        ops: list[TargetOp] = []
        for t in self.targets:
            exists = op != "d" and table_ok and (t.filter is None or bool(t.filter(row)))
            try:
                if exists:
                    values = t.build(row, commit_ts_ms)
                    ops.append(TargetOp(t.table, "upsert", t.key_of(values), values, t.contributor, position,
                                        legacy_key, self.qualified, t.spec.creates_row, new_row))
                    continue
                rule = t.spec.on_delete
                if rule == "ignore":
                    continue
                if ctx is None:
                    ctx = dict(row)
                    ctx["__commit_ts_ms__"] = commit_ts_ms
                if rule == "soft":
                    # only the key and the deletion time: a delete's before-image may hold
                    # nothing but the key (PostgreSQL's default replica identity), and the
                    # row's other columns already hold its last state
                    key_values = {name: fn(ctx) for name, fn in t.columns if name in t.key}
                    col = t.soft_delete_column or "deleted_at"
                    # a full before-image may say when the row was soft-deleted already
                    stamp = next((fn(ctx) for name, fn in t.columns if name == col), None)
                    values = {**key_values, col: stamp if stamp is not None else _commit_time(commit_ts_ms)}
                    ops.append(TargetOp(t.table, "upsert", tuple(key_values[k] for k in t.key), values,
                                        t.contributor, position, legacy_key, self.qualified, False))
                    continue
                key_values = {name: fn(ctx) for name, fn in t.columns if name in t.key}
                key = tuple(key_values[k] for k in t.key)
            except (ConversionError, KeyError, TypeError, ValueError) as exc:
                raise MappingError(f"cannot map row into {t.table}: {exc}", table=self.qualified,
                                   key=legacy_key) from exc
            if rule == "hard":
                ops.append(TargetOp(t.table, "delete", key, {}, t.contributor, position, legacy_key,
                                    self.qualified, t.spec.creates_row))
            elif rule == "clear":
                ops.append(TargetOp(t.table, "clear", key, {c: None for c in t.owned}, t.contributor,
                                    position, legacy_key, self.qualified, False))
        return ops


def _commit_time(ts_ms: int | None):
    import datetime as dt

    if ts_ms is None:
        return None
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(milliseconds=ts_ms)


@dataclass
class MappingSet:
    """All loaded mappings, indexed by how events name their table."""

    sources: dict[str, SourceSpec]
    tables: dict[str, TableMapping]  # "<source>.<table>" -> mapping
    by_event: dict[tuple[str, str, str], TableMapping] = field(default_factory=dict)
    files: tuple[Path, ...] = ()

    @classmethod
    def compile(cls, files: Iterable[tuple[Path, MappingFile]]) -> MappingSet:
        import transforms

        registry = transforms.load_all()
        files = list(files)
        sources: dict[str, SourceSpec] = {}
        for path, mf in files:
            for name, src in mf.sources.items():
                if name in sources and sources[name] != src:
                    raise ConfigError(f"{path}: source {name!r} is defined differently in another file")
                sources[name] = src
        problems: list[str] = []
        tables: dict[str, TableMapping] = {}
        for path, mf in files:
            for spec in mf.tables:
                where = f"{path} table {spec.source}.{spec.table}"
                if spec.source not in sources:
                    problems.append(f"{where}: source {spec.source!r} is not defined in any `sources`")
                    continue
                try:
                    tm = _compile_table(path, spec.source, sources[spec.source], spec, registry)
                except ConfigError as exc:
                    problems.append(f"{where}: {exc.message}")
                    continue
                if tm.qualified in tables:
                    problems.append(f"{where}: mapped twice")
                tables[tm.qualified] = tm
        problems.extend(_check_refs(tables, sources))
        problems.extend(_check_merges(tables))
        if problems:
            raise ConfigError("invalid mapping:\n  " + "\n  ".join(problems))
        ms = cls(sources=sources, tables=tables, files=tuple(p for p, _ in files))
        for tm in tables.values():
            s = tm.source
            middle = s.schema_ if s.kind == "postgresql" else s.database
            ms.by_event[(s.topic_prefix, middle or "", tm.spec.table)] = tm
        return ms

    def topics(self) -> list[str]:
        return sorted(tm.topic for tm in self.tables.values())

    def maps_database(self, topic_prefix: str, database: str) -> bool:
        return any(k[0] == topic_prefix and k[1] == database for k in self.by_event)

    def schema_topics(self) -> list[str]:
        """The schema-change topics (`<topic.prefix>`) of the MySQL sources."""
        return sorted({s.topic_prefix for s in self.sources.values() if s.kind == "mysql"})

    def check_schema_change(self, ev: ChangeEvent) -> None:
        """Raise SchemaDriftError when a DDL leaves a mapped table with columns the mapping
        does not cover, or without columns it reads: reported before any row arrives."""
        for table, columns in ev.table_changes:
            tm = self.by_event.get((ev.source_name, ev.database, table))
            if tm is None or tm.spec.skip:
                continue
            new = sorted(set(columns) - tm.known_columns)
            gone = sorted(c for c in tm.read_columns if c not in set(columns))
            if new or gone:
                parts = ([f"new columns not in the mapping and not listed as dropped: {new}"] if new else []) + \
                        ([f"mapped columns no longer in the source: {gone}"] if gone else [])
                raise SchemaDriftError("schema change: " + "; ".join(parts), table=tm.qualified,
                                       ddl=(ev.ddl or "")[:200], topic=ev.coordinates.topic,
                                       partition=ev.coordinates.partition, offset=ev.coordinates.offset)

    def table_for_event(self, ev: ChangeEvent) -> TableMapping:
        middle = ev.schema if ev.source_connector == "postgresql" else ev.database
        tm = self.by_event.get((ev.source_name, middle or "", ev.table))
        if tm is not None and ev.source_connector == "postgresql" and ev.database != tm.source.database:
            # postgres topic names do not carry the database: check it, never guess
            tm = None
        if tm is None:
            raise UnknownTableError("no mapping for source table", table=ev.source_table,
                                    topic=ev.coordinates.topic, partition=ev.coordinates.partition,
                                    offset=ev.coordinates.offset)
        return tm

    def map_event(self, ev: ChangeEvent) -> list[TargetOp]:
        """The target operations one change event produces (the streaming entry point)."""
        # MySQL topics name database and table: one lookup (PostgreSQL's need a check)
        tm = self.by_event.get((ev.source_name, ev.database, ev.table)) \
            if ev.source_connector == "mysql" else None
        if tm is None:
            tm = self.table_for_event(ev)
        op = ev.op
        row = ev.before if op == "d" else ev.after
        assert op is not None and row is not None
        if tm.spec.skip:
            return []
        try:
            if not tm.known_columns.issuperset(row):
                tm.check_drift(row, ev)
            return tm.map_row(op, row, ev.position, ev.source_ts_ms)
        except MappingError as exc:
            exc.context.update(topic=ev.coordinates.topic, partition=ev.coordinates.partition,
                               offset=ev.coordinates.offset)
            raise

    def target_tables(self) -> dict[str, list[CompiledTarget]]:
        out: dict[str, list[CompiledTarget]] = {}
        for tm in self.tables.values():
            for t in tm.targets:
                out.setdefault(t.table, []).append(t)
        return out


def _compile_table(path: Path, source_name: str, source: SourceSpec, spec: TableSpec,
                   registry: Mapping[str, tuple[str, Callable[..., Any]]]) -> TableMapping:
    try:
        tz = ZoneInfo(source.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {source.timezone!r}") from exc
    known: set[str] = set(spec.key) | set(spec.dropped)
    targets = []
    for i, t in enumerate(spec.targets):
        contributor = t.contributor or spec.table.lower()
        code = _Codegen(f"_t{i}")  # names unique per target: _compile_upserts joins them
        cols: list[tuple[str, str]] = []  # (target column, expression)
        programs: list[tuple[str, ColumnProgram | None]] = []  # the same, as data
        for name, col in t.column_specs().items():
            known.update(col.source_columns())
            expr, program = _column_expr(code, name, col, source, spec, tz, registry)
            cols.append((name, expr))
            programs.append((name, program))
        sd_col = None
        if t.soft_delete is not None:
            sd = t.soft_delete
            sd_col = sd.column
            known.update(c for c in (sd.flag, sd.status_column, *sd.at_columns) if c)
            cols = [(n, e) for n, e in cols if n != sd.column]
            programs = [(n, p) for n, p in programs if n != sd.column]
            soft_delete_of = _compile_soft_delete(sd, tz)
            cols.append((sd.column, f"{code.bind(soft_delete_of)}(row, ts)"))
            programs.append((sd.column, ColumnProgram("row_ts", soft_delete_of)))
        elif t.on_delete == "soft":
            sd_col = "deleted_at"
            if sd_col not in {n for n, _ in cols}:
                # a row that exists in the source is not deleted: a re-inserted key clears it
                cols.append((sd_col, "None"))
                programs.append((sd_col, ColumnProgram("const", None)))
        owned = tuple(n for n, _ in cols if n not in t.key)
        if sd_col is not None and sd_col not in owned:
            owned += (sd_col,)
        where = f"{spec.source}.{spec.table} -> {t.table}"
        columns = tuple((n, code.function(f"column {n} of {where}", "row, ts=None", expr)) for n, expr in cols)
        values_expr = "{" + ", ".join(f"{n!r}: {e}" for n, e in cols) + "}"
        build = code.function(f"values of {where}", "row, ts", values_expr)
        build.expr = values_expr  # type: ignore[attr-defined] - for _compile_upserts to use in place
        key_of = code.function(f"key of {where}", "values", _tuple_expr(f"values[{k!r}]" for k in t.key))
        complete = all(p is not None for _, p in programs)
        targets.append(CompiledTarget(t, t.table, t.key, contributor, columns, owned, sd_col,
                                      _predicate(t.filter, registry), build, key_of, tuple(code.refs),
                                      tuple(programs) if complete else None))  # type: ignore[arg-type]
    read = {c for t in spec.targets for col in t.column_specs().values() for c in col.source_columns()}
    legacy_key_expr = _tuple_expr(f"row.get({k!r})" for k in spec.key)  # no bound names: inlined as it is
    legacy_key_of = _Codegen().function(f"legacy key of {spec.source}.{spec.table}", "row", legacy_key_expr)
    legacy_key_of.expr = legacy_key_expr  # type: ignore[attr-defined]
    table_filter = _predicate(spec.filter, registry)
    upserts_of = None
    if not spec.skip and table_filter is None and all(t.filter is None for t in targets):
        upserts_of = _compile_upserts(f"{source_name}.{spec.table}", tuple(targets), legacy_key_of)
    return TableMapping(source_name, source, spec, tuple(targets), frozenset(known), table_filter, path,
                        frozenset(read) | set(spec.key), legacy_key_of, upserts_of)


def _compile_upserts(qualified: str, targets: tuple[CompiledTarget, ...],
                     legacy_key_of: Callable[..., tuple[Any, ...]]) -> Callable[..., list[TargetOp]]:
    """map_row's path for a row that exists, when no filter decides per row, as one
    function: build each target's values, key them, and make the TargetOps (built with
    tuple.__new__, which skips the NamedTuple's Python-level __new__; every field is given).
    It must equal the general path: tests/unit/test_mapping_engine.py holds them equal."""
    code = _Codegen()
    lines = [f"    legacy_key = {legacy_key_of.expr}"]  # type: ignore[attr-defined]
    ops = []
    for i, t in enumerate(targets):
        # the target's values expression in place of a call to its build function: its
        # names are unique per target (_Codegen's prefix), so the namespaces merge
        code.namespace.update({k: v for k, v in t.build.__globals__.items() if k != "__builtins__"})
        lines.append(f"    v{i} = {t.build.expr}")
        key = _tuple_expr(f"v{i}[{k!r}]" for k in t.key)
        ops.append(f"{code.bind(tuple.__new__)}({code.bind(TargetOp)}, ({t.table!r}, 'upsert', {key}, v{i}, "
                   f"{t.contributor!r}, position, legacy_key, {qualified!r}, {bool(t.spec.creates_row)!r}, new_row))")
    body = "\n".join(lines) + "\n    return [" + ", ".join(ops) + "]"
    return code.block(f"upserts of {qualified}", "row, position, ts, new_row", body)


def _predicate(name: str | None, registry) -> Callable[[Mapping[str, Any]], bool] | None:
    if name is None:
        return None
    entry = registry.get(name)
    if entry is None or entry[0] != "predicate":
        raise ConfigError(f"filter {name!r} is not a registered predicate in transforms/")
    return entry[1]


def _tuple_expr(items: Iterable[str]) -> str:
    items = list(items)
    return "(" + "".join(f"{i}, " for i in items) + ")"


class _Codegen:
    """Compiles column expressions into functions. Every non-literal value an expression
    uses (converter, transform function, key remapper) is bound under a generated name,
    so the generated source holds only names, subscripts and `repr` literals."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.namespace: dict[str, Any] = {"__builtins__": {"type": type, "int": int}}
        self.refs: list[tuple[str, _RefRemap]] = []
        self.locals = 0

    def bind(self, value: Any) -> str:
        name = f"{self.prefix}_b{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def inline(self, case: InlineCase, value_expr: str, fallback: str) -> str:
        """`fallback(value)`, with the converter's common case evaluated in place instead
        of a call: the value is read once, into a local of the generated function."""
        self.locals += 1
        v = f"{self.prefix}_v{self.locals}"
        names = {k: self.bind(x) for k, x in case.names.items()}
        test = case.test.format(v=v, **names)
        # the walrus sits in the first operand evaluated, so `v` is set before it is read
        test = test.replace(v, f"({v} := {value_expr})", 1)
        return f"({case.result.format(v=v, **names)} if {test} else {fallback}({v}))"

    def function(self, what: str, params: str, expr: str) -> Callable[..., Any]:
        return self.block(what, params, f"    return {expr}")

    def block(self, what: str, params: str, body: str) -> Callable[..., Any]:
        source = f"def generated({params}):\n{body}\n"
        scope: dict[str, Any] = {}
        exec(compile(source, f"<mapping: {what}>", "exec"), self.namespace, scope)  # noqa: S102 - our own expressions
        fn = scope["generated"]
        fn.__qualname__ = fn.__name__ = what.replace(" ", "_")
        fn.source = source  # type: ignore[attr-defined] - for debugging a mapping
        return fn


def _column_expr(code: _Codegen, name: str, col: ColumnSpec, source: SourceSpec, spec: TableSpec,
                 tz: ZoneInfo, registry) -> tuple[str, ColumnProgram | None]:
    """The Python expression (over `row`) that computes one target column, and the same
    as a `ColumnProgram` (None where there is none)."""
    try:
        conv = get_converter(col.type, tz=tz, options=col.converter_options())
    except ValueError as exc:
        raise ConfigError(f"column {name}: {exc}") from exc

    def finish(expr: str, fetch: Any, arg: Any) -> tuple[str, ColumnProgram]:
        # the conversion (none: the value as is), then the default for NULL
        inline = getattr(conv, "inline", None)
        if col.type != "none" and inline is not None:
            expr = code.inline(inline, expr, code.bind(conv))
        elif col.type != "none":
            expr = f"{code.bind(conv)}({expr})"
        if col.default is not None:
            expr = f"{code.bind(_default_for_null(col.default))}({expr})"
        converts = col.type != "none"
        return expr, ColumnProgram(fetch, arg, conv if converts else None, inline if converts else None,
                                   () if col.default is None else (col.default,))

    if col.key is not None:
        remap = key_remapper(source.namespace, spec.table)
        return (code.inline(remap.inline, f"row[{col.key!r}]", code.bind(remap)),
                ColumnProgram("field", col.key, remap, remap.inline))
    if col.ref is not None:
        ref_source, _, ref_table = col.ref.partition(".")
        # the referenced table's namespace is its source's database, bound once all
        # sources are known (_check_refs)
        ref = _RefRemap(ref_source, ref_table, col.ref_column)  # type: ignore[arg-type]
        code.refs.append((name, ref))
        return f"{code.bind(ref)}(row)", ColumnProgram("row", ref)
    if col.from_ is not None:
        return finish(f"row[{col.from_!r}]", "field", col.from_)
    if col.function is not None:
        entry = registry.get(col.function)
        if entry is None or entry[0] != "column":
            raise ConfigError(f"column {name}: function {col.function!r} is not a registered column function")
        return finish(f"{code.bind(entry[1])}({', '.join(f'row[{a!r}]' for a in col.args)})",
                      "call", (entry[1], tuple(col.args)))
    if col.pack is not None:
        pairs = tuple(col.pack.items())
        to_json = get_converter("json")
        # each packed value is converted per its own source encoding by the caller's
        # transforms if needed; here they are copied as Debezium gives them
        return f"{code.bind(to_json)}({{{', '.join(f'{k!r}: row[{c!r}]' for k, c in pairs)}}})", None
    if col.const is not None:
        return code.bind(col.const), ColumnProgram("const", col.const)
    return "None", ColumnProgram("const", None)


def _default_for_null(default: Any) -> Callable[[Any], Any]:
    return lambda v: default if v is None else v


class _RefRemap:
    """A foreign-key column: remapped with the *referenced* table's namespace.

    The namespace database is resolved after all sources are known (`bind`), so a chat
    table can point at a main-database table.
    """

    __slots__ = ("ref_source", "ref_table", "column", "db", "remap")

    def __init__(self, ref_source: str, ref_table: str, column: str) -> None:
        self.ref_source, self.ref_table, self.column = ref_source, ref_table, column
        self.db: str | None = None
        self.remap: Callable[[Any], Any] | None = None

    def bind(self, db: str) -> None:
        self.db = db
        self.remap = key_remapper(db, self.ref_table)

    def __call__(self, row: Mapping[str, Any]) -> Any:
        return self.remap(row[self.column])  # type: ignore[misc] - bound at compile time


def _compile_soft_delete(sd, tz: ZoneInfo) -> Callable[[Mapping[str, Any], int | None], Any]:
    at_conv = get_converter(sd.at_type, tz=tz, options={"zero_as_null": True})

    def deleted_at(row: Mapping[str, Any], ts: int | None = None) -> Any:
        if sd.flag is not None:
            flag = row.get(sd.flag)
            deleted = bool(flag) and flag not in ("0", "false")
        else:
            status = row.get(sd.status_column)
            # statuses are declared as text; TINYINT status codes arrive as ints
            deleted = status is not None and str(status) in sd.statuses
        if not deleted:
            return None
        for col in sd.at_columns:
            when = at_conv(row.get(col))
            if when is not None:
                return when
        return _commit_time(row.get("__commit_ts_ms__") if ts is None else ts)
    return deleted_at


def _check_refs(tables: dict[str, TableMapping], sources: dict[str, SourceSpec]) -> list[str]:
    problems = []
    for tm in tables.values():
        for t in tm.targets:
            for name, fn in t.refs:
                target = f"{fn.ref_source}.{fn.ref_table}"
                if fn.ref_source not in sources:
                    problems.append(f"{tm.file} table {tm.qualified}: column {t.table}.{name} refs unknown source {fn.ref_source!r}")
                    continue
                if target not in tables:
                    problems.append(f"{tm.file} table {tm.qualified}: column {t.table}.{name} refs {target}, which no mapping covers")
                fn.bind(sources[fn.ref_source].namespace)
    return problems


def _check_merges(tables: dict[str, TableMapping]) -> list[str]:
    """Several feeds of one target table must have distinct contributors (position columns).

    Merge contributors (not `union`) must own disjoint columns: of each other and of the
    union feeds. Union feeds create their own rows, so they may write the same columns as
    each other (their rows must not collide: distinct key namespaces).
    """
    problems = []
    feeds: dict[str, list[tuple[TableMapping, CompiledTarget]]] = {}
    for tm in tables.values():
        for t in tm.targets:
            feeds.setdefault(t.table, []).append((tm, t))
    for table, fs in feeds.items():
        if len(fs) < 2:
            continue
        seen: dict[str, str] = {}
        for tm, t in fs:
            pcol = position_column(t.contributor)
            if pcol in seen:
                problems.append(f"{tm.file} table {tm.qualified}: target {table} contributor {t.contributor!r} "
                                f"is also used by {seen[pcol]} (position column {pcol}); give each feed its own "
                                "`contributor`")
            seen[pcol] = tm.qualified
        for i, (tm, t) in enumerate(fs):
            for other_tm, other in fs[:i]:
                if other_tm.qualified == tm.qualified or (t.spec.union and other.spec.union):
                    continue
                hint = ""
                if t.spec.creates_row and other.spec.creates_row:
                    hint = " (feeds that each create their own rows of the table: mark them all `union: true`)"
                elif t.spec.union or other.spec.union:
                    hint = " (a union feed and a merge contributor must not write the same columns)"
                for c in t.owned:
                    if c in other.owned:
                        problems.append(f"{tm.file} table {tm.qualified}: target column {table}.{c} is also written "
                                        f"by {other_tm.qualified}; each contributor must own its columns{hint}")
    return problems

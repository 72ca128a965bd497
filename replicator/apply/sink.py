"""Writing target operations into PostgreSQL: bulk, idempotent, never backwards.

For every contributor of a target table the sink keeps a `_pos_<contributor> bigint[]`
column: the source position of the change that last wrote that contributor's columns. Every
write compares positions *in the SQL statement itself*, so replaying an older event (a
rewound consumer, a duplicate delivery, a re-snapshot) cannot move a row backwards.
Hard deletes leave a row in `_replicator.tombstones` so that an older upsert replayed
after the delete cannot resurrect the row. Union feeds (`union: true`: several feeds
creating distinct rows of one table) need nothing special: each upserts and deletes only
its own rows, under its own position column and tombstones.

Writing one batch has two halves, so that the runner can prepare batch N+1 while batch N
is being written:
* `plan` (pure Python, no connection): reduce the batch to the newest operation per
  (table, key, contributor), group it per table and column shape, and lay each group out
  as value tuples with the Python types seen per column;
* `execute` (inside the caller's transaction), per table: hard deletes (+ tombstones),
  then rows the source says it created (ops c/r), COPYed straight into the table (see
  below), then upserts through a staged COPY and one `INSERT ... ON CONFLICT DO UPDATE
  ... WHERE old position <= new position`, then updates of contributors that do not create
  rows, then clears (a merge contributor's delete); finally parked writes whose row now
  exists. Each group is COPYed in PostgreSQL's binary format when its values allow it
  (copy_binary.py), else as COPY text.

The direct COPY of created rows is what makes an initial snapshot load at COPY speed: an
upsert costs PostgreSQL about twice a COPY'd row (row-at-a-time speculative insertion
against multi-insert). It is only taken when it cannot differ from the guarded upsert:
no tombstone of the contributor is at or after the group's oldest position (so none can
refuse a row; `tombstones_newest` makes that one index probe), and the COPY runs in a
savepoint, so a row that exists already (a replay, a re-snapshot, a dual write) fails it
with a unique violation and the group goes through the guarded upsert instead. After such
a fallback the direct path rests for a doubling number of groups of that contributor.
`apply(ops)` is both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from operator import itemgetter
from typing import Any, Callable, Literal, NamedTuple

import psycopg
from psycopg import sql

from replicator.apply import fastpath
from replicator.apply.copy_binary import binary_ok, binary_payload, column_types, register_vector_binary
from replicator.apply.copy_send import writer_for
from replicator.apply.copy_text import Unencodable, encode_values
from replicator.apply.horizon import drop_below_horizon
from replicator.mapping.engine import CompiledTarget, MappingSet, TargetOp, position_column

META_SCHEMA = "_replicator"
# pg_advisory_xact_lock key: batches hold it shared, raising a replay horizon exclusively
HORIZON_LOCK = 0x7265706C6963  # "replic"
# how tombstones and parked writes spell a key (`_key_text_sql`); `prepare` rewrites older ones
KEY_TEXT_FORMAT = 2


pos_column = position_column


def key_parts(keys: Sequence[Sequence[object]]) -> list[list[str | None]]:
    """Keys (tuples, one value per key column) as one list of texts per key column, which
    the statements cast to the column's type. Not the tombstones' key text: PostgreSQL
    computes that from the typed values (`_key_text_sql`), so it is the same whichever
    path wrote it."""
    return [[None if v is None else _part_text(v) for v in column] for column in zip(*keys)]


def _part_text(v: object) -> str:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(v).hex()  # bytea's input form; str() would give "b'..'"
    return str(v)  # uuid, int, Decimal, str, datetime, date, bool: each CASTs back exactly


def pos_text(position: Sequence[int]) -> str:
    """A source position as PostgreSQL array text: (3, 100, 0) -> {3,100,0}."""
    if len(position) == 3:  # MySQL's (file, pos, row): the common case, formatted in one step
        return "{%d,%d,%d}" % position
    return "{" + ",".join(map(str, map(int, position))) + "}"


@dataclass
class ApplyStats:
    upserted: int = 0
    deleted: int = 0
    cleared: int = 0
    stale: int = 0  # operations refused because the target already holds a newer position
    copied: int = 0  # rows created by a direct COPY into the table (counted in upserted too)
    direct_fallbacks: int = 0  # direct COPYs that met an existing row and went through the upsert
    parked: int = 0  # writes of non-creating contributors whose row does not exist yet, kept for later
    unparked: int = 0  # parked writes applied because their row now exists
    per_table: dict[str, int] = field(default_factory=dict)

    def add(self, other: ApplyStats) -> None:
        """Count `other`'s writes in these (a batch written as several plans or events)."""
        for f in fields(self):
            if f.name != "per_table":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        for table, n in other.per_table.items():
            self.per_table[table] = self.per_table.get(table, 0) + n


def reduce_ops(ops: Iterable[TargetOp]) -> list[TargetOp]:
    """Keep the newest op per (table, key, contributor); on equal positions the later one.

    An upsert followed by a delete keeps the delete: a delete is never lost behind an
    upsert in the same batch. A delete followed by an upsert (the row was deleted, then
    created again) keeps both, the delete first (`plan` groups deletes before writes): the
    delete also ends what the table's other contributors wrote, as it does when the two
    land in different batches, so the batch boundaries cannot change the result. A partial
    write (a soft delete: key and deleted_at only) after a full upsert is folded into it,
    so the row is created with its content and its deletion time rather than reduced to a
    write that cannot create it.
    """
    newest: dict[tuple, TargetOp] = {}
    # per key, the newest delete that a newer write supersedes (whatever the arrival order)
    deleted_before: dict[tuple, TargetOp] = {}
    # setdefault: the key tuple is hashed once for a key seen first (the rule), and hashing
    # it calls UUID.__hash__, which is Python
    setdefault = newest.setdefault
    for op in ops:
        k = (op.table, op.key, op.contributor)
        cur = setdefault(k, op)
        if cur is op:
            continue
        if cur.position <= op.position:
            if op.kind == "upsert" and not op.creates_row and cur.kind == "upsert":
                op = cur._replace(values={**cur.values, **op.values}, position=op.position)
            elif op.kind == "upsert" and cur.new_row and not op.new_row:
                op = op._replace(new_row=True)  # created, then changed, in this batch: still new
            elif cur.kind == "delete" and op.kind != "delete":
                _keep_newer(deleted_before, k, cur)
            newest[k] = op
        elif op.kind == "delete" and cur.kind != "delete":
            _keep_newer(deleted_before, k, op)  # an older delete arriving after a newer write
    if not deleted_before:
        return list(newest.values())
    # one delete per key: when the batch ends with a delete, that one is enough
    return [d for k, d in deleted_before.items() if newest[k].kind != "delete"] + list(newest.values())


def partition_ops(ops: list[TargetOp]) -> dict[str, tuple[list[TargetOp], ...]]:
    """table -> (deletes, inserts, upserts, updates), tables in the order of their first op:
    inserts are upserts the source says created the row, updates are the writes of
    non-creating contributors and clears."""
    by_table: dict[str, tuple[list[TargetOp], ...]] = {}
    for o in ops:
        kinds = by_table.get(o.table)
        if kinds is None:
            by_table[o.table] = kinds = ([], [], [], [])
        if o.kind == "delete":
            kinds[0].append(o)
        elif o.kind == "upsert" and o.creates_row:
            kinds[1 if o.new_row else 2].append(o)
        else:
            kinds[3].append(o)
    return by_table


def _keep_newer(kept: dict[tuple, TargetOp], k: tuple, op: TargetOp) -> None:
    cur = kept.get(k)
    if cur is None or cur.position <= op.position:
        kept[k] = op


@dataclass
class DeleteGroup:
    """Hard deletes of one contributor of one table: one list of texts per key column
    (`key_parts`) and the positions."""

    table: str
    contributor: str
    keys: list[list[str | None]]
    positions: list[tuple[int, ...]]


@dataclass
class CopyGroup:
    """Rows of one shape (contributor, columns) for one table, ready for COPY.

    `kind` is `insert` (rows the source created: COPYed straight in when safe, else
    upserted), `upsert` (the contributor creates rows) or `update` (it fills rows another
    contributor created, or clears its columns: parked when the row does not exist yet).
    """

    kind: Literal["insert", "upsert", "update"]
    table: str
    contributor: str
    columns: tuple[str, ...]  # the COPY columns, without the trailing _pos
    rows: list[tuple[Any, ...]]  # values in `columns` order
    positions: list[tuple[int, ...]]  # the source position of each row
    types: list[frozenset[type]]  # the Python types seen in each column
    count: int
    cleared: int = 0


@dataclass
class WritePlan:
    """One batch, reduced, grouped and encoded: what `execute` runs."""

    steps: list[DeleteGroup | CopyGroup]
    per_table: dict[str, int]


class WritePlanner:
    """Turns a batch of target operations into a `WritePlan`. Pure: no connection, so the
    runner plans batch N+1 in its main thread while batch N is being written."""

    def __init__(self, mappings: MappingSet) -> None:
        self.key_columns = {(table, t.contributor): t.key
                      for table, feeds in mappings.target_tables().items() for t in feeds}

    def plan(self, ops: Iterable[TargetOp]) -> WritePlan:
        """Reduce, group and encode a batch."""
        ops = ops if type(ops) is list else list(ops)
        by_table = _plan.partition_ops(_plan.reduce_ops(ops))
        steps: list[DeleteGroup | CopyGroup] = []
        for table, (deletes, inserts, upserts, updates) in by_table.items():
            for contributor in dict.fromkeys(o.contributor for o in deletes):
                mine = [o for o in deletes if o.contributor == contributor]
                steps.append(DeleteGroup(table, contributor, key_parts([o.key for o in mine]),
                                         [o.position for o in mine]))
            for group in _plan.by_shape(inserts):
                steps.append(_copy_group("insert", table, tuple(group[0].values), group))
            for group in _plan.by_shape(upserts):
                steps.append(_copy_group("upsert", table, tuple(group[0].values), group))
            for group in _plan.by_shape(updates):
                key_cols = self.key_columns[(table, group[0].contributor)]
                columns = tuple(dict.fromkeys(key_cols + tuple(group[0].values)))
                keyed = [o._replace(values={**dict(zip(key_cols, o.key)), **o.values}) for o in group]
                cg = _copy_group("update", table, columns, keyed)
                cg.cleared = sum(1 for o in group if o.kind == "clear")
                steps.append(cg)
        return WritePlan(steps, {t: sum(map(len, kinds)) for t, kinds in by_table.items()})


class PostgresSink:
    """Applies target operations for one `MappingSet` on one connection."""

    def __init__(self, conn: psycopg.Connection, mappings: MappingSet) -> None:
        self.conn = conn
        self.mappings = mappings
        self.planner = WritePlanner(mappings)
        self._feeds = mappings.target_tables()
        self._keys = self.planner.key_columns
        self._stage_names: dict[tuple[str, tuple[str, ...]], str] = {}
        self._stage_types: dict[str, tuple[list[int], list[str]]] = {}  # stage -> column oids, type names
        self._stage_seq = 0
        self._key_types: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}  # (table, key) -> type names
        self._statements: dict[tuple, sql.Composed] = {}
        # (table, contributor) -> [groups still to skip, next rest]: the direct COPY's back-off
        self._direct_rest: dict[tuple[str, str], list[int]] = {}
        # table -> its contributors that create (and hard-delete) rows
        self._creators = {table: [t.contributor for t in feeds if t.spec.creates_row]
                          for table, feeds in self._feeds.items()}
        # tables that can have parked writes: non-creating contributors and soft deletes
        self._tables_with_followers = sorted(
            table for table, feeds in self._feeds.items()
            if any(not t.spec.creates_row or t.spec.on_delete == "soft" for t in feeds))

    def prepare(self) -> None:
        """Create the sink's bookkeeping: the meta schema, tombstones, position columns. Idempotent."""
        with self.conn.transaction():
            self.conn.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
            self.conn.execute(f"""
                CREATE TABLE IF NOT EXISTS {META_SCHEMA}.pending (
                    target_table text NOT NULL,
                    contributor text NOT NULL,
                    key text NOT NULL,
                    pos bigint[] NOT NULL,
                    row jsonb NOT NULL,
                    parked_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (target_table, contributor, key))""")
            self.conn.execute(f"""
                CREATE TABLE IF NOT EXISTS {META_SCHEMA}.tombstones (
                    target_table text NOT NULL,
                    contributor text NOT NULL,
                    key text NOT NULL,
                    pos bigint[] NOT NULL,
                    PRIMARY KEY (target_table, contributor, key))""")
            # "the newest tombstone of this contributor": one probe decides the direct COPY.
            # Keyed by an expression, so that no lookup by (table, contributor, key) can use
            # it: tombstones_by_pos (target_table, contributor, pos) was, while the table had
            # no statistics, chosen for the per-row key check, reading every tombstone of the
            # contributor for each row (tests/integration/test_sink_key_index.py)
            self.conn.execute(f"DROP INDEX IF EXISTS {META_SCHEMA}.tombstones_by_pos")
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS tombstones_newest "
                              f"ON {META_SCHEMA}.tombstones ((target_table || ' ' || contributor), pos)")
            for table, feeds in self._feeds.items():
                schema, name = table.split(".", 1)
                for t in feeds:
                    self.conn.execute(sql.SQL("ALTER TABLE {}.{} ADD COLUMN IF NOT EXISTS {} bigint[]").format(
                        sql.Identifier(schema), sql.Identifier(name), sql.Identifier(pos_column(t.contributor))))
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.horizons "
                              "(target_table text PRIMARY KEY, pos bigint[] NOT NULL, "
                              "raised_at timestamptz NOT NULL DEFAULT now(), pruned_at timestamptz)")
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.formats "
                              "(name text PRIMARY KEY, version integer NOT NULL)")
            found = self.conn.execute(f"SELECT version FROM {META_SCHEMA}.formats WHERE name = 'key_text'").fetchone()
            if found is None or found[0] < KEY_TEXT_FORMAT:
                self._rewrite_key_texts()
                self.conn.execute(f"INSERT INTO {META_SCHEMA}.formats VALUES ('key_text', %s) "
                                  "ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version", (KEY_TEXT_FORMAT,))

    def _rewrite_key_texts(self) -> None:
        """Bring keys stored by format 1 to the current one, in prepare's transaction. Format
        1 was Python's text of each part joined by '|' ('' for NULL), which differed from
        PostgreSQL's for dates and times and was ambiguous for composite keys; each part is
        read back as format 1 wrote it (so a part holding '|' is read as badly as it was
        matched then). Parked writes carry their key columns in `row`: read exactly."""
        ident = sql.Identifier
        for table, feeds in self._feeds.items():
            for t in feeds:
                types = self._key_types_of(table, t.key)
                old_parts = [sql.SQL("tb.key") if len(t.key) == 1 else
                             sql.SQL("split_part(tb.key, '|', {})").format(sql.Literal(i + 1))
                             for i in range(len(t.key))]
                from_old = _key_text_sql(
                    [sql.SQL("CAST({} AS {})").format(p if typ.startswith(_TEXT_TYPES) else
                                                      sql.SQL("NULLIF({}, '')").format(p), sql.SQL(typ))
                     for p, typ in zip(old_parts, types)], types)
                from_row = _key_text_sql([sql.SQL("CAST(pe.row ->> {} AS {})").format(sql.Literal(c), sql.SQL(typ))
                                          for c, typ in zip(t.key, types)], types)
                for tbl, alias, new in (("tombstones", "tb", from_old), ("pending", "pe", from_row)):
                    self.conn.execute(sql.SQL(
                        "UPDATE {meta}.{tbl} AS {alias} SET key = {new} WHERE {alias}.target_table = %s "
                        "AND {alias}.contributor = %s AND {alias}.key IS DISTINCT FROM {new}").format(
                            meta=ident(META_SCHEMA), tbl=ident(tbl), alias=ident(alias), new=new),
                        (table, t.contributor))

    def apply(self, ops: Iterable[TargetOp]) -> ApplyStats:
        """Write one batch. The caller owns the transaction and commits it."""
        return self.execute(self.planner.plan(ops))

    # executing: inside the caller's transaction

    def execute(self, plan: WritePlan) -> ApplyStats:
        stats = ApplyStats(per_table=dict(plan.per_table))
        steps = plan.steps
        horizons = self._horizons()
        if horizons:
            steps, stats.stale = drop_below_horizon(steps, horizons)
        for step in steps:
            if isinstance(step, DeleteGroup):
                self._delete(step, stats)
                continue
            if step.kind == "insert" and self._insert_direct(step, stats):
                continue
            stage = self._stage(step.table, step.columns)
            self._copy(stage, step)
            if step.kind != "update":
                self._upsert(step, stage, stats)
            else:
                self._update_only(step, stage, stats)
            # the stage may be reused in this transaction (union feeds share a shape, the
            # one-by-one retry applies event after event): empty it now. DELETE, not
            # TRUNCATE: a TRUNCATE gives the table a new file, i.e. a new pg_class row
            # version every batch, and over thousands of batches on one connection that
            # catalog bloat made each batch slower (bench/sink_soak.py); the commit then
            # empties the temp table in place (ON COMMIT DELETE ROWS)
            self.conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(stage)))
        # rows created in this batch (here or by another pod earlier) may unblock parked
        # writes; drain them in the same transaction as the creating upsert
        for table in self._tables_with_followers:
            self._drain_pending(table, stats)
        return stats

    def _horizons(self) -> dict[str, tuple[int, ...]]:
        """The tables' replay horizons (horizon.py), under a shared lock that `prune` takes
        exclusively to raise one: a batch sees the horizon that holds when it checks the
        tombstones, never an older one with the tombstones below the newer already gone."""
        self.conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (HORIZON_LOCK,))
        return {table: tuple(pos) for table, pos in self.conn.execute(
            f"SELECT target_table, pos FROM {META_SCHEMA}.horizons")}

    def _key_types_of(self, table: str, key_cols: Sequence[str]) -> tuple[str, ...]:
        """The key columns' types (format_type: with typmods), read from the catalog once per table."""
        types = self._key_types.get((table, tuple(key_cols)))
        if types is None:
            schema, name = table.split(".", 1)
            found = dict(self.conn.execute(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = %s AND a.attname = ANY(%s) AND NOT a.attisdropped",
                (schema, name, list(key_cols))).fetchall())
            missing = [c for c in key_cols if c not in found]
            if missing:
                raise psycopg.errors.UndefinedColumn(f"{table} has no key column(s) {missing}")
            types = self._key_types[(table, tuple(key_cols))] = tuple(found[c] for c in key_cols)
        return types

    def _key_text(self, table: str, key_cols: Sequence[str], alias: str) -> sql.Composable:
        """The canonical key text (`_key_text_sql`) of `alias`'s key columns."""
        return _key_text_sql([_column(alias, c) for c in key_cols], self._key_types_of(table, key_cols))

    def forget_stages(self) -> None:
        """Call after a rollback (of the transaction or a savepoint): stage tables created
        inside it are gone, so the next use must create them again."""
        self._stage_names.clear()
        self._stage_types.clear()

    def _stage(self, table: str, columns: tuple[str, ...]) -> str:
        """A temp table with the target's column types for these columns, emptied at commit."""
        k = (table, columns)
        name = self._stage_names.get(k)
        if name is None:
            # a fresh name each time: after a rollback the old one may or may not exist
            self._stage_seq += 1
            name = f"_stage_{self._stage_seq}"
            schema, tname = table.split(".", 1)
            self.conn.execute(sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS SELECT {} FROM {}.{} WITH NO DATA").format(
                sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.Identifier(schema), sql.Identifier(tname)))
            self.conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN _pos bigint[]").format(sql.Identifier(name)))
            types = self.conn.execute(
                "SELECT a.atttypid::int, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                (name,)).fetchall()
            self._stage_types[name] = ([oid for oid, _ in types], [typname for _, typname in types])
            for oid, typname in types:
                if typname == "vector":
                    register_vector_binary(self.conn, oid)
            self._stage_names[k] = name
        return name

    def _insert_direct(self, group: CopyGroup, stats: ApplyStats) -> bool:
        """COPY rows the source created straight into their table, when that cannot differ
        from the guarded upsert (module docstring). False: not taken, or a row existed and
        the savepoint was rolled back; the caller upserts the group."""
        k = (group.table, group.contributor)
        rest = self._direct_rest.setdefault(k, [0, 1])
        if rest[0] > 0:
            rest[0] -= 1
            return False
        if self._tombstoned_since(group):
            return False
        stage = self._stage(group.table, group.columns)  # its column types are the table's
        schema, name = group.table.split(".", 1)
        target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))
        try:
            with self.conn.transaction():  # a savepoint: a failed COPY leaves nothing behind
                self._copy(stage, group, into=target, pos_col=pos_column(group.contributor))
        except psycopg.errors.UniqueViolation:
            # a row exists already: this group takes the upsert, and the direct path rests
            rest[0], rest[1] = rest[1], min(rest[1] * 2, 256)
            stats.direct_fallbacks += 1
            return False
        rest[1] = 1
        stats.upserted += group.count
        stats.copied += group.count
        return True

    def _tombstoned_since(self, group: CopyGroup) -> bool:
        """Whether a tombstone of the group's contributor is at or after its oldest position:
        only then can a deletion refuse one of its rows. The newest tombstone, not "is there
        one at or after the group": max() reads one entry of tombstones_newest whatever the
        plan, while EXISTS (pos >= $1) under a generic plan guessed a third of the
        tombstones would match and scanned them all."""
        newest = self.conn.execute(
            f"SELECT max(pos) FROM {META_SCHEMA}.tombstones WHERE target_table || ' ' || contributor = %s",
            (f"{group.table} {group.contributor}",)).fetchone()
        return newest is None or (newest[0] is not None and tuple(newest[0]) >= min(group.positions))

    def _copy(self, stage: str, group: CopyGroup, into: sql.Composable | None = None,
              pos_col: str = "_pos") -> None:
        """COPY the group into its stage (or `into`, a table with the stage's column types):
        binary when every value fits (copy_binary.py), else as text encoded here, else
        through psycopg's text dumpers."""
        columns = sql.SQL(", ").join(map(sql.Identifier, group.columns + (pos_col,)))
        dest = sql.Identifier(stage) if into is None else into
        oids, pg_types = self._stage_types[stage]
        if binary_ok(pg_types[:-1], group.types):
            statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(dest, columns)
            try:
                data = binary_payload(group.rows, group.positions, oids, self.conn)
                with self._copy_cursor(data is not None, statement) as cp:
                    if data is not None:
                        cp.write(data)
                    else:
                        cp.set_types(oids)
                        for row, pos in zip(group.rows, group.positions):
                            cp.write_row((*row, list(pos)))
            except psycopg.Error:
                raise
            except Exception as exc:  # noqa: BLE001 - a dumper refused a value: a data error, not a crash
                raise psycopg.DataError(f"binary COPY into {group.table}: {exc}") from exc
            return
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(dest, columns)
        try:
            payload = "".join([f"{encode_values(row)}\t{pos_text(pos)}\n"
                               for row, pos in zip(group.rows, group.positions)]).encode()
        except Unencodable:
            payload = None  # a value type without a text encoding here: psycopg knows more
        with self._copy_cursor(payload is not None, statement) as cp:
            if payload is not None:
                cp.write(payload)
            else:
                for row, pos in zip(group.rows, group.positions):
                    cp.write_row((*row, pos_text(pos)))

    def _copy_cursor(self, whole: bool, statement: sql.Composable) -> psycopg.Copy:
        """A COPY of `statement`; `whole`: its data is one payload written at once, which
        goes without holding the GIL (copy_send.py)."""
        cur = self.conn.cursor()
        return cur.copy(statement, writer=writer_for(cur) if whole else None)

    def delete_statement(self, table: str, contributor: str) -> sql.Composable:
        """The position-guarded hard delete of a batch's keys (parameters: one text array
        per key column, as `key_parts` lays them out, then the position texts); each part
        is cast to its column's type, so the table's key index finds the rows."""
        return self._delete_statements(table, contributor)[0]

    def _delete_statements(self, table: str, contributor: str) -> tuple[sql.Composable, sql.Composable]:
        """The delete, and the tombstones' upsert (parameters: table, contributor, then the
        delete's), over the same typed keys."""
        k = ("delete", table, contributor)
        statements = self._statements.get(k)
        if statements is None:
            schema, name = table.split(".", 1)
            pcol = sql.Identifier(pos_column(contributor))
            key_cols = self._keys[(table, contributor)]
            types = self._key_types_of(table, key_cols)
            parts = [sql.Identifier(f"k{i}") for i in range(len(key_cols))]
            keys = sql.SQL(
                "(SELECT {casts}, d.p::bigint[] AS p FROM unnest({arrays}, %s::text[]) AS d({parts}, p))").format(
                    casts=sql.SQL(", ").join(sql.SQL("CAST(d.{} AS {}) AS {}").format(p, sql.SQL(t), p)
                                             for p, t in zip(parts, types)),
                    arrays=sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in parts),
                    parts=sql.SQL(", ").join(parts))
            match = sql.SQL(" AND ").join(sql.SQL("t.{} = d.{}").format(sql.Identifier(c), p)
                                          for c, p in zip(key_cols, parts))
            delete = sql.SQL("DELETE FROM {}.{} AS t USING {} AS d WHERE {} AND (t.{} IS NULL OR t.{} <= d.p)").format(
                sql.Identifier(schema), sql.Identifier(name), keys, match, pcol, pcol)
            tombstone = sql.SQL(
                "INSERT INTO {meta}.tombstones (target_table, contributor, key, pos) "
                "SELECT %s, %s, {key}, d.p FROM {keys} AS d "
                "ON CONFLICT (target_table, contributor, key) DO UPDATE SET pos = EXCLUDED.pos "
                "WHERE tombstones.pos < EXCLUDED.pos").format(
                    meta=sql.Identifier(META_SCHEMA), keys=keys,
                    key=_key_text_sql([sql.SQL("d.{}").format(p) for p in parts], types))
            statements = self._statements[k] = (delete, tombstone)
        return statements

    def _delete(self, group: DeleteGroup, stats: ApplyStats) -> None:
        delete, tombstone = self._delete_statements(group.table, group.contributor)
        positions = [pos_text(p) for p in group.positions]
        cur = self.conn.execute(delete, (*group.keys, positions))
        stats.deleted += cur.rowcount
        self.conn.execute(tombstone, (group.table, group.contributor, *group.keys, positions))

    def _upsert(self, group: CopyGroup, stage: str, stats: ApplyStats) -> None:
        """The guarded upsert. Each row probes the tombstones (a write older than its row's
        deletion must not bring it back), unless no tombstone of the contributor is at or
        after the group's oldest position: then none can refuse a row, as for the direct
        COPY, and the probe per row is left out."""
        probe = self._tombstoned_since(group)
        k = ("upsert", group.table, group.contributor, group.columns, stage, probe)
        statement = self._statements.get(k)
        if statement is None:
            schema, name = group.table.split(".", 1)
            key_cols = self._keys[(group.table, group.contributor)]
            pcol = pos_column(group.contributor)
            ident = sql.Identifier
            non_key = [c for c in group.columns if c not in key_cols]
            set_clause = sql.SQL(", ").join(
                [sql.SQL("{} = EXCLUDED.{}").format(ident(c), ident(c)) for c in non_key]
                + [sql.SQL("{} = EXCLUDED.{}").format(ident(pcol), ident(pcol))])
            statement = self._statements[k] = sql.SQL(
                "INSERT INTO {sch}.{tbl} AS t ({cols}, {pcol}) "
                "SELECT {cols}, _pos FROM {stage} AS s "
                "{where} "
                "ON CONFLICT ({keys}) DO UPDATE SET {set} "
                "WHERE t.{pcol} IS NULL OR t.{pcol} <= EXCLUDED.{pcol}").format(
                    sch=ident(schema), tbl=ident(name), cols=sql.SQL(", ").join(map(ident, group.columns)),
                    pcol=ident(pcol), stage=ident(stage),
                    where=sql.SQL("WHERE NOT ") + _deleted_since(
                        sql.SQL("%(table)s"), sql.SQL("= %(contributor)s"), self._key_text(group.table, key_cols, "s"),
                        sql.SQL("s._pos")) if probe else sql.SQL(""),
                    keys=sql.SQL(", ").join(map(ident, key_cols)), set=set_clause)
        cur = self.conn.execute(statement, {"table": group.table, "contributor": group.contributor} if probe else None)
        stats.upserted += cur.rowcount
        stats.stale += group.count - cur.rowcount

    def _update_only(self, group: CopyGroup, stage: str, stats: ApplyStats) -> None:
        """Contributors that fill rows another contributor created, and clears."""
        schema, name = group.table.split(".", 1)
        key_cols = self._keys[(group.table, group.contributor)]
        pcol = pos_column(group.contributor)
        ident = sql.Identifier
        non_key = [c for c in group.columns if c not in key_cols]
        sets = [sql.SQL("{} = s.{}").format(ident(c), ident(c)) for c in non_key] + \
               [sql.SQL("{} = s._pos").format(ident(pcol))]
        join = sql.SQL(" AND ").join(sql.SQL("t.{} = s.{}").format(ident(k), ident(k)) for k in key_cols)
        # a write older than the row's deletion by its creator is refused: the deletion ended
        # it (the row may have been created again since, without it)
        skey = self._key_text(group.table, key_cols, "s")
        not_deleted_since = sql.SQL("NOT ") + _deleted_since(
            sql.SQL("%(table)s"), sql.SQL("= ANY(%(creators)s)"), skey, sql.SQL("s._pos"))
        params = {"table": group.table, "contributor": group.contributor, "creators": self._creators[group.table]}
        cur = self.conn.execute(sql.SQL(
            "UPDATE {sch}.{tbl} AS t SET {sets} FROM {stage} AS s WHERE {join} "
            "AND (t.{pcol} IS NULL OR t.{pcol} <= s._pos) AND {fresh}").format(
                sch=ident(schema), tbl=ident(name), sets=sql.SQL(", ").join(sets), stage=ident(stage),
                join=join, pcol=ident(pcol), fresh=not_deleted_since), params)
        cleared = min(group.cleared, cur.rowcount)
        stats.cleared += cleared
        stats.upserted += cur.rowcount - cleared
        # the row does not exist yet (its creator's event has not arrived): park the write,
        # keeping only the newest per key, instead of losing it or blocking the pipeline
        cur = self.conn.execute(sql.SQL(
            "INSERT INTO {meta}.pending (target_table, contributor, key, pos, row) "
            "SELECT %(table)s, %(contributor)s, {skey}, s._pos, to_jsonb(s) FROM {stage} AS s "
            "WHERE NOT EXISTS (SELECT 1 FROM {sch}.{tbl} AS t WHERE {join}) AND {fresh} "
            "ON CONFLICT (target_table, contributor, key) DO UPDATE SET pos = EXCLUDED.pos, row = EXCLUDED.row, "
            "parked_at = now() WHERE pending.pos <= EXCLUDED.pos").format(
                meta=ident(META_SCHEMA), skey=skey, stage=ident(stage), sch=ident(schema),
                tbl=ident(name), join=join, fresh=not_deleted_since),
            params)
        stats.parked += cur.rowcount

    def _drain_pending(self, table: str, stats: ApplyStats) -> None:
        """Apply parked writes whose target row now exists, position-guarded, then forget them."""
        for t in self._feeds[table]:
            if t.spec.creates_row and t.spec.on_delete != "soft":
                continue
            cur = self.conn.execute(self.drain_statement(table, t), (table, t.contributor, table, self._creators[table]))
            stats.unparked += cur.rowcount

    def drain_statement(self, table: str, t: CompiledTarget) -> sql.Composable:
        """Parked writes of one contributor whose row now exists: applied, position-guarded,
        and forgotten (parameters: table, contributor, table, creating contributors)."""
        k = ("drain", table, t.contributor)
        statement = self._statements.get(k)
        if statement is None:
            schema, name = table.split(".", 1)
            ident = sql.Identifier
            pcol = pos_column(t.contributor)
            cols = [c for c in t.owned if c not in t.key]
            # a parked write sets only the columns it carried (a soft delete carries just
            # deleted_at); the others keep their value
            sets = [sql.SQL("{c} = CASE WHEN p.row ? {lit} THEN (p.r).{c} ELSE t.{c} END").format(
                        c=ident(c), lit=sql.Literal(c)) for c in cols] + \
                   [sql.SQL("{} = p.pos").format(ident(pcol))]
            statement = self._statements[k] = sql.SQL(
                "WITH p AS (DELETE FROM {meta}.pending AS pe WHERE pe.target_table = %s AND pe.contributor = %s "
                "AND EXISTS (SELECT 1 FROM {sch}.{tbl} AS t WHERE {parked_exists}) RETURNING pe.key, pe.pos, pe.row) "
                "UPDATE {sch}.{tbl} AS t SET {sets} "
                "FROM (SELECT p.key, p.pos, p.row, jsonb_populate_record(NULL::{sch}.{tbl}, p.row) AS r FROM p) AS p "
                "WHERE {parked_row} AND (t.{pcol} IS NULL OR t.{pcol} <= p.pos) "
                # parked before the row's deletion by its creator: ended by it, dropped
                "AND NOT {deleted_since}").format(
                    deleted_since=_deleted_since(sql.SQL("%s"), sql.SQL("= ANY(%s)"), sql.SQL("p.key"),
                                                 sql.SQL("p.pos")),
                    meta=ident(META_SCHEMA), sch=ident(schema), tbl=ident(name),
                    parked_exists=_row_key_match("t", t.key, self._key_types_of(table, t.key), sql.SQL("pe.row")),
                    parked_row=_row_key_match("t", t.key, self._key_types_of(table, t.key), sql.SQL("p.row")),
                    sets=sql.SQL(", ").join(sets), pcol=ident(pcol))
        return statement


def _deleted_since(table: sql.Composable, contributor_test: sql.Composable, key_text: sql.Composable,
                   position: sql.Composable) -> sql.Composable:
    """True when the row `key_text` was deleted (by a contributor passing `contributor_test`)
    at or after `position`: the write at `position` is older than the deletion and must not
    bring the row or its columns back. A correlated scalar subquery, on purpose: PostgreSQL
    turns NOT EXISTS into an anti-join, which it planned as a hash of every tombstone of
    the table, read in full each batch (the tombstones only grow); a scalar subquery stays
    one probe of the tombstones' primary key per row."""
    return sql.SQL(
        "COALESCE((SELECT bool_or(tb.pos >= {position}) FROM {meta}.tombstones tb WHERE tb.target_table = {table} "
        "AND tb.contributor {contributor_test} AND tb.key = {key_text}), false)").format(
            position=position, meta=sql.Identifier(META_SCHEMA), table=table, contributor_test=contributor_test,
            key_text=key_text)


# types whose text is the value itself: format 1 wrote '' for a NULL part of any other type
_TEXT_TYPES = ("text", "character varying", "character", "citext", "name")


def _column(alias: str, column: str) -> sql.Composable:
    return sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(column))


def _row_key_match(alias: str, key_cols: Sequence[str], types: Sequence[str], row: sql.Composable) -> sql.Composable:
    """`alias`'s key columns equal to those of a parked row (`to_jsonb` of a stage row),
    each cast to its column's type, so that the key's index serves the match (a match on
    text, `t.id::text = key`, cannot use it: every drain of parked writes scanned the whole
    table; found by bench/runner_soak.py)."""
    return sql.SQL(" AND ").join(
        sql.SQL("{} = CAST({} ->> {} AS {})").format(_column(alias, c), row, sql.Literal(c), sql.SQL(t))
        for c, t in zip(key_cols, types))


def _canonical_text(expr: sql.Composable, typ: str) -> sql.Composable:
    """A key part's text. Date and time types are written out explicitly: their `::text`
    follows the session's TimeZone and DateStyle, and a tombstone written under one setting
    must still be found under another."""
    if typ.startswith("timestamp") and "with time zone" in typ:
        return sql.SQL("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')").format(expr)
    if typ.startswith("timestamp"):
        return sql.SQL("to_char({}, 'YYYY-MM-DD HH24:MI:SS.US')").format(expr)
    if typ == "date":
        return sql.SQL("to_char({}, 'YYYY-MM-DD')").format(expr)
    return sql.SQL("{}::text").format(expr)


def _key_text_sql(parts: Sequence[sql.Composable], types: Sequence[str]) -> sql.Composable:
    """The canonical text of a key, as tombstones and parked writes store it, computed by
    PostgreSQL from typed values (so a delete, an upsert and a parked write agree whatever
    Python type carried the key). One column: its text (`_canonical_text`). Several: the
    text of a record of them, which quotes a part holding a comma, quote, parenthesis or
    space, so that no two keys share a text: joined by '|', ('a|b', 'c') and ('a', 'b|c')
    did, and a delete of one also ended the other."""
    texts = [_canonical_text(p, t) for p, t in zip(parts, types)]
    if len(texts) == 1:
        return texts[0]
    return sql.SQL("ROW({})::text").format(sql.SQL(", ").join(texts))


def _copy_group(kind: Literal["insert", "upsert", "update"], table: str, columns: tuple[str, ...],
                ops: list[TargetOp]) -> CopyGroup:
    """One shape's rows as value tuples in `columns` order, with the types seen per column
    (which decide the COPY format when the group is written)."""
    rows, positions = _plan.copy_rows(ops, columns)
    return CopyGroup(kind, table, ops[0].contributor, columns, rows, positions, _plan.column_types(rows), len(ops))


def copy_rows(ops: list[TargetOp], columns: tuple[str, ...]) -> tuple[list[tuple[Any, ...]], list[tuple[int, ...]]]:
    """Each op's values in `columns` order, and each op's position."""
    values_of = itemgetter(*columns) if len(columns) > 1 else (lambda v: (v[columns[0]],))
    return [values_of(o.values) for o in ops], [o.position for o in ops]


def by_shape(ops: list[TargetOp]) -> list[list[TargetOp]]:
    """Group ops that write the same columns for the same contributor (one COPY each)."""
    groups: dict[tuple, list[TargetOp]] = {}
    last_values, last_group = None, None
    for o in ops:
        # consecutive ops of one shape are the rule: compare key views before hashing a tuple
        if last_group is not None and o.contributor == last_group[0].contributor \
                and o.values.keys() == last_values.keys():
            last_group.append(o)
            continue
        k = (o.contributor, tuple(o.values))
        g = groups.get(k)
        if g is None:
            groups[k] = g = []
        g.append(o)
        last_values, last_group = o.values, g
    return list(groups.values())


class _PlanFunctions(NamedTuple):
    reduce_ops: Callable[[list[TargetOp]], list[TargetOp]]
    partition_ops: Callable[[list[TargetOp]], dict[str, tuple[list[TargetOp], ...]]]
    by_shape: Callable[[list[TargetOp]], list[list[TargetOp]]]
    copy_rows: Callable[[list[TargetOp], tuple[str, ...]], tuple[list[tuple[Any, ...]], list[tuple[int, ...]]]]
    column_types: Callable[[list[tuple[Any, ...]]], list[frozenset[type]]]


PYTHON_PLAN = _PlanFunctions(reduce_ops, partition_ops, by_shape, copy_rows, column_types)
# the planner's functions: the same in C where the extension was built (fastpath.py),
# which tests/unit/test_fastmap.py holds equal to these
_plan = fastpath.plan_functions(PYTHON_PLAN)

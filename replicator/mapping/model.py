"""The declarative mapping format: pydantic models for the YAML files under config/mappings/.

Every model forbids unknown keys, so a typo in a mapping is an error at load time, never a
silently ignored option. Closed vocabularies are `Literal` types. See docs/mapping.md.

A mapping file declares `sources` (one per Debezium connector: topic prefix, database,
time zone) and `tables`: for each legacy table, which columns are dropped on purpose and
which target tables it feeds (one = rename, several = split). Several legacy tables may
name the same target table with distinct `contributor` names: a merge (each feed owns
distinct columns of the same rows) or a union (`union: true`: each feed creates its own,
distinct rows, and the feeds' columns may overlap).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SourceKind = Literal["mysql", "postgresql"]
DeleteRule = Literal["hard", "soft", "clear", "ignore"]
Conversion = Literal["none", "text", "int", "float", "boolean", "timestamptz", "timestamp", "date",
                     "decimal", "json", "enum", "uint64", "bytes", "uuid", "vector"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(Strict):
    """One legacy database as Debezium publishes it."""

    kind: SourceKind
    topic_prefix: str = Field(description="the connector's topic.prefix")
    database: str = Field(description="the legacy database name (MySQL) or catalog (PostgreSQL)")
    schema_: str | None = Field(default=None, alias="schema", description="PostgreSQL schema, e.g. public")
    timezone: str = Field(default="UTC", description="time zone of DATETIME/timestamp-without-tz wall clocks")
    key_namespace: str | None = Field(
        default=None,
        description="database name used for UUID remapping; defaults to `database`. Keep it fixed "
                    "when the physical database name differs between environments.")

    @property
    def namespace(self) -> str:
        return self.key_namespace or self.database


class ColumnSpec(Strict):
    """How one target column gets its value. Exactly one of from/key/ref/const/function."""

    from_: str | None = Field(default=None, alias="from", description="source column to copy")
    key: str | None = Field(default=None, description="source column holding this table's own legacy key: remapped to a UUID")
    ref: str | None = Field(default=None, description="`<source>.<table>` whose legacy key this column holds: remapped to that table's UUID")
    ref_column: str | None = Field(default=None, description="with `ref`: the source column holding the foreign key")
    const: Any = Field(default=None, description="a constant value")
    function: str | None = Field(default=None, description="a transform function registered in transforms/")
    pack: dict[str, str] | None = Field(
        default=None, description="several source columns packed into one JSON object: json key -> source column")
    args: tuple[str, ...] = Field(default=(), description="source columns passed to `function`, in order")
    type: Conversion = "none"
    default: Any = Field(default=None, description="value used when the result is NULL")
    values: dict[str, str] | None = Field(default=None, description="for type enum: source value -> target label")
    precision: Literal["ms", "us", "ns"] | None = None
    scale: int | None = None
    mode: Literal["string", "double", "precise"] | None = Field(
        default=None, description="for type decimal: the connector's decimal.handling.mode (default: guessed per value)")
    zero_as_null: bool = True
    dimensions: int | None = None
    encoding: Literal["base64", "hex", "base64-url-safe"] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ColumnSpec:
        given = [n for n, v in (("from", self.from_), ("key", self.key), ("ref", self.ref),
                                ("function", self.function), ("pack", self.pack)) if v is not None]
        if "const" in self.model_fields_set:
            given.append("const")
        if len(given) != 1:
            raise ValueError(f"give exactly one of from/key/ref/const/function/pack, got {given or 'none'}")
        if self.pack is not None and self.type not in ("json", "none"):
            raise ValueError("`pack` builds a JSON object; its type is json")
        if self.ref is not None and self.ref_column is None:
            raise ValueError("`ref` needs `ref_column`: the source column that holds the legacy foreign key")
        if self.type == "enum" and self.values is None:
            raise ValueError("type enum needs a `values` map (source value -> target label)")
        return self

    def source_columns(self) -> tuple[str, ...]:
        """The source columns this target column reads."""
        cols = [c for c in (self.from_, self.key, self.ref_column) if c]
        return tuple(cols) + tuple(self.args) + tuple((self.pack or {}).values())

    def converter_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"zero_as_null": self.zero_as_null}
        for name in ("values", "precision", "scale", "mode", "dimensions", "encoding"):
            v = getattr(self, name)
            if v is not None:
                opts[name] = v
        return opts


class SoftDeleteSpec(Strict):
    """How the legacy table says "deleted" when it does not delete the row.

    The target rule is always one `deleted_at` timestamptz column. `flag` names a boolean
    column (isDeleted), `statuses` a column whose values mean deleted. The time comes from
    `at` (source timestamp columns, first non-NULL) or, failing that, the source commit time
    of the event. Prefer an `at` that is never NULL (e.g. [deletedAt, updatedAt]): the
    commit time is not in the source row, so a reconciler cannot reproduce it.
    """

    column: str = "deleted_at"
    flag: str | None = None
    status_column: str | None = None
    statuses: tuple[str, ...] = ()
    at: str | tuple[str, ...] | None = Field(
        default=None, description="source column(s) with the deletion time; the first non-NULL wins")
    at_type: Conversion = "timestamptz"

    @property
    def at_columns(self) -> tuple[str, ...]:
        if self.at is None:
            return ()
        return (self.at,) if isinstance(self.at, str) else tuple(self.at)

    @model_validator(mode="after")
    def _one_rule(self) -> SoftDeleteSpec:
        if bool(self.flag) == bool(self.status_column):
            raise ValueError("give exactly one of `flag` or `status_column`")
        if self.status_column and not self.statuses:
            raise ValueError("`status_column` needs `statuses`")
        return self


class TargetSpec(Strict):
    """One target table fed by a legacy table."""

    table: str = Field(description="schema-qualified target table, e.g. app.users")
    key: tuple[str, ...] = Field(default=("id",), description="target primary key columns")
    contributor: str | None = Field(default=None, description="name of this feed when several legacy tables feed the table (merge or union)")
    columns: dict[str, ColumnSpec | str]
    on_delete: DeleteRule = Field(default="hard", description="what a source delete does to the target row")
    soft_delete: SoftDeleteSpec | None = None
    creates_row: bool = Field(default=True, description="false: this contributor only fills rows another contributor created")
    union: bool = Field(
        default=False,
        description="this feed creates its own rows of a table other feeds also fill; columns may overlap with "
                    "other union feeds; rows must not collide (distinct key namespaces)")
    filter: str | None = Field(default=None, description="transform predicate: rows for which it is false are not written here")

    @field_validator("table")
    @classmethod
    def _qualified(cls, v: str) -> str:
        if v.count(".") != 1:
            raise ValueError(f"target table {v!r} must be schema-qualified: <schema>.<table>")
        return v

    @model_validator(mode="after")
    def _keys_produced(self) -> TargetSpec:
        missing = [k for k in self.key if k not in self.columns]
        if missing:
            raise ValueError(f"key columns {missing} are not among `columns`")
        if self.union and not self.creates_row:
            raise ValueError("a `union` feed creates its own rows: it cannot be `creates_row: false`")
        if self.on_delete == "soft" and self.soft_delete is None and "deleted_at" not in self.columns:
            # a soft delete needs to know which column to stamp; deleted_at is the standard
            pass
        return self

    def column_specs(self) -> dict[str, ColumnSpec]:
        return {name: ColumnSpec(**{"from": spec}) if isinstance(spec, str) else spec
                for name, spec in self.columns.items()}


class TableSpec(Strict):
    """One legacy table and everything it feeds."""

    source: str = Field(description="name of an entry in `sources`")
    table: str = Field(description="legacy table name, exactly as in the source database")
    key: tuple[str, ...] = Field(default=("id",), description="legacy primary key columns")
    dropped: tuple[str, ...] = Field(default=(), description="source columns deliberately not migrated")
    skip: bool = Field(default=False, description="table deliberately not migrated: its events are acknowledged and discarded")
    skip_reason: str | None = None
    filter: str | None = Field(default=None, description="transform predicate: rows for which it is false are not migrated")
    targets: tuple[TargetSpec, ...] = ()

    @model_validator(mode="after")
    def _targets_or_skip(self) -> TableSpec:
        if not self.skip and not self.targets:
            raise ValueError("a table that is not `skip: true` needs at least one target")
        return self


class MappingFile(Strict):
    """The top level of one YAML mapping file."""

    version: Literal[1] = 1
    sources: dict[str, SourceSpec] = {}
    tables: tuple[TableSpec, ...] = ()

"""Decoding Debezium messages into frozen `ChangeEvent` values, once, at the edge.

Everything downstream of `decode_message` works on `ChangeEvent`; nothing else parses the
Debezium JSON envelope. The envelope is the one a Kafka Connect worker writes with
`JsonConverter` and `schemas.enable=false`: `{"before", "after", "source", "op", "ts_ms",
"transaction"}`. Also recognised: tombstones (value null, after a delete), schema-change
events on the `<topic.prefix>` topic (no `op`), transaction metadata and heartbeats.

A `SourcePosition` is a tuple of integers that orders changes of one source server:
MySQL `(binlog file number, event position, row in event)`, PostgreSQL
`(commit lsn, change lsn)`. The apply path stores it with each row and refuses older ones.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, NamedTuple

from replicator.errors import DecodeError

Op = Literal["c", "u", "d", "r"]
EventKind = Literal["change", "tombstone", "schema_change", "transaction", "heartbeat"]

SourcePosition = tuple[int, ...]


class KafkaCoordinates(NamedTuple):
    """Where a message was read from; carried for offsets, error messages and the DLQ."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


class ChangeEvent(NamedTuple):
    """One decoded Debezium message: an immutable value.

    A NamedTuple rather than a frozen dataclass: it is built once per consumed message,
    and a tuple is built about seven times faster (0.2 against 1.5 µs), which matters at
    tens of thousands of events a second. For `kind == "change"`: `op` is c/u/d/r, `before`/`after` are the row images (dicts of
    column -> Debezium-encoded value), `key` is the primary key dict, `position` orders the
    change within its source server and `source_ts_ms` is the source commit time.
    """

    kind: EventKind
    coordinates: KafkaCoordinates
    source_connector: str = ""  # "mysql" | "postgresql"
    source_name: str = ""  # topic.prefix of the connector
    database: str = ""
    schema: str | None = None
    table: str = ""
    op: Op | None = None
    key: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    position: SourcePosition = ()
    source_ts_ms: int | None = None
    snapshot: bool = False
    transaction_id: str | None = None
    ddl: str | None = None
    # schema changes: (table name, its columns after the change) per changed table
    table_changes: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def row(self) -> dict[str, Any] | None:
        """The image that describes the row after this change (before for deletes)."""
        return self.before if self.op == "d" else self.after

    @property
    def source_table(self) -> str:
        """`<database>.<table>` for MySQL, `<database>.<schema>.<table>` for PostgreSQL."""
        if self.schema:
            return f"{self.database}.{self.schema}.{self.table}"
        return f"{self.database}.{self.table}"


_BINLOG_FILE_NUMBER = re.compile(r"\.(\d+)$")


_binlog_numbers: dict[str, int] = {}


def _binlog_file_number(file: str) -> int:
    number = _binlog_numbers.get(file)
    if number is None:
        m = _BINLOG_FILE_NUMBER.search(file)
        if m is None:
            raise DecodeError("binlog file name has no sequence number", file=file)
        number = int(m.group(1))
        if len(_binlog_numbers) > 10_000:  # a server rotates a few files a day: never in practice
            _binlog_numbers.clear()
        _binlog_numbers[file] = number
    return number


def mysql_position(source: dict[str, Any]) -> SourcePosition:
    """(binlog file number, position, row) from a MySQL connector `source` block."""
    pos, row = source.get("pos") or 0, source.get("row") or 0
    return (_binlog_file_number(source.get("file") or ""),
            pos if type(pos) is int else int(pos), row if type(row) is int else int(row))


def postgres_position(source: dict[str, Any], snapshot: bool = False) -> SourcePosition:
    """(last commit lsn, change lsn) from a PostgreSQL connector `source` block.

    `sequence` is a JSON text `["<last commit lsn>", "<lsn>"]`. pgoutput delivers
    transactions in commit order, and the last commit lsn Debezium reports grows with that
    order; inside one transaction the change lsn orders the changes.

    Snapshot rows get (0, lsn): they never override a streamed change. Why: a transaction
    in progress when the snapshot was taken commits afterwards, is streamed, and may carry
    change lsns (and, as the first transaction after the snapshot, no last commit lsn)
    lower than the snapshot's; ordering it below the snapshot row would lose it.
    """
    lsn = int(source.get("lsn") or 0)
    seq = source.get("sequence")
    commit_lsn = 0
    if seq:
        try:
            parts = json.loads(seq)
            if parts and parts[0] is not None:
                commit_lsn = int(parts[0])
        except (ValueError, TypeError) as exc:
            raise DecodeError("unreadable postgres source.sequence", sequence=str(seq)[:80]) from exc
    if snapshot:
        return (0, lsn)
    return (commit_lsn or lsn, lsn)


try:  # orjson parses a Debezium envelope ~4x faster than the standard library
    from orjson import loads as _json_loads
except ImportError:  # pragma: no cover
    _json_loads = json.loads


def _loads(raw: bytes | str | None, what: str, coords: KafkaCoordinates) -> Any:
    if raw is None:
        return None
    try:
        return _json_loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"{what} is not JSON: {exc}", topic=coords.topic, partition=coords.partition,
                          offset=coords.offset) from exc


def decode_message(topic: str, partition: int, offset: int,
                   key: bytes | None, value: bytes | None) -> ChangeEvent:
    """Decode one Kafka message written by a Debezium source connector.

    Raises `DecodeError` (terminal: the record goes to the DLQ) when the bytes are not a
    Debezium envelope. Never returns raw dicts for downstream code to parse again.
    """
    coords = _new_tuple(KafkaCoordinates, (topic, partition, offset))
    key_obj = _loads(key, "message key", coords)
    if value is None:
        return ChangeEvent(kind="tombstone", coordinates=coords, key=key_obj if isinstance(key_obj, dict) else None)
    try:
        env = _json_loads(value)
    except (ValueError, UnicodeDecodeError):
        env = _loads(value, "message value", coords)  # raises the DecodeError
    if not isinstance(env, dict):
        raise DecodeError("message value is not a JSON object", topic=topic, partition=partition, offset=offset)
    # a converter with schemas.enable=true wraps the envelope; accept it so a worker
    # misconfiguration is not fatal
    if len(env) == 2 and "payload" in env and "schema" in env and isinstance(env["payload"], dict):
        env = env["payload"]
    if "op" in env:
        return _decode_change(env, key_obj, coords)
    if "ddl" in env or "tableChanges" in env:
        src = env.get("source") or {}
        changes = []
        for tc in env.get("tableChanges") or []:
            if not isinstance(tc, dict) or tc.get("type") == "DROP":
                continue
            # the id is "db"."table" (MySQL) or "schema"."table": the last part names the table
            name = str(tc.get("id", "")).split(".")[-1].strip('"')
            cols = tuple(str(c.get("name")) for c in ((tc.get("table") or {}).get("columns") or []))
            changes.append((name, cols))
        return ChangeEvent(kind="schema_change", coordinates=coords, source_name=str(src.get("name", "")),
                           database=str(env.get("databaseName") or src.get("db") or ""),
                           ddl=env.get("ddl"), source_ts_ms=src.get("ts_ms"), table_changes=tuple(changes))
    if "status" in env and "id" in env and ("event_count" in env or "data_collections" in env):
        return ChangeEvent(kind="transaction", coordinates=coords, transaction_id=str(env["id"]),
                           source_ts_ms=env.get("ts_ms"))
    if set(env) <= {"ts_ms"} or topic.startswith("__debezium-heartbeat"):
        return ChangeEvent(kind="heartbeat", coordinates=coords, source_ts_ms=env.get("ts_ms"))
    raise DecodeError("not a Debezium envelope: no op, ddl or transaction status",
                      topic=topic, partition=partition, offset=offset)


_new_tuple = tuple.__new__  # builds a NamedTuple from all its fields without its Python-level __new__
_ROW_OPS = frozenset(("c", "u", "d", "r"))


def _decode_change(env: dict[str, Any], key_obj: Any, coords: KafkaCoordinates) -> ChangeEvent:
    op = env.get("op")
    if op not in _ROW_OPS:
        # 't' (truncate) and 'm' (message) are not row changes we can apply safely
        raise DecodeError(f"unsupported op {op!r}", topic=coords.topic, partition=coords.partition,
                          offset=coords.offset)
    source = env.get("source")
    if not isinstance(source, dict):
        raise DecodeError("change event without a source block", topic=coords.topic,
                          partition=coords.partition, offset=coords.offset)
    connector = str(source.get("connector", ""))
    before, after = env.get("before"), env.get("after")
    if (op == "d" and not isinstance(before, dict)) or (op != "d" and not isinstance(after, dict)):
        raise DecodeError(f"op {op} without the row image it needs", topic=coords.topic,
                          partition=coords.partition, offset=coords.offset)
    schema = None
    file, pos, row = source.get("file"), source.get("pos"), source.get("row")
    number = _binlog_numbers.get(file) if type(file) is str else None
    try:
        if number is not None and type(pos) is int and type(row) is int and connector == "mysql":
            position: SourcePosition = (number, pos, row)  # mysql_position's common case, inline
        elif connector == "postgresql":
            position = postgres_position(source, snapshot=op == "r")
            schema = source.get("schema")
        else:
            position = mysql_position(source)
    except (DecodeError, ValueError, TypeError) as exc:
        message = str(exc) if isinstance(exc, DecodeError) else f"unreadable source position: {exc}"
        raise DecodeError(message, topic=coords.topic, partition=coords.partition, offset=coords.offset) from exc
    # debezium writes "true", "first", "last", "incremental"... for snapshot rows; false/null otherwise
    snap = source.get("snapshot")
    snapshot = snap is not None and snap != "false" and snap is not False and str(snap) not in ("False", "")
    tx = env.get("transaction")
    name, db, table = source.get("name", ""), source.get("db", ""), source.get("table", "")
    # every field, positionally: the hot path builds one of these per message
    return _new_tuple(ChangeEvent, (
        "change", coords, connector,
        name if type(name) is str else str(name),
        db if type(db) is str else str(db),
        schema,
        table if type(table) is str else str(table),
        op,
        key_obj if isinstance(key_obj, dict) else None,
        before if isinstance(before, dict) else None,
        after if isinstance(after, dict) else None,
        position,
        source.get("ts_ms"),
        snapshot,
        str(tx["id"]) if isinstance(tx, dict) and tx.get("id") else None,
        None,  # ddl
        (),  # table_changes
    ))

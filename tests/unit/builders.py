"""Builders for Debezium messages, byte for byte as a Kafka Connect worker writes them.

The worker runs `JsonConverter` with `schemas.enable=false`, so a change event value is the
bare envelope `{"before", "after", "source", "op", "ts_ms", "ts_us", "ts_ns", "transaction"}`
and a key is the bare primary-key struct `{"id": 1}`. The `source` blocks follow Debezium 3.x:

* MySQL: version, connector "mysql", name (the topic prefix), ts_ms, snapshot, db, table,
  server_id, gtid, file ("binlog.000003"), pos, row, thread, query.
* PostgreSQL: version, connector "postgresql", name, ts_ms, snapshot, db, sequence
  (JSON text `["<last commit lsn>","<lsn>"]`), schema, table, txId, lsn, xmin.

Everything returns `bytes` (what the consumer hands to `decode_message`), except the
`*_change` helpers which decode straight away for tests of code downstream of decoding.
"""

from __future__ import annotations

import json
from typing import Any

from replicator.events import ChangeEvent, decode_message

DEBEZIUM_VERSION = "3.0.8.Final"
DEFAULT_TS_MS = 1_719_835_200_000  # 2024-07-01T12:00:00Z
MYSQL_SERVER_ID = 223344


def _dumps(obj: Any) -> bytes:
    # the JsonConverter writes compact JSON in UTF-8
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def key(**cols: Any) -> bytes:
    """A message key: the primary-key columns of the row, e.g. `key(id=1)`."""
    return _dumps(cols)


def mysql_source(table: str, *, db: str = "legacy_main", prefix: str = "legacy_main",
                 file: str = "binlog.000003", pos: int = 1234, row: int = 0,
                 ts_ms: int = DEFAULT_TS_MS, snapshot: str = "false") -> dict[str, Any]:
    return {
        "version": DEBEZIUM_VERSION,
        "connector": "mysql",
        "name": prefix,
        "ts_ms": ts_ms,
        "snapshot": snapshot,
        "db": db,
        "sequence": None,
        "ts_us": ts_ms * 1000,
        "ts_ns": ts_ms * 1_000_000,
        "table": table,
        "server_id": MYSQL_SERVER_ID,
        "gtid": None,
        "file": file,
        "pos": pos,
        "row": row,
        "thread": 7 if snapshot == "false" else None,
        "query": None,
    }


def pg_source(table: str, *, db: str = "legacy_chat", schema: str = "public",
              prefix: str = "legacy_chat", lsn: int = 24_023_976,
              commit_lsn: int | None = 24_023_928, ts_ms: int = DEFAULT_TS_MS,
              snapshot: str = "false", tx_id: int = 771) -> dict[str, Any]:
    """`commit_lsn=None` gives the `[null,"<lsn>"]` sequence of snapshot rows."""
    sequence = json.dumps([None if commit_lsn is None else str(commit_lsn), str(lsn)])
    return {
        "version": DEBEZIUM_VERSION,
        "connector": "postgresql",
        "name": prefix,
        "ts_ms": ts_ms,
        "snapshot": snapshot,
        "db": db,
        "sequence": sequence,
        "ts_us": ts_ms * 1000,
        "ts_ns": ts_ms * 1_000_000,
        "schema": schema,
        "table": table,
        "txId": tx_id,
        "lsn": lsn,
        "xmin": None,
    }


def envelope(op: str, source: dict[str, Any] | None, before: dict[str, Any] | None = None,
             after: dict[str, Any] | None = None, *, ts_ms: int | None = None,
             transaction: dict[str, Any] | None = None) -> dict[str, Any]:
    """The change-event envelope as a dict (for tests that need to break it on purpose)."""
    now = (source or {}).get("ts_ms", DEFAULT_TS_MS) + 25 if ts_ms is None else ts_ms
    return {
        "before": before,
        "after": after,
        "source": source,
        "transaction": transaction,
        "op": op,
        "ts_ms": now,
        "ts_us": now * 1000,
        "ts_ns": now * 1_000_000,
    }


def mysql_event(op: str, table: str, before: dict[str, Any] | None = None,
                after: dict[str, Any] | None = None, *, db: str = "legacy_main",
                prefix: str = "legacy_main", pos: int = 1234, row: int = 0,
                file: str = "binlog.000003", ts_ms: int = DEFAULT_TS_MS,
                snapshot: str = "false", transaction: dict[str, Any] | None = None) -> bytes:
    """A MySQL connector change event value."""
    src = mysql_source(table, db=db, prefix=prefix, file=file, pos=pos, row=row, ts_ms=ts_ms,
                       snapshot=snapshot)
    return _dumps(envelope(op, src, before, after, transaction=transaction))


def pg_event(op: str, table: str, before: dict[str, Any] | None = None,
             after: dict[str, Any] | None = None, *, db: str = "legacy_chat",
             schema: str = "public", prefix: str = "legacy_chat", lsn: int = 24_023_976,
             commit_lsn: int | None = 24_023_928, ts_ms: int = DEFAULT_TS_MS,
             snapshot: str = "false", transaction: dict[str, Any] | None = None) -> bytes:
    """A PostgreSQL connector change event value."""
    src = pg_source(table, db=db, schema=schema, prefix=prefix, lsn=lsn, commit_lsn=commit_lsn,
                    ts_ms=ts_ms, snapshot=snapshot)
    return _dumps(envelope(op, src, before, after, transaction=transaction))


def schema_change(ddl: str, *, db: str = "legacy_main", prefix: str = "legacy_main",
                  table: str = "Developer", ts_ms: int = DEFAULT_TS_MS,
                  pos: int = 4321) -> bytes:
    """A MySQL schema-change event, as published on the `<topic.prefix>` topic."""
    src = mysql_source(table, db=db, prefix=prefix, pos=pos, ts_ms=ts_ms)
    return _dumps({
        "source": src,
        "ts_ms": ts_ms,
        "databaseName": db,
        "schemaName": None,
        "ddl": ddl,
        "tableChanges": [{"type": "ALTER", "id": f'"{db}"."{table}"', "table": {
            "defaultCharsetName": "utf8mb4", "primaryKeyColumnNames": ["id"], "columns": []}}],
    })


def transaction_event(status: str, tx_id: str, *, event_count: int | None = None,
                      data_collections: list[dict[str, Any]] | None = None,
                      ts_ms: int = DEFAULT_TS_MS) -> bytes:
    """A transaction metadata event (BEGIN has null counts, END carries them)."""
    return _dumps({"status": status, "id": tx_id, "event_count": event_count,
                   "data_collections": data_collections, "ts_ms": ts_ms})


def heartbeat(ts_ms: int = DEFAULT_TS_MS) -> bytes:
    return _dumps({"ts_ms": ts_ms})


def heartbeat_key(prefix: str = "legacy_main") -> bytes:
    return _dumps({"serverName": prefix})


def with_schema(value: bytes) -> bytes:
    """The same value as a worker with `schemas.enable=true` writes it: {schema, payload}."""
    return _dumps({"schema": {"type": "struct", "optional": False, "fields": [],
                              "name": "envelope"}, "payload": json.loads(value)})


def mysql_topic(table: str, *, prefix: str = "legacy_main", db: str = "legacy_main") -> str:
    return f"{prefix}.{db}.{table}"


def pg_topic(table: str, *, prefix: str = "legacy_chat", schema: str = "public") -> str:
    return f"{prefix}.{schema}.{table}"


def mysql_change(op: str, table: str, before: dict[str, Any] | None = None,
                 after: dict[str, Any] | None = None, *, offset: int = 0, partition: int = 0,
                 **kw: Any) -> ChangeEvent:
    """A decoded MySQL change event (through `decode_message`, like the consumer does)."""
    row = after if after is not None else before
    k = key(id=row["id"]) if row and "id" in row else None
    topic = mysql_topic(table, prefix=kw.get("prefix", "legacy_main"), db=kw.get("db", "legacy_main"))
    return decode_message(topic, partition, offset, k, mysql_event(op, table, before, after, **kw))


def pg_change(op: str, table: str, before: dict[str, Any] | None = None,
              after: dict[str, Any] | None = None, *, offset: int = 0, partition: int = 0,
              **kw: Any) -> ChangeEvent:
    """A decoded PostgreSQL change event."""
    row = after if after is not None else before
    k = key(id=row["id"]) if row and "id" in row else None
    topic = pg_topic(table, prefix=kw.get("prefix", "legacy_chat"), schema=kw.get("schema", "public"))
    return decode_message(topic, partition, offset, k, pg_event(op, table, before, after, **kw))


def developer_row(id: int = 1, **overrides: Any) -> dict[str, Any]:
    """A legacy_main.Developer row image (config/legacy/slice_main.sql) as Debezium encodes it:
    DATETIME(3) as epoch milliseconds of the wall clock, TINYINT(1) as 0/1."""
    row: dict[str, Any] = {
        "id": id,
        "email": f"Dev{id}@Example.com",
        "name": f"Dev {id}",
        "pictureUrl": None,
        "username": f"dev{id}",
        "hasCompletedOnboarding": 1,
        "resetToken": None,
        "resetTokenExpiry": None,
        "magicLinkToken": None,
        "stripeCustomerId": None,
        "createdAt": 1_704_067_200_000,  # 2024-01-01 00:00:00
        "updatedAt": 1_719_835_200_123,  # 2024-07-01 12:00:00.123
    }
    row.update(overrides)
    return row


def general_path_only(ms):
    """The same mappings with every table's generated upsert path removed, so map_row takes
    its general path: tests run both and expect the same target operations."""
    import dataclasses

    from replicator.mapping.engine import MappingSet

    plain = {name: dataclasses.replace(tm, upserts_of=None) for name, tm in ms.tables.items()}
    by_qualified = {id(tm): plain[name] for name, tm in ms.tables.items()}
    return MappingSet(sources=ms.sources, tables=plain, files=ms.files,
                      by_event={k: by_qualified[id(tm)] for k, tm in ms.by_event.items()})

"""`replicator tombstones prune`: raise each table's replay horizon and drop the tombstones
(and the parked writes their deletions ended) below it.

The rule is horizon.py's; this module reads its inputs from the broker (the replicator's
consumer group's committed offsets, the events around them, the dead-letter topic) without
joining the group or committing anything, and writes the result into the target:

1. the horizon is raised (never lowered) under the exclusive `HORIZON_LOCK`, so a batch in
   flight finishes first and every later batch refuses writes below it;
2. parked writes of the table ended by a creator's deletion below the horizon are dropped
   (the drain would drop them; without the tombstone it could not tell);
3. the tombstones below the horizon are deleted, in chunks, each its own transaction.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass

import psycopg
from psycopg import sql

from replicator.apply.dlq import read_dead_letters
from replicator.apply.horizon import Floor, lowest, partition_floor, table_horizon
from replicator.apply.sink import HORIZON_LOCK, META_SCHEMA
from replicator.config import Settings
from replicator.errors import DecodeError
from replicator.events import SourcePosition, decode_message
from replicator.logs import kafka_client_logger
from replicator.mapping.engine import MappingSet

LOOK_BACK = 50  # messages read before a committed offset, for the last applied change event
CHUNK = 20_000  # tombstones deleted per transaction


@dataclass
class TableResult:
    table: str
    horizon: SourcePosition | None
    reason: str = ""
    tombstones: int = 0  # pruned, or that would be with --dry-run
    parked: int = 0  # parked writes dropped


def table_topics(ms: MappingSet) -> dict[str, dict[str, str]]:
    """target table -> {source topic: topic prefix of its server}."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for tm in ms.tables.values():
        for t in tm.targets:
            out[t.table][tm.topic] = tm.source.topic_prefix
    return dict(out)


def topic_floors(s: Settings, topics: list[str], idle_s: float = 3.0) -> dict[str, Floor]:
    """Each topic's floor: the lowest of its partitions' (horizon.partition_floor), read
    with one consumer over every partition at once, so the wait for partitions that are
    caught up is paid once."""
    from confluent_kafka import Consumer, TopicPartition

    base = {"bootstrap.servers": s.kafka_bootstrap_servers, "logger": kafka_client_logger(), **s.kafka_extra,
            "enable.auto.commit": False, "auto.offset.reset": "earliest"}
    group = Consumer({**base, "group.id": s.kafka_group_id})  # never subscribes: reads its offsets only
    reader = Consumer({**base, "group.id": f"replicator-prune-{uuid.uuid4().hex[:8]}"})
    try:
        parts: list[TopicPartition] = []
        for topic in topics:
            md = reader.list_topics(topic, timeout=10).topics.get(topic)
            if md is None or md.error is not None:
                continue  # no topic, no event: nothing constrains it
            parts.extend(TopicPartition(topic, p) for p in md.partitions)
        committed = {(tp.topic, tp.partition): (tp.offset if tp.offset >= 0 else None)
                     for tp in group.committed(parts, timeout=10)} if parts else {}
        changes: dict[tuple[str, int], list[tuple[int, SourcePosition]]] = defaultdict(list)
        seen: set[tuple[str, int]] = set()
        done: set[tuple[str, int]] = set()
        if parts:
            reader.assign([TopicPartition(tp.topic, tp.partition, max((committed[(tp.topic, tp.partition)] or 0)
                                                                      - LOOK_BACK, 0)) for tp in parts])
        last = time.monotonic()
        while len(done) < len(parts) and time.monotonic() - last < idle_s:
            m = reader.poll(0.5)
            if m is None or m.error():
                continue
            last = time.monotonic()
            k = (m.topic(), m.partition())
            seen.add(k)
            if k in done:
                continue
            pos = _position(m.topic(), m.partition(), m.offset(), m.key(), m.value())
            if pos is not None:
                changes[k].append((m.offset(), pos))
                c = committed.get(k)
                if c is not None and m.offset() >= c:
                    done.add(k)  # the next change to apply: the floor; later ones are newer
        floors = defaultdict(list)
        for tp in parts:
            k = (tp.topic, tp.partition)
            floors[tp.topic].append(partition_floor(committed.get(k), changes[k], k in seen))
        return {t: lowest(fs) for t, fs in floors.items()}
    finally:
        group.close()
        reader.close()


def dead_letter_floors(s: Settings) -> dict[str, Floor]:
    """Per source topic, the lowest position among the dead letters still in the DLQ."""
    out: dict[str, SourcePosition] = {}
    for p, o, headers, key, value in read_dead_letters(s.kafka_bootstrap_servers, s.dlq_topic, extra=s.kafka_extra,
                                                       idle_timeout=3.0):
        topic = headers.get("dlq.source_topic", "")
        pos = _position(topic, int(headers.get("dlq.source_partition") or 0),
                        int(headers.get("dlq.source_offset") or 0), key, value)
        if topic and pos is not None and (topic not in out or pos < out[topic]):
            out[topic] = pos
    return {t: Floor(p) for t, p in out.items()}


def _position(topic: str, partition: int, offset: int, key, value) -> SourcePosition | None:
    """The source position of a change event; None for anything else (tombstones,
    heartbeats, bytes that cannot be decoded: those can never be applied)."""
    try:
        ev = decode_message(topic, partition, offset, key, value)
    except DecodeError:
        return None
    return ev.position if ev.kind == "change" and ev.position else None


def horizons(s: Settings, ms: MappingSet) -> list[TableResult]:
    """Every mapped table's horizon, or why it has none."""
    by_table = table_topics(ms)
    topics = sorted({t for ts in by_table.values() for t in ts})
    floors = topic_floors(s, topics)
    dead = dead_letter_floors(s)
    out = []
    for table, ts in sorted(by_table.items()):
        merged = {t: lowest([floors.get(t, Floor(None)), dead.get(t, Floor(None))]) for t in ts}
        h = table_horizon(ts, merged)
        out.append(TableResult(table, h.position, h.reason))
    return out


def prune(conn: psycopg.Connection, ms: MappingSet, results: list[TableResult], dry_run: bool = False) -> None:
    """Raise the horizons and drop what is below them (module docstring). `conn` in autocommit."""
    creators = {table: [t.contributor for t in feeds if t.spec.creates_row]
                for table, feeds in ms.target_tables().items()}
    contributors = {table: [t.contributor for t in feeds] for table, feeds in ms.target_tables().items()}
    meta = sql.Identifier(META_SCHEMA)
    for r in results:
        if r.horizon is None:
            continue
        h = list(r.horizon)
        if dry_run:
            r.tombstones = conn.execute(sql.SQL("SELECT count(*) FROM {}.tombstones WHERE target_table = %s "
                                                "AND pos < %s::bigint[]").format(meta), (r.table, h)).fetchone()[0]
            continue
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (HORIZON_LOCK,))
            conn.execute(sql.SQL(
                "INSERT INTO {}.horizons (target_table, pos) VALUES (%s, %s::bigint[]) ON CONFLICT (target_table) "
                "DO UPDATE SET pos = EXCLUDED.pos, raised_at = now() WHERE horizons.pos < EXCLUDED.pos").format(meta),
                (r.table, h))
        # below the horizon now, every write is refused before the tombstones are read
        with conn.transaction():
            r.parked = conn.execute(sql.SQL(
                "DELETE FROM {m}.pending AS pe USING {m}.tombstones AS tb WHERE pe.target_table = %s "
                "AND tb.target_table = %s AND tb.contributor = ANY(%s) AND tb.key = pe.key "
                "AND tb.pos < %s::bigint[] AND tb.pos >= pe.pos").format(m=meta),
                (r.table, r.table, creators.get(r.table, []), h)).rowcount
        for contributor in contributors.get(r.table, []):
            r.tombstones += _delete_below(conn, f"{r.table} {contributor}", h)
        conn.execute(sql.SQL("UPDATE {}.horizons SET pruned_at = now() WHERE target_table = %s").format(meta),
                     (r.table,))


def _delete_below(conn: psycopg.Connection, table_contributor: str, h: list[int]) -> int:
    """Delete one contributor's tombstones below `h`, oldest first, CHUNK per transaction.
    Each chunk starts where the last ended (on `tombstones_newest`): scanning from the
    lowest position each time would walk every tombstone deleted so far again, not yet
    vacuumed, and a day's 13 M tombstones would take 650 ever longer chunks."""
    statement = sql.SQL(
        "WITH gone AS (DELETE FROM {m}.tombstones WHERE ctid = ANY(ARRAY("
        "SELECT ctid FROM {m}.tombstones WHERE target_table || ' ' || contributor = %s "
        "AND pos >= %s::bigint[] AND pos < %s::bigint[] ORDER BY pos LIMIT %s)) RETURNING pos) "
        "SELECT count(*), max(pos) FROM gone").format(m=sql.Identifier(META_SCHEMA))
    total, low = 0, []  # '{}' sorts before every position
    while True:
        with conn.transaction():
            n, top = conn.execute(statement, (table_contributor, low, h, CHUNK)).fetchone()
        total += n
        if n < CHUNK:
            return total
        low = top


def export_metrics(conn: psycopg.Connection) -> None:
    """Set the tombstone gauges from the target: how many there are (the planner's
    estimate: a count(*) would read them all) and when each table was last pruned. Called
    once a minute by every `replicator run` pod, like the reconcile gauges."""
    from replicator import metrics

    if conn.execute("SELECT to_regclass(%s)", (f"{META_SCHEMA}.horizons",)).fetchone()[0] is None:
        return
    (estimate,) = conn.execute("SELECT greatest(reltuples, 0)::bigint FROM pg_class "
                               "WHERE oid = %s::regclass", (f"{META_SCHEMA}.tombstones",)).fetchone()
    metrics.TOMBSTONES.set(estimate)
    for table, at in conn.execute(f"SELECT target_table, extract(epoch FROM pruned_at) FROM {META_SCHEMA}.horizons "
                                  "WHERE pruned_at IS NOT NULL"):
        metrics.TOMBSTONES_PRUNED.labels(table).set(float(at))


__all__ = ["TableResult", "export_metrics", "horizons", "prune", "table_topics"]

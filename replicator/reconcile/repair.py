"""`reconcile --repair`: re-sync differing rows through the pipeline's own write path.

For each persisting difference the current source row is read again (by legacy key),
mapped with `TableMapping.map_row("r", row, position)`, and the resulting operation for
the differing target table is applied through `PostgresSink`, the same position-guarded,
idempotent writer the stream uses. Rows the source no longer explains are removed through
the sink's delete path (a tombstone is written), soft-deleted (`on_delete: soft`), or have a
merge contributor's columns cleared.

The position given to these writes is *just below* the source position read before the
rows were read: higher than every change the read can reflect, lower than every change
made after it. So a newer change already applied by the stream is never overwritten (the
sink refuses the older write), and a newer change still in flight overwrites the repair
when it arrives. Without a source position (binary log off) repair refuses to run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import psycopg

from replicator.apply.sink import PostgresSink
from replicator.events import SourcePosition
from replicator.mapping.engine import TargetOp
from replicator.reconcile.diff import Difference
from replicator.reconcile.feeds import FeedSpec
from replicator.reconcile.units import Context

BIG = (1 << 62)


class RepairUnsafe(RuntimeError):
    """No source position: a repair could overwrite newer streamed changes."""


def position_just_below(p: SourcePosition) -> SourcePosition:
    """The greatest position below `p` in the pipeline's order (elementwise, like bigint[])."""
    p = tuple(p)
    for i in range(len(p) - 1, -1, -1):
        if p[i] > 0:
            return p[:i] + (p[i] - 1,) + (BIG,) * (len(p) - i - 1)
    raise RepairUnsafe(f"no position below {p}")


@dataclass
class RepairStats:
    attempted: int = 0
    upserted: int = 0
    deleted: int = 0
    cleared: int = 0
    refused_newer: int = 0  # writes the sink refused because the target row already holds a newer change
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"attempted": self.attempted, "upserted": self.upserted, "deleted": self.deleted,
                "cleared": self.cleared, "refused_newer": self.refused_newer, "skipped": self.skipped[:20]}


def repair(ctx: Context, target_dsn: str, specs: Mapping[str, FeedSpec], diffs: list[Difference]) -> RepairStats:
    stats = RepairStats()
    groups: dict[str, list[Difference]] = {}
    for d in diffs:
        if d.kind in ("missing", "extra", "different"):
            fid = next(f for f, s in specs.items() if s.source_table == d.source_table and s.target == d.target
                       and s.contributor == d.contributor)
            groups.setdefault(fid, []).append(d)
        else:
            stats.skipped.append(f"{d.kind} {d.source_table} {d.legacy_key}: not repairable by re-sync")
    if not groups:
        return stats
    with psycopg.connect(target_dsn, autocommit=False) as conn:
        sink = PostgresSink(conn, ctx.ms)
        # the newest of the sink's tables: a target prepared by an older version lacks it
        (meta,) = conn.execute("SELECT to_regclass('_replicator.horizons') IS NOT NULL").fetchone()  # type: ignore[misc]
        conn.commit()
        if not meta:
            sink.prepare()
        for fid, items in groups.items():
            ops = _ops(ctx, specs[fid], items)
            stats.attempted += len(items)
            with conn.transaction():
                st = sink.apply(ops)
            stats.upserted += st.upserted
            stats.deleted += st.deleted
            stats.cleared += st.cleared
            stats.refused_newer += st.stale
    return stats


def _ops(ctx: Context, spec: FeedSpec, items: list[Difference]) -> list[TargetOp]:
    feed = ctx.feed(spec)
    src = ctx.source(spec.source)
    p = src.position()
    if not p:
        raise RepairUnsafe(f"source {spec.source} reports no log position (binary log off?): refusing to repair")
    pos = position_just_below(p)
    rows = src.read_by_keys(spec.legacy_table, spec.select, spec.legacy_key,
                            [d.legacy_key for d in items if d.legacy_key is not None])
    wanted = {d.key for d in items}
    ops: list[TargetOp] = []
    covered: set[str] = set()
    for row in rows:
        for op in feed.tm.map_row("r", row, pos):
            if op.table != spec.target or op.contributor != spec.contributor:
                continue
            k = feed.key_text(op.key)
            if k in wanted:
                ops.append(op)
                covered.add(k)
    now = dt.datetime.now(dt.timezone.utc)
    for d in items:
        if d.key in covered:
            continue
        kv = feed.key_values_from_text(d.key)
        legacy = d.legacy_key or ()
        if not spec.creates_row:
            ops.append(TargetOp(spec.target, "clear", kv, {c: None for c in spec.owned}, spec.contributor, pos,
                                legacy, spec.source_table, False))
        elif spec.on_delete == "soft":
            sd = spec.soft_delete_column or "deleted_at"
            ops.append(TargetOp(spec.target, "upsert", kv, {**dict(zip(spec.target_key, kv)), sd: now},
                                spec.contributor, pos, legacy, spec.source_table, True))
        elif spec.on_delete != "ignore":
            ops.append(TargetOp(spec.target, "delete", kv, {}, spec.contributor, pos, legacy, spec.source_table, True))
    return ops


__all__ = ["RepairStats", "RepairUnsafe", "position_just_below", "repair"]

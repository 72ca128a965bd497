"""Telling rows in flight from real differences: re-check the differing keys until they agree
or a bounded wait runs out.

A difference seen by the main pass compares a source row read at position P (recorded
before and after the read) with the target row read a little later. The pipeline may not
have applied a change made just before P (lag), or may already have applied one made after
P (the source moved on). So each differing key is re-checked, in rounds with growing
pauses (0.5 s, 1, 2, 4, 5, 5 ...), until the wait (default 60 s) is spent:

* both sides are re-read by key (the source row by its legacy key, with a fresh position,
  the target row with its ``_pos_<contributor>``) and compared again; agreement clears the
  key as *in flight*;
* a key whose legacy key is unknown (an extra row with a hashed UUID: the source cannot be
  asked for it) clears when the target row is gone, or when its ``_pos_`` is >= the position
  read before the source scan that missed it: the row was written by a change the scan could
  not have seen;
* a target row whose position moves between rounds is counted as *hot* in the report.

Only what still differs when the wait is over is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from replicator.reconcile.diff import Difference
from replicator.reconcile.feeds import FeedSpec
from replicator.reconcile.units import Context, drill, expect

PASSTHROUGH = ("orphaned", "unmappable")


def recheck(ctx: Context, specs: Mapping[str, FeedSpec], diffs: list[Difference], wait: float,
            sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
            max_delay: float = 5.0) -> tuple[list[Difference], int]:
    """(differences still there after the wait, number cleared as in flight)."""
    passthrough = [d for d in diffs if d.kind in PASSTHROUGH]
    pending: dict[tuple[str, str], Difference] = {}
    for d in diffs:
        if d.kind not in PASSTHROUGH:
            pending[(_feed_id(specs, d), d.key)] = d
    cleared = 0
    deadline = clock() + max(wait, 0.0)
    delay = 0.5
    first = True
    while pending:
        if not first:
            remaining = deadline - clock()
            if remaining <= 0:
                break
            sleep(min(delay, remaining))
            delay = min(delay * 2, max_delay)
        first = False
        groups: dict[str, list[Difference]] = {}
        for (fid, _), d in pending.items():
            groups.setdefault(fid, []).append(d)
        for fid, items in groups.items():
            for d, still in _round(ctx, specs[fid], items):
                if still is None:
                    cleared += 1
                    del pending[(fid, d.key)]
                else:
                    pending[(fid, d.key)] = still
    return list(pending.values()) + passthrough, cleared


def _feed_id(specs: Mapping[str, FeedSpec], d: Difference) -> str:
    for fid, s in specs.items():
        if s.source_table == d.source_table and s.target == d.target and s.contributor == d.contributor:
            return fid
    raise KeyError(f"no feed for {d.source_table} -> {d.target}#{d.contributor}")


def _round(ctx: Context, spec: FeedSpec, items: list[Difference]):
    """One re-check of one feed's pending keys: yields (old, new-or-None-if-agreeing)."""
    feed = ctx.feed(spec)
    src = ctx.source(spec.source)
    p0 = src.position()
    rows = src.read_by_keys(spec.legacy_table, spec.select, spec.legacy_key,
                            [d.legacy_key for d in items if d.legacy_key is not None])
    p1 = src.position()
    keys = {d.key for d in items}
    exp, onull = expect(feed, rows, [], p0)
    exp = {k: e for k, e in exp.items() if k in keys}
    onull = {k: v for k, v in onull.items() if k in keys}
    actual = ctx.target.rows_by_keys(feed, list(keys))
    now = {d.key: d for d in drill(ctx, feed, exp, actual, onull, p0, p1) if d.kind != "orphaned"}
    for d in items:
        nd = now.get(d.key)
        if nd is None:
            yield d, None
            continue
        a = actual.get(d.key)
        if d.legacy_key is None and a is not None and a.pos is not None and d.read_pos \
                and tuple(a.pos) >= tuple(d.read_pos):
            yield d, None  # written after the scan that missed its source row started
            continue
        if nd.legacy_key is None:
            nd.legacy_key = d.legacy_key
        if d.legacy_key is None:
            nd.read_pos, nd.read_pos_after = d.read_pos, d.read_pos_after  # the scan's, not this round's
        nd.hot = d.hot + (1 if d.target_pos != nd.target_pos else 0)
        nd.detail = nd.detail or d.detail
        yield d, nd


__all__ = ["recheck"]

"""One unit of work: a key range of an ordered feed, or a whole bucketed feed.

Ordered feed, one range: read source rows in keyset chunks; map each chunk through
`TableMapping.map_row("r", row)`; hash the expected target rows in Python; ask PostgreSQL
for the digest of the matching target key range (same canonical form); only when the two
digests differ read the target range row by row and name the rows and columns that differ.
For plain copies the source digest of the whole range is computed by the source database
and the target's at the same time, and rows are read only when they disagree.

Bucketed feed: one scan of the source accumulating a digest per target-key bucket, one
GROUP BY on the target, then a re-scan restricted to the buckets that differ (in batches
of bounded size), compared row by row.

Runs in the parent or in a worker process; `Context` holds one process's connections.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from replicator.errors import MappingError
from replicator.keys import KEY_LIMIT, KeyRegistry
from replicator.mapping.engine import MappingSet
from replicator.reconcile import digest as dg
from replicator.reconcile.diff import Difference, Expected, classify, differing_columns, null_image
from replicator.reconcile.feeds import Feed, FeedSpec
from replicator.reconcile.plan import (Range, batch_buckets, bucket_of_text, bucket_of_uuid, bucket_uuid_range,
                                       namespace_span, target_bound)
from replicator.reconcile.source_reader import SourceReader
from replicator.reconcile.target_reader import ActualRow, TargetReader, range_where

MAX_DIFFS_PER_UNIT = 100_000


class Context:
    """One process's view: the mapping, lazily opened source/target connections, feeds."""

    def __init__(self, ms: MappingSet, source_params: Mapping[str, dict], target_dsn: str, chunk_size: int) -> None:
        self.ms = ms
        self.source_params = dict(source_params)
        self.target = TargetReader(target_dsn)
        self.chunk_size = chunk_size
        self._sources: dict[str, SourceReader] = {}
        self._feeds: dict[str, Feed] = {}
        self._registry: KeyRegistry | None = None

    def source(self, name: str) -> SourceReader:
        r = self._sources.get(name)
        if r is None:
            r = self._sources[name] = SourceReader(name, self.ms.sources[name], self.source_params[name])
        return r.connect()

    def feed(self, spec: FeedSpec) -> Feed:
        f = self._feeds.get(spec.id)
        if f is None or f.spec != spec:
            f = self._feeds[spec.id] = Feed.build(spec, self.ms)
        return f

    @property
    def registry(self) -> KeyRegistry:
        if self._registry is None:
            self._registry = KeyRegistry({(tm.source.namespace, tm.spec.table) for tm in self.ms.tables.values()})
        return self._registry

    def close(self) -> None:
        for r in self._sources.values():
            r.close()
        self.target.close()


@dataclass
class UnitResult:
    unit: str
    feed: str
    rows: int = 0  # expected (source-derived) target rows compared
    chunks: int = 0
    drilled: int = 0
    diffs: list[Difference] = field(default_factory=list)
    overflow: dict[str, int] = field(default_factory=dict)  # differences beyond MAX_DIFFS_PER_UNIT, by kind
    seconds: float = 0.0

    def add(self, diffs: list[Difference]) -> None:
        for d in diffs:
            if len(self.diffs) < MAX_DIFFS_PER_UNIT:
                self.diffs.append(d)
            else:
                self.overflow[d.kind] = self.overflow.get(d.kind, 0) + 1

    def to_json(self) -> dict:
        return {"unit": self.unit, "feed": self.feed, "rows": self.rows, "chunks": self.chunks,
                "drilled": self.drilled, "diffs": [d.to_json() for d in self.diffs], "overflow": self.overflow,
                "seconds": self.seconds}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> UnitResult:
        return cls(d["unit"], d["feed"], d["rows"], d["chunks"], d["drilled"],
                   [Difference.from_json(x) for x in d["diffs"]], dict(d.get("overflow") or {}), d.get("seconds", 0.0))


# --- mapping source rows ----------------------------------------------------------------------------


def expect(feed: Feed, rows: list[dict], unmappable: list[Difference], read_pos: tuple = ()) \
        -> tuple[dict[str, Expected], dict[str, bool]]:
    """Map source rows through the mapping: the target rows this feed expects, by key text."""
    spec, tm = feed.spec, feed.tm
    target, contributor = spec.target, spec.contributor
    row_fields, key_text = feed.row_fields, feed.key_text
    key_idx = feed.key_idx if feed.key_from_fields else None
    sep, md5, from_bytes = dg.SEP, hashlib.md5, int.from_bytes
    follower = not spec.creates_row
    exp: dict[str, Expected] = {}
    onull: dict[str, bool] = {}
    map_row = tm.map_row
    for row in rows:
        try:
            ops = map_row("r", row)
        except MappingError as exc:
            unmappable.append(Difference("unmappable", target, contributor, spec.source_table, "",
                                         tm.legacy_key(row), read_pos=read_pos, detail=str(exc)[:300]))
            continue
        for op in ops:
            if op.kind != "upsert" or op.table != target or op.contributor != contributor:
                continue
            fields = row_fields(op.values)
            if key_idx is not None:
                k = fields[key_idx[0]] if len(key_idx) == 1 else sep.join([fields[i] for i in key_idx])
            else:
                k = key_text(op.key)
            h = from_bytes(md5(sep.join(fields).encode()).digest()[:8], "big", signed=True)
            exp[k] = Expected(k, op.legacy_key, fields, h)
            if follower:
                onull[k] = feed.owned_null_fields(fields)
    return exp, onull


def python_digest(feed: Feed, exp: Mapping[str, Expected], onull: Mapping[str, bool]) -> dg.Digest:
    d = dg.Digest()
    for k, e in exp.items():
        if not onull.get(k, False):
            d.add(e.hash)
    return d


def legacy_of_key(ctx: Context, feed: Feed, key: str) -> tuple | None:
    """The legacy key behind a target key, when the key can be reversed without the source."""
    s = feed.spec.strategy
    try:
        if s.kind == "v8":
            u = uuid.UUID(key)
            if u.int & ~(KEY_LIMIT - 1) == s.prefix:
                return (u.int & (KEY_LIMIT - 1),)
            return None
        if s.kind == "identity":
            return (uuid.UUID(key),) if s.key_type == "uuid" else (int(key),)
    except ValueError:
        return None
    return None


def describe_foreign_key(ctx: Context, key: str) -> str:
    try:
        found = ctx.registry.reverse(uuid.UUID(key))
    except ValueError:
        return ""
    return f"the UUID of {found.source_db}.{found.source_table} key {found.key}" if found else ""


def drill(ctx: Context, feed: Feed, exp: Mapping[str, Expected], actual: Mapping[str, ActualRow],
          onull: Mapping[str, bool], p0: tuple, p1: tuple) -> list[Difference]:
    """Name the differing rows (and their columns) of one chunk whose digests disagree."""
    spec = feed.spec
    pairs = classify(creates_row=spec.creates_row, on_delete=spec.on_delete, expected=exp, actual=actual,
                     owned_null_expected=onull)
    need = [k for kind, k in pairs if kind == "different"]
    tf = ctx.target.fields(feed, need) if need else {}
    out = []
    for kind, key in pairs:
        e, a = exp.get(key), actual.get(key)
        cols: tuple[str, ...] = ()
        if kind == "different" and key in tf:
            ef = e.fields if e is not None else null_image(spec.columns, spec.target_key, feed.key_fields_from_text(key))
            cols = differing_columns(spec.columns, ef, tf[key])
        legacy = e.legacy if e is not None else legacy_of_key(ctx, feed, key)
        out.append(Difference(kind, spec.target, spec.contributor, spec.source_table, key, legacy, cols, p0, p1,
                              a.pos if a is not None else None))
    return out


# --- ordered feeds ----------------------------------------------------------------------------------


def run_range(ctx: Context, spec: FeedSpec, rng: Range, unit_id: str, pushdown: bool = True) -> UnitResult:
    started = time.monotonic()
    feed = ctx.feed(spec)
    src, tgt = ctx.source(spec.source), ctx.target
    s = spec.strategy
    res = UnitResult(unit_id, spec.id)
    ns_lo, ns_hi = namespace_span(s)
    t_lo = target_bound(s, rng.lo) if rng.lo is not None else ns_lo
    t_hi = target_bound(s, rng.hi) if rng.hi is not None else ns_hi
    key = spec.legacy_key
    if pushdown and spec.pushdown:
        sfields, tfields = [], []
        for (col, kind), tcol in zip(spec.pushdown, spec.columns):
            sfields += dg.push_fields_mysql(kind, src.qi(col)) if src.kind == "mysql" else \
                dg.push_fields_pg(kind, f"t.{src.qi(col)}")
            tfields += dg.push_fields_pg(kind, feed.col(tcol))
        hash_sql = dg.mysql_row_hash(sfields) if src.kind == "mysql" else dg.push_row_hash_pg(sfields)
        where, args = range_where(feed, t_lo, True, t_hi)
        with ThreadPoolExecutor(1) as ex:
            fut = ex.submit(tgt.digest, feed, where, args, dg.push_row_hash_pg(tfields))
            sd = src.digest_range(spec.legacy_table, key[0], hash_sql, rng.lo, rng.hi)
            td = fut.result()
        if sd == td:
            res.rows, res.chunks, res.seconds = sd.count, 1, time.monotonic() - started
            return res
    after: tuple | None = None
    lower, lower_incl = t_lo, True
    lo = (rng.lo,) if rng.lo is not None else None
    hi = (rng.hi,) if rng.hi is not None else None
    limit = ctx.chunk_size
    # the target hashes its key range while this process maps the same chunk
    with ThreadPoolExecutor(1) as ex:
        while True:
            p0 = src.position()
            rows = src.read_chunk(spec.legacy_table, spec.select, key, after=after, lo=lo, hi=hi, limit=limit)
            p1 = src.position()
            full = len(rows) == limit
            last = tuple(rows[-1][k] for k in key) if full else None
            upper = target_bound(s, last[0]) if last is not None else t_hi
            where, args = range_where(feed, lower, lower_incl, upper)
            target_digest = ex.submit(tgt.digest, feed, where, args)
            unmappable: list[Difference] = []
            exp, onull = expect(feed, rows, unmappable, p0)
            res.add(unmappable)
            if python_digest(feed, exp, onull) != target_digest.result():
                res.drilled += 1
                res.add(drill(ctx, feed, exp, tgt.rows(feed, where, args), onull, p0, p1))
            res.rows += len(exp)
            res.chunks += 1
            if not full:
                break
            after, lower, lower_incl = last, upper, False
    res.seconds = time.monotonic() - started
    return res


def outside_extras(ctx: Context, spec: FeedSpec, cap: int) -> tuple[int, list[Difference]]:
    """Rows of a v8 feed's table that no key of the feed's namespace explains."""
    feed = ctx.feed(spec)
    lo, hi = namespace_span(spec.strategy)
    p = ctx.source(spec.source).position()
    n, keys = ctx.target.keys_outside(feed, lo, hi, cap)
    actual = ctx.target.rows_by_keys(feed, keys)
    out = []
    for k in keys:
        a = actual.get(k)
        if a is None or (spec.on_delete == "soft" and a.deleted) or spec.on_delete == "ignore":
            continue
        out.append(Difference("extra", spec.target, spec.contributor, spec.source_table, k, None, (), p, p,
                              a.pos, describe_foreign_key(ctx, k)))
    return n, out


# --- bucketed feeds ----------------------------------------------------------------------------------


def _bucket_fn(feed: Feed):
    s = feed.spec.strategy
    if s.uuid_key:
        return lambda key_text: bucket_of_uuid(uuid.UUID(key_text), s.bits)
    return lambda key_text: bucket_of_text(key_text, s.bits)


def _scan(ctx: Context, feed: Feed, keep, on_chunk) -> None:
    """Read the whole source table in keyset chunks; call on_chunk(expected, onull, unmappable)."""
    spec = feed.spec
    src = ctx.source(spec.source)
    after = None
    while True:
        rows = src.read_chunk(spec.legacy_table, spec.select, spec.legacy_key, after=after, limit=ctx.chunk_size)
        unmappable: list[Difference] = []
        exp, onull = expect(feed, rows, unmappable)
        if keep is not None:
            exp = {k: e for k, e in exp.items() if keep(k)}
        on_chunk(exp, onull, unmappable)
        if len(rows) < ctx.chunk_size:
            return
        after = tuple(rows[-1][k] for k in spec.legacy_key)


def bucket_where(feed: Feed, buckets: list[int]) -> tuple[str, list]:
    s = feed.spec.strategy
    if not s.uuid_key:
        return f"{feed.bucket_sql()} = ANY(%s)", [list(buckets)]
    kc = feed.col(feed.spec.target_key[0])
    spans: list[list[int]] = []
    for b in sorted(buckets):
        if spans and spans[-1][1] == b - 1:
            spans[-1][1] = b
        else:
            spans.append([b, b])
    conds, args = [], []
    for a, b in spans:
        lo, _ = bucket_uuid_range(a, s.bits)
        _, hi = bucket_uuid_range(b, s.bits)
        conds.append(f"({kc} BETWEEN %s AND %s)")
        args += [lo, hi]
    return "(" + " OR ".join(conds) + ")", args


def run_buckets(ctx: Context, spec: FeedSpec, unit_id: str) -> UnitResult:
    started = time.monotonic()
    feed = ctx.feed(spec)
    res = UnitResult(unit_id, spec.id)
    bucket = _bucket_fn(feed)
    sdig: dict[int, dg.Digest] = defaultdict(dg.Digest)
    counts: dict[int, int] = defaultdict(int)
    p_start = ctx.source(spec.source).position()

    def first_pass(exp, onull, unmappable):
        for u in unmappable:
            u.read_pos = p_start
        res.add(unmappable)
        res.rows += len(exp)
        res.chunks += 1
        for k, e in exp.items():
            b = bucket(k)
            counts[b] += 1
            if not onull.get(k, False):
                sdig[b].add(e.hash)

    _scan(ctx, feed, None, first_pass)
    tdig = ctx.target.bucket_digests(feed)
    differing = [b for b in set(sdig) | set(tdig) if sdig.get(b, dg.Digest()) != tdig.get(b, dg.Digest())]
    for batch in batch_buckets(differing, counts, 4 * ctx.chunk_size):
        res.drilled += 1
        wanted = set(batch)
        exp_b: dict[str, Expected] = {}
        onull_b: dict[str, bool] = {}
        p0 = ctx.source(spec.source).position()

        def collect(exp, onull, _unmappable):
            exp_b.update(exp)
            onull_b.update({k: v for k, v in onull.items() if k in exp})

        _scan(ctx, feed, lambda k: bucket(k) in wanted, collect)
        p1 = ctx.source(spec.source).position()
        where, args = bucket_where(feed, batch)
        actual = ctx.target.rows(feed, where, args)
        res.add(drill(ctx, feed, exp_b, actual, onull_b, p0, p1))
    res.seconds = time.monotonic() - started
    return res


__all__ = ["Context", "UnitResult", "drill", "expect", "legacy_of_key", "outside_extras", "run_buckets", "run_range"]

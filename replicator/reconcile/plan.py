"""Which rows to compare together: feed strategies and chunk planning. Pure, no I/O.

A *feed* is one legacy table writing one target table (a contributor). The reconciler
compares a feed chunk by chunk; the question is how a chunk of source rows (in legacy key
order) finds its target rows (in target key order):

* ``v8``: the target key is the version-8 UUID of an integer legacy key (``key:`` or a
  ``ref:`` whose ref_column is the legacy key). Its low 62 bits are the key and the prefix is
  constant per (namespace, table), so UUID order *is* legacy order: the legacy range
  ``[a, b]`` is exactly the target range ``[uuid(a), uuid(b)]``. Target rows outside the
  namespace's range ``[uuid(0), uuid(2^62-1)]`` cannot come from this feed.
* ``identity``: the target key equals the legacy key (an integer copied with ``from:``, or a
  PostgreSQL uuid kept by ``key:``); ranges carry over unchanged.
* ``buckets`` (the general fallback, e.g. cuid keys hashed into version-5 UUIDs): source and
  target orders are unrelated, so both sides are hash-partitioned by the *target* key: the
  top bits of a UUID key (a contiguous UUID range per bucket, index-friendly), or of
  md5(key text) for other keys. A full source scan accumulates per-bucket digests, one
  GROUP BY on the target gives the target's, and only buckets that differ are drilled into.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from replicator.keys import KEY_LIMIT, remap_key

StrategyKind = Literal["v8", "identity", "buckets"]
MAX_BUCKET_BITS = 16


@dataclass(frozen=True)
class Strategy:
    kind: StrategyKind
    prefix: int = 0  # v8: the UUID with key 0, as an int
    key_type: str = "int"  # identity: "int" | "uuid"
    bits: int = 0  # buckets: 2**bits buckets
    uuid_key: bool = True  # buckets: partition by UUID prefix (else by md5 of the key text)

    @property
    def ordered(self) -> bool:
        return self.kind != "buckets"


def v8_strategy(namespace_db: str, table: str) -> Strategy:
    return Strategy("v8", prefix=remap_key(namespace_db, table, 0).int)


@dataclass(frozen=True)
class Range:
    """Inclusive legacy-key bounds of one unit of work; None = unbounded."""

    lo: Any = None
    hi: Any = None

    def as_json(self) -> list:
        return [_j(self.lo), _j(self.hi)]


def _j(v: Any) -> Any:
    return str(v) if isinstance(v, uuid.UUID) else v


def range_from_json(v: list, key_type: str) -> Range:
    conv = (lambda x: x if x is None else uuid.UUID(x)) if key_type == "uuid" else (lambda x: x)
    return Range(conv(v[0]), conv(v[1]))


def plan_ranges(lo: Any, hi: Any, count: int, chunk_size: int, parts: int = 1) -> list[Range]:
    """Split the legacy key span [lo, hi] (ints or UUIDs) into ranges of about `chunk_size * 8`
    rows (at least `parts` ranges when there is enough work), assuming keys spread evenly.

    The first range is open below and the last open above, so rows inserted outside the
    span while the reconciler runs are still covered. Each range is then read in keyset
    chunks of `chunk_size` rows, so memory stays bounded even where keys are dense.
    """
    if lo is None or hi is None or count <= chunk_size:
        return [Range()]
    as_uuid = isinstance(lo, uuid.UUID)
    a, b = (lo.int, hi.int) if as_uuid else (int(lo), int(hi))
    n = max(math.ceil(count / (chunk_size * 8)), min(parts * 4, math.ceil(count / chunk_size)))
    width = max(1, math.ceil((b - a + 1) / n))
    cuts = list(range(a + width, b + 1, width))
    bounds: list[Range] = []
    prev = None
    for c in cuts:
        bounds.append(Range(prev, c - 1))
        prev = c
    bounds.append(Range(prev, None))
    if as_uuid:
        bounds = [Range(None if r.lo is None else uuid.UUID(int=r.lo), None if r.hi is None else uuid.UUID(int=r.hi))
                  for r in bounds]
    return bounds


def target_bound(strategy: Strategy, legacy: Any) -> Any:
    """The target key of a legacy key, for ordered strategies (monotone in the legacy key)."""
    if strategy.kind == "v8":
        k = min(max(int(legacy), 0), KEY_LIMIT - 1)
        return uuid.UUID(int=strategy.prefix | k)
    return legacy


def namespace_span(strategy: Strategy) -> tuple[Any, Any]:
    """The whole target key range an ordered feed can produce (None: unbounded)."""
    if strategy.kind == "v8":
        return uuid.UUID(int=strategy.prefix), uuid.UUID(int=strategy.prefix | (KEY_LIMIT - 1))
    return None, None


def bucket_bits(estimated_rows: int, chunk_size: int) -> int:
    """Enough buckets for about one chunk of rows per bucket, at most 2**16."""
    if estimated_rows <= chunk_size:
        return 0
    return min(MAX_BUCKET_BITS, math.ceil(math.log2(estimated_rows / chunk_size)))


def bucket_of_uuid(u: uuid.UUID, bits: int) -> int:
    return u.int >> (128 - bits) if bits else 0


def bucket_of_text(key_text: str, bits: int) -> int:
    if not bits:
        return 0
    return int.from_bytes(hashlib.md5(key_text.encode()).digest()[:2], "big") >> (16 - bits)


def bucket_uuid_range(b: int, bits: int) -> tuple[uuid.UUID, uuid.UUID]:
    shift = 128 - bits
    lo = b << shift if bits else 0
    hi = ((b + 1) << shift) - 1 if bits else (1 << 128) - 1
    return uuid.UUID(int=lo), uuid.UUID(int=hi)


def bucket_sql(bits: int, key_sql: str, uuid_key: bool) -> str:
    """SQL giving the bucket of a target row (same numbers as bucket_of_uuid/bucket_of_text)."""
    if not bits:
        return "0"
    src = f"replace({key_sql}::text, '-', '')" if uuid_key else f"md5({key_sql})"
    return f"(('x' || left({src}, 4))::bit(16)::int >> {16 - bits})"


def batch_buckets(buckets: list[int], counts: dict[int, int], budget: int) -> list[list[int]]:
    """Group differing buckets so one drill-down pass holds at most `budget` expected rows
    (a bucket larger than the budget goes alone)."""
    out: list[list[int]] = []
    cur: list[int] = []
    size = 0
    for b in sorted(buckets):
        n = counts.get(b, 0)
        if cur and size + n > budget:
            out.append(cur)
            cur, size = [], 0
        cur.append(b)
        size += n
    if cur:
        out.append(cur)
    return out


__all__ = ["Range", "Strategy", "batch_buckets", "bucket_bits", "bucket_of_text", "bucket_of_uuid", "bucket_sql",
           "bucket_uuid_range", "namespace_span", "plan_ranges", "range_from_json", "target_bound", "v8_strategy"]

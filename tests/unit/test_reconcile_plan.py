"""Chunk planning and feed strategies (pure)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replicator.keys import remap_key
from replicator.mapping.loader import load_mappings
from replicator.reconcile import plan as pl
from replicator.reconcile.feeds import choose_strategy, compared_columns, family, feeds_of, pushdown_columns
from replicator.stack.manager import REPO_ROOT


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(1, 10**6), st.integers(100, 50_000),
       st.integers(1, 4))
def test_ranges_cover_every_key_exactly_once(a, span, count, chunk, parts):
    lo, hi = a, a + span
    ranges = pl.plan_ranges(lo, hi, count, chunk, parts)
    assert ranges[0].lo is None and ranges[-1].hi is None
    for r1, r2 in zip(ranges, ranges[1:]):
        assert r1.hi is not None and r2.lo == r1.hi + 1
    for k in (lo, hi, (lo + hi) // 2, -5, hi + 10**9):
        assert sum(1 for r in ranges if (r.lo is None or r.lo <= k) and (r.hi is None or k <= r.hi)) == 1


def test_ranges_size_and_small_tables():
    assert pl.plan_ranges(1, 1000, 1000, 10_000) == [pl.Range()]
    assert pl.plan_ranges(None, None, 0, 10_000) == [pl.Range()]
    rs = pl.plan_ranges(1, 1_000_000, 1_000_000, 10_000, parts=2)
    assert 8 <= len(rs) <= 14  # ~80k rows each, at least parts*4
    u = pl.plan_ranges(uuid.UUID(int=0), uuid.UUID(int=(1 << 128) - 1), 100_000, 1000, 1)
    assert all(isinstance(r.hi, uuid.UUID) for r in u[:-1]) and u[-1].hi is None
    assert pl.range_from_json(u[1].as_json(), "uuid") == u[1]


def test_v8_order_is_legacy_order():
    s = pl.v8_strategy("legacy_main", "Developer")
    keys = [0, 1, 2, 99, 10**9, (1 << 62) - 1]
    uuids = [pl.target_bound(s, k) for k in keys]
    assert uuids == sorted(uuids)
    assert uuids[3] == remap_key("legacy_main", "Developer", 99)
    lo, hi = pl.namespace_span(s)
    assert lo == uuids[0] and hi == uuids[-1]
    assert pl.target_bound(s, -3) == lo  # clamped into the namespace
    other = pl.v8_strategy("legacy_main", "Organization")
    olo, ohi = pl.namespace_span(other)
    assert not (olo <= uuids[3] <= ohi)
    assert pl.namespace_span(pl.Strategy("identity")) == (None, None)


def test_buckets_are_uuid_prefix_ranges():
    for bits in (0, 1, 4, 16):
        for _ in range(50):
            u = uuid.uuid4()
            b = pl.bucket_of_uuid(u, bits)
            lo, hi = pl.bucket_uuid_range(b, bits)
            assert lo <= u <= hi and 0 <= b < (1 << bits)
    assert pl.bucket_bits(5_000, 10_000) == 0
    assert pl.bucket_bits(1_000_000, 10_000) == 7
    assert pl.bucket_bits(10**12, 100) == pl.MAX_BUCKET_BITS
    assert 0 <= pl.bucket_of_text("abc", 5) < 32
    assert pl.bucket_sql(0, "k", True) == "0"
    assert "md5(k)" in pl.bucket_sql(3, "k", False) and ">> 13" in pl.bucket_sql(3, "k", False)


def test_batches_respect_the_budget():
    counts = {0: 5, 1: 5, 2: 20, 3: 1}
    assert pl.batch_buckets([3, 0, 1, 2], counts, 10) == [[0, 1], [2], [3]]
    assert pl.batch_buckets([], counts, 10) == []


def test_strategies_for_the_slice_and_chipp_mappings():
    ms = load_mappings([REPO_ROOT / "config" / "chipp" / "mappings"], env={})
    by_target = {t: feeds_of(ms, t) for t in ("app.users", "chat.sessions", "rag.chunks", "billing.credit_balance")}
    uuid_kinds = {"id": "uuid", "organization_id": "uuid"}
    tm, t = next((tm, t) for tm, t in by_target["app.users"] if t.contributor == "developer")
    assert choose_strategy(ms, tm, t, "int", uuid_kinds, 1, 10).kind == "v8"
    assert choose_strategy(ms, tm, t, "int", uuid_kinds, -1, 10).kind == "buckets"  # negative keys: uuid5
    tm, t = next((tm, t) for tm, t in by_target["app.users"] if t.contributor == "credentials")
    assert choose_strategy(ms, tm, t, "int", uuid_kinds).kind == "buckets"  # keyed by developerId, not own id
    tm, t = by_target["chat.sessions"][0]
    assert choose_strategy(ms, tm, t, family("varchar"), uuid_kinds).kind == "buckets"  # cuid -> uuid5
    tm, t = by_target["rag.chunks"][0]
    s = choose_strategy(ms, tm, t, family("uuid"), uuid_kinds)
    assert (s.kind, s.key_type) == ("identity", "uuid")  # a PostgreSQL uuid is kept
    tm, t = by_target["billing.credit_balance"][0]
    assert choose_strategy(ms, tm, t, "int", uuid_kinds, 1, 5) == pl.v8_strategy("chipp_main", "Organization")
    assert "deleted_at" in compared_columns(next(t for tm, t in feeds_of(ms, "chat.sessions")))


def test_pushdown_only_for_plain_copies(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("""
version: 1
sources: {s: {kind: mysql, topic_prefix: s, database: s}}
tables:
  - source: s
    table: t
    targets:
      - table: x.t
        columns: {id: id, a: a, n: n}
""")
    ms = load_mappings([m], env={})
    tm, t = feeds_of(ms, "x.t")[0]
    kinds = {"id": "int", "a": "text", "n": "int"}
    src = {"id": "int", "a": "varchar", "n": "bigint"}
    assert pushdown_columns(tm, t, "mysql", src, kinds, {}) == (("id", "int"), ("a", "text"), ("n", "int"))
    assert pushdown_columns(tm, t, "mysql", src, kinds, {}, {"a": "utf8mb4"})[1] == ("a", "text:utf8")
    assert pushdown_columns(tm, t, "mysql", src, kinds, {}, {"a": "latin1"})[1] == ("a", "text")
    assert pushdown_columns(tm, t, "mysql", {**src, "n": "decimal"}, kinds, {}) is None
    assert choose_strategy(ms, tm, t, "int", kinds).kind == "identity"


@pytest.mark.parametrize("t,f", [("int", "int"), ("BIGINT", "int"), ("int4", "int"), ("uuid", "uuid"),
                                 ("varchar", "text"), ("datetime", "other")])
def test_family(t, f):
    assert family(t) == f

"""Row-level comparison of what a feed expects with what the target holds. Pure, no I/O.

Kinds of difference, per target row (key):

* ``missing``: a source row maps to the key, the target has no such row.
* ``extra``: the target row exists but no source row of a *creating* feed maps to it. Not
  extra: a soft-deleted row (``on_delete: soft``: the source row may be gone), any row of an
  ``on_delete: ignore`` feed, a row whose columns an ``on_delete: clear`` feed emptied.
* ``different``: both exist and at least one compared column differs (the columns are named).
* ``orphaned`` (informational, not a difference): a merge contributor that does not create
  rows (``creates_row: false``) has a source row, but the target row it fills does not
  exist. The pipeline parks such writes in ``_replicator.pending`` until the creating
  contributor's row arrives; if the creator's source row exists, the creator's feed reports
  the row as ``missing``, so the target row is counted once.
* A follower's data on a target row that no follower source row explains (its columns
  should be NULL) is ``different``, naming those columns.
* ``unmappable``: the mapping raises on the source row (the stream sends it to the DLQ).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from replicator.reconcile.digest import NULL

DIFFERENCE_KINDS = ("missing", "extra", "different")


@dataclass(slots=True)
class Expected:
    key: str
    legacy: tuple
    fields: list[str]
    hash: int


@dataclass
class Difference:
    kind: str
    target: str
    contributor: str
    source_table: str
    key: str
    legacy_key: tuple | None = None
    columns: tuple[str, ...] = ()
    read_pos: tuple = ()
    read_pos_after: tuple = ()
    target_pos: tuple | None = None
    detail: str = ""
    hot: int = field(default=0)  # rechecks that found the target row rewritten since the read

    def to_json(self) -> dict:
        return {"kind": self.kind, "target": self.target, "contributor": self.contributor,
                "source_table": self.source_table, "key": self.key,
                "legacy_key": list(self.legacy_key) if self.legacy_key is not None else None,
                "columns": list(self.columns), "read_pos": list(self.read_pos),
                "read_pos_after": list(self.read_pos_after),
                "target_pos": list(self.target_pos) if self.target_pos is not None else None,
                "detail": self.detail, "hot": self.hot}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Difference:
        return cls(d["kind"], d["target"], d["contributor"], d["source_table"], d["key"],
                   tuple(d["legacy_key"]) if d.get("legacy_key") is not None else None,
                   tuple(d.get("columns") or ()), tuple(d.get("read_pos") or ()),
                   tuple(d.get("read_pos_after") or ()),
                   tuple(d["target_pos"]) if d.get("target_pos") is not None else None,
                   d.get("detail", ""), d.get("hot", 0))


def classify(*, creates_row: bool, on_delete: str, expected: Mapping[str, Expected], actual: Mapping[str, Any],
             owned_null_expected: Mapping[str, bool] | None = None) -> list[tuple[str, str]]:
    """(kind, key) for every key that differs. `actual` values need .hash, .owned_null, .deleted."""
    out: list[tuple[str, str]] = []
    onull = owned_null_expected or {}
    for key, e in expected.items():
        a = actual.get(key)
        if a is None:
            if creates_row:
                out.append(("missing", key))
            elif not onull.get(key, False):
                out.append(("orphaned", key))
        elif a.hash != e.hash:
            out.append(("different", key))
    for key, a in actual.items():
        if key in expected:
            continue
        if creates_row:
            if on_delete == "ignore" or (on_delete == "soft" and a.deleted) or (on_delete == "clear" and a.owned_null):
                continue
            out.append(("extra", key))
        elif not a.owned_null:
            out.append(("different", key))
    return out


def differing_columns(columns: tuple[str, ...], expected: list[str], actual: list[str]) -> tuple[str, ...]:
    return tuple(c for c, e, a in zip(columns, expected, actual) if e != a)


def null_image(columns: tuple[str, ...], key_columns: tuple[str, ...], key_fields: list[str]) -> list[str]:
    """The expected fields of a row a follower has no source row for: its key, NULLs elsewhere."""
    kf = dict(zip(key_columns, key_fields))
    return [kf.get(c, NULL) for c in columns]


def merge_table(diffs: list[Difference]) -> list[Difference]:
    """One difference per target row: `missing` wins over `different`, columns are united."""
    rank = {"missing": 0, "extra": 1, "different": 2, "unmappable": 3, "orphaned": 4}
    by_key: dict[str, Difference] = {}
    for d in diffs:
        if d.kind == "unmappable":
            by_key[f"unmappable:{d.source_table}:{d.legacy_key}"] = d
            continue
        cur = by_key.get(d.key)
        if cur is None:
            by_key[d.key] = d
        elif rank[d.kind] < rank[cur.kind]:
            by_key[d.key] = replace(d, columns=tuple(dict.fromkeys(d.columns + cur.columns)))
        elif d.kind == cur.kind == "different":
            cur.columns = tuple(dict.fromkeys(cur.columns + d.columns))
    return list(by_key.values())


__all__ = ["DIFFERENCE_KINDS", "Difference", "Expected", "classify", "differing_columns", "merge_table", "null_image"]

"""Resuming a long reconcile: one checkpoint row per target table, in the target database.

Table `_replicator.reconcile_checkpoints` (next to the sink's tombstones and pending rows,
so a checkpoint travels with the database it describes and needs no local state on a pod):

* `signature`: a hash of what the run compares (feeds, columns, canonical kinds,
  strategies, chunk size). A checkpoint whose signature differs (the mapping changed) is
  discarded and the table starts over.
* `plan`: the unit plan of each feed (legacy key ranges, bucket bits), reused as is on
  resume so completed units line up.
* `done`: unit id -> that unit's result (row counts and the differences it found), saved as
  each unit completes.
* `result`: the table's final result, once its rechecks (and repair) are done.

`--resume` (the default) continues from these rows; `--restart` deletes them first. A run
that completes every requested table deletes its checkpoints.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, replace
from typing import Any

from psycopg.types.json import Jsonb

from replicator.reconcile.feeds import FeedSpec
from replicator.reconcile.target_reader import TargetReader

TABLE = "_replicator.reconcile_checkpoints"


def _dumps(obj: Any) -> str:
    # legacy keys may be UUIDs, datetimes, Decimals: stored as text (both drivers compare text
    # parameters with such key columns correctly when the keys are read back)
    return json.dumps(obj, default=str)


def _jb(obj: Any) -> Jsonb:
    return Jsonb(obj, dumps=_dumps)


def signature(specs: Iterable[FeedSpec], chunk_size: int) -> str:
    parts = []
    for s in sorted(specs, key=lambda s: s.id):
        d = asdict(replace(s, strategy=replace(s.strategy, bits=0)))
        parts.append(d)
    text = json.dumps({"feeds": parts, "chunk_size": chunk_size}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Checkpoints:
    def __init__(self, target: TargetReader) -> None:
        self.target = target

    def ensure(self) -> None:
        self.target.execute("CREATE SCHEMA IF NOT EXISTS _replicator")
        self.target.execute(f"""
            CREATE TABLE IF NOT EXISTS {TABLE} (
                target_table text PRIMARY KEY,
                signature text NOT NULL,
                plan jsonb NOT NULL,
                done jsonb NOT NULL DEFAULT '{{}}',
                result jsonb,
                started_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now())""")

    def load(self, table: str, sig: str) -> dict[str, Any] | None:
        rows = self.target.execute(f"SELECT signature, plan, done, result FROM {TABLE} WHERE target_table = %s",
                                   (table,))
        if not rows or rows[0][0] != sig:
            return None
        _, plan, done, result = rows[0]
        return {"plan": plan, "done": done, "result": result}

    def start(self, table: str, sig: str, plan: dict) -> None:
        self.target.execute(
            f"INSERT INTO {TABLE} (target_table, signature, plan) VALUES (%s, %s, %s) "
            "ON CONFLICT (target_table) DO UPDATE SET signature = EXCLUDED.signature, plan = EXCLUDED.plan, "
            "done = '{}', result = NULL, started_at = now(), updated_at = now()", (table, sig, _jb(plan)))

    def save_unit(self, table: str, unit: str, result: dict) -> None:
        self.target.execute(
            f"UPDATE {TABLE} SET done = done || jsonb_build_object(%s::text, %s::jsonb), updated_at = now() "
            "WHERE target_table = %s", (unit, _jb(result), table))

    def complete(self, table: str, result: dict) -> None:
        self.target.execute(f"UPDATE {TABLE} SET result = %s, updated_at = now() WHERE target_table = %s",
                            (_jb(result), table))

    def clear(self, tables: Iterable[str]) -> None:
        self.target.execute(f"DELETE FROM {TABLE} WHERE target_table = ANY(%s)", (list(tables),))


__all__ = ["Checkpoints", "TABLE", "signature"]

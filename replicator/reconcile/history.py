"""What each finished reconcile of a table found, kept in the target database.

Table `_replicator.reconcile_runs`, one row per table per completed reconcile (append
only): when it finished, whether it was clean, and the counts. It travels with the
database it describes, so `replicator cutover check --reconciled-within N` can accept a
recent clean reconcile made by another pod or a scheduled job instead of running one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from psycopg.types.json import Jsonb

from replicator.reconcile.report import TableResult

TABLE = "_replicator.reconcile_runs"


def ensure(execute) -> None:
    execute("CREATE SCHEMA IF NOT EXISTS _replicator")
    execute(f"""
        CREATE TABLE IF NOT EXISTS {TABLE} (
            id bigserial PRIMARY KEY,
            target_table text NOT NULL,
            finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            clean boolean NOT NULL,
            rows_checked bigint NOT NULL,
            counts jsonb NOT NULL)""")
    execute(f"CREATE INDEX IF NOT EXISTS reconcile_runs_newest ON {TABLE} (target_table, finished_at DESC)")


def record(execute, result: TableResult) -> None:
    """Remember a completed table's result (incomplete runs prove nothing and are not kept)."""
    if not result.complete:
        return
    execute(f"INSERT INTO {TABLE} (target_table, clean, rows_checked, counts) VALUES (%s, %s, %s, %s)",
            (result.table, result.clean, result.rows_checked, Jsonb(result.counts)))


def latest(execute, tables: Sequence[str]) -> dict[str, tuple[dt.datetime, bool, int]]:
    """table -> (finished_at, clean, rows_checked) of its newest recorded reconcile."""
    rows = execute(f"SELECT DISTINCT ON (target_table) target_table, finished_at, clean, rows_checked FROM {TABLE} "
                   "WHERE target_table = ANY(%s) ORDER BY target_table, finished_at DESC", (list(tables),))
    return {t: (at, clean, n) for t, at, clean, n in rows}

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


def export_metrics(conn) -> int:
    """Set the reconcile gauges from the recorded runs: differences of each table's newest
    run, and when its newest clean run finished. Called by every `replicator run` pod, so
    Prometheus sees reconciles made by any process (a scheduled job, an operator's
    terminal). Returns the number of tables exported."""
    from replicator import metrics
    from replicator.reconcile.report import KINDS

    if conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()[0] is None:
        return 0
    newest = conn.execute(f"SELECT DISTINCT ON (target_table) target_table, counts FROM {TABLE} "
                          "ORDER BY target_table, finished_at DESC").fetchall()
    for table, counts in newest:
        for kind in KINDS:
            metrics.RECONCILE_DIFFERENCES.labels(table, kind).set(int(counts.get(kind, 0)))
    for table, at in conn.execute(f"SELECT target_table, extract(epoch FROM max(finished_at))::float8 FROM {TABLE} "
                                  "WHERE clean GROUP BY target_table").fetchall():
        metrics.RECONCILE_LAST_CLEAN.labels(table).set(at)
    return len(newest)

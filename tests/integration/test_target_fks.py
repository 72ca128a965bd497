"""Suspending and restoring foreign keys on the real PostgreSQL."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from replicator.stack.workspace import create_target_db
from replicator.target import foreign_keys, restore, suspend, suspended

pytestmark = pytest.mark.stack

DDL = """
CREATE SCHEMA app;
CREATE TABLE app.parents (id uuid PRIMARY KEY);
CREATE TABLE app.children (id uuid PRIMARY KEY, parent_id uuid REFERENCES app.parents(id) ON DELETE CASCADE);
"""


def test_suspend_then_restore_reports_orphans_and_keeps_the_key_enforced(stack, tmp_path):
    (tmp_path / "ddl.sql").write_text(DDL)
    db = create_target_db(stack, [tmp_path / "ddl.sql"])
    with psycopg.connect(stack.postgres.dsn(db)) as conn:
        fks = suspend(conn, ["app.children", "app.parents"])
        assert [(f.table, f.name) for f in fks] == [("app.children", "children_parent_id_fkey")]
        assert foreign_keys(conn, ["app.children"]) == []
        assert suspend(conn, ["app.children"]) == [], "suspending twice changes nothing"
        assert [f.name for f in suspended(conn)] == ["children_parent_id_fkey"]
        with conn.transaction():
            conn.execute("INSERT INTO app.children VALUES (%s, %s)", (uuid.uuid4(), uuid.uuid4()))  # an orphan
        [result] = restore(conn)
        assert not result.validated and "violates foreign key" in (result.error or "")
        assert suspended(conn) == []
        # the key is back (NOT VALID) and enforced for new rows, with its ON DELETE rule
        [fk] = foreign_keys(conn, ["app.children"])
        assert "ON DELETE CASCADE" in fk.definition
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            with conn.transaction():
                conn.execute("INSERT INTO app.children VALUES (%s, %s)", (uuid.uuid4(), uuid.uuid4()))


def test_cutover_gates_for_foreign_keys_and_parked_writes(stack, tmp_path):
    from replicator.cutover import _gate_foreign_keys, _gate_parked

    (tmp_path / "ddl.sql").write_text(DDL)
    db = create_target_db(stack, [tmp_path / "ddl.sql"])
    tables = ["app.children", "app.parents"]
    with psycopg.connect(stack.postgres.dsn(db), autocommit=True) as conn:
        assert _gate_foreign_keys(conn, tables).ok is True
        assert _gate_parked(conn).ok is True  # no parked-writes table yet
        suspend(conn, tables)
        gate = _gate_foreign_keys(conn, tables)
        assert gate.ok is False and "children_parent_id_fkey suspended" in gate.detail
        conn.execute("INSERT INTO app.children VALUES (%s, %s)", (uuid.uuid4(), uuid.uuid4()))  # an orphan
        restore(conn)  # re-added NOT VALID: the orphan stops validation
        gate = _gate_foreign_keys(conn, tables)
        assert gate.ok is False and "children_parent_id_fkey NOT VALID" in gate.detail
        conn.execute("DELETE FROM app.children")
        conn.execute("ALTER TABLE app.children VALIDATE CONSTRAINT children_parent_id_fkey")
        assert _gate_foreign_keys(conn, tables).ok is True

        from replicator.apply.sink import PostgresSink
        from replicator.mapping.loader import load_mappings
        from replicator.stack.manager import REPO_ROOT

        conn.execute("CREATE TABLE app.users (id uuid PRIMARY KEY)")  # the slice mapping's target
        PostgresSink(conn, load_mappings([REPO_ROOT / "config" / "mappings"], env={})).prepare()
        assert _gate_parked(conn).ok is True
        conn.execute("INSERT INTO _replicator.pending (target_table, contributor, key, pos, row) "
                     "VALUES ('app.users', 'settings', 'k', '{1,2,0}', '{}')")
        gate = _gate_parked(conn)
        assert gate.ok is False and "app.users=1" in gate.detail


def test_cutover_gate_on_recorded_reconciles(stack, tmp_path):
    from replicator.cutover import _gate_recent_reconcile
    from replicator.reconcile import history
    from replicator.reconcile.report import TableResult

    (tmp_path / "ddl.sql").write_text(DDL)
    db = create_target_db(stack, [tmp_path / "ddl.sql"])
    with psycopg.connect(stack.postgres.dsn(db), autocommit=True) as conn:
        def execute(q, a=None):
            cur = conn.execute(q, a)
            return cur.fetchall() if cur.description else []

        tables = ["app.children", "app.parents"]
        gate = _gate_recent_reconcile(conn, tables, 3600)
        assert gate.ok is False and "no reconcile was ever recorded" in gate.detail
        history.ensure(execute)
        history.record(execute, TableResult("app.parents", rows_checked=3))
        gate = _gate_recent_reconcile(conn, tables, 3600)
        assert gate.ok is False and "app.children never reconciled" in gate.detail
        history.record(execute, TableResult("app.children", rows_checked=5))
        assert _gate_recent_reconcile(conn, tables, 3600).ok is True
        assert "app.parents last clean" in _gate_recent_reconcile(conn, tables, 0).detail  # too old for 0 s
        history.record(execute, TableResult("app.children", rows_checked=5, counts={**TableResult("x").counts,
                                                                                   "missing": 1}))
        gate = _gate_recent_reconcile(conn, tables, 3600)
        assert gate.ok is False and "app.children had differences" in gate.detail
        history.record(execute, TableResult("app.parents", complete=False))  # proves nothing: not kept
        assert _gate_recent_reconcile(conn, ["app.parents"], 3600).ok is True


def test_the_replicator_exports_the_recorded_reconciles_as_metrics(stack, tmp_path):
    """A reconcile run by any process (a scheduled job, an operator) reaches Prometheus
    through every `replicator run` pod, which reads `_replicator.reconcile_runs`."""
    from replicator import metrics
    from replicator.apply.runner import Runner
    from replicator.config import Settings
    from replicator.mapping.loader import load_mappings
    from replicator.reconcile import history
    from replicator.reconcile.report import TableResult
    from replicator.stack.manager import REPO_ROOT

    (tmp_path / "ddl.sql").write_text(DDL)
    db = create_target_db(stack, [tmp_path / "ddl.sql"])
    runner = Runner(Settings(kafka_bootstrap_servers=stack.broker.bootstrap(), target_dsn=stack.postgres.dsn(db),
                             metrics_port=0), load_mappings([REPO_ROOT / "config" / "mappings"], env={}))
    try:
        runner._refresh_reconcile_metrics()  # nothing recorded yet: nothing to export, no error
        with psycopg.connect(stack.postgres.dsn(db), autocommit=True) as conn:
            def execute(q, a=None):
                cur = conn.execute(q, a)
                return cur.fetchall() if cur.description else []
            history.ensure(execute)
            history.record(execute, TableResult("app.parents", rows_checked=4))
            dirty = TableResult("app.parents", rows_checked=4)
            dirty.counts["missing"] = 3
            history.record(execute, dirty)
        runner._refresh_reconcile_metrics()
        assert runner._reconcile_refreshed > 0
        assert metrics.RECONCILE_DIFFERENCES.labels("app.parents", "missing")._value.get() == 0, "once a minute only"
        runner._refresh_reconcile_metrics(every_s=0)
        assert metrics.RECONCILE_DIFFERENCES.labels("app.parents", "missing")._value.get() == 3  # the newest run
        assert abs(metrics.RECONCILE_LAST_CLEAN.labels("app.parents")._value.get() - time.time()) < 60
    finally:
        runner.consumer.close()

"""The mission's case end to end: Chipp's three legacy databases (main MySQL, chat MySQL,
embeddings PostgreSQL with 3072-dimension vectors) into the unified PostgreSQL schema.

Generate data, snapshot (fresh connectors), then stream while a concurrent writer inserts,
updates and deletes on all three sources. The reconciler runs as soon as the writer stops
(rows still in flight must be re-checked, not reported) and must find every target table
clean; the simple full-table comparison agrees; nothing went to the dead-letter topic."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import psycopg
import pytest

from replicator.chipp.generate import generate, load
from replicator.chipp.pipeline import MAPPINGS, ChippRun, summary
from replicator.chipp.writer import ChippWriter
from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import ReplicatorProcess, wait_for

pytestmark = pytest.mark.stack


def test_chipp_snapshot_then_stream_matches_the_mapping(stack, tmp_path):
    run = ChippRun(stack)
    run.create_databases()
    data = generate(1.0, seed=1)
    load(stack, data, main_db=run.main_db, chat_db=run.chat_db, emb_db=run.emb_db)
    run.start_connectors()
    log = tmp_path / "run.log"
    try:
        # two connections (apply/shards.py): 27 target tables, merges and parked writes, each
        # batch split by target key (`make demo` runs the same mapping with the default of 1)
        with ReplicatorProcess(stack, target_db=run.target_db, env={**run.mapping_env(), "REPLICATOR_APPLY_CONNECTIONS": "2"},
                               log=log, mapping=MAPPINGS) as rp:
            writer = ChippWriter(stack, main_db=run.main_db, chat_db=run.chat_db, emb_db=run.emb_db, rate=40, seed=5)
            writer.start()
            time.sleep(15)
            writer.stop()
            writer.join(30)
            assert writer.exception is None, writer.exception
            done = writer.counts
            for op in ("insert", "update", "delete"):
                assert any(k.startswith(op) and v for k, v in done.items()), (op, dict(done))
            # the final assertion: the reconciler, started while events are still in flight
            out = run.reconcile(json_file=tmp_path / "reconcile.json")
            report = json.loads((tmp_path / "reconcile.json").read_text())
            assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
            tables = {t["table"]: t for t in report["tables"]}
            assert len(tables) >= 25 and all(t["clean"] for t in tables.values())
            assert sum(t["rows_checked"] for t in tables.values()) > 8000
            last: list = []

            def clean() -> bool:
                diffs = run.compare()
                last[:] = diffs
                return all(d.clean for d in diffs)
            try:
                # an independent cross-check: the naive full-table comparison agrees
                wait_for(clean, 120, "the full-table comparison to agree", interval=3)
            except AssertionError:
                raise AssertionError(summary(last)[1])
            assert rp.alive()
            prune_while_running(stack, run, rp)
            assert all(d.clean for d in run.compare()), "pruning changed the target"
            assert rp.alive()
        checked = sum(d.checked for d in last)
        assert checked > 1000, f"only {checked} rows checked"
        dead = [json.loads(line) for line in log.read_text().splitlines()
                if line.startswith("{") and '"replicator.dead_letter"' in line]
        assert dead == [], dead[:3]
        shards = [json.loads(line)["shards"] for line in log.read_text().splitlines()
                  if line.startswith("{") and '"replicator.batch_applied"' in line]
        assert 2 in shards, shards
    finally:
        run.stop_connectors()
        run.drop()


def prune_while_running(stack, run: ChippRun, rp: ReplicatorProcess) -> None:
    """`replicator tombstones prune` on the whole Chipp mapping (three source servers, one
    of them PostgreSQL), while the replicator runs: every table gets a horizon or a reason,
    the union table fed by two servers keeps its tombstones, and no tombstone is left below
    a horizon."""
    out = subprocess.run([sys.executable, "-m", "replicator.cli", "tombstones", "prune"], env=rp.env,
                         capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    lines = dict(re.findall(r"^(\S+): (.*)$", out.stdout, re.M))
    with_horizon = [t for t, what in lines.items() if what.startswith("horizon {")]
    assert len(with_horizon) >= 20, out.stdout
    assert "rag.chunks" in with_horizon, out.stdout  # fed by the PostgreSQL embeddings database
    assert "several source servers" in lines.get("app.integrations", ""), out.stdout
    with psycopg.connect(stack.postgres.dsn(run.target_db)) as conn:
        below = conn.execute("SELECT count(*) FROM _replicator.tombstones tb JOIN _replicator.horizons h "
                             "USING (target_table) WHERE tb.pos < h.pos").fetchone()[0]
    assert below == 0

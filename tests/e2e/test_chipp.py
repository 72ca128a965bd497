"""The mission's case end to end: Chipp's three legacy databases (main MySQL, chat MySQL,
embeddings PostgreSQL with 3072-dimension vectors) into the unified PostgreSQL schema.

Generate data, snapshot (fresh connectors), then stream while a concurrent writer inserts,
updates and deletes on all three sources. At the end the target matches what the mapping
says it must, table by table, and nothing went to the dead-letter topic."""

from __future__ import annotations

import json
import time

import pytest

from replicator.chipp.generate import generate, load
from replicator.chipp.pipeline import MAPPINGS, ChippRun, summary
from replicator.chipp.writer import ChippWriter
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
        with ReplicatorProcess(stack, target_db=run.target_db, env=run.mapping_env(), log=log, mapping=MAPPINGS,
                               ) as rp:
            writer = ChippWriter(stack, main_db=run.main_db, chat_db=run.chat_db, emb_db=run.emb_db, rate=40, seed=5)
            writer.start()
            time.sleep(15)
            writer.stop()
            writer.join(30)
            assert writer.exception is None, writer.exception
            done = writer.counts
            for op in ("insert", "update", "delete"):
                assert any(k.startswith(op) and v for k, v in done.items()), (op, dict(done))
            last: list = []

            def clean() -> bool:
                diffs = run.compare()
                last[:] = diffs
                return all(d.clean for d in diffs)
            try:
                wait_for(clean, 240, "the target to match all three sources through the mapping", interval=3)
            except AssertionError:
                raise AssertionError(summary(last)[1])
            assert rp.alive()
        checked = sum(d.checked for d in last)
        assert checked > 1000, f"only {checked} rows checked"
        dead = [json.loads(line) for line in log.read_text().splitlines()
                if line.startswith("{") and '"replicator.dead_letter"' in line]
        assert dead == [], dead[:3]
    finally:
        run.stop_connectors()
        run.drop()

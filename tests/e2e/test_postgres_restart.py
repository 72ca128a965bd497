"""PostgreSQL restarts in the middle of a run while the source keeps changing: the
replicator waits and retries (no crash loop), and the run ends with nothing lost."""

from __future__ import annotations

import json
import random
import threading
import time

import psycopg
import pytest

from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import (ReplicatorProcess, create_source_db, create_target_db, mysql,
                                        slice_matches, wait_for)

pytestmark = pytest.mark.stack


def _writer(stack, db, stop: threading.Event) -> None:
    rng = random.Random(3)
    n = 0
    with mysql(stack, db) as conn, conn.cursor() as cur:
        while not stop.is_set():
            n += 1
            cur.execute("INSERT INTO Developer (id, email, name) VALUES (%s, %s, %s)", (n, f"p{n}@example.com", "x"))
            if n > 5 and rng.random() < 0.3:
                cur.execute("UPDATE Developer SET name=%s WHERE id=%s", (f"y{n}", rng.randint(1, n)))
            time.sleep(0.02)


def test_postgres_restart_mid_run_loses_nothing(stack, tmp_path):
    src = create_source_db(stack, REPO_ROOT / "config" / "legacy" / "slice_main.sql")
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    # two connections (apply/shards.py): the restart kills the helper's too
    env = {"LEGACY_MAIN_DATABASE": src, "REPLICATOR_RETRY_MAX_BACKOFF_S": "2", "REPLICATOR_APPLY_CONNECTIONS": "2"}
    stop = threading.Event()
    writer = threading.Thread(target=_writer, args=(stack, src, stop))
    with ReplicatorProcess(stack, target_db=tgt, env=env, log=tmp_path / "run.log") as rp:
        writer.start()
        try:
            def count() -> int:
                with psycopg.connect(stack.postgres.dsn(tgt)) as c:
                    return c.execute("SELECT count(*) FROM app.users").fetchone()[0]
            wait_for(lambda: count() > 20, 90, "rows flowing before the restart")
            assert stack.postgres.stop(), "postgres should have been running"
            time.sleep(4)  # the replicator keeps consuming attempts against a dead database
            assert rp.alive(), "the replicator must wait, not exit, while PostgreSQL is down"
            stack.postgres.start()
            time.sleep(3)
        finally:
            stop.set()
            writer.join()
        wait_for(lambda: slice_matches(stack, src, tgt), 120, "target equal to source after the PostgreSQL restart")
        assert rp.alive()
    log = (tmp_path / "run.log").read_text()
    assert "replicator.retry" in log, "the outage should have been retried"
    # the helper connections came back after the outage: batches were written in two shards again
    lines = [json.loads(ln) for ln in log.splitlines() if ln.startswith("{")]
    last_retry = max(i for i, ln in enumerate(lines) if ln.get("event") == "replicator.retry")
    assert any(ln.get("event") == "replicator.batch_applied" and ln["shards"] == 2 for ln in lines[last_retry:])

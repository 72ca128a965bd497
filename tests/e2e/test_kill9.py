"""Kill -9 at random moments while a concurrent writer changes the source; at the end the
target equals what the source says (through the mapping). Ghostferry-style.

Each run is killed at a random moment after it has applied its first batch: before that
it would only be joining the consumer group (about 3 s on the local broker, longer after
a kill, while the dead member times out), and a kill there tests nothing of the apply
path. The writer keeps the stream going, so the kill lands anywhere in the batch cycle:
consuming, mapping, writing the two shards (apply/shards.py), committing the offsets."""

from __future__ import annotations

import json
import random
import signal
import threading
import time

import pytest

from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import (ReplicatorProcess, create_source_db, create_target_db, mysql,
                                        slice_diffs, unique, wait_for)

pytestmark = pytest.mark.stack

KILLS = 10


def _writer(stack, db, stop: threading.Event) -> None:
    rng = random.Random(42)
    next_id = 1
    with mysql(stack, db) as conn, conn.cursor() as cur:
        while not stop.is_set():
            r = rng.random()
            if r < 0.55 or next_id < 20:
                cur.executemany("INSERT INTO Developer (id, email, name) VALUES (%s, %s, %s)",
                                [(i, f"k{i}@example.com", f"n{i}") for i in range(next_id, next_id + 3)])
                next_id += 3
            elif r < 0.85:
                cur.execute("UPDATE Developer SET name=%s, hasCompletedOnboarding=%s WHERE id=%s",
                            (f"v{rng.randint(0, 10**6)}", rng.randint(0, 1), rng.randint(1, next_id - 1)))
            else:
                cur.execute("DELETE FROM Developer WHERE id=%s", (rng.randint(1, next_id - 1),))
            time.sleep(0.01)


def test_kill_9_at_random_moments_loses_nothing(stack, tmp_path):
    src = create_source_db(stack, REPO_ROOT / "config" / "legacy" / "slice_main.sql")
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    # two connections (apply/shards.py): a kill can land between the shards' commits
    env = {"LEGACY_MAIN_DATABASE": src, "REPLICATOR_BATCH_MAX_EVENTS": "200", "REPLICATOR_APPLY_CONNECTIONS": "2"}
    group = unique("g_")
    rng = random.Random(7)
    stop = threading.Event()
    writer = threading.Thread(target=_writer, args=(stack, src, stop))
    writer.start()
    try:
        for i in range(KILLS):
            log = tmp_path / f"run{i}.log"
            rp = ReplicatorProcess(stack, target_db=tgt, env=env, log=log, group=group).start()
            wait_for(lambda: rp.alive() and '"replicator.batch_applied"' in log.read_text(), 90,
                     f"run {i} applying batches")
            time.sleep(rng.uniform(0.0, 2.0))
            assert rp.alive(), log.read_text()[-2000:]
            rp.stop(sig=signal.SIGKILL)
    finally:
        stop.set()
        writer.join()

    def clean() -> bool:
        rows, diffs = slice_diffs(stack, src, tgt)
        clean.last = diffs  # type: ignore[attr-defined]
        return bool(rows) and all(d.clean for d in diffs)

    with ReplicatorProcess(stack, target_db=tgt, env=env, log=tmp_path / "final.log", group=group):
        try:
            wait_for(clean, 120, "target equal to source after 10 kill -9s")
        except AssertionError:
            raise AssertionError("\n".join(d.summary() for d in clean.last))  # type: ignore[attr-defined]
    # the killed runs wrote their batches in two shards at once, not only in one transaction
    batches = [json.loads(ln) for i in range(KILLS) for ln in (tmp_path / f"run{i}.log").read_text().splitlines()
               if ln.startswith("{") and '"replicator.batch_applied"' in ln]
    assert any(b["shards"] == 2 for b in batches), [b["shards"] for b in batches]

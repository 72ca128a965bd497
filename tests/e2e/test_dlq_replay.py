"""Schema drift on the real stack: a new source column the mapping does not cover sends the
table's events to the dead-letter topic (never guessed); after the mapping is fixed,
`replicator dlq replay` puts them back and they are applied."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from replicator.keys import remap_key
from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import ReplicatorProcess, create_source_db, create_target_db, mysql, unique, wait_for

pytestmark = pytest.mark.stack


def test_drift_goes_to_the_dlq_and_replays_after_the_mapping_is_fixed(stack, tmp_path):
    src = create_source_db(stack, REPO_ROOT / "config" / "legacy" / "slice_main.sql")
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    env = {"LEGACY_MAIN_DATABASE": src}
    group, dlq = unique("g_"), unique("dlq_")

    def names():
        with psycopg.connect(stack.postgres.dsn(tgt)) as c:
            return dict(c.execute("SELECT id, name FROM app.users").fetchall())

    def cli(*args, rp):
        return subprocess.run([sys.executable, "-m", "replicator.cli", *args], env=rp.env, capture_output=True,
                              text=True, cwd=REPO_ROOT, timeout=120)

    first = ReplicatorProcess(stack, target_db=tgt, env={**env, "REPLICATOR_DLQ_TOPIC": dlq},
                              log=tmp_path / "run1.log", group=group)
    with first:
        with mysql(stack, src) as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO Developer (id, email, name) VALUES (1, 'a@example.com', 'before')")
        wait_for(lambda: len(names()) == 1, 90, "the row before the drift")
        with mysql(stack, src) as conn, conn.cursor() as cur:
            cur.execute("ALTER TABLE Developer ADD COLUMN githubHandle VARCHAR(64) NULL")
            cur.execute("INSERT INTO Developer (id, email, name, githubHandle) VALUES (2, 'b@example.com', 'new', 'bb')")
            cur.execute("UPDATE Developer SET name='after' WHERE id=1")
        # the DDL itself (from the schema-change topic, before any row) and the two rows
        wait_for(lambda: "3 dead letter(s)" in cli("dlq", "list", rp=first).stdout, 60, "three drift dead letters")
        listing = cli("dlq", "list", rp=first).stdout
        assert "schema change: new columns not in the mapping" in listing and "githubHandle" in listing
        assert names() == {remap_key("legacy_main", "Developer", 1): "before"}, "drifted events are not guessed"
    log = (tmp_path / "run1.log").read_text()
    assert "SchemaDriftError" in log and "githubHandle" in log

    # the fix: the operator decides githubHandle is not migrated
    fixed = tmp_path / "mappings"
    fixed.mkdir()
    text = (REPO_ROOT / "config" / "mappings" / "slice.yaml").read_text()
    (fixed / "slice.yaml").write_text(text.replace("      - stripeCustomerId\n",
                                                   "      - stripeCustomerId\n      - githubHandle\n"))
    second = ReplicatorProcess(stack, target_db=tgt, env={**env, "REPLICATOR_DLQ_TOPIC": dlq},
                               log=tmp_path / "run2.log", group=group, mapping=fixed)
    with second:
        out = cli("dlq", "replay", rp=second)
        assert out.returncode == 0 and "replayed 3 record(s)" in out.stdout, out.stdout + out.stderr
        wait_for(lambda: names() == {remap_key("legacy_main", "Developer", 1): "after",
                                     remap_key("legacy_main", "Developer", 2): "new"}, 90, "the replayed events")

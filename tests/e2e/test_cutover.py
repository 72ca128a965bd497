"""`replicator cutover check` on the real stack: GO only when the pipeline has applied
everything, no dead letter is outstanding and the reconcile is clean; each failing gate is
named. Walks the operator's path: caught up (GO), drift dead-lettered (NO-GO), mapping
fixed and letters replayed (GO), replicator stopped with changes waiting (NO-GO)."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import quote

import psycopg
import pytest

from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import ReplicatorProcess, create_source_db, create_target_db, mysql, unique, wait_for

pytestmark = pytest.mark.stack


def test_cutover_check_walks_the_operators_path(stack, tmp_path):
    src = create_source_db(stack, REPO_ROOT / "config" / "legacy" / "slice_main.sql")
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    source_dsn = (f"mysql://replicator:{quote(stack.mariadb.password('replicator'), safe='')}"
                  f"@127.0.0.1:{stack.mysql_port}/{src}")
    env = {"LEGACY_MAIN_DATABASE": src, "REPLICATOR_DLQ_TOPIC": unique("dlq_"),
           "REPLICATOR_SOURCE_LEGACY_MAIN_DSN": source_dsn}
    group = unique("g_")
    fixed = tmp_path / "mappings"
    fixed.mkdir()
    (fixed / "slice.yaml").write_text((REPO_ROOT / "config" / "mappings" / "slice.yaml").read_text().replace(
        "      - stripeCustomerId\n", "      - stripeCustomerId\n      - githubHandle\n"))

    def rows() -> int:
        with psycopg.connect(stack.postgres.dsn(tgt)) as c:
            return c.execute("SELECT count(*) FROM app.users").fetchone()[0]

    def check(rp: ReplicatorProcess, *extra: str) -> tuple[int, dict, str]:
        out = tmp_path / f"cutover-{unique()}.json"
        p = subprocess.run([sys.executable, "-m", "replicator.cli", "cutover", "check", "--json", str(out), *extra],
                           env=rp.env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
        return p.returncode, {g["name"]: g for g in json.loads(out.read_text())["gates"]}, p.stdout + p.stderr

    def write(*statements: str) -> None:
        with mysql(stack, src) as conn, conn.cursor() as cur:
            for s in statements:
                cur.execute(s)

    first = ReplicatorProcess(stack, target_db=tgt, env=env, log=tmp_path / "run1.log", group=group)
    with first:
        write(*[f"INSERT INTO Developer (id, email, name) VALUES ({i}, 'u{i}@example.com', 'n{i}')" for i in range(1, 6)])
        wait_for(lambda: rows() == 5, 90, "the first five rows")
        code, gates, out = check(first)
        assert code == 0 and "VERDICT: GO" in out, out
        assert gates["reconcile"]["status"] == "PASS" and "5 row(s) checked" in gates["reconcile"]["detail"], out

        # drift: a column the mapping does not cover; its events are dead-lettered, not guessed
        write("ALTER TABLE Developer ADD COLUMN githubHandle VARCHAR(64) NULL",
              "INSERT INTO Developer (id, email, name, githubHandle) VALUES (6, 'u6@example.com', 'n6', 'gh')")
        wait_for(lambda: check(first, "--reconciled-within", "3600")[1]["dead_letters"]["status"] == "FAIL", 90,
                 "the drift to be dead-lettered")
        code, gates, out = check(first, "--reconciled-within", "3600")
        assert code == 1 and "VERDICT: NO-GO" in out, out
        assert gates["consumer_lag"]["status"] == "PASS" and "outstanding dead letter" in gates["dead_letters"]["detail"]

    second = ReplicatorProcess(stack, target_db=tgt, env=env, log=tmp_path / "run2.log", group=group, mapping=fixed)
    with second:
        replay = subprocess.run([sys.executable, "-m", "replicator.cli", "dlq", "replay"], env=second.env,
                                capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
        assert replay.returncode == 0 and "replayed 2 record(s)" in replay.stdout, replay.stdout + replay.stderr
        wait_for(lambda: rows() == 6, 90, "the replayed row")
        wait_for(lambda: check(second, "--reconciled-within", "3600")[0] == 0, 60, "the replayed letters to be applied")
        code, gates, out = check(second)  # with the reconcile, through the fixed mapping
        assert code == 0 and gates["dead_letters"]["status"] == "PASS", out

    # the replicator is down and the legacy side still changes: not safe to switch
    write("INSERT INTO Developer (id, email, name) VALUES (7, 'u7@example.com', 'n7')",
          "UPDATE Developer SET name = 'changed' WHERE id = 1")
    wait_for(lambda: check(second, "--reconciled-within", "3600")[1]["consumer_lag"]["status"] == "FAIL", 60,
             "Debezium to publish the changes")
    code, gates, out = check(second)
    assert code == 1, out
    assert "not yet applied" in gates["consumer_lag"]["detail"]
    assert gates["reconcile"]["status"] == "FAIL" and "app.users" in gates["reconcile"]["detail"], out
    # that failed reconcile is on record: a recent-reconcile check refuses it too
    code, gates, out = check(second, "--reconciled-within", "3600")
    assert code == 1 and "app.users had differences" in gates["reconcile"]["detail"], out

"""The first vertical slice on the real stack: MariaDB binlog -> Debezium (Kafka Connect) ->
Tansu -> `replicator run` -> PostgreSQL. Legacy `Developer` becomes `app.users`: renamed
table and columns, dropped token columns, int id remapped to a deterministic UUID."""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest

from replicator.keys import remap_key
from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import ReplicatorProcess, create_source_db, create_target_db, mysql, wait_for

pytestmark = pytest.mark.stack

LEGACY_DDL = REPO_ROOT / "config" / "legacy" / "slice_main.sql"
TARGET_DDL = REPO_ROOT / "config" / "target" / "slice.sql"


def users(stack, db) -> dict:
    with psycopg.connect(stack.postgres.dsn(db)) as conn:
        rows = conn.execute("SELECT id, email, name, username, has_completed_onboarding, created_at "
                            "FROM app.users").fetchall()
    return {r[0]: r[1:] for r in rows}


def uid(n: int):
    return remap_key("legacy_main", "Developer", n)


@pytest.fixture
def slice_dbs(stack):
    return create_source_db(stack, LEGACY_DDL), create_target_db(stack, [TARGET_DDL])


def test_insert_update_delete_flow_through(stack, slice_dbs, tmp_path):
    src, tgt = slice_dbs
    with mysql(stack, src) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO Developer (id, email, name, username, hasCompletedOnboarding, resetToken, createdAt) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(1, "Ada@Example.com", "Ada", "ada", 1, "secret-reset-token", "2024-03-01 10:00:00.123"),
             (2, "bob@example.com", None, "bob", 0, None, "2024-03-02 11:30:00.000"),
             (3, "cy@example.com", "Cy", None, 0, None, "2024-03-03 12:00:00.500")])
    with ReplicatorProcess(stack, target_db=tgt, env={"LEGACY_MAIN_DATABASE": src}, log=tmp_path / "run.log") as rp:
        wait_for(lambda: len(users(stack, tgt)) == 3, 90, "3 snapshot/streamed rows in app.users")
        got = users(stack, tgt)
        # rename + lower_trim + int -> uuid remap + tinyint -> boolean + datetime(3) -> timestamptz
        assert got[uid(1)] == ("ada@example.com", "Ada", "ada", True,
                               dt.datetime(2024, 3, 1, 10, 0, 0, 123000, tzinfo=dt.timezone.utc))
        # transform: display name falls back to the email's local part
        assert got[uid(2)][1] == "bob"
        with psycopg.connect(stack.postgres.dsn(tgt)) as conn:
            cols = {r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema='app' AND table_name='users'")}
        assert not {c for c in cols if "token" in c.lower()}, "dropped columns must not reach the target"

        with mysql(stack, src) as conn, conn.cursor() as cur:
            cur.execute("UPDATE Developer SET name='Cyrus', hasCompletedOnboarding=1 WHERE id=3")
            cur.execute("DELETE FROM Developer WHERE id=2")
            cur.execute("INSERT INTO Developer (id, email, name) VALUES (4, 'dee@example.com', 'Dee')")
        wait_for(lambda: set(users(stack, tgt)) == {uid(1), uid(3), uid(4)}, 60, "delete of 2 and insert of 4")
        wait_for(lambda: users(stack, tgt)[uid(3)][1:4:2] == ("Cyrus", True), 60, "update of 3")
        assert rp.alive(), "replicator must still be running"
    assert rp.proc.returncode == 0, (tmp_path / "run.log").read_text()[-3000:]
    # Debezium's own events took the C core (replicator/_fastmap.c), the delete the Python path
    lines = [json.loads(ln) for ln in (tmp_path / "run.log").read_text().splitlines() if ln.startswith("{")]
    [started] = [ln for ln in lines if ln.get("event") == "replicator.started"]
    assert started["fast_path"] == "on" and started["fast_path_tables"] == ["legacy_main.Developer"]
    batches = [ln for ln in lines if ln.get("event") == "replicator.batch_applied"]
    fast = sum(b["fast_path"] for b in batches)
    assert 0 < fast < sum(b["events"] for b in batches), batches


def test_rows_written_while_debezium_is_down_arrive_exactly_once(stack, slice_dbs, tmp_path):
    """Stop the Connect worker, write on the source, start it again: every row arrives, once.

    Guards the MariaDB version-string trap (LOCAL-STACK.md): with a version string that
    contains "MariaDB" the first row of the first transaction after the restart is lost.
    """
    src, tgt = slice_dbs
    with mysql(stack, src) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO Developer (id, email) VALUES (1, 'one@example.com')")
    with ReplicatorProcess(stack, target_db=tgt, env={"LEGACY_MAIN_DATABASE": src}, log=tmp_path / "run.log"):
        wait_for(lambda: len(users(stack, tgt)) == 1, 90, "first row before the restart")
        assert stack.connect.stop(), "the Connect worker should have been running"
        try:
            with mysql(stack, src) as conn, conn.cursor() as cur:
                # several transactions, the first touching an existing row, as in the trap
                cur.execute("UPDATE Developer SET name='Uno' WHERE id=1")
                for start in (10, 20, 30):
                    conn.begin()
                    cur.executemany("INSERT INTO Developer (id, email) VALUES (%s, %s)",
                                    [(i, f"u{i}@example.com") for i in range(start, start + 5)])
                    conn.commit()
                cur.execute("DELETE FROM Developer WHERE id=12")
        finally:
            stack.start_connect(echo=lambda _l: None)
        expected = {uid(1)} | {uid(i) for s in (10, 20, 30) for i in range(s, s + 5)} - {uid(12)}
        wait_for(lambda: set(users(stack, tgt)) == expected, 120, "all rows written while Debezium was down")
        wait_for(lambda: users(stack, tgt)[uid(1)][1] == "Uno", 30, "the update written while Debezium was down")
    with psycopg.connect(stack.postgres.dsn(tgt)) as conn:
        n, distinct = conn.execute("SELECT count(*), count(DISTINCT email) FROM app.users").fetchone()
    assert n == distinct == len(expected)

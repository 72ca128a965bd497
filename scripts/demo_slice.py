"""`make demo`: the whole pipeline on the local stack, end to end, in about a minute.

Brings the stack up, creates a legacy main database with sample `Developer` rows, starts
`replicator run`, keeps writing (inserts, updates, deletes) on the source while it runs,
waits for the target to catch up and prints what arrived, with a source-vs-target
comparison through the mapping at the end. Exit code 0 only if the comparison is clean.
"""

from __future__ import annotations

import random
import sys
import threading
import time

import psycopg

from replicator.stack.manager import REPO_ROOT, Stack
from replicator.stack.workspace import ReplicatorProcess, create_source_db, mysql, slice_diffs, unique

SOURCE_DDL = REPO_ROOT / "config" / "legacy" / "slice_main.sql"
TARGET_DDL = REPO_ROOT / "config" / "target" / "slice.sql"


def say(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


def sample_rows(start: int, n: int, rng: random.Random) -> list[tuple]:
    rows = []
    for i in range(start, start + n):
        name = rng.choice(["Ada", "Grace", "Linus", "Barbara", None, "Ken", ""])
        rows.append((i, f"User{i}@Example.com", name, f"user{i}" if rng.random() < 0.7 else None,
                     int(rng.random() < 0.4), f"tok{i}" if rng.random() < 0.1 else None))
    return rows


INSERT = ("INSERT INTO Developer (id, email, name, username, hasCompletedOnboarding, resetToken) "
          "VALUES (%s, %s, %s, %s, %s, %s)")


def writer(stack: Stack, db: str, stop: threading.Event, counts: dict) -> None:
    rng = random.Random(7)
    next_id = 1001
    with mysql(stack, db) as conn, conn.cursor() as cur:
        while not stop.is_set():
            r = rng.random()
            if r < 0.5:
                cur.executemany(INSERT, sample_rows(next_id, 5, rng))
                next_id += 5
                counts["inserted"] += 5
            elif r < 0.85:
                cur.execute("UPDATE Developer SET name=%s, hasCompletedOnboarding=1 WHERE id=%s",
                            (f"Renamed{rng.randint(0, 99)}", rng.randint(1, next_id - 1)))
                counts["updated"] += cur.rowcount
            else:
                cur.execute("DELETE FROM Developer WHERE id=%s", (rng.randint(1, next_id - 1),))
                counts["deleted"] += cur.rowcount
            time.sleep(0.02)


def main() -> int:
    stack = Stack.from_env()
    say("bringing the local stack up (MariaDB, PostgreSQL, Tansu, Debezium) ...")
    stack.up(echo=lambda line: say("  " + line))

    # a fresh legacy database per run (captured by the connector's legacy_.* include list)
    src = create_source_db(stack, SOURCE_DDL, name=unique("legacy_demo_"))
    rng = random.Random(1)
    with mysql(stack, src) as conn, conn.cursor() as cur:
        cur.executemany(INSERT, sample_rows(1, 1000, rng))
    say(f"legacy database {src}: 1000 Developer rows loaded")

    tgt = "replicator_demo"
    with psycopg.connect(stack.postgres.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{tgt}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{tgt}"')
    with psycopg.connect(stack.postgres.dsn(tgt), autocommit=True) as conn:
        conn.execute(TARGET_DDL.read_text())
    say(f"target database {tgt}: app.users created")

    log = stack.root / "demo-replicator.log"
    env = {"LEGACY_MAIN_DATABASE": src}
    counts = {"inserted": 0, "updated": 0, "deleted": 0}
    with ReplicatorProcess(stack, target_db=tgt, env=env, log=log, group=unique("demo_")) as rp:
        say(f"replicator running (log {log}); writing on the source for 10 s ...")
        stop = threading.Event()
        t = threading.Thread(target=writer, args=(stack, src, stop, counts))
        t.start()
        for _ in range(5):
            time.sleep(2)
            with psycopg.connect(stack.postgres.dsn(tgt)) as conn:
                n = conn.execute("SELECT count(*) FROM app.users").fetchone()[0]
            say(f"  app.users now holds {n} rows")
        stop.set()
        t.join()
        say(f"writer stopped: {counts['inserted']} inserted, {counts['updated']} updated, "
            f"{counts['deleted']} deleted while the pipeline ran")

        deadline = time.monotonic() + 120
        while True:
            rows, diffs = slice_diffs(stack, src, tgt)
            if all(d.clean for d in diffs) or time.monotonic() > deadline:
                break
            time.sleep(1)
        alive = rp.alive()

    with psycopg.connect(stack.postgres.dsn(tgt)) as conn:
        sample = conn.execute("SELECT id, email, name, has_completed_onboarding, created_at FROM app.users "
                              "ORDER BY created_at, email LIMIT 5").fetchall()
    say("what arrived in app.users (first 5):")
    for r in sample:
        say(f"  {r[0]}  {r[1]:26} {str(r[2]):12} onboarded={r[3]}  created_at={r[4]:%Y-%m-%d %H:%M:%S}")
    say(f"source Developer rows: {len(rows)}")
    say("comparison through the mapping (source -> expected target vs actual target):")
    for d in diffs:
        for line in d.summary().splitlines():
            say("  " + line)
    ok = all(d.clean for d in diffs) and alive
    say("RESULT: target matches the source" if ok else "RESULT: differences remain (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

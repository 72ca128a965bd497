"""`make demo`: the mission's case end to end on the local stack.

Chipp's three legacy databases (main MySQL, chat MySQL, embeddings PostgreSQL with
3072-dimension vectors) are generated with realistic shapes, snapshotted by three fresh
Debezium connectors, streamed while a writer keeps changing all three sources, and applied
by `replicator run` into the unified schema (app, chat, rag, billing, internal). It ends with
`mapping validate` against the live catalogs and `replicator reconcile`, run while the last
changes are still in flight. Exit code 0 only if everything is clean.
"""

from __future__ import annotations

import os
import sys
import time

import psycopg

from replicator.chipp.generate import generate, load
from replicator.chipp.pipeline import MAPPINGS, ChippRun
from replicator.chipp.writer import ChippWriter
from replicator.mapping.validate import validate
from replicator.stack.manager import Stack
from replicator.stack.workspace import ReplicatorProcess, unique

SCALE = float(os.environ.get("DEMO_SCALE", "1"))


def say(msg: str = "") -> None:
    print(f"[demo] {msg}", flush=True)


def target_rows(stack: Stack, db: str) -> int:
    with psycopg.connect(stack.postgres.dsn(db)) as conn:
        return conn.execute(
            "SELECT coalesce(sum(n_live_tup), 0)::bigint FROM pg_stat_user_tables "
            "WHERE schemaname IN ('app', 'chat', 'rag', 'billing', 'internal')").fetchone()[0]


def main() -> int:
    stack = Stack.from_env()
    say("bringing the local stack up (MariaDB, PostgreSQL + pgvector, Tansu, Kafka Connect + Debezium) ...")
    stack.up(echo=lambda line: say("  " + line))

    run = ChippRun(stack, target_db="chipp_demo")
    run.create_databases()
    t0 = time.perf_counter()
    data = generate(SCALE, seed=1)
    load(stack, data, main_db=run.main_db, chat_db=run.chat_db, emb_db=run.emb_db)
    say(f"legacy databases generated at scale {SCALE:g} in {time.perf_counter() - t0:.1f}s: "
        f"{data.total()} rows")
    for (db, table), n in sorted(data.counts().items(), key=lambda kv: -kv[1])[:8]:
        say(f"  {db:10} {table:26} {n:>7}")
    say(f"target database {run.target_db}: unified schema applied (config/chipp/target/01..04)")

    t0 = time.perf_counter()
    run.start_connectors()
    say(f"3 Debezium connectors running after {time.perf_counter() - t0:.1f}s (snapshot, then binlog/WAL): "
        + ", ".join(c["name"] for c in run.worker.connector_states()))
    log = stack.root / "demo-replicator.log"
    try:
        with ReplicatorProcess(stack, target_db=run.target_db, env=run.mapping_env(), log=log,
                               mapping=MAPPINGS, group=unique("demo_")) as rp:
            say(f"replicator running (log {log}); writing on all three sources for 15 s ...")
            writer = ChippWriter(stack, main_db=run.main_db, chat_db=run.chat_db, emb_db=run.emb_db, rate=40, seed=3)
            writer.start()
            for _ in range(5):
                time.sleep(3)
                say(f"  target rows: {target_rows(stack, run.target_db)}")
            counts = writer.stop()
            say("writer stopped: " + ", ".join(f"{k}={counts.get(k, 0)}" for k in
                                                ("insert", "update", "soft_delete", "delete")))
            say("reconciling right away (rows still in flight are re-checked, not reported) ...")
            report = stack.root / "demo-reconcile.md"
            t0 = time.perf_counter()
            rec = run.reconcile("--report", str(report))
            say(f"reconcile finished in {time.perf_counter() - t0:.1f}s, exit code {rec.returncode}")
            alive = rp.alive()
        ms = run.mappings()
        params = {"legacy_main": stack.mysql_params(run.main_db), "legacy_chat": stack.mysql_params(run.chat_db),
                  "legacy_embeddings": {"dsn": stack.postgres.dsn(run.emb_db)}}
        problems = validate(ms, source_params=params, target_dsn=stack.postgres.dsn(run.target_db))
    finally:
        run.stop_connectors()
    say(f"mapping validate against the live catalogs: {len(problems)} problem(s) in {len(ms.tables)} mapped tables")
    for p in problems[:10]:
        say(f"  {p}")
    say("replicator reconcile (legacy rows through the mapping vs the target, per target table):")
    for line in rec.stdout.splitlines():
        say("  " + line)
    if rec.returncode == 2:
        say("  " + rec.stderr.strip()[-2000:])
    say(f"Markdown report: {report}")
    run.drop()
    ok = rec.returncode == 0 and alive and not problems
    say(f"target kept for inspection: {stack.postgres.dsn(run.target_db)}")
    say("RESULT: the unified database matches the three legacy databases" if ok else "RESULT: differences remain")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

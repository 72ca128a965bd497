"""Benchmark of the apply path: N Debezium events for a realistic table through
`Runner` (consume, decode, map, position-guarded upsert, commit), compared in the same run
with a plain PostgreSQL COPY of the same final rows into an identical empty table.

    .venv/bin/python bench/apply.py [--events 200000] [--keys 150000]

Needs the local stack (`replicator stack up`; started here if it is down). Events are
produced by a child process so that the producer's buffers do not count in the apply
process's peak RSS. The last line is machine-readable:
apply_events_per_s=<n> copy_rows_per_s=<n> ratio=<r> peak_rss_mb=<n>

apply_events_per_s counts from the first consume call (group join included) to the last
offset commit; the steady-state rate after the join is printed on the line before.
`--profile FILE` writes a cProfile of the apply run; `--profile log` prints per-batch
map/apply/commit milliseconds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from replicator.config import Settings  # noqa: E402
from replicator.stack.manager import REPO_ROOT, Stack  # noqa: E402
from replicator.stack.workspace import create_target_db, unique  # noqa: E402

TARGET_DDL = REPO_ROOT / "config" / "target" / "slice.sql"


def event(i: int, key: int, op: str, db: str) -> tuple[bytes, bytes]:
    row = {"id": key, "email": f"user{key}@example.com", "name": f"Name {i}", "pictureUrl": None,
           "username": f"user{key}", "hasCompletedOnboarding": i % 2, "resetToken": None,
           "resetTokenExpiry": None, "magicLinkToken": None, "stripeCustomerId": "cus_123" if i % 5 == 0 else None,
           "createdAt": 1700000000000 + key, "updatedAt": 1700000000000 + i}
    env = {"before": None, "after": row, "op": op, "ts_ms": 1700000000000 + i,
           "source": {"version": "3.6.3.Final", "connector": "mysql", "name": "legacy_main",
                      "ts_ms": 1700000000000 + i, "snapshot": "false", "db": db, "table": "Developer",
                      "server_id": 1, "file": "binlog.000001", "pos": 1000 + i, "row": 0}}
    return json.dumps({"id": key}).encode(), json.dumps(env).encode()


def produce(bootstrap: str, topic: str, db: str, n: int, keys: int) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.num.messages": 10000,
                  "queue.buffering.max.messages": 200000})
    for i in range(n):
        key = i if i < keys else (i * 7919) % keys  # first inserts, then updates of earlier keys
        k, v = event(i, key, "c" if i < keys else "u", db)
        while True:
            try:
                p.produce(topic, key=k, value=v)
                break
            except BufferError:
                p.poll(0.05)
    p.flush(120)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--keys", type=int, default=150_000)
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--profile", help="write a cProfile of the apply run to this file")
    args = ap.parse_args()
    stack = Stack.from_env()
    stack.up(echo=lambda _l: None)

    db = unique("bench_")
    topic = f"legacy_main.{db}.Developer"
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": stack.broker.bootstrap()})
    admin.create_topics([NewTopic(topic, num_partitions=args.partitions, replication_factor=1)])[topic].result(10)
    t0 = time.perf_counter()
    child = mp.get_context("spawn").Process(target=produce, args=(stack.broker.bootstrap(), topic, db,
                                                                   args.events, args.keys))
    child.start()
    child.join()
    print(f"produced {args.events} events in {time.perf_counter() - t0:.1f}s", flush=True)

    tgt = create_target_db(stack, [TARGET_DDL])
    from replicator.apply.runner import Runner
    from replicator.logs import configure
    from replicator.mapping.loader import load_mappings

    configure("console", "info" if args.profile == "log" else "warning")
    ms = load_mappings([REPO_ROOT / "config" / "mappings"], env={"LEGACY_MAIN_DATABASE": db})
    s = Settings(kafka_bootstrap_servers=stack.broker.bootstrap(), kafka_group_id=unique("bench_"),
                 target_dsn=stack.postgres.dsn(tgt), kafka_session_timeout_ms=6000, metrics_port=0,
                 batch_max_events=5000, stop_after_idle_s=3.0)
    marks: dict[str, float] = {}

    def on_batch(totals) -> None:
        marks.setdefault("first", time.perf_counter())
        marks["last"] = time.perf_counter()
        marks["events"] = totals.changes  # row changes only, not the schema-change topic

    runner = Runner(s, ms, on_batch=on_batch)
    start, cpu_start = time.perf_counter(), time.process_time()
    if args.profile and args.profile != "log":
        import cProfile

        cProfile.runctx("runner.run()", globals(), {"runner": runner}, args.profile)
    else:
        runner.run()
    cpu_s = time.process_time() - cpu_start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    events = int(marks.get("events", 0))
    # from the first consume call to the last commit: includes the group join
    apply_s = marks["last"] - start
    steady_s = marks["last"] - marks["first"]
    apply_rate = events / apply_s
    with psycopg.connect(stack.postgres.dsn(tgt)) as conn:
        rows = conn.execute("SELECT id, email, name, picture_url, username, has_completed_onboarding, created_at, "
                            "updated_at FROM app.users").fetchall()
        conn.execute("CREATE TABLE app.users_copy (LIKE app.users INCLUDING ALL)")
        conn.commit()
        t = time.perf_counter()
        with conn.cursor().copy("COPY app.users_copy (id, email, name, picture_url, username, "
                                "has_completed_onboarding, created_at, updated_at) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        conn.commit()
        copy_s = time.perf_counter() - t
    copy_rate = len(rows) / copy_s
    print(f"applied {events} events -> {len(rows)} rows in {apply_s:.1f}s "
          f"(steady state after the group join: {events / steady_s:,.0f} events/s)")
    print(f"apply process CPU time: {cpu_s:.1f}s in {apply_s:.1f}s wall "
          f"({cpu_s / events * 1e6:.1f} us of CPU per event, all threads)")
    print(f"plain COPY of the {len(rows)} final rows: {copy_s:.2f}s")
    print(f"apply_events_per_s={apply_rate:.0f} copy_rows_per_s={copy_rate:.0f} "
          f"ratio={apply_rate / copy_rate:.2f} peak_rss_mb={rss_mb:.0f}")
    with psycopg.connect(stack.postgres.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{tgt}" WITH (FORCE)')


if __name__ == "__main__":
    main()

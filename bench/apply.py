"""Benchmark of the apply path: N Debezium events for a realistic table through
`Runner` (consume, decode, map, position-guarded upsert, commit), compared in the same run
with a plain PostgreSQL COPY of the same final rows into an identical empty table.

    .venv/bin/python bench/apply.py [--events 200000] [--keys 150000] [--rounds 3] [--batch 5000]
    .venv/bin/python bench/apply.py --workload chunks [--events 20000]
    .venv/bin/python bench/apply.py --rounds 1 --replay    # + the same topic replayed over its own rows

Two workloads. `users` (the default): the main database's `Developer` -> `app.users`
(MySQL events of ~0.6 kB: inserts, then updates of earlier keys). `chunks`: the
embeddings database's `textchunk` -> `rag.chunks` (PostgreSQL events of ~60 kB: a
3072-dimension embedding each, as Debezium writes pgvector), which is where a batch
bounded only by its event count would not fit in memory.

Needs the local stack (`replicator stack up`; started here if it is down). Events are
produced once, by a child process, so that the producer's buffers do not count in the
apply process's peak RSS; then each round has a fresh consumer group apply the whole topic
into a fresh target database, and COPYs the final rows into an identical empty table. The
machine is shared and noisy, so each figure is the best of its rounds. The last line is
machine-readable:
apply_events_per_s=<n> copy_rows_per_s=<n> ratio=<r> peak_rss_mb=<n>

apply_events_per_s is the steady state: every event, from the moment the first batch is
handed to the runner to the last commit (the consumer-group join before it, about 3 s, is
a one-off start-up cost and is printed apart; the first batch's mapping, writing and commit
are counted, so are the batches mapped while it was written). copy_rows_per_s is psycopg's `Copy.write_row` of the final rows, as a
Python tool would write them. peak_rss_mb is the apply process's peak (VmHWM) over the
rounds. Not getrusage's ru_maxrss: a spawned process is forked from this one before it
execs, and Linux carries the parent's resident size at the fork into the child's
ru_maxrss, so once this process held a round's final rows, every later round read
the parent's size, not its own.
`--profile FILE` writes a cProfile of the main thread; `--profile log` prints per-batch
consume/map/wait/apply/commit milliseconds.

After the rounds it times each stage alone over the same events, in one thread: the bare
JSON parse of the values (orjson.loads: the least any design decoding Debezium JSON in
Python must do), decode + map, planning, and the sink's execute + commit, each as a ratio
to COPY. Decode + map + plan in series bound what one Python thread can apply.

Each round also prints the CPU spent per event between the first and the last batch
commit by each part: the apply process (and its main thread, which decodes, maps and
plans), its PostgreSQL backend, and the broker. Their sum against the machine's cores is
the physical ceiling of this design here: cores / (CPU seconds per event).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from replicator.config import Settings  # noqa: E402
from replicator.stack.manager import REPO_ROOT, Stack  # noqa: E402
from replicator.stack.workspace import create_target_db, unique  # noqa: E402

TARGET_DDL = REPO_ROOT / "config" / "target" / "slice.sql"


CHUNKS_DDL = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS rag;
CREATE TABLE IF NOT EXISTS rag.chunks (
  id UUID PRIMARY KEY, text TEXT NOT NULL, embedding vector(3072), chunk_index INTEGER,
  created_at TIMESTAMPTZ NOT NULL);
"""

CHUNKS_MAPPING = """
version: 1
sources:
  bench_embeddings:
    kind: postgresql
    topic_prefix: ${BENCH_DATABASE}
    database: ${BENCH_DATABASE}
    schema: public
    key_namespace: bench_embeddings
    timezone: UTC
tables:
  - source: bench_embeddings
    table: textchunk
    key: [id]
    targets:
      - table: rag.chunks
        columns:
          id: {key: id}
          text: text
          embedding: {from: embedding, type: vector, dimensions: 3072}
          chunk_index: {from: chunkIndex, type: int}
          created_at: {from: createdAt, type: timestamptz}
        on_delete: hard
"""


def chunk_event(i: int, key: int, op: str, db: str) -> tuple[bytes, bytes]:
    """A Debezium PostgreSQL-connector event of a 3072-dimension embedding chunk (~60 kB)."""
    import random
    import uuid

    rnd = random.Random(i)
    ident = str(uuid.UUID(int=key + 1))
    row = {"id": ident, "text": f"chunk {i} " + "lorem ipsum dolor sit amet " * 36,
           "embedding": [rnd.uniform(-0.08, 0.08) for _ in range(3072)], "chunkIndex": i % 40,
           "createdAt": 1700000000000 + key}
    lsn = 1_000_000 + i * 100
    env = {"before": None, "after": row, "op": op, "ts_ms": 1700000000000 + i,
           "source": {"version": "3.6.3.Final", "connector": "postgresql", "name": db,
                      "ts_ms": 1700000000000 + i, "snapshot": "false", "db": db, "schema": "public",
                      "table": "textchunk", "txId": 1000 + i, "lsn": lsn, "sequence": f'["{lsn - 50}","{lsn}"]'}}
    return json.dumps({"id": ident}).encode(), json.dumps(env).encode()


class Workload:
    """What a bench run produces, maps, creates and COPYs: one per table shape."""

    def __init__(self, name: str, db: str, tmp: Path):
        self.name, self.db = name, db
        if name == "users":
            self.topic, self.event = f"legacy_main.{db}.Developer", event
            self.mapping_dirs, self.env = [REPO_ROOT / "config" / "mappings"], {"LEGACY_MAIN_DATABASE": db}
            self.ddl = [TARGET_DDL]
            self.table, self.columns = "app.users", ("id, email, name, picture_url, username, "
                                                     "has_completed_onboarding, created_at, updated_at")
        else:
            self.topic, self.event = f"{db}.public.textchunk", chunk_event  # a topic per run
            (tmp / "chunks.yaml").write_text(CHUNKS_MAPPING)
            (tmp / "chunks.sql").write_text(CHUNKS_DDL)
            self.mapping_dirs, self.env = [tmp / "chunks.yaml"], {"BENCH_DATABASE": db}
            self.ddl = [tmp / "chunks.sql"]
            self.table, self.columns = "rag.chunks", "id, text, embedding, chunk_index, created_at"

    def mappings(self):
        from replicator.mapping.loader import load_mappings

        return load_mappings(self.mapping_dirs, env=self.env)

    def events(self, start: int, stop: int, keys: int):
        for i in range(start, stop):
            yield self.event(i, key_of(i, keys), "c" if i < keys else "u", self.db)


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


def key_of(i: int, keys: int) -> int:
    return i if i < keys else (i * 7919) % keys  # first inserts, then updates of earlier keys


def produce(bootstrap: str, workload: Workload, n: int, keys: int) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.num.messages": 10000,
                  "queue.buffering.max.messages": 200000, "message.max.bytes": 4 * 1024 * 1024})
    topic = workload.topic
    for k, v in workload.events(0, n, keys):
        while True:
            try:
                p.produce(topic, key=k, value=v)
                break
            except BufferError:
                p.poll(0.05)
    p.flush(120)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", choices=("users", "chunks"), default="users")
    ap.add_argument("--events", type=int, help="default: 200,000 users or 20,000 chunks")
    ap.add_argument("--keys", type=int, help="distinct keys; the first events insert them, the rest update "
                                             "(default: 3/4 of the events)")
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--batch", type=int, default=5000, help="batch_max_events of the runner")
    ap.add_argument("--batch-mb", type=float, default=8.0, help="batch_max_bytes of the runner, in MiB")
    ap.add_argument("--rounds", type=int, default=3, help="consumer groups applying the same topic; best is kept")
    ap.add_argument("--profile", help="write a cProfile of the apply run to this file")
    ap.add_argument("--no-fast-path", dest="fast_path", action="store_false",
                    help="decode and map every event in Python (REPLICATOR_FAST_PATH=false), to compare with the C core")
    ap.add_argument("--apply-connections", type=int, default=Settings.model_fields["apply_connections"].default,
                    help="REPLICATOR_APPLY_CONNECTIONS: connections a batch is written over at once (apply/shards.py)")
    ap.add_argument("--apply-queue-batches", type=int, default=Settings.model_fields["apply_queue_batches"].default,
                    help="REPLICATOR_APPLY_QUEUE_BATCHES: mapped batches that may wait for the apply thread "
                         "(1: the pipeline before session 10)")
    ap.add_argument("--replay", action="store_true",
                    help="also apply the topic twice into one target: the second pass replays every event "
                         "over rows that exist (a rewound consumer, a re-snapshot)")
    args = ap.parse_args()
    args.events = args.events or (200_000 if args.workload == "users" else 20_000)
    args.keys = args.keys or args.events * 3 // 4
    args.shard_connections = max(2, args.apply_connections)  # for the sink-alone figure in shards
    stack = Stack.from_env()
    stack.up(echo=lambda _l: None)

    db = unique("bench_")
    args.tmp = Path(tempfile.mkdtemp(prefix="bench_apply_"))
    workload = Workload(args.workload, db, args.tmp)
    topic = workload.topic
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": stack.broker.bootstrap()})
    admin.create_topics([NewTopic(topic, num_partitions=args.partitions, replication_factor=1)])[topic].result(10)
    t0 = time.perf_counter()
    child = mp.get_context("spawn").Process(target=produce, args=(stack.broker.bootstrap(), workload,
                                                                   args.events, args.keys))
    child.start()
    child.join()
    print(f"produced {args.events} events in {time.perf_counter() - t0:.1f}s", flush=True)

    results = []
    for r in range(1, args.rounds + 1):
        tgt = create_target_db(stack, workload.ddl)
        # each round is a fresh process, as a replicator pod is: its peak RSS is the apply's alone
        with mp.get_context("spawn").Pool(1) as pool:
            res = pool.apply(one_round, (stack.postgres.dsn(tgt), stack.broker.bootstrap(), workload, args))
        res.update(copy_final_rows(stack, tgt, workload))
        results.append(res)
        ceiling = (os.cpu_count() or 1) / (res["total_cpu_us"] / 1e6)
        print(f"round {r} CPU per event: apply process {res['cpu_us']:.1f} us (main thread {res['main_cpu_us']:.1f}), "
              f"PostgreSQL backends {res['pg_cpu_us']:.1f} us, broker {res['broker_cpu_us']:.1f} us; "
              f"{os.cpu_count()} cores / {res['total_cpu_us']:.1f} us = a ceiling of {ceiling:,.0f} events/s, "
              f"reached {res['apply_rate'] / ceiling:.2f}; the apply process took {res['faults']:.2f} page faults "
              f"per event", flush=True)
        mt = res["main_time"]
        print(f"round {r} main thread's time: {mt['run']:.0%} on a core, {mt['queued']:.0%} waiting for one, "
              f"{mt['asleep']:.0%} asleep (the GIL, or the consumer's queue)", flush=True)
        print(f"round {r}: {res['events']} events -> {res['rows']} rows; apply {res['apply_rate']:,.0f} events/s "
              f"(steady, after the {res['join_s']:.1f}s group join; "
              f"peak RSS {res['rss_mb']:.0f} MB); plain COPY {res['copy_rate']:,.0f} rows/s", flush=True)
    if args.replay:
        replay_rounds(stack, workload, args)
    admin.delete_topics([topic])[topic].result(10)  # the local broker keeps topics in memory
    rss_mb = max(r["rss_mb"] for r in results)
    stages = stage_rates(stack, workload, args)
    apply_rate = max(r["apply_rate"] for r in results)
    copy_rate = max(r["copy_rate"] for r in results)
    print(f"the sink's execute + commit alone (the same events decoded, mapped and planned beforehand; "
          f"no Kafka): {stages['sink']:,.0f} events/s on one connection, {stages['sink_shards']:,.0f} over "
          f"{args.shard_connections} (shards.py); the best apply round is "
          f"{apply_rate / max(stages['sink'], stages['sink_shards']):.2f} of the faster")
    print("each stage alone, one thread, no Kafka (events/s, and as a ratio to the best COPY): "
          + ", ".join(f"{label} {stages[k]:,.0f} ({stages[k] / copy_rate:.2f}x)" for k, label in (
              ("parse", "orjson.loads of the values alone"), ("decode_map", "decode + map"),
              ("plan", "plan"), ("sink", "sink execute + commit"))))
    serial = 1 / sum(1 / stages[k] for k in ("decode_map", "plan"))
    print(f"the main thread's work in series (decode + map + plan): {serial:,.0f} events/s, "
          f"{serial / copy_rate:.2f}x COPY; one Python thread cannot apply faster than that")
    print(f"best of {args.rounds} rounds (the machine is shared and noisy); peak RSS: the largest round's")
    print(f"apply_events_per_s={apply_rate:.0f} copy_rows_per_s={copy_rate:.0f} "
          f"ratio={apply_rate / copy_rate:.2f} peak_rss_mb={rss_mb:.0f}")


def replay_rounds(stack: Stack, workload: Workload, args) -> None:
    """The topic applied twice into one target, each time by a fresh consumer group: the
    second pass finds every row there already, so each created row's direct COPY fails
    and falls back to the position-guarded upsert, which refuses the replayed positions."""
    tgt = create_target_db(stack, workload.ddl)
    for label in ("first pass", "replay over the same target"):
        with mp.get_context("spawn").Pool(1) as pool:
            res = pool.apply(one_round, (stack.postgres.dsn(tgt), stack.broker.bootstrap(), workload, args))
        print(f"{label}: apply {res['apply_rate']:,.0f} events/s; rows COPYed directly {res['direct_rows']:,.0f}, "
              f"direct COPY fallbacks {res['direct_fallbacks']:,.0f}, stale writes refused {res['stale']:,.0f}",
              flush=True)
    with psycopg.connect(stack.postgres.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{tgt}" WITH (FORCE)')


def stage_rates(stack: Stack, workload: Workload, args) -> dict[str, float]:
    """Each stage alone, in this one thread, without Kafka, over the same events: the JSON
    parse of the message values alone (orjson.loads: no stage of any design that reads
    Debezium JSON in Python is cheaper), decode + map (the runner's main thread), planning,
    and the sink's execute + commit (what PostgreSQL alone allows), on one connection and
    in shards over `--apply-connections` of them, at least 2 (each into its own target).
    Events per second."""
    import orjson

    from confluent_kafka import Message

    from pydantic import SecretStr

    from replicator.apply.fastpath import BATCH, FastMapper, Mapped
    from replicator.apply.shards import ShardWriters
    from replicator.apply.sink import PostgresSink
    from replicator.events import decode_message
    from replicator.runtime import quiet_garbage_collector

    tgt, tgt_shards = create_target_db(stack, workload.ddl), create_target_db(stack, workload.ddl)
    ms = workload.mappings()

    def python_path(m: Message) -> Mapped:
        ev = decode_message(m.topic(), m.partition(), m.offset(), m.key(), m.value())
        return Mapped(m, ev, ms.map_event(ev))
    mapper = FastMapper(ms, python_path, enabled=args.fast_path)  # as the runner maps
    spent = dict.fromkeys(("parse", "decode_map", "plan", "sink", "sink_shards"), 0.0)
    quiet_garbage_collector()  # as the runner's process has it
    writers = ShardWriters(SecretStr(stack.postgres.dsn(tgt_shards)), ms, args.shard_connections)
    with psycopg.connect(stack.postgres.dsn(tgt)) as conn, psycopg.connect(stack.postgres.dsn(tgt_shards)) as conn2:
        sink, sink_shards = PostgresSink(conn, ms), PostgresSink(conn2, ms)
        for sk in (sink, sink_shards):
            sk.prepare()
            sk.conn.commit()
        # one batch at a time: the chunks workload's plans would not all fit in memory
        for start in range(0, args.events, args.batch):
            stop = min(start + args.batch, args.events)
            msgs = [Message(topic=workload.topic, partition=0, offset=i, key=k, value=v)
                    for i, (k, v) in zip(range(start, stop), workload.events(start, stop, args.keys))]
            t0 = time.perf_counter()
            for m in msgs:
                orjson.loads(m.value())
            t1 = time.perf_counter()
            ops = [op for m in mapper.map(msgs) for op in m.ops]
            t2 = time.perf_counter()
            plan = sink.planner.plan(ops)
            t3 = time.perf_counter()
            with conn.transaction():
                sink.execute(plan)
            t4 = time.perf_counter()
            plans = [sink_shards.planner.plan(shard) for shard in BATCH.split_ops(ops, args.shard_connections) if shard]
            t5 = time.perf_counter()
            if writers.execute(sink_shards, plans) is None:  # one shard, or a fallback: as the runner does
                with conn2.transaction():
                    for p in plans:
                        sink_shards.execute(p)
            t6 = time.perf_counter()
            for stage, dt in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t6 - t5)):
                spent[stage] += dt
    writers.shutdown()
    with psycopg.connect(stack.postgres.dsn("postgres"), autocommit=True) as conn:
        for db in (tgt, tgt_shards):
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    return {stage: args.events / s for stage, s in spent.items()}


def one_round(target_dsn: str, bootstrap: str, workload: Workload, args) -> dict:
    """In a fresh process: a fresh consumer group applies the whole topic into the target."""
    from replicator.apply.runner import Runner
    from replicator.logs import configure

    configure("console", "info" if args.profile == "log" else "warning")
    ms = workload.mappings()
    s = Settings(kafka_bootstrap_servers=bootstrap, kafka_group_id=unique("bench_"), target_dsn=target_dsn,
                 kafka_session_timeout_ms=6000, metrics_port=0, batch_max_events=args.batch,
                 batch_max_bytes=int(args.batch_mb * 1024 * 1024), stop_after_idle_s=3.0,
                 fast_path=args.fast_path, apply_connections=args.apply_connections,
                 apply_queue_batches=args.apply_queue_batches)
    marks: dict[str, float] = {}
    broker_pid = Stack.from_env().broker.pid()

    def cpu_marks() -> dict[str, float]:
        """CPU seconds so far: this process, its main thread, its PostgreSQL backends, the broker."""
        pg_pids = ([runner.conn.info.backend_pid] if runner.conn is not None else []) + runner.shards.backend_pids()
        run_s, queued_s = sched_s("/proc/thread-self/schedstat")
        return {"proc": time.process_time(), "main": time.thread_time(), "pg": sum(map(proc_cpu_s, pg_pids)),
                "broker": proc_cpu_s(broker_pid), "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt,
                "main_run": run_s, "main_queued": queued_s, "wall": time.perf_counter()}

    def on_batch(totals) -> None:  # in the main thread, after each batch's commit
        marks["last"] = time.perf_counter()
        marks.update({f"{k}1": v for k, v in cpu_marks().items()})
        marks["events"] = totals.changes  # row changes only, not the schema-change topic

    runner = Runner(s, ms, on_batch=on_batch)
    process = runner.process

    def first_process(msgs, consume_s: float = 0.0, nbytes: int | None = None) -> None:
        """The clock starts when the first batch is handed over, before it is mapped: with
        several batches in flight (`apply_queue_depth`), a clock started at the first commit
        would not count the batches mapped while the first was being written."""
        if "first" not in marks:
            marks["first"] = time.perf_counter()
            marks.update({f"{k}0": v for k, v in cpu_marks().items()})
        process(msgs, consume_s, nbytes)

    runner.process = first_process
    start, cpu_start = time.perf_counter(), time.process_time()
    if args.profile and args.profile != "log":
        import cProfile

        cProfile.runctx("runner.run()", globals(), {"runner": runner}, args.profile)
    else:
        runner.run()
    cpu_s = time.process_time() - cpu_start
    events = int(marks.get("events", 0))
    # steady state: from the moment the first batch is handed to the runner (so the group
    # join before it is not counted) to the last commit, every event
    steady = events
    apply_rate = steady / (marks["last"] - marks["first"])
    per_event = {k: (marks[f"{k}1"] - marks[f"{k}0"]) / steady * 1e6 for k in ("proc", "main", "pg", "broker")}
    faults_per_event = (marks["faults1"] - marks["faults0"]) / steady
    # the main thread's wall time between the marks: on a core, runnable but waiting for
    # one, and the rest asleep (the GIL, which the apply thread holds while it builds a
    # COPY, or the consumer's queue running dry)
    wall = marks["wall1"] - marks["wall0"]
    main_time = {k: (marks[f"main_{k}1"] - marks[f"main_{k}0"]) / wall for k in ("run", "queued")}
    main_time["asleep"] = max(0.0, 1 - main_time["run"] - main_time["queued"])
    return {"events": events, "apply_rate": apply_rate, "join_s": marks["first"] - start,
            "cpu_us": per_event["proc"], "main_cpu_us": per_event["main"], "pg_cpu_us": per_event["pg"],
            "broker_cpu_us": per_event["broker"], "faults": faults_per_event, "main_time": main_time, "total_cpu_us": per_event["proc"] + per_event["pg"] + per_event["broker"],
            "all_cpu_us": cpu_s / events * 1e6, "rss_mb": peak_rss_mb(),
            **applied_counts()}


def applied_counts() -> dict[str, float]:
    """What the sink did in this process: from its metrics (replicator/metrics.py)."""
    from replicator import metrics

    return {"direct_rows": metrics.DIRECT_COPIED._value.get(),
            "direct_fallbacks": metrics.DIRECT_FALLBACKS._value.get(),
            "stale": sum(s.value for m in metrics.STALE_REFUSED.collect() for s in m.samples
                         if s.name.endswith("_total"))}


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM), which starts afresh at exec."""
    return status_mb("VmHWM")


def status_mb(field: str) -> float:
    """A size field of /proc/self/status (VmRSS, VmHWM...), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def sched_s(path: str) -> tuple[float, float]:
    """Seconds on a core and seconds runnable but waiting for one, from a schedstat file."""
    with open(path) as f:
        run_ns, queued_ns, _slices = f.read().split()
    return int(run_ns) / 1e9, int(queued_ns) / 1e9


def proc_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process on this machine (0 when unknown)."""
    if not pid:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def copy_final_rows(stack: Stack, tgt: str, workload: Workload) -> dict:
    """The peer: a plain COPY of the round's final rows into an identical empty table."""
    with psycopg.connect(stack.postgres.dsn(tgt)) as conn:
        rows = conn.execute(f"SELECT {workload.columns} FROM {workload.table}").fetchall()
        conn.execute(f"CREATE TABLE {workload.table}_copy (LIKE {workload.table} INCLUDING ALL)")
        conn.commit()
        t = time.perf_counter()
        with conn.cursor().copy(f"COPY {workload.table}_copy ({workload.columns}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        conn.commit()
        copy_s = time.perf_counter() - t
    with psycopg.connect(stack.postgres.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{tgt}" WITH (FORCE)')
    return {"rows": len(rows), "copy_rate": len(rows) / copy_s}


if __name__ == "__main__":
    main()

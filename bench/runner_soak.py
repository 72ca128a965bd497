"""Soak of the whole apply path: a steady stream for many minutes, as in production, through
the real broker, `Runner` and PostgreSQL, watching memory and end-to-end lag over time.

    .venv/bin/python bench/runner_soak.py [--minutes 10] [--rate 2000] [--every 30] [--prune-every 300]

A child process produces `--rate` Debezium events a second of the users workload
(bench/apply.py's `Developer` events): new rows, updates of live rows and hard deletes
(60/35/5), each stamped with the time it was produced. The runner applies them in this
process, as a replicator pod does. Every `--every` seconds it prints the events applied,
the rate, the resident set size (VmRSS) and the lag (now minus the newest applied event's
production time, after its batch committed). A process that leaks, or a batch that gets
slower as the hours pass, shows as a rising RSS or lag. At the end the target must hold
exactly the rows that are live in the source (same keys, nothing lost or left over).
`--prune-every` also runs `replicator tombstones prune` (a subprocess, as the CronJob does)
that often while the stream goes on, and prints what each run pruned and took: the rows
check at the end then also says that pruning under load lost or resurrected nothing.

Needs the local stack (`replicator stack up`; started here if it is down). The last line:
soak_s=<n> events=<n> rss_first_mb=<n> rss_last_mb=<n> rss_max_mb=<n> lag_p50_s=<x> lag_p99_s=<x> lag_max_s=<x> rows_match=<bool>
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply import event, status_mb  # noqa: E402

from replicator import metrics  # noqa: E402
from replicator.apply.runner import Runner  # noqa: E402
from replicator.config import Settings  # noqa: E402
from replicator.keys import remap_key  # noqa: E402
from replicator.logs import configure  # noqa: E402
from replicator.mapping.loader import load_mappings  # noqa: E402
from replicator.stack.manager import REPO_ROOT, Stack  # noqa: E402
from replicator.stack.workspace import create_target_db, unique  # noqa: E402


def stamped(key_value: tuple[bytes, bytes], op: str, now_ms: int) -> tuple[bytes, bytes]:
    """An event of bench/apply.py with its source time set to now (the lag is measured from
    it) and, for a delete, the row as its before image."""
    k, v = key_value
    env = json.loads(v)
    env["ts_ms"] = env["source"]["ts_ms"] = now_ms
    if op == "d":
        env["before"], env["after"], env["op"] = env["after"], None, "d"
    return k, json.dumps(env).encode()


def produce(bootstrap: str, topic: str, db: str, rate: int, seconds: float, live_file: str) -> None:
    """Paced production in ticks of 100 ms; the keys live at the end go to `live_file`."""
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "queue.buffering.max.messages": 500000})
    rnd = random.Random(7)
    live: list[int] = []
    where: dict[int, int] = {}  # key -> index in live, for O(1) removal
    next_key, i, start = 0, 0, time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate) - i
        now_ms = int(time.time() * 1000)
        for _ in range(max(0, due)):
            roll = rnd.random()
            if roll < 0.60 or len(live) < 100:
                key, op = next_key, "c"
                next_key += 1
                where[key] = len(live)
                live.append(key)
            elif roll < 0.95:
                key, op = live[rnd.randrange(len(live))], "u"
            else:  # a hard delete: swap the key out of the live list
                j = rnd.randrange(len(live))
                key, op = live[j], "d"
                last = live.pop()
                if last != key:
                    live[j], where[last] = last, j
                del where[key]
            k, v = stamped(event(i, key, "c" if op == "c" else "u", db), op, now_ms)
            p.produce(topic, key=k, value=v)
            i += 1
        p.poll(0)
        time.sleep(0.1)
    p.flush(60)
    Path(live_file).write_text(json.dumps({"events": i, "live": live}))


def prune_every(seconds: float, env: dict[str, str], start: float, stop: threading.Event) -> None:
    """`replicator tombstones prune` every `seconds`, as the CronJob runs it, printing its line."""
    while not stop.wait(seconds):
        t0 = time.monotonic()
        out = subprocess.run([sys.executable, "-m", "replicator.cli", "tombstones", "prune"], env=env,
                             capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
        line = (out.stdout.strip() or out.stderr.strip()).splitlines()[-1:]
        print(f"t={t0 - start:6.0f}s prune ({time.monotonic() - t0:.1f} s, exit {out.returncode}): "
              f"{line[0] if line else ''}", flush=True)


def rss_mb() -> float:
    return status_mb("VmRSS")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=int, default=2000, help="events per second produced")
    ap.add_argument("--every", type=float, default=30.0, help="seconds between printed samples")
    ap.add_argument("--prune-every", type=float, default=0.0, help="seconds between tombstone prunes (0: none)")
    args = ap.parse_args()
    configure("console", "warning")
    stack = Stack.from_env()
    stack.up(echo=lambda _l: None)
    db = unique("soak_")
    topic = f"legacy_main.{db}.Developer"
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": stack.broker.bootstrap()})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(10)
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    ms = load_mappings([REPO_ROOT / "config" / "mappings"], env={"LEGACY_MAIN_DATABASE": db})
    live_file = Path(tempfile.mkdtemp(prefix="soak_")) / "live.json"
    child = mp.get_context("spawn").Process(target=produce, args=(stack.broker.bootstrap(), topic, db, args.rate,
                                                                  args.minutes * 60, str(live_file)))
    child.start()

    lag_gauge = metrics.LAG_SECONDS.labels(f"{db}.Developer")
    lags: list[float] = []
    samples: list[tuple[float, int, float, float]] = []  # elapsed, events applied, rss, lag
    start = time.monotonic()
    last = {"t": start, "events": 0, "apply_s": 0.0, "batches": 0}

    def apply_seconds() -> float:
        """Seconds the apply thread spent writing batches so far (replicator_apply_duration_seconds)."""
        return sum(s.value for m in metrics.APPLY_SECONDS.collect() for s in m.samples if s.name.endswith("_sum"))

    def on_batch(totals) -> None:
        lags.append(lag_gauge._value.get())
        now = time.monotonic()
        if now - last["t"] >= args.every:
            events = totals.changes - last["events"]
            rate = events / (now - last["t"])
            spent = apply_seconds()
            # the write's cost per event: whether it grows with the table, not only with load
            write_us = (spent - last["apply_s"]) / max(1, events) * 1e6
            samples.append((now - start, totals.changes, rss_mb(), lags[-1]))
            print(f"t={now - start:6.0f}s applied={totals.changes:,} rate={rate:,.0f}/s rss={samples[-1][2]:.0f} MB "
                  f"lag={lags[-1]:.2f}s (max since last {max(lags[-50:]):.2f}s) "
                  f"batches={totals.batches - last['batches']:,} write={write_us:.1f} us/event", flush=True)
            last.update(t=now, events=totals.changes, apply_s=spent, batches=totals.batches)

    s = Settings(kafka_bootstrap_servers=stack.broker.bootstrap(), kafka_group_id=unique("soak_"),
                 target_dsn=stack.postgres.dsn(tgt), metrics_port=0, stop_after_idle_s=10.0)
    stop = threading.Event()
    if args.prune_every:
        env = {**os.environ, "LEGACY_MAIN_DATABASE": db, "REPLICATOR_KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
               "REPLICATOR_KAFKA_GROUP_ID": s.kafka_group_id, "REPLICATOR_TARGET_DSN": stack.postgres.dsn(tgt),
               "REPLICATOR_MAPPING_PATHS": f'["{REPO_ROOT / "config" / "mappings"}"]'}
        threading.Thread(target=prune_every, args=(args.prune_every, env, start, stop), daemon=True).start()
    Runner(s, ms, on_batch=on_batch).run()
    stop.set()
    child.join()
    produced = json.loads(live_file.read_text())
    namespace = ms.tables["legacy_main.Developer"].source.namespace  # what the mapping remaps keys with
    want = {remap_key(namespace, "Developer", k) for k in produced["live"]}
    with psycopg.connect(stack.postgres.dsn(tgt)) as conn:
        have = {r[0] for r in conn.execute("SELECT id FROM app.users")}
        tombstones = conn.execute("SELECT count(*) FROM _replicator.tombstones").fetchone()[0]
    rows_match = have == want
    print(f"produced {produced['events']:,} events; {len(want):,} rows live in the source, {len(have):,} in the "
          f"target; missing {len(want - have)}, extra {len(have - want)}; {tombstones:,} tombstones left")
    admin.delete_topics([topic])[topic].result(10)  # the local broker keeps topics in memory
    with psycopg.connect(stack.postgres.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{tgt}" WITH (FORCE)')
    first, final = samples[0] if samples else (0, 0, rss_mb(), 0), samples[-1] if samples else (0, 0, rss_mb(), 0)
    print(f"soak_s={time.monotonic() - start:.0f} events={produced['events']} rss_first_mb={first[2]:.0f} "
          f"rss_last_mb={final[2]:.0f} rss_max_mb={max([s[2] for s in samples] or [final[2]]):.0f} "
          f"lag_p50_s={percentile(lags, 0.5):.2f} lag_p99_s={percentile(lags, 0.99):.2f} "
          f"lag_max_s={max(lags or [float('nan')]):.2f} rows_match={str(rows_match).lower()}")
    if not rows_match:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

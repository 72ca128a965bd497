"""The runner's main-thread work per event, alone: no broker, no PostgreSQL, no threads.

    .venv/bin/python bench/hot_path.py [--events 100000] [--batch 5000] [--repeat 5]
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out .venv/bin/python bench/hot_path.py --events 20000 --repeat 1

What `Runner.prepare` (decode, map, plan) and `Runner._observe` (per-batch metrics) cost
per event on the `users` workload of bench/apply.py, on in-memory confluent_kafka
`Message`s. In bench/apply.py this work is the main thread, and the main thread is what
bounds the apply rate of a table like `users`; this measures it without the noise of the
servers sharing the machine, so that a change to the hot path can be judged in seconds.
CPU time of this thread, best of `--repeat` passes. Under callgrind the instruction count
is the same run after run, whatever else the machine is doing.

Not the apply rate: bench/apply.py is (with Kafka, the write, the offset commit).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apply import Workload  # noqa: E402  (bench/apply.py: the same events and mapping)
from confluent_kafka import Message  # noqa: E402

from replicator.apply.runner import Runner  # noqa: E402
from replicator.config import Settings  # noqa: E402
from replicator.logs import configure  # noqa: E402
from replicator.runtime import quiet_garbage_collector  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--keys", type=int, help="default: 3/4 of the events (then updates)")
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    keys = args.keys or args.events * 3 // 4
    configure("console", "warning")
    workload = Workload("users", "bench_hot_path", Path(tempfile.mkdtemp(prefix="bench_hot_")))
    msgs = [Message(topic=workload.topic, partition=0, offset=i, key=k, value=v)
            for i, (k, v) in enumerate(workload.events(0, args.events, keys))]
    # nothing connects: the consumer and producer are created but never polled
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:9", kafka_group_id="bench_hot_path",
                        target_dsn="postgresql://unused", metrics_port=0, batch_max_events=args.batch)
    runner = Runner(settings, workload.mappings())
    quiet_garbage_collector()  # as Runner.run has it
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.thread_time()
        for start in range(0, len(msgs), args.batch):
            batch = runner.prepare(msgs[start:start + args.batch])
            runner._observe(batch)
            failed = [m.error for m in batch.mapped if m.error is not None]
            if failed or batch.plan is None:  # a figure for events that fail says nothing
                raise SystemExit(f"{len(failed)} events failed to map, the first: {failed[:1]!r}")
        best = min(best, time.thread_time() - t0)
        del batch
    ops = runner.totals.changes // args.repeat
    print(f"{args.events} events ({ops} row changes) in batches of {args.batch}: "
          f"{best / args.events * 1e6:.2f} us of main-thread CPU per event, best of {args.repeat}")
    print(f"main_thread_us_per_event={best / args.events * 1e6:.2f}")


if __name__ == "__main__":
    main()

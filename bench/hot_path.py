"""The runner's main-thread work per event, alone: no broker, no PostgreSQL, no threads.

    .venv/bin/python bench/hot_path.py [--events 100000] [--batch 5000] [--repeat 5]
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out .venv/bin/python bench/hot_path.py --events 20000 --repeat 1

What `Runner.prepare` (decode, map, plan) and `Runner._observe` (per-batch metrics) cost
per event on the `users` workload of bench/apply.py, on in-memory confluent_kafka
`Message`s. In bench/apply.py this work is the main thread, and the main thread is what
bounds the apply rate of a table like `users`; this measures it without the noise of the
servers sharing the machine, so that a change to the hot path can be judged in seconds.
CPU time of this thread, best of `--repeat` passes. Under callgrind the instruction count
is the same run after run, whatever else the machine is doing: the main thread's count
(`--separate-threads=yes`, file `-01`) of a run with `--repeat 2` minus that of `--repeat 1`
is one pass. `--upto` stops after a stage of the Python path (parse: orjson alone; decode;
map; plan), to see what each adds. By default the runner takes the C core
(replicator/_fastmap.c) where it can, as `replicator run` does; `--no-fast-path` measures
the Python path alone, for the comparison.

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
import orjson  # noqa: E402
from confluent_kafka import Message  # noqa: E402

from replicator.apply.runner import Runner  # noqa: E402
from replicator.events import decode_message  # noqa: E402
from replicator.config import Settings  # noqa: E402
from replicator.logs import configure  # noqa: E402
from replicator.runtime import quiet_garbage_collector  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--keys", type=int, help="default: 3/4 of the events (then updates)")
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--upto", choices=("parse", "decode", "map", "plan", "all"), default="all",
                    help="stop after this stage (all: Runner.prepare and the batch metrics), "
                         "to see what each stage adds")
    ap.add_argument("--no-fast-path", dest="fast_path", action="store_false",
                    help="every event through the Python path (REPLICATOR_FAST_PATH=false), to compare "
                         "with the C core (replicator/_fastmap.c)")
    args = ap.parse_args()
    keys = args.keys or args.events * 3 // 4
    configure("console", "warning")
    workload = Workload("users", "bench_hot_path", Path(tempfile.mkdtemp(prefix="bench_hot_")))
    msgs = [Message(topic=workload.topic, partition=0, offset=i, key=k, value=v)
            for i, (k, v) in enumerate(workload.events(0, args.events, keys))]
    # nothing connects: the consumer and producer are created but never polled
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:9", kafka_group_id="bench_hot_path",
                        target_dsn="postgresql://unused", metrics_port=0, batch_max_events=args.batch,
                        fast_path=args.fast_path)
    runner = Runner(settings, workload.mappings())
    quiet_garbage_collector()  # as Runner.run has it
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.thread_time()
        for start in range(0, len(msgs), args.batch):
            part = msgs[start:start + args.batch]
            if args.upto != "all":
                stage_alone(args.upto, part, runner)
                continue
            batch = runner.prepare(part)
            runner._observe(batch)
            failed = [m.error for m in batch.dead]
            if failed or batch.plans is None:  # a figure for events that fail says nothing
                raise SystemExit(f"{len(failed)} events failed to map, the first: {failed[:1]!r}")
            del batch
        best = min(best, time.thread_time() - t0)
    print(f"{args.events} events in batches of {args.batch}, up to {args.upto}, "
          f"{'C core' if args.fast_path and runner.mapper.codes else 'Python path'}: "
          f"{best / args.events * 1e6:.2f} us of main-thread CPU per event, best of {args.repeat}")
    print(f"main_thread_us_per_event={best / args.events * 1e6:.2f}")


def stage_alone(upto: str, msgs: list[Message], runner: Runner) -> None:
    """The stages up to `upto`, as Runner.prepare chains them, without its bookkeeping."""
    if upto == "parse":
        for m in msgs:
            orjson.loads(m.key())
            orjson.loads(m.value())
        return
    events = [decode_message(m.topic(), m.partition(), m.offset(), m.key(), m.value()) for m in msgs]
    if upto == "decode":
        return
    ops = [op for ev in events for op in runner.mappings.map_event(ev)]
    if upto == "plan":
        runner.planner.plan(ops)


if __name__ == "__main__":
    main()

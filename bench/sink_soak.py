"""Soak of the sink on one connection: thousands of small batches, as a replicator that
has run for hours applies them, printing the time per batch and the size of PostgreSQL's
`pg_class` every 1,000 batches. A cost that grows with the number of batches (catalog
bloat, say) shows as a rising time per batch.

    .venv/bin/python bench/sink_soak.py [--batches 4000] [--events 20] [--keys 100000]

Needs the local stack (`replicator stack up`). Events are the users workload of
bench/apply.py (inserts, then updates of earlier keys), decoded and mapped here; only
`sink.apply` and the commit are timed. With few keys (`--keys 500`) every batch updates
rows updated moments ago, which measures PostgreSQL's dead tuples more than the sink.
The last line: first_ms_per_batch=<n> last_ms_per_batch=<n> growth=<r> pg_class_mb=<n>
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply import event  # noqa: E402

from replicator.apply.sink import PostgresSink  # noqa: E402
from replicator.events import decode_message  # noqa: E402
from replicator.mapping.loader import load_mappings  # noqa: E402
from replicator.stack.manager import REPO_ROOT, Stack  # noqa: E402
from replicator.stack.workspace import create_target_db  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=4000)
    ap.add_argument("--events", type=int, default=20, help="events per batch")
    ap.add_argument("--keys", type=int, default=100_000)
    args = ap.parse_args()
    stack = Stack.from_env()
    stack.up(echo=lambda _l: None)
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    ms = load_mappings([REPO_ROOT / "config" / "mappings"], env={"LEGACY_MAIN_DATABASE": "soak"})
    topic = "legacy_main.soak.Developer"
    rates: list[float] = []
    i = 0
    with psycopg.connect(stack.postgres.dsn(tgt)) as conn:
        sink = PostgresSink(conn, ms)
        sink.prepare()
        conn.commit()
        spent = 0.0
        for b in range(1, args.batches + 1):
            ops = []
            for _ in range(args.events):
                k, v = event(i, i % args.keys, "c" if i < args.keys else "u", "soak")
                ops += ms.map_event(decode_message(topic, 0, i, k, v))
                i += 1
            t = time.perf_counter()
            with conn.transaction():
                sink.apply(ops)
            spent += time.perf_counter() - t
            if b % 1000 == 0:
                # in a transaction of its own: a query outside one would leave the connection
                # in a transaction, and every later `conn.transaction()` a savepoint of it
                with conn.transaction():
                    size, stages, users = diagnostics(conn)
                rates.append(spent / 1000 * 1000)
                print(f"batches {b}: {rates[-1]:.2f} ms a batch; pg_class {size:.1f} MB, stage tables "
                      f"{stages:.1f} MB, app.users {users[0]:.1f} MB with {users[1]} dead rows", flush=True)
                spent = 0.0
    with psycopg.connect(stack.postgres.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{tgt}" WITH (FORCE)')
    print(f"first_ms_per_batch={rates[0]:.2f} last_ms_per_batch={rates[-1]:.2f} "
          f"growth={rates[-1] / rates[0]:.2f} pg_class_mb={size:.1f}")


def diagnostics(conn) -> tuple:
    """pg_class's size, this session's stage tables' size, app.users's size and dead rows."""
    size = conn.execute("SELECT pg_total_relation_size('pg_class')").fetchone()[0] / 1e6
    stages = int(conn.execute("SELECT coalesce(sum(pg_relation_size(c.oid)), 0) FROM pg_class c "
                              "WHERE c.relname LIKE '\\_stage\\_%' AND c.relpersistence = 't' "
                              "AND pg_table_is_visible(c.oid)").fetchone()[0]) / 1e6
    users = conn.execute("SELECT pg_total_relation_size('app.users') / 1e6, n_dead_tup FROM "
                         "pg_stat_user_tables WHERE relid = 'app.users'::regclass").fetchone()
    return size, stages, users


if __name__ == "__main__":
    main()

"""How long `replicator tombstones prune` holds things up on a large tombstone table: N
tombstones of `app.users` (UUID keys, as hard deletes leave them), half of them below the
horizon, pruned by `prune.prune` (the SQL half of the command; the broker half reads a few
messages per partition). Printed: the time to raise the horizon (the only moment batches
wait: the exclusive lock), the time to delete the tombstones below it, in chunks of
`prune.CHUNK` (each its own transaction, batches going on in between), and the rate
against a plain `DELETE` of the same rows in one statement, in the same run.

    .venv/bin/python bench/prune.py [--tombstones 1000000]

Needs the local stack (`replicator stack up`). Last line:
raise_ms=<n> pruned=<n> prune_rows_per_s=<n> plain_delete_rows_per_s=<n> ratio=<r>
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from replicator.apply import prune  # noqa: E402
from replicator.apply.sink import PostgresSink  # noqa: E402
from replicator.mapping.loader import load_mappings  # noqa: E402
from replicator.stack.manager import REPO_ROOT, Stack  # noqa: E402
from replicator.stack.workspace import create_target_db  # noqa: E402


def fill(conn: psycopg.Connection, n: int) -> None:
    conn.execute("TRUNCATE _replicator.tombstones, _replicator.horizons")
    conn.execute("INSERT INTO _replicator.tombstones (target_table, contributor, key, pos) "
                 "SELECT 'app.users', 'developer', gen_random_uuid()::text, ARRAY[1, i, 0]::bigint[] "
                 "FROM generate_series(1, %s) AS i", (n,))
    conn.execute("VACUUM ANALYZE _replicator.tombstones")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tombstones", type=int, default=1_000_000)
    args = ap.parse_args()
    stack = Stack.from_env()
    stack.up(echo=lambda *_: None)
    db = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    ms = load_mappings([REPO_ROOT / "config" / "mappings"], env={"LEGACY_MAIN_DATABASE": "bench"})
    half = (1, args.tombstones // 2, 0)
    with psycopg.connect(stack.postgres.dsn(db), autocommit=True) as conn:
        PostgresSink(conn, ms).prepare()
        fill(conn, args.tombstones)
        t0 = time.perf_counter()
        with conn.transaction():  # what prune's first step does, alone
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (prune.HORIZON_LOCK,))
            conn.execute("INSERT INTO _replicator.horizons (target_table, pos) VALUES ('app.users', %s)",
                         (list(half),))
        raise_s = time.perf_counter() - t0
        conn.execute("TRUNCATE _replicator.horizons")
        result = prune.TableResult("app.users", half)
        t0 = time.perf_counter()
        prune.prune(conn, ms, [result])
        prune_s = time.perf_counter() - t0
        fill(conn, args.tombstones)
        t0 = time.perf_counter()
        plain = conn.execute("DELETE FROM _replicator.tombstones WHERE pos < %s::bigint[]", (list(half),)).rowcount
        plain_s = time.perf_counter() - t0
    print(f"{args.tombstones} tombstones, {result.tombstones} below the horizon: raise {raise_s * 1e3:.1f} ms; "
          f"pruned in {prune_s:.2f} s (chunks of {prune.CHUNK}); one plain DELETE of {plain} rows {plain_s:.2f} s")
    print(f"raise_ms={raise_s * 1e3:.1f} pruned={result.tombstones} prune_rows_per_s={result.tombstones / prune_s:.0f} "
          f"plain_delete_rows_per_s={plain / plain_s:.0f} ratio={(result.tombstones / prune_s) / (plain / plain_s):.2f}")


if __name__ == "__main__":
    main()

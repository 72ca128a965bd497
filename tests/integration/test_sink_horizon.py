"""The replay horizon in the target, on real PostgreSQL: raising it waits for a batch in
flight (a batch must never check tombstones already pruned under a horizon it did not
see), it never goes down, and pruning drops exactly the tombstones below it and the
parked writes their deletions ended."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest

from prometheus_client import REGISTRY

from replicator.apply.prune import TableResult, export_metrics, prune
from tests.integration.sink_targets import ACCOUNTS, ACCOUNTS_DDL, MYSQL_SOURCE, prepared_sink

pytestmark = pytest.mark.stack


@pytest.fixture()
def target(stack, tmp_path):
    sink, ms = prepared_sink(stack, tmp_path, MYSQL_SOURCE + ACCOUNTS, "CREATE SCHEMA app;\n" + ACCOUNTS_DDL)
    yield sink, ms
    sink.conn.close()


def test_raising_the_horizon_waits_for_the_batch_in_flight(target):
    sink, ms = target
    dsn = sink.conn.info.dsn
    with sink.conn.transaction():
        assert sink._horizons() == {}  # a batch holds the shared lock from here to its commit
        done = threading.Event()

        def raise_horizon():
            with psycopg.connect(dsn + f" password={sink.conn.info.password or ''}", autocommit=True) as c:
                prune(c, ms, [TableResult("app.accounts", (1, 50, 0))])
            done.set()

        t = threading.Thread(target=raise_horizon)
        t.start()
        assert not done.wait(1.0), "the horizon rose under a batch in flight"
    t.join(10)
    assert done.is_set()
    with sink.conn.transaction():
        assert sink._horizons() == {"app.accounts": (1, 50, 0)}


def test_prune_drops_what_lies_below_the_horizon_and_nothing_else(target):
    sink, ms = target
    conn = sink.conn
    dead, alive, later = (str(uuid.uuid4()) for _ in range(3))
    with conn.transaction():
        conn.execute("INSERT INTO _replicator.tombstones VALUES ('app.accounts', 'account', %s, '{1,10,0}'), "
                     "('app.accounts', 'account', %s, '{1,60,0}')", (dead, later))
        # a follower's write parked before its row's deletion (ended by it), one for a key
        # never deleted (still waiting for its row), one after a deletion (a new row to come)
        conn.execute("INSERT INTO _replicator.pending (target_table, contributor, key, pos, row) VALUES "
                     "('app.accounts', 'stats', %s, '{1,5,0}', '{}'), ('app.accounts', 'stats', %s, '{1,6,0}', '{}'), "
                     "('app.accounts', 'stats', %s, '{1,70,0}', '{}')", (dead, alive, later))
    result = TableResult("app.accounts", (1, 50, 0))
    prune(conn, ms, [result])
    conn.commit()
    assert (result.tombstones, result.parked) == (1, 1)
    assert conn.execute("SELECT key FROM _replicator.tombstones").fetchall() == [(later,)]
    assert sorted(conn.execute("SELECT key FROM _replicator.pending").fetchall()) == sorted([(alive,), (later,)])
    prune(conn, ms, [TableResult("app.accounts", (1, 20, 0))])  # lower: ignored
    conn.commit()
    assert conn.execute("SELECT pos FROM _replicator.horizons").fetchall() == [([1, 50, 0],)]
    conn.execute("ANALYZE _replicator.tombstones")
    conn.commit()
    # the gauges every replicator pod exports once a minute
    export_metrics(conn)
    assert REGISTRY.get_sample_value("replicator_tombstones") == 1
    pruned_at = REGISTRY.get_sample_value("replicator_tombstones_pruned_timestamp_seconds", {"table": "app.accounts"})
    assert abs(pruned_at - time.time()) < 60
    conn.commit()

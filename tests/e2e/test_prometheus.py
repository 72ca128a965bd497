"""A real Prometheus server (Debian's package) scrapes the replicator during a run: the
events counter rises and the lag-in-seconds series is back near 0 once the writer stops."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import psycopg
import pytest

from replicator.stack.manager import REPO_ROOT
from replicator.stack.parts import ensure_tool
from replicator.stack.workspace import ReplicatorProcess, create_source_db, create_target_db, mysql, wait_for

pytestmark = pytest.mark.stack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(prom_port: int, expr: str) -> list:
    url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_prometheus_scrapes_events_and_lag(stack, tmp_path):
    prometheus = ensure_tool("prometheus", "prometheus")
    metrics_port, prom_port = free_port(), free_port()
    (tmp_path / "prometheus.yml").write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: replicator
    static_configs: [{{targets: ["127.0.0.1:{metrics_port}"]}}]
""")
    prom = subprocess.Popen([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}"],
                            stdout=open(tmp_path / "prometheus.log", "wb"), stderr=subprocess.STDOUT)
    src = create_source_db(stack, REPO_ROOT / "config" / "legacy" / "slice_main.sql")
    tgt = create_target_db(stack, [REPO_ROOT / "config" / "target" / "slice.sql"])
    env = {"LEGACY_MAIN_DATABASE": src, "REPLICATOR_METRICS_PORT": str(metrics_port)}
    table = f"{src}.Developer"
    try:
        with ReplicatorProcess(stack, target_db=tgt, env=env, log=tmp_path / "run.log"):
            stop = threading.Event()

            def write() -> None:
                n = 0
                with mysql(stack, src) as conn, conn.cursor() as cur:
                    while not stop.is_set():
                        n += 1
                        cur.execute("INSERT INTO Developer (id, email) VALUES (%s, %s)", (n, f"m{n}@example.com"))
                        time.sleep(0.05)
            w = threading.Thread(target=write)
            w.start()
            try:
                wait_for(lambda: query(prom_port, f'replicator_events_total{{source_table="{table}"}}'), 90,
                         "the events counter in Prometheus")
                first = sum(float(r["value"][1]) for r in query(prom_port, "replicator_events_total"))
                time.sleep(5)
                second = sum(float(r["value"][1]) for r in query(prom_port, "replicator_events_total"))
                assert second > first, "the events counter must rise while the writer runs"
            finally:
                stop.set()
                w.join()
            with psycopg.connect(stack.postgres.dsn(tgt)) as c:
                written = c.execute("SELECT count(*) FROM app.users").fetchone()[0]
            assert written > 0

            def lag_near_zero() -> bool:
                res = query(prom_port, f'replicator_lag_seconds{{source_table="{table}"}}')
                return bool(res) and float(res[0]["value"][1]) < 5.0
            wait_for(lag_near_zero, 60, "replicator_lag_seconds back near 0 after the writer stopped")
            rate = query(prom_port, f'increase(replicator_events_total{{source_table="{table}"}}[1m])')
            assert rate and float(rate[0]["value"][1]) > 0
    finally:
        prom.terminate()
        prom.wait(20)

"""Working on the local stack: throwaway databases, a replicator subprocess, polling.

Used by the tests, the demo and the benchmarks.

Each test gets its own MariaDB database (`t_<hex>`, captured by the stack's connector),
its own PostgreSQL database, topic names derived from those, and its own consumer group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pymysql

from replicator.stack.manager import REPO_ROOT, Stack


def unique(prefix: str = "t_") -> str:
    return prefix + uuid.uuid4().hex[:10]


def mysql(stack: Stack, database: str | None = None) -> pymysql.Connection:
    return pymysql.connect(**stack.mysql_params(database), autocommit=True)


def create_source_db(stack: Stack, ddl_file: Path, name: str | None = None) -> str:
    name = name or unique()
    with mysql(stack) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"USE `{name}`")
        for stmt in ddl_file.read_text().split(";"):
            if stmt.strip() and not all(line.strip().startswith("--") or not line.strip() for line in stmt.splitlines()):
                cur.execute(stmt)
    return name


def create_target_db(stack: Stack, ddl_files: list[Path]) -> str:
    name = unique()
    with psycopg.connect(stack.postgres.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(stack.postgres.dsn(name), autocommit=True) as conn:
        for f in ddl_files:
            conn.execute(f.read_text())
    return name


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last failure
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last_exc})" if last_exc else ""))


class ReplicatorProcess:
    """`replicator run` as a real subprocess, configured through the environment."""

    def __init__(self, stack: Stack, *, target_db: str, env: dict[str, str], log: Path,
                 mapping: Path = REPO_ROOT / "config" / "mappings", group: str | None = None) -> None:
        self.log = log
        self.env = {
            **os.environ,
            "REPLICATOR_KAFKA_BOOTSTRAP_SERVERS": stack.broker.bootstrap(),
            "REPLICATOR_KAFKA_GROUP_ID": group or unique("g_"),
            "REPLICATOR_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "REPLICATOR_KAFKA_CREATE_MISSING_TOPICS": "true",
            "REPLICATOR_TARGET_DSN": stack.postgres.dsn(target_db),
            "REPLICATOR_MAPPING_PATHS": f'["{mapping}"]',
            "REPLICATOR_METRICS_PORT": "0",
            "REPLICATOR_LOG_FORMAT": "json",
            "REPLICATOR_DLQ_TOPIC": unique("dlq_"),
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> ReplicatorProcess:
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "replicator.cli", "run"], env=self.env,
                                     stdout=self.logf, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> ReplicatorProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def slice_diffs(stack: Stack, source_db: str, target_db: str):
    """The first slice's legacy `Developer` table against `app.users`, through the mapping
    (replicator.compare), for tests and the slice demo."""
    from replicator.compare import compare
    from replicator.mapping.loader import load_mappings

    ms = load_mappings([REPO_ROOT / "config" / "mappings"], env={"LEGACY_MAIN_DATABASE": source_db})
    with mysql(stack, source_db) as conn, conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SELECT * FROM Developer")
        rows = cur.fetchall()
    with psycopg.connect(stack.postgres.dsn(target_db)) as target:
        return rows, compare(ms.tables["legacy_main.Developer"], rows, target)


def slice_matches(stack: Stack, source_db: str, target_db: str) -> bool:
    rows, diffs = slice_diffs(stack, source_db, target_db)
    return bool(rows) and all(d.clean for d in diffs)

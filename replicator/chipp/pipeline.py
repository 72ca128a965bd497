"""The Chipp consolidation on the local stack: three legacy sources -> one target, end to end.

One `ChippRun` owns a run's databases (main and chat MySQL databases on the stack's MariaDB,
the legacy embeddings database and the target on its PostgreSQL), a dedicated Kafka
Connect worker running the three Chipp connectors (config/connectors/chipp-*.properties:
two MySQL connectors with distinct topic prefixes, one PostgreSQL connector with its own
replication slot), and the environment the Chipp mappings (config/chipp/mappings) read.
Used by the end-to-end test and `make demo`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pymysql
from psycopg.rows import dict_row

from replicator.compare import TableDiff, compare
from replicator.mapping.engine import MappingSet
from replicator.mapping.loader import load_mappings
from replicator.stack.manager import CONNECTOR_DIR, REPO_ROOT, Stack
from replicator.stack.parts import ConnectWorker
from replicator.stack.workspace import create_source_db, mysql, unique

CHIPP = REPO_ROOT / "config" / "chipp"
MAPPINGS = CHIPP / "mappings"
TARGET_DDL = sorted((CHIPP / "target").glob("0*.sql"))
CONNECTORS = tuple(CONNECTOR_DIR / f"chipp-{n}.properties" for n in ("main", "chat", "embeddings"))


@dataclass
class ChippRun:
    stack: Stack
    run_id: str = field(default_factory=lambda: unique(""))
    target_db: str | None = None

    def __post_init__(self) -> None:
        self.main_db = f"chipp_main_{self.run_id}"
        self.chat_db = f"chipp_chat_{self.run_id}"
        self.emb_db = f"chipp_emb_{self.run_id}"
        self.target_db = self.target_db or f"chipp_target_{self.run_id}"
        self.slot = f"chipp_emb_{self.run_id}"
        # postgres topics do not name the database: one prefix per run keeps runs apart
        self.emb_prefix = f"chipp_embeddings_{self.run_id}"
        self.worker = ConnectWorker("connect-chipp", self.stack.root, 0)
        self.worker.connector_files = CONNECTORS

    # databases

    def create_databases(self) -> None:
        create_source_db(self.stack, CHIPP / "legacy" / "main_mysql.sql", name=self.main_db)
        create_source_db(self.stack, CHIPP / "legacy" / "chat_mysql.sql", name=self.chat_db)
        with psycopg.connect(self.stack.postgres.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.emb_db}"')
            conn.execute(f'DROP DATABASE IF EXISTS "{self.target_db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.target_db}"')
        with psycopg.connect(self.stack.postgres.dsn(self.emb_db), autocommit=True) as conn:
            conn.execute((CHIPP / "legacy" / "embeddings_pg.sql").read_text())
        with psycopg.connect(self.stack.postgres.dsn(self.target_db), autocommit=True) as conn:
            for f in TARGET_DDL:
                conn.execute(f.read_text())

    def mapping_env(self) -> dict[str, str]:
        """What the Chipp mappings' ${...} placeholders resolve to for this run."""
        return {"CHIPP_MAIN_DATABASE": self.main_db, "CHIPP_CHAT_DATABASE": self.chat_db,
                "CHIPP_EMBEDDINGS_DATABASE": self.emb_db, "CHIPP_EMBEDDINGS_TOPIC_PREFIX": self.emb_prefix}

    def connector_env(self) -> dict[str, str]:
        """What the Chipp connector files' ${env:...} placeholders resolve to."""
        s = self.stack
        env = {"KAFKA_BOOTSTRAP_SERVERS": s.broker.bootstrap()}
        for name, db, server_id in (("MAIN", self.main_db, "5411"), ("CHAT", self.chat_db, "5412")):
            env.update({f"CHIPP_{name}_MYSQL_HOST": "127.0.0.1", f"CHIPP_{name}_MYSQL_PORT": str(s.mysql_port),
                        f"CHIPP_{name}_MYSQL_USER": "debezium",
                        f"CHIPP_{name}_MYSQL_PASSWORD": s.mariadb.password("debezium"),
                        f"CHIPP_{name}_SERVER_ID": server_id, f"CHIPP_{name}_DATABASES": db,
                        f"CHIPP_{name}_HISTORY_TOPIC": f"_schema-history.chipp_{name.lower()}.{self.run_id}"})
        env.update({"CHIPP_EMBEDDINGS_PG_HOST": "127.0.0.1", "CHIPP_EMBEDDINGS_PG_PORT": str(s.postgres_port),
                    # the local stack's PostgreSQL trusts loopback connections
                    "CHIPP_EMBEDDINGS_PG_USER": "postgres", "CHIPP_EMBEDDINGS_PG_PASSWORD": "",
                    "CHIPP_EMBEDDINGS_DATABASE": self.emb_db, "CHIPP_EMBEDDINGS_SLOT": self.slot,
                    "CHIPP_EMBEDDINGS_TOPIC_PREFIX": self.emb_prefix,
                    "CHIPP_EMBEDDINGS_PUBLICATION": f"chipp_emb_pub_{self.run_id}"})
        return env

    # connectors

    def start_connectors(self) -> None:
        """A fresh worker (no stored offsets): every connector snapshots, then streams."""
        self.worker.stop()
        shutil.rmtree(self.worker.dir, ignore_errors=True)
        self.worker.env = self.connector_env()
        self.worker.start(self.stack.broker.bootstrap())

    def stop_connectors(self) -> None:
        self.worker.stop()
        # a stopped Postgres connector leaves its slot behind, holding WAL: drop it
        with psycopg.connect(self.stack.postgres.dsn(self.emb_db), autocommit=True) as conn:
            conn.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                         "WHERE slot_name = %s AND NOT active", (self.slot,))

    # checking

    def mappings(self) -> MappingSet:
        return load_mappings([MAPPINGS], env=self.mapping_env())

    def source_rows(self, ms: MappingSet, table: str) -> list[dict]:
        tm = ms.tables[table]
        src = tm.source
        if src.kind == "mysql":
            with mysql(self.stack, src.database) as conn, conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute(f"SELECT * FROM `{tm.spec.table}`")
                return list(cur.fetchall())
        with psycopg.connect(self.stack.postgres.dsn(src.database), row_factory=dict_row) as conn:
            return conn.execute(f'SELECT * FROM "{src.schema_ or "public"}"."{tm.spec.table}"').fetchall()

    def compare(self) -> list[TableDiff]:
        """Every mapped legacy table against the target, through the mapping."""
        ms = self.mappings()
        diffs: list[TableDiff] = []
        with psycopg.connect(self.stack.postgres.dsn(self.target_db)) as target:
            for name, tm in sorted(ms.tables.items()):
                if tm.spec.skip:
                    continue
                diffs.extend(compare(tm, self.source_rows(ms, name), target))
        return diffs

    def source_env(self) -> dict[str, str]:
        """REPLICATOR_SOURCE_<NAME>_DSN for `mapping validate` and `reconcile`."""
        s = self.stack
        pw = s.mariadb.password("replicator")
        return {"REPLICATOR_SOURCE_LEGACY_MAIN_DSN": f"mysql://replicator:{pw}@127.0.0.1:{s.mysql_port}/{self.main_db}",
                "REPLICATOR_SOURCE_LEGACY_CHAT_DSN": f"mysql://replicator:{pw}@127.0.0.1:{s.mysql_port}/{self.chat_db}",
                "REPLICATOR_SOURCE_LEGACY_EMBEDDINGS_DSN": s.postgres.dsn(self.emb_db),
                "REPLICATOR_TARGET_DSN": s.postgres.dsn(self.target_db)}

    def reconcile(self, *args: str, json_file: Path | None = None) -> subprocess.CompletedProcess:
        """`replicator reconcile` on this run's databases, through the Chipp mappings."""
        cmd = [sys.executable, "-m", "replicator.cli", "reconcile", "--mapping", str(MAPPINGS), "--no-progress",
               "--restart", *args]
        if json_file is not None:
            cmd += ["--json", str(json_file)]
        env = {**os.environ, **self.mapping_env(), **self.source_env(), "REPLICATOR_LOG_FORMAT": "json"}
        return subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=900)

    def drop(self) -> None:
        """Drop the run's legacy databases (the target is kept for inspection)."""
        with mysql(self.stack) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{self.main_db}`")
            cur.execute(f"DROP DATABASE IF EXISTS `{self.chat_db}`")
        with psycopg.connect(self.stack.postgres.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.emb_db}" WITH (FORCE)')


def summary(diffs: list[TableDiff]) -> tuple[bool, str]:
    lines = [d.summary() for d in diffs]
    clean = all(d.clean for d in diffs)
    total = sum(d.checked for d in diffs)
    lines.append(f"{len(diffs)} target feeds, {total} expected rows checked: "
                 + ("CLEAN" if clean else "DIFFERENCES"))
    return clean, "\n".join(lines)


__all__ = ["ChippRun", "summary"]

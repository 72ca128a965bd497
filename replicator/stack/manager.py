"""`replicator stack up|down|status`: the local stack as one unit, in one state directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from replicator.stack.parts import Broker, ConnectWorker, MariaDB, Part, PartFailed, Postgres

REPO_ROOT = Path(__file__).resolve().parents[2]
CONNECTOR_DIR = REPO_ROOT / "config" / "connectors"


def default_stack_dir() -> Path:
    return Path(os.environ.get("REPLICATOR_STACK_DIR", REPO_ROOT / ".state" / "stack")).resolve()


@dataclass
class Stack:
    """The local stack's parts, their ports and the environment the connectors read."""

    root: Path
    mysql_port: int = 13306
    postgres_port: int = 15432
    kafka_port: int = 19092

    @classmethod
    def from_env(cls) -> Stack:
        return cls(
            root=default_stack_dir(),
            mysql_port=int(os.environ.get("REPLICATOR_STACK_MYSQL_PORT", 13306)),
            postgres_port=int(os.environ.get("REPLICATOR_STACK_POSTGRES_PORT", 15432)),
            kafka_port=int(os.environ.get("REPLICATOR_STACK_KAFKA_PORT", 19092)),
        )

    def __post_init__(self) -> None:
        self.mariadb = MariaDB("mariadb", self.root, self.mysql_port)
        self.postgres = Postgres("postgres", self.root, self.postgres_port)
        self.broker = Broker("broker", self.root, self.kafka_port)
        self.connect = ConnectWorker("connect", self.root, 0)
        self.connect.connector_files = (CONNECTOR_DIR / "legacy-main.properties",)

    @property
    def parts(self) -> list[Part]:
        return [self.mariadb, self.postgres, self.broker, self.connect]

    def connector_env(self) -> dict[str, str]:
        """What the connector files' ${env:...} placeholders resolve to on the local stack."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap(),
            "LEGACY_MAIN_MYSQL_HOST": "127.0.0.1",
            "LEGACY_MAIN_MYSQL_PORT": str(self.mysql_port),
            "LEGACY_MAIN_MYSQL_USER": "debezium",
            "LEGACY_MAIN_MYSQL_PASSWORD": self.mariadb.password("debezium"),
            "LEGACY_MAIN_SERVER_ID": "5401",
            # legacy_* for the demo, t_* for the tests' own databases
            "LEGACY_MAIN_DATABASES": "legacy_.*,t_.*",
        }

    def up(self, echo=print) -> None:
        """Start whatever is not running, in dependency order; idempotent."""
        self.root.mkdir(parents=True, exist_ok=True)
        for part in (self.mariadb, self.postgres, self.broker):
            if part.healthy():
                echo(f"{part.name:9} already up  {part.endpoint()}")
                continue
            part.stop()  # a stale PID file or a half-dead process
            part.start()
            if part is self.broker:
                # the broker keeps topics in memory: a fresh broker has lost the schema
                # history and change topics, so the worker's stored binlog offsets point
                # past data that no longer exists. Forget them; the connector re-snapshots.
                self.connect.stop()
                self.connect.forget_offsets()
            echo(f"{part.name:9} up          {part.endpoint()}  log {part.log}")
        self.start_connect(echo)

    def start_connect(self, echo=print) -> None:
        if self.connect.healthy():
            echo(f"{'connect':9} already up  {self.connect.endpoint()}")
            return
        self.connect.stop()
        self.connect.env = self.connector_env()
        self.connect.start(self.broker.bootstrap())
        echo(f"{'connect':9} up          {self.connect.endpoint()}  log {self.connect.log}")

    def down(self, echo=print) -> None:
        for part in reversed(self.parts):
            was = part.stop()
            echo(f"{part.name:9} {'stopped' if was else 'was not running'}")

    def status(self) -> list[tuple[str, str, str]]:
        rows = []
        for part in self.parts:
            state = "up" if part.healthy() else ("unhealthy" if part.running() else "down")
            rows.append((part.name, state, part.endpoint()))
        return rows

    def mysql_params(self, database: str | None = None) -> dict:
        params = dict(host="127.0.0.1", port=self.mysql_port, user="replicator",
                      password=self.mariadb.password("replicator"))
        if database:
            params["database"] = database
        return params


__all__ = ["Stack", "PartFailed"]

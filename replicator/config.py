"""Typed settings for the service, read from the environment (prefix `REPLICATOR_`) or a
`.env` file; secrets as `SecretStr`, also readable from mounted files (`*_FILE`).

Loaded in `main()` / each command, never at import time. `replicator validate-config`
fails fast with a readable message.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything `replicator run` needs. Each field has a default and one line of doc."""

    model_config = SettingsConfigDict(env_prefix="REPLICATOR_", env_file=".env", extra="ignore")

    kafka_bootstrap_servers: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers")
    kafka_group_id: str = Field("replicator", description="consumer group shared by all replicator pods")
    kafka_session_timeout_ms: int = Field(10000, description="consumer session timeout")
    kafka_create_missing_topics: bool = Field(False, description="create source topics that do not exist yet (dev/test only; production topics belong to Connect)")
    kafka_extra: dict[str, str] = Field(default_factory=dict, description="extra librdkafka settings (e.g. security)")
    dlq_topic: str = Field("replicator.dlq", description="dead-letter topic")
    target_dsn: SecretStr = Field(SecretStr("postgresql://postgres@127.0.0.1:15432/replicator"),
                                  description="target PostgreSQL connection string (may hold the password)")
    target_dsn_file: Path | None = Field(None, description="file holding the target DSN (a mounted Secret)")
    mapping_paths: list[Path] = Field(default_factory=lambda: [Path("config/mappings")],
                                      description="mapping YAML files or directories")
    batch_max_events: int = Field(5000, description="most events applied in one PostgreSQL transaction")
    batch_max_bytes: int = Field(8 * 1024 * 1024, gt=0, description="most message bytes (keys and values) in one batch; also bounds what the consumer prefetches, so memory does not grow with row size")
    batch_max_wait_ms: int = Field(200, description="longest wait to fill a batch")
    retry_max_backoff_s: float = Field(30.0, description="ceiling of the exponential backoff for transient errors")
    metrics_port: int = Field(9108, description="port of /metrics, /healthz and /readyz (0 disables)")
    metrics_host: str = Field("127.0.0.1", description="address the metrics server binds (0.0.0.0 in a pod)")
    readiness_stall_s: float = Field(300.0, description="/readyz fails when nothing was applied for this long while messages wait")
    log_format: str = Field("auto", description="json, console, or auto (console on a terminal)")
    log_level: str = Field("info", description="debug, info, warning, error")
    suspend_foreign_keys: bool = Field(True, description="drop (and record) FKs between mapped target tables at start; restore them at cutover with `replicator target fks restore`")
    apply_connections: int = Field(1, ge=1, le=32, description="PostgreSQL connections one batch is written over at once, split by target key (apply/shards.py); 1: one transaction per batch. Raise it when the batch log's apply_ms stays above map_ms and PostgreSQL has cores to spare")
    apply_queue_batches: int = Field(6, ge=1, le=64, description="mapped batches that may wait for the apply thread (apply/runner.py): the main thread maps ahead while batches are written, one at a time and in order; 1: map one batch while the previous is written")
    apply_queue_bytes: int = Field(24 * 1024 * 1024, gt=0, description="most message bytes (keys and values) in the batches handed to the apply thread and not yet committed; with batch_max_bytes, what bounds the process's memory (one batch is always let through)")
    fast_path: bool = Field(True, description="decode and map the common case (MySQL c/u/r events of tables without filters) in the C core, replicator/_fastmap.c; false: all in Python, with the same results")
    stop_after_idle_s: float | None = Field(None, description="exit after this long without events (demo/tests)")

    @model_validator(mode="after")
    def _dsn_from_file(self) -> Settings:
        if self.target_dsn_file is not None:
            self.target_dsn = SecretStr(self.target_dsn_file.read_text().strip())
        return self

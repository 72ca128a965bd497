"""Every Prometheus metric of the replicator, in one place. Labels are bounded: table,
topic, partition, op, outcome, reason; never a key or a value."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter("replicator_events_total", "Change events consumed, by source table and outcome",
                 ["source_table", "op", "outcome"])
ROWS_APPLIED = Counter("replicator_rows_applied_total", "Target row operations written", ["table", "kind"])
STALE_REFUSED = Counter("replicator_stale_writes_refused_total",
                        "Target writes refused because the row already holds a newer source position", ["table"])
BATCH_SIZE = Histogram("replicator_batch_events", "Events per applied batch",
                       buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, 10000))
APPLY_SECONDS = Histogram("replicator_apply_duration_seconds", "Time to apply and commit one batch in PostgreSQL",
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LAG_SECONDS = Gauge("replicator_lag_seconds",
                    "Now minus the source commit time of the last applied event", ["source_table"])
LAST_APPLIED_TS = Gauge("replicator_last_applied_source_timestamp_seconds",
                        "Source commit time of the last applied event", ["source_table"])
LAG_MESSAGES = Gauge("replicator_lag_messages", "Log end offset minus committed offset", ["topic", "partition"])
DLQ_EVENTS = Counter("replicator_dlq_events_total", "Events sent to the dead-letter topic", ["source_table", "reason"])
COMMITS_SUPERSEDED = Counter("replicator_offset_commits_superseded_total",
                             "Offset commits given up because the consumer group had moved on (the batch is "
                             "already applied; the partition's next owner replays it, changing nothing)")
RETRIES = Counter("replicator_retries_total", "Transient failures retried", ["stage"])
SCHEMA_DRIFT = Counter("replicator_schema_drift_total", "Events carrying columns the mapping does not cover",
                       ["source_table"])
SCHEMA_CHANGES = Counter("replicator_schema_change_events_total", "DDL events seen on schema-change topics",
                         ["source"])
PARKED = Counter("replicator_parked_writes_total",
                 "Writes of merge contributors parked because their target row did not exist yet")
FAST_PATH_EVENTS = Counter("replicator_fast_path_events_total",
                           "Events decoded and mapped by the C core (apply/fastpath.py); the rest took the Python path")
DIRECT_COPIED = Counter("replicator_direct_copy_rows_total",
                        "Rows the source created, COPYed straight into their table (no upsert needed)")
DIRECT_FALLBACKS = Counter("replicator_direct_copy_fallbacks_total",
                           "Direct COPYs that met an existing row (replay, re-snapshot, dual write) and were upserted")
SHARD_FALLBACKS = Counter("replicator_shard_fallbacks_total",
                          "Batches whose parallel write over several connections failed and that were "
                          "written again in one transaction on one connection (apply/shards.py)", ["reason"])
UNPARKED = Counter("replicator_unparked_writes_total",
                   "Parked writes applied once their target row existed")
ASSIGNED_PARTITIONS = Gauge("replicator_assigned_partitions", "Partitions assigned to this process")
APPLY_QUEUE = Gauge("replicator_apply_queue_batches",
                    "Mapped batches handed to the apply thread and not yet committed (apply_queue_batches at "
                    "most): full most of the time, the write is the bottleneck; 0 or 1, the mapping or the stream")
RECONCILE_ROWS_CHECKED = Counter("replicator_reconcile_rows_checked_total",
                                 "Source-derived target rows compared by `replicator reconcile`", ["table"])
RECONCILE_DIFFERENCES = Gauge("replicator_reconcile_differences",
                              "Rows that still differed at the end of the last reconcile, after in-flight rechecks",
                              ["table", "kind"])
RECONCILE_LAST_CLEAN = Gauge("replicator_reconcile_last_clean_timestamp_seconds",
                             "Unix time of the last reconcile that found the table clean", ["table"])
TOMBSTONES = Gauge("replicator_tombstones", "Tombstones kept in the target (PostgreSQL's estimate, pg_class.reltuples)")
TOMBSTONES_PRUNED = Gauge("replicator_tombstones_pruned_timestamp_seconds",
                          "Unix time of the last `replicator tombstones prune` that raised or checked the table's horizon",
                          ["table"])

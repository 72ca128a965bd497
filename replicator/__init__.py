"""replicator: change-data-capture from legacy databases into one re-modelled PostgreSQL.

Debezium reads the legacy binlogs/WAL into Kafka; this package decodes those events,
pushes them through declarative mappings (config/ + transforms/), and applies the result
to the target PostgreSQL with an exactly-once effect.
"""

__version__ = "0.1.0"

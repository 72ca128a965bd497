"""The local stack: real servers that the project installs and starts itself.

MariaDB (MySQL-compatible source with a row binlog), PostgreSQL with pgvector (target, and a
legacy PostgreSQL source), the Tansu Kafka-protocol broker and a Kafka Connect worker running
Debezium's connectors. Used by `replicator stack up|down|status`, the demo and the tests.
It is a development and test tool: production runs Apache Kafka and Kafka Connect (deploy/).
"""

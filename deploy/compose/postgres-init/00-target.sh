#!/bin/bash
# Runs once, when the postgres container initialises an empty data directory (the image's
# /docker-entrypoint-initdb.d): pgvector, then the target DDL (config/target/*.sql, mounted
# at /target-sql) in file-name order. The replicator adds its own bookkeeping at start.
set -eo pipefail  # no -u: the image entrypoint sources this file when it is not executable

psql_target() { psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" "$@"; }

psql_target -c 'CREATE EXTENSION IF NOT EXISTS vector'
for f in /target-sql/*.sql; do
  [ -e "$f" ] || continue
  echo "applying $f"
  psql_target --single-transaction -f "$f"
done

#!/bin/bash
# Runs once, when the postgres container initialises an empty data directory (the image's
# /docker-entrypoint-initdb.d): pgvector, then the Chipp target DDL (config/chipp/target,
# mounted at /target-sql: 01_schemas_and_enums.sql .. 04_internal_and_indexes.sql) in
# file-name order, each file in one transaction. The replicator adds its own bookkeeping
# at start. 10-slice.sh creates the slice demo's separate target database.
set -eo pipefail  # no -u: the image entrypoint sources this file when it is not executable

psql_target() { psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" "$@"; }

psql_target -c 'CREATE EXTENSION IF NOT EXISTS vector'
shopt -s nullglob
files=(/target-sql/0*.sql)  # the glob sorts by name
[ ${#files[@]} -gt 0 ] || { echo "no /target-sql/0*.sql to apply" >&2; exit 1; }
for f in "${files[@]}"; do
  echo "applying $f to ${POSTGRES_DB}"
  psql_target --single-transaction -f "$f"
done

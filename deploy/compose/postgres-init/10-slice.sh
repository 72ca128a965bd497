#!/bin/bash
# Runs once, after 00-target.sh: the first vertical slice's target, a database of its own
# ($SLICE_DATABASE) because its app.users is not Chipp's. The slice DDL is config/target/*.sql
# (mounted at /slice-target-sql). The slice demo (docs/operations.md, "Docker Compose") runs
# the image's config/mappings against it, reading the legacy-main connector's topics.
set -eo pipefail  # no -u: the image entrypoint sources this file when it is not executable

: "${SLICE_DATABASE:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v db="$SLICE_DATABASE" -v owner="$POSTGRES_USER" <<'SQL'
CREATE DATABASE :"db" OWNER :"owner";
SQL

psql_slice() { psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$SLICE_DATABASE" "$@"; }
psql_slice -c 'CREATE EXTENSION IF NOT EXISTS vector'
for f in /slice-target-sql/*.sql; do
  [ -e "$f" ] || continue
  echo "applying $f to ${SLICE_DATABASE}"
  psql_slice --single-transaction -f "$f"
done

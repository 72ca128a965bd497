#!/bin/bash
# Runs once, when the legacy-postgres container initialises an empty data directory (the
# image's /docker-entrypoint-initdb.d). Chipp's legacy embeddings database ($POSTGRES_DB):
#   1. its schema, config/chipp/legacy/embeddings_pg.sql (mounted at /legacy-sql; it creates
#      the vector extension itself);
#   2. the Debezium login ($DEBEZIUM_USER) for the chipp-embeddings connector: LOGIN
#      REPLICATION (the replication slot), SELECT (the snapshot), CREATE on the database and,
#      through the group role chipp_embeddings_replication that now owns the tables, the
#      right to put them in its publication (publication.autocreate.mode=filtered: creating
#      a publication FOR TABLE needs table ownership). This is the setup Debezium documents
#      for shared ownership; the superuser stays the real administrator.
# The server runs with wal_level=logical (the service's command).
set -eo pipefail  # no -u: the image entrypoint sources this file when it is not executable

psql_db() { psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" "$@"; }

echo "loading /legacy-sql/embeddings_pg.sql into ${POSTGRES_DB}"
psql_db --single-transaction -f /legacy-sql/embeddings_pg.sql

psql_db --single-transaction -v dbz_user="${DEBEZIUM_USER:?}" -v dbz_password="${DEBEZIUM_PASSWORD:?}" <<'SQL'
CREATE ROLE :"dbz_user" WITH LOGIN REPLICATION PASSWORD :'dbz_password';
CREATE ROLE chipp_embeddings_replication NOLOGIN;
GRANT chipp_embeddings_replication TO :"dbz_user";
GRANT CONNECT, CREATE ON DATABASE :"DBNAME" TO :"dbz_user";
GRANT USAGE ON SCHEMA public TO :"dbz_user";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"dbz_user";
SELECT format('ALTER TABLE %I.%I OWNER TO chipp_embeddings_replication', schemaname, tablename)
  FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename
\gexec
SQL

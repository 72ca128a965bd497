#!/bin/bash
# Runs once, when the mysql container initialises an empty data directory (the image's
# /docker-entrypoint-initdb.d). Creates the Debezium user with the privileges the MySQL
# connectors need (global: it reads every database of the server, the slice's legacy_main
# and Chipp's chipp_main and chipp_chat alike) and loads the slice's legacy schema
# (config/legacy/*.sql, mounted at /legacy-sql) into $MYSQL_DATABASE. 10-chipp.sh loads
# Chipp's databases. Credentials come from the compose environment.
set -eo pipefail  # no -u: the image entrypoint sources this file when it is not executable

mysql_root() { mysql --protocol=socket -uroot -p"${MYSQL_ROOT_PASSWORD}" "$@"; }

mysql_root <<SQL
CREATE USER IF NOT EXISTS '${DEBEZIUM_USER}'@'%' IDENTIFIED BY '${DEBEZIUM_PASSWORD}';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${DEBEZIUM_USER}'@'%';
FLUSH PRIVILEGES;
SQL

for f in /legacy-sql/*.sql; do
  [ -e "$f" ] || continue
  echo "loading $f into ${MYSQL_DATABASE}"
  mysql_root "${MYSQL_DATABASE}" < "$f"
done

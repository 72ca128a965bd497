#!/bin/bash
# Runs once, after 00-legacy.sh, when the mysql container initialises an empty data
# directory: Chipp's two legacy MySQL databases on this one server, each with its schema
# (config/chipp/legacy, mounted at /chipp-legacy-sql):
#   $CHIPP_MAIN_DATABASE <- main_mysql.sql   (connector chipp-main, topic prefix chipp_main)
#   $CHIPP_CHAT_DATABASE <- chat_mysql.sql   (connector chipp-chat, topic prefix chipp_chat)
# The Debezium user's grants come from 00-legacy.sh; they are global (ON *.*), and
# SHOW GRANTS below prints them into the container log.
set -eo pipefail  # no -u: the image entrypoint sources this file when it is not executable

mysql_root() { mysql --protocol=socket -uroot -p"${MYSQL_ROOT_PASSWORD}" "$@"; }

load() {  # load <database> <file>
  echo "creating database $1, loading $2"
  mysql_root -e "CREATE DATABASE IF NOT EXISTS \`$1\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
  mysql_root "$1" < "$2"
}

load "${CHIPP_MAIN_DATABASE:?}" /chipp-legacy-sql/main_mysql.sql
load "${CHIPP_CHAT_DATABASE:?}" /chipp-legacy-sql/chat_mysql.sql

mysql_root -e "SHOW GRANTS FOR '${DEBEZIUM_USER}'@'%'"

#!/bin/sh
# Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d), as the
# superuser. Atelier then logs in as "atelier", which is not a superuser: it owns the
# database (so its migrations can create tables) and may act as the two roles every query
# runs as. atelier_system's BYPASSRLS needs a superuser to create, hence this script.
# For a volume that already exists, run the same statements once with psql as the superuser.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v login_password="$ATELIER_DB_PASSWORD" <<'SQL'
CREATE ROLE atelier_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
CREATE ROLE atelier_system NOLOGIN NOSUPERUSER BYPASSRLS;
CREATE ROLE atelier LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'login_password';
GRANT atelier_app, atelier_system TO atelier;
CREATE DATABASE atelier OWNER atelier;
\connect atelier
ALTER SCHEMA public OWNER TO atelier;
SQL

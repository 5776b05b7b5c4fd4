-- For a database that Atelier has so far used as the superuser (an older docker-compose.yml):
-- run once as the superuser in that database, after creating the roles as in
-- 10-atelier-roles.sh (without its CREATE DATABASE). The login role "atelier" then owns the
-- database and everything Atelier's migrations made, so later migrations can alter them.
--   psql -U postgres -d atelier -f deploy/postgres/adopt-existing.sql
ALTER DATABASE atelier OWNER TO atelier;
ALTER SCHEMA public OWNER TO atelier;
DO $$
DECLARE
  object record;
BEGIN
  FOR object IN SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' LOOP
    EXECUTE format('ALTER TABLE public.%I OWNER TO atelier', object.name);
  END LOOP;
  FOR object IN SELECT t.typname AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = 'public' AND t.typtype = 'e' LOOP
    EXECUTE format('ALTER TYPE public.%I OWNER TO atelier', object.name);
  END LOOP;
END
$$;

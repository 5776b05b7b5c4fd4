-- Row-level security: every tenant-owned row is visible only inside a transaction that
-- set app.tenant_id to its tenant (SELECT set_config('app.tenant_id', $1, true)).
-- The application runs as atelier_app (no superuser, no BYPASSRLS); platform-wide
-- maintenance (sweeps, operator actions) switches to atelier_system for one transaction.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atelier_app') THEN
    CREATE ROLE atelier_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atelier_system') THEN
    CREATE ROLE atelier_system NOLOGIN NOSUPERUSER BYPASSRLS;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO atelier_app, atelier_system;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO atelier_app, atelier_system;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO atelier_app, atelier_system;
DO $$
BEGIN
  IF to_regclass('public._prisma_migrations') IS NOT NULL THEN
    REVOKE ALL ON TABLE "_prisma_migrations" FROM atelier_app, atelier_system;
    GRANT SELECT ON TABLE "_prisma_migrations" TO atelier_system;
  END IF;
END
$$;

ALTER TABLE "tenants" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "tenants" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "tenants"
  USING (id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['api_keys', 'shoppers', 'uploads', 'garments', 'reference_caches',
                           'person_photos', 'outfits', 'outfit_items', 'renders']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
      USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
      WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
  END LOOP;
END
$$;

// The switch to the row-level-security role fails closed: a login role that may not act as
// atelier_app gets no database (at start) and no connection (later), never a session of its
// own. A login role that may (what docker-compose and the README set up) runs every query
// as atelier_app. PostgreSQL only (PGlite has no login roles).
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { openDatabase, postgresConfig, type Database } from '../../src/db/database';
import { createTestDatabase } from '../support/server';

const withPostgres = process.env.TEST_DATABASE_URL ? describe : describe.skip;
if (!process.env.TEST_DATABASE_URL) process.stdout.write('database-roles: skipped: TEST_DATABASE_URL is not set\n');

withPostgres('the database login role', () => {
  let admin: pg.Client;
  const dropped: (() => Promise<void>)[] = [];

  /**
   * A fresh database owned by a new login role (not a superuser). BYPASSRLS makes the
   * failure visible: a session left as this role would read every tenant's rows.
   */
  async function loginRole(grant: boolean): Promise<{ url: string; login: string }> {
    const login = `atelier_login_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE ROLE ${login} LOGIN NOSUPERUSER BYPASSRLS`);
    if (grant) await admin.query(`GRANT atelier_app, atelier_system TO ${login}`);
    const database = await createTestDatabase();
    const name = new URL(database.url).pathname.slice(1);
    await admin.query(`ALTER DATABASE ${name} OWNER TO ${login}`);
    await admin.query(`ALTER SCHEMA public OWNER TO ${login}`).catch(() => undefined);
    const url = new URL(database.url);
    url.username = login;
    dropped.push(async () => {
      await database.drop();
      await admin.query(`DROP OWNED BY ${login}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${login}`);
    });
    return { url: url.toString(), login };
  }

  beforeAll(async () => {
    admin = new pg.Client(postgresConfig(process.env.TEST_DATABASE_URL!));
    await admin.connect();
    // The roles are cluster-wide; a first migration (as a superuser) creates them.
    const first = await createTestDatabase();
    dropped.push(first.drop);
    await (await openDatabase({ kind: 'postgres', url: first.url })).close();
  });
  afterAll(async () => {
    for (const drop of dropped.reverse()) await drop();
    await admin?.end();
  });

  test('a login role that may not act as atelier_app: the database does not open, and says what to grant', async () => {
    const { url, login } = await loginRole(false);
    await expect(openDatabase({ kind: 'postgres', url })).rejects.toThrow(`GRANT atelier_app, atelier_system TO "${login}"`);
  });

  test('a granted login role runs queries as atelier_app (RESET ROLE included) and maintenance as atelier_system', async () => {
    const { url, login } = await loginRole(true);
    const db = await openDatabase({ kind: 'postgres', url });
    try {
      const who = await db.withoutTenant(async (tx) => {
        const before = await tx.$queryRaw<{ u: string; s: string }[]>`SELECT current_user::text AS u, session_user::text AS s`;
        await tx.$executeRawUnsafe('RESET ROLE');
        const after = await tx.$queryRaw<{ u: string }[]>`SELECT current_user::text AS u`;
        return { ...before[0], reset: after[0]!.u };
      });
      expect(who).toEqual({ u: 'atelier_app', s: login, reset: 'atelier_app' });
      expect((await db.withSystem((tx) => tx.$queryRaw<{ u: string }[]>`SELECT current_user::text AS u`))[0]!.u).toBe('atelier_system');
    } finally {
      await db.close();
    }
  });

  test('membership revoked while running: new connections fail, none runs as the login role', async () => {
    const { url, login } = await loginRole(true);
    const db: Database = await openDatabase({ kind: 'postgres', url });
    try {
      const tenantId = randomUUID();
      await db.withSystem((tx) => tx.tenant.create({ data: { id: tenantId, name: 'Secret' } }));
      await admin.query(`REVOKE atelier_app FROM ${login}`);
      // Every pooled connection goes; the next query needs a new one.
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [login]);
      const outcome = await db
        .withoutTenant((tx) => tx.tenant.count())
        .then(
          (count) => ({ count }),
          (error: Error) => ({ error: error.message }),
        );
      // Left as the login role (BYPASSRLS), this would count the tenant: it must fail instead.
      expect(outcome).toEqual({ error: expect.stringMatching(/permission denied to set role/) });
    } finally {
      await db.close();
    }
  });
});

// The database: embedded PostgreSQL (PGlite, in the data directory or in memory) or a
// PostgreSQL server, behind one Prisma client. Migrations run at open; afterwards every
// query runs as the non-superuser role atelier_app, so row-level security applies, and
// tenant work happens in transactions that set app.tenant_id (withTenant).
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client';
import { migrationsDir } from '../common/project-paths';
import { applyMigrations, pendingMigrations, readMigrations, type Migration, type SqlSession } from './migrator';
import { checkingCommitOutcome } from './commit-outcome';
import { joinSql, type InlineSql } from './inline-sql';

/** What repositories receive inside a transaction. */
export type Tx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

export type DatabaseTarget = { kind: 'embedded'; dataDir: string | null /* null: in memory */ } | { kind: 'postgres'; url: string };

export interface Database {
  readonly kind: DatabaseTarget['kind'];
  /** Runs fn in a transaction in which only rows of `tenantId` are visible or writable. */
  withTenant<T>(tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs fn in a transaction as atelier_system (bypasses row-level security): platform maintenance only. */
  withSystem<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs fn in a transaction with no tenant set (sees no tenant-owned rows). */
  withoutTenant<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Hot reads without Prisma: `statements` run for `tenantId` in ONE simple-protocol message
   * (`SET TRANSACTION READ ONLY; SELECT set_config('app.tenant_id', ..., true); ...`), whose
   * statements share one implicit transaction: row-level security sees the tenant, nothing can
   * be written, and the setting ends with the message (on error too). One round trip instead of
   * a Prisma interactive transaction's four or more. Returns each statement's rows, in order,
   * with the driver's types (timestamptz as Date, integers and floats as numbers).
   */
  readAsTenant(tenantId: string, statements: readonly InlineSql[]): Promise<Record<string, unknown>[][]>;
  /** True when the database answers and every migration is applied. */
  ready(): Promise<boolean>;
  /** SQL statements sent so far (for tests that bound query counts). */
  readonly statementCount: number;
  /** Transactions begun so far (withTenant, withSystem, withoutTenant; for tests that bound them). */
  readonly transactionCount: number;
  close(): Promise<void>;
}

const APP_ROLE = 'atelier_app';
const SYSTEM_ROLE = 'atelier_system';
/**
 * Extra tries of a transaction whose connection was lost (50, 200, 800 ms apart): the pool
 * may still hold other connections that died at the same moment and are not yet noticed.
 */
const CONNECTION_RETRIES = 3;

// SQLSTATE class 08 (connection exception) and 57P01-57P03 (the server is shutting the
// connection down), node's socket errors, and Prisma's "cannot reach / closed" codes.
const CONNECTION_LOST_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'ECONNRESET',
  'EPIPE',
  'P1001',
  'P1017',
]);
const CONNECTION_LOST_MESSAGE =
  /Connection terminated|terminating connection|server closed the connection|Server has closed the connection|Client has encountered a connection error/i;

/** True when `error` (a Prisma error, its driver adapter error, or a pg error) says the connection was lost. */
export function isConnectionLost(error: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): boolean => {
    if (typeof value !== 'object' || value === null || depth > 5 || seen.has(value)) return false;
    seen.add(value);
    const { code, originalCode, kind, message, cause, meta } = value as {
      code?: unknown;
      originalCode?: unknown;
      kind?: unknown;
      message?: unknown;
      cause?: unknown;
      meta?: { driverAdapterError?: unknown };
    };
    if (
      (typeof code === 'string' && CONNECTION_LOST_CODES.has(code)) ||
      (typeof originalCode === 'string' && CONNECTION_LOST_CODES.has(originalCode))
    )
      return true;
    if (kind === 'ConnectionClosed') return true;
    if (typeof message === 'string' && CONNECTION_LOST_MESSAGE.test(message)) return true;
    return visit(cause, depth + 1) || visit(meta?.driverAdapterError, depth + 1);
  };
  return visit(error, 0);
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function pgliteSession(db: PGlite): SqlSession {
  return {
    exec: async (sql) => {
      await db.exec(sql);
    },
    query: async <Row>(sql: string, params?: unknown[]) => (await db.query<Row>(sql, params)).rows,
  };
}

function pgSession(client: pg.Client): SqlSession {
  return {
    exec: async (sql) => {
      await client.query(sql);
    },
    query: async <Row>(sql: string, params?: unknown[]) => (await client.query(sql, params as unknown[] | undefined)).rows as Row[],
  };
}

/** Splits a postgres URL into discrete fields (a connection string would override other settings). */
export function postgresConfig(url: string): pg.ClientConfig {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname) || '127.0.0.1',
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || 'postgres',
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
  };
}

/** A migrated database behind Prisma (every session as atelier_app), and one-message raw reads. */
interface Driver {
  prisma: PrismaClient<'query'>;
  /** One simple-protocol message; the rows of each of its statements. */
  simpleQuery: (text: string) => Promise<Record<string, unknown>[][]>;
  close(): Promise<void>;
}

async function openEmbedded(dataDir: string | null, migrations: Migration[]): Promise<Driver> {
  if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new PGlite(dataDir ?? undefined);
  await db.waitReady;
  await applyMigrations(pgliteSession(db), migrations);
  // PGlite runs as the superuser postgres: switch the session to the app role.
  await db.exec(`SET ROLE ${APP_ROLE}`);
  return {
    prisma: new PrismaClient({
      adapter: new PrismaPGlite(db),
      log: [{ emit: 'event', level: 'query' }],
      // PGlite runs one transaction at a time: give queued ones time to start.
      transactionOptions: { maxWait: 30_000, timeout: 30_000 },
    }),
    // exec takes PGlite's transaction lock: it never runs inside a Prisma transaction.
    simpleQuery: async (text) => (await db.exec(text)).map((result) => result.rows as Record<string, unknown>[]),
    close: async () => {
      await db.close();
    },
  };
}

async function openPostgres(url: string, migrations: Migration[]): Promise<Driver> {
  const config = postgresConfig(url);
  const migrator = new pg.Client(config);
  await migrator.connect();
  try {
    await applyMigrations(pgSession(migrator), migrations);
  } finally {
    await migrator.end();
  }
  // The role is part of each connection's start-up packet, not a SET ROLE sent after it: a
  // login role that may not act as atelier_app gets no connection at all (FATAL at connect),
  // so no query ever runs as the login role, and RESET ROLE returns to atelier_app.
  const pool = new pg.Pool({ ...config, max: 10, options: `-c role=${APP_ROLE}` });
  // A dropped connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return {
    prisma: new PrismaClient({
      adapter: checkingCommitOutcome(new PrismaPg(pool), { isConnectionLost }),
      log: [{ emit: 'event', level: 'query' }],
      transactionOptions: { maxWait: 10_000, timeout: 30_000 },
    }),
    simpleQuery: async (text) => {
      // No values: pg sends one simple Query message; several statements give an array.
      const result = (await pool.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
      return (Array.isArray(result) ? result : [result]).map((r) => r.rows as Record<string, unknown>[]);
    },
    close: async () => {
      await pool.end();
    },
  };
}

/**
 * A connection that PostgreSQL dropped (restart, failover, pg_terminate_backend) fails what
 * ran on it; `run` may go again (50, 200, 800 ms apart), on a fresh connection.
 */
async function retryingLostConnections<T>(kind: DatabaseTarget['kind'], run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run();
    } catch (error) {
      if (kind !== 'postgres' || attempt > CONNECTION_RETRIES || !isConnectionLost(error)) throw error;
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 50 * 4 ** (attempt - 1)));
    }
  }
}

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  const migrations = readMigrations(migrationsDir);
  const driver = target.kind === 'embedded' ? await openEmbedded(target.dataDir, migrations) : await openPostgres(target.url, migrations);
  const database = createDatabase(target.kind, driver, migrations);
  try {
    await checkRoles(database, target.kind === 'postgres' ? (postgresConfig(target.url).user ?? 'postgres') : 'postgres');
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

function createDatabase(kind: DatabaseTarget['kind'], driver: Driver, migrations: Migration[]): Database {
  const { prisma } = driver;
  let statements = 0;
  prisma.$on('query', () => {
    statements += 1;
  });

  let transactions = 0;
  async function transaction<T>(setup: (tx: Tx) => Promise<unknown>, fn: (tx: Tx) => Promise<T>): Promise<T> {
    transactions += 1;
    const run = () =>
      prisma.$transaction(async (tx) => {
        await setup(tx);
        return fn(tx);
      });
    // A lost connection fails the transaction on it; the pool has already discarded it, so the
    // transaction runs again on a fresh one. Only transactions that did not commit come back
    // here: a loss during the COMMIT of a write is resolved by asking PostgreSQL whether it
    // committed (commit-outcome.ts), so a committed write is never run twice.
    return retryingLostConnections(kind, run);
  }

  const database: Database = {
    kind,
    withTenant(tenantId, fn) {
      if (!UUID.test(tenantId)) throw new Error('withTenant: tenant id must be a uuid');
      return transaction((tx) => tx.$executeRaw`SELECT set_config('app.tenant_id', ${tenantId}, true)`, fn);
    },
    withSystem(fn) {
      return transaction((tx) => tx.$executeRawUnsafe(`SET LOCAL ROLE ${SYSTEM_ROLE}`), fn);
    },
    withoutTenant(fn) {
      return transaction(async () => undefined, fn);
    },
    async readAsTenant(tenantId, reads) {
      // Written into the message as a literal: only a uuid gets that far.
      if (!UUID.test(tenantId)) throw new Error('readAsTenant: tenant id must be a uuid');
      if (reads.length === 0) return [];
      const text = `SET TRANSACTION READ ONLY; SELECT set_config('app.tenant_id', '${tenantId}', true); ${joinSql(reads, '; ').text}`;
      statements += 2 + reads.length;
      const results = await retryingLostConnections(kind, () => driver.simpleQuery(text));
      return results.slice(2);
    },
    async ready() {
      try {
        const pending = await database.withSystem((tx) =>
          pendingMigrations(
            { exec: async () => undefined, query: (sql, params) => tx.$queryRawUnsafe(sql, ...(params ?? [])) },
            migrations,
          ),
        );
        return pending.length === 0;
      } catch {
        return false;
      }
    },
    get statementCount() {
      return statements;
    },
    get transactionCount() {
      return transactions;
    },
    async close() {
      await prisma.$disconnect();
      await driver.close();
    },
  };
  return database;
}

/**
 * Refuses to open a database whose queries would not run as atelier_app (and maintenance as
 * atelier_system): the error names what the operator must grant to the login role.
 */
async function checkRoles(database: Database, login: string): Promise<void> {
  const roleOf = async (run: Database['withSystem']) =>
    (await run((tx) => tx.$queryRaw<{ role: string }[]>`SELECT current_user::text AS role`))[0]?.role;
  let roles: (string | undefined)[];
  try {
    roles = [await roleOf((fn) => database.withoutTenant(fn)), await roleOf((fn) => database.withSystem(fn))];
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n').filter(Boolean).pop() : String(error);
    throw new Error(
      `the database login role "${login}" cannot act as ${APP_ROLE} and ${SYSTEM_ROLE} (GRANT ${APP_ROLE}, ${SYSTEM_ROLE} TO "${login}"): ${reason}`,
    );
  }
  if (roles[0] !== APP_ROLE || roles[1] !== SYSTEM_ROLE) {
    throw new Error(`the database sessions run as ${roles.join(' and ')}, not ${APP_ROLE} and ${SYSTEM_ROLE}`);
  }
}

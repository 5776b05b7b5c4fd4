// A transaction whose connection is lost while its COMMIT is on the way may or may not have
// committed. Retrying it blindly could write twice (a row created again fails on its primary
// key, an increment counts twice, a state change answers as if someone else had made it).
// This wraps the PostgreSQL driver adapter: before the COMMIT of a transaction that wrote, it
// reads the transaction's id; when the COMMIT then fails with the connection lost, it asks
// PostgreSQL on a fresh connection what became of that transaction (txid_status, made for
// exactly this). Committed: the COMMIT counts as done. Aborted: the connection error stands,
// and the caller may retry. Unknown: CommitOutcomeUnknown, which nobody retries.
import type { SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery, Transaction } from '@prisma/driver-adapter-utils';

/** The outcome of a COMMIT could not be learned: the write may or may not be there; never retried. */
export class CommitOutcomeUnknown extends Error {
  readonly code = 'COMMIT_OUTCOME_UNKNOWN';
  constructor(
    readonly transactionId: string,
    detail: string,
  ) {
    super(`the database went away during COMMIT of transaction ${transactionId} and its outcome is unknown (${detail})`);
    this.name = 'CommitOutcomeUnknown';
  }
}

export interface CommitCheckOptions {
  /** True when `error` says the connection was lost (see isConnectionLost). */
  isConnectionLost: (error: unknown) => boolean;
  /** How long to keep asking while the transaction is still in progress or the database does not answer (ms). Default 10000. */
  resolveWithinMs?: number;
}

/** Statements that write; a transaction with none has nothing to lose or repeat. */
const WRITE = /^\s*(?:INSERT|UPDATE|DELETE|MERGE|WITH)\b/i;
const query = (sql: string): SqlQuery => ({ sql, args: [], argTypes: [] });

/** The factory's adapters check an interrupted COMMIT's outcome instead of guessing. */
export function checkingCommitOutcome(factory: SqlDriverAdapterFactory, options: CommitCheckOptions): SqlDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => checkingAdapter(await factory.connect(), options),
  };
}

function checkingAdapter(adapter: SqlDriverAdapter, options: CommitCheckOptions): SqlDriverAdapter {
  return {
    provider: adapter.provider,
    adapterName: adapter.adapterName,
    queryRaw: (q) => adapter.queryRaw(q),
    executeRaw: (q) => adapter.executeRaw(q),
    executeScript: (script) => adapter.executeScript(script),
    getConnectionInfo: adapter.getConnectionInfo?.bind(adapter),
    dispose: () => adapter.dispose(),
    startTransaction: async (isolationLevel) => checkingTransaction(await adapter.startTransaction(isolationLevel), adapter, options),
  };
}

function checkingTransaction(tx: Transaction, adapter: SqlDriverAdapter, options: CommitCheckOptions): Transaction {
  let wrote = false;
  const note = (q: SqlQuery) => {
    if (!wrote && WRITE.test(q.sql)) wrote = true;
  };
  const commit = async (q: SqlQuery): Promise<number> => {
    // Sent before COMMIT: if the connection is lost here, nothing was committed.
    const result = await tx.queryRaw(query('SELECT txid_current_if_assigned()::text AS xid'));
    const xid = result.rows[0]?.[0];
    try {
      return await tx.executeRaw(q);
    } catch (error) {
      if (typeof xid !== 'string' || !options.isConnectionLost(error)) throw error;
      const outcome = await transactionOutcome(adapter, xid, options.resolveWithinMs ?? 10_000);
      if (outcome === 'committed') return 0;
      if (outcome === 'aborted') throw error;
      throw new CommitOutcomeUnknown(xid, outcome);
    }
  };
  return {
    provider: tx.provider,
    adapterName: tx.adapterName,
    options: tx.options,
    queryRaw: (q) => {
      note(q);
      return tx.queryRaw(q);
    },
    executeRaw: (q) => {
      if (wrote && /^\s*COMMIT\s*$/i.test(q.sql)) return commit(q);
      note(q);
      return tx.executeRaw(q);
    },
    commit: () => tx.commit(),
    rollback: () => tx.rollback(),
    createSavepoint: tx.createSavepoint?.bind(tx),
    rollbackToSavepoint: tx.rollbackToSavepoint?.bind(tx),
    releaseSavepoint: tx.releaseSavepoint?.bind(tx),
  };
}

/**
 * 'committed' or 'aborted' once PostgreSQL knows; otherwise, after `withinMs`, what stood in
 * the way ('in progress': the old backend has not finished; or no answer).
 */
async function transactionOutcome(adapter: SqlDriverAdapter, xid: string, withinMs: number): Promise<string> {
  if (!/^\d+$/.test(xid)) return `not a transaction id: ${xid}`;
  const deadline = Date.now() + withinMs;
  let last = 'no answer';
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    try {
      const result = await adapter.queryRaw(query(`SELECT txid_status(${xid})::text AS status`));
      const status = result.rows[0]?.[0];
      if (status === 'committed' || status === 'aborted') return status;
      // null: too old to tell (not after a fresh COMMIT); 'in progress': the backend is still ending.
      last = status === null || status === undefined ? 'too old to tell' : String(status);
    } catch {
      // Not the error's own words: they may say "connection terminated", which would read as a
      // lost connection, and have the transaction retried blindly after all.
      last = 'the database did not answer';
    }
    if (Date.now() + wait > deadline) return last;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

// The one classification of PostgreSQL (node-postgres) failures into catalog codes.
import { SynclineError } from '@syncline/core';

// Every id a transaction writes holds an advisory lock until commit; PostgreSQL's shared lock table
// (max_locks_per_transaction × max_connections entries) can run out under many large concurrent bulks.
const OUT_OF_LOCK_SPACE = '53200';
// Connection failures, administrator shutdown, crash recovery, too many connections.
// Serialization failure, deadlock, lock_timeout: another transaction won; the same work may succeed now.
const CONFLICT = new Set(['40001', '40P01', '55P03']);
const UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P02', '57P03', '53300']);

/** The catalog error for a PostgreSQL failure, or undefined when it is not one Syncline knows. */
export function classifyPgError(err: unknown): SynclineError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  // Class 22, data exception: a value PostgreSQL cannot store (the validation should have refused it);
  // class 23, integrity constraint violation: a value a constraint of the table refuses (a CHECK of the
  // user's own, say).
  if (typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'))) {
    return new SynclineError('SYNC_VALUE_REFUSED', `PostgreSQL refused a value (SQLSTATE ${code})`, { cause: err });
  }
  if (code === OUT_OF_LOCK_SPACE) {
    return new SynclineError(
      'SYNC_UNAVAILABLE',
      'PostgreSQL ran out of lock space (max_locks_per_transaction); retry later or send smaller bulks',
      { cause: err },
    );
  }
  if (typeof code === 'string' && CONFLICT.has(code)) {
    return new SynclineError('SYNC_LOCKED', `a concurrent transaction conflicted (SQLSTATE ${code}); retry`, {
      cause: err,
    });
  }
  if (typeof code === 'string' && UNAVAILABLE.has(code)) {
    return new SynclineError('SYNC_UNAVAILABLE', 'the database is unavailable; retry later', { cause: err });
  }
  if (err instanceof Error && /Connection terminated/i.test(err.message)) {
    return new SynclineError('SYNC_UNAVAILABLE', 'the database connection was lost; retry later', { cause: err });
  }
  return undefined;
}

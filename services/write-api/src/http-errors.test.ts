import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { toSynclineError } from './http-errors.ts';

const pgError = (code: string) =>
  Object.assign(new pg.DatabaseError('out of shared memory (server text)', 0, 'error'), { code });

describe('mapping driver errors to answers', () => {
  it('answers 503 SYNC_UNAVAILABLE, without the server text, when PostgreSQL is out of lock space', () => {
    const e = toSynclineError(pgError('53200'))!;
    expect(e).toMatchObject({ code: 'SYNC_UNAVAILABLE', status: 503 });
    expect(e.message).toMatch(/max_locks_per_transaction/);
    expect(e.message).not.toMatch(/server text/);
  });

  it('answers 503 when PostgreSQL is unreachable or shutting down', () => {
    for (const code of ['ECONNREFUSED', '57P01', '53300']) {
      expect(toSynclineError(Object.assign(new Error('x'), { code }))?.status).toBe(503);
    }
  });

  it('answers 400 SYNC_VALUE_REFUSED for data exceptions and constraint violations', () => {
    for (const code of ['22P05', '22008', '23514', '23505'])
      expect(toSynclineError(pgError(code))?.code).toBe('SYNC_VALUE_REFUSED');
  });

  it('leaves other database errors to the internal-error path', () => {
    expect(toSynclineError(pgError('42P01'))).toBeUndefined();
  });
});

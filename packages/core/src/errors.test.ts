import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, SynclineError } from './errors.ts';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

describe('error catalog', () => {
  it('documents every code with its status, and documents nothing else', () => {
    const documented = new Map(
      [...doc.matchAll(/^\|\s*`(SYNC_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|\s*(yes|no)\s*\|/gm)].map((m) => [m[1], m]),
    );
    for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
      const row = documented.get(code);
      expect(row, `${code} is missing from docs/errors.md`).toBeDefined();
      expect(Number(row![2])).toBe(entry.status);
      expect(row![3]).toBe(entry.retriable ? 'yes' : 'no');
    }
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERROR_CATALOG).sort());
  });

  it('carries code, status and retriable on the error', () => {
    const err = new SynclineError('SYNC_VERSION_MISMATCH', 'nope', { details: [{ path: 'x', message: 'y' }] });
    expect(err).toMatchObject({ code: 'SYNC_VERSION_MISMATCH', status: 412, retriable: false });
    expect(err.details).toHaveLength(1);
  });
});

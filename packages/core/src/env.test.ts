import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_ENV } from './env.ts';

const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');

describe('configuration', () => {
  it('documents every variable of every service in docs/configuration.md', () => {
    const undocumented = Object.keys(ALL_ENV).filter((name) => !doc.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });

  it('documents no variable that does not exist', () => {
    const documented = new Set([...doc.matchAll(/`(SYNCLINE_[A-Z_]+)`/g)].map((m) => m[1]!));
    expect([...documented].filter((name) => !(name in ALL_ENV))).toEqual([]);
  });
});

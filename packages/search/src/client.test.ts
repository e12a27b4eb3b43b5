import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type SearchConfig, searchConnection } from './client.ts';

const base: SearchConfig = {
  SYNCLINE_SEARCH_ENGINE: 'elasticsearch',
  SYNCLINE_ES_URL: ['https://127.0.0.1:9202'],
};
const dir = mkdtempSync(join(tmpdir(), 'syncline-search-security-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const FINGERPRINT = 'AB:'.repeat(31) + 'AB';

describe('search engine settings', () => {
  it('is the URLs alone by default, and reads the CA file and secret files', () => {
    expect(searchConnection({ ...base, SYNCLINE_ES_URL: ['http://a:9200', 'http://b:9200'] })).toEqual({
      engine: 'elasticsearch',
      urls: ['http://a:9200', 'http://b:9200'],
      ca: undefined,
      caFingerprint: undefined,
      auth: undefined,
    });
    expect(
      searchConnection({
        ...base,
        SYNCLINE_ES_CA_FILE: file('ca.pem', 'CA PEM'),
        SYNCLINE_ES_API_KEY_FILE: file('key', 'a2V5\n'),
      }),
    ).toMatchObject({ ca: 'CA PEM', auth: { apiKey: 'a2V5' } });
    expect(
      searchConnection({
        ...base,
        SYNCLINE_SEARCH_ENGINE: 'opensearch',
        SYNCLINE_ES_USERNAME: 'app',
        SYNCLINE_ES_PASSWORD_FILE: file('password', 's3cret\n'),
      }),
    ).toMatchObject({ engine: 'opensearch', auth: { username: 'app', password: 's3cret' } });
    expect(searchConnection({ ...base, SYNCLINE_ES_CA_FINGERPRINT: FINGERPRINT })).toMatchObject({
      caFingerprint: FINGERPRINT,
    });
  });

  it('takes an empty variable as unset: a blank inline secret does not hide the mounted file', () => {
    expect(
      searchConnection({ ...base, SYNCLINE_ES_API_KEY: '', SYNCLINE_ES_API_KEY_FILE: file('key2', 'a2V5') }),
    ).toMatchObject({ auth: { apiKey: 'a2V5' } });
  });

  it('refuses incomplete or contradictory settings with a message naming the variable', () => {
    const refused = (config: Partial<SearchConfig>) => {
      try {
        searchConnection({ ...base, ...config });
      } catch (err) {
        return (err as { code: string; details: Array<{ path: string }> }).details[0]!.path;
      }
      throw new Error('accepted');
    };
    expect(refused({ SYNCLINE_ES_URL: ['http://a:9200'], SYNCLINE_ES_CA_FILE: file('ca2.pem', 'x') })).toBe(
      'SYNCLINE_ES_CA_FILE',
    );
    expect(refused({ SYNCLINE_ES_URL: ['http://a:9200', 'https://b:9200'] })).toBe('SYNCLINE_ES_URL');
    expect(refused({ SYNCLINE_ES_URL: ['https://elastic:changeme@a:9200'] })).toBe('SYNCLINE_ES_URL');
    expect(refused({ SYNCLINE_ES_CA_FILE: file('ca3.pem', 'x'), SYNCLINE_ES_CA_FINGERPRINT: FINGERPRINT })).toBe(
      'SYNCLINE_ES_CA_FINGERPRINT',
    );
    expect(refused({ SYNCLINE_ES_CA_FINGERPRINT: 'not-hex' })).toBe('SYNCLINE_ES_CA_FINGERPRINT');
    expect(refused({ SYNCLINE_ES_CA_FILE: join(dir, 'missing.pem') })).toBe('SYNCLINE_ES_CA_FILE');
    expect(refused({ SYNCLINE_ES_API_KEY: 'k', SYNCLINE_ES_API_KEY_FILE: file('k2', 'k') })).toBe(
      'SYNCLINE_ES_API_KEY_FILE',
    );
    expect(refused({ SYNCLINE_ES_API_KEY: 'k', SYNCLINE_ES_USERNAME: 'u', SYNCLINE_ES_PASSWORD: 'p' })).toBe(
      'SYNCLINE_ES_USERNAME',
    );
    expect(refused({ SYNCLINE_ES_USERNAME: 'u' })).toBe('SYNCLINE_ES_PASSWORD');
    expect(refused({ SYNCLINE_ES_PASSWORD: 'p' })).toBe('SYNCLINE_ES_USERNAME');
    expect(refused({ SYNCLINE_SEARCH_ENGINE: 'opensearch', SYNCLINE_ES_API_KEY: 'k' })).toBe('SYNCLINE_ES_API_KEY');
    expect(refused({ SYNCLINE_SEARCH_ENGINE: 'opensearch', SYNCLINE_ES_CA_FINGERPRINT: FINGERPRINT })).toBe(
      'SYNCLINE_ES_CA_FINGERPRINT',
    );
  });
});

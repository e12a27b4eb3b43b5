// Elasticsearch as Elastic Cloud and secured clusters run it, on the local stack's secured node
// (stack.sh: HTTPS with the stack's own CA, x-pack security, an API key of user syncline): the write
// API (relay embedded, ?wait=indexed), a sink and the command line's reconcile and reindex as real
// processes. Once idle, the index equals PostgreSQL, and no log holds a secret. Basic authentication
// and a CA fingerprint work too. A wrong key, missing credentials, an untrusted certificate, a node
// that does not answer and the other engine each stop a process at start-up, naming the setting.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import {
  createNamespace,
  eventually,
  type Namespace,
  REPO_ROOT,
  type RunningService,
  SearchProbe,
  spawnService,
} from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compareEsWithPg } from './support/compare.ts';
import { setUpDemo } from './support/harness.ts';
import { serviceEnv } from './support/namespaced.ts';

const execFileAsync = promisify(execFile);
const NONE = { missing: [], orphaned: [], different: [] };
/** base64("not-an-id:not-a-secret"): the shape of an API key, known to no cluster. */
const WRONG_KEY = Buffer.from('not-an-id:not-a-secret').toString('base64');

describe('Elasticsearch over HTTPS with an API key', () => {
  let ns: Namespace;
  let probe: SearchProbe;
  const node = () => {
    const secure = ns.services.secureEs;
    if (!secure) throw new Error('these scenarios need the local stack, which runs a secured Elasticsearch node');
    return secure;
  };
  const apiKey = () => readFileSync(node().apiKeyFile, 'utf8').trim();

  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'essec');
    probe = new SearchProbe({
      url: node().url,
      ca: readFileSync(node().caFile, 'utf8'),
      authorization: `ApiKey ${apiKey()}`,
    });
  });
  afterAll(async () => {
    await probe?.dropPrefix(ns.indexPrefix);
    await ns?.cleanup();
  });

  /** The services' environment on the secured node. */
  const secureEnv = (path: string, overrides: Record<string, string> = {}) => ({
    ...serviceEnv(ns, path),
    SYNCLINE_SEARCH_ENGINE: 'elasticsearch',
    SYNCLINE_ES_URL: node().url,
    SYNCLINE_ES_CA_FILE: node().caFile,
    SYNCLINE_ES_API_KEY_FILE: node().apiKeyFile,
    ...overrides,
  });
  const cli = (env: Record<string, string>, args: string[]) =>
    execFileAsync(process.execPath, [`${REPO_ROOT}services/cli/src/main.ts`, ...args], {
      env: { ...process.env, ...env },
    });

  /** Starts a service that must exit during start-up; its log. */
  const refusedStartLog = async (name: string, main: string, env: Record<string, string>) => {
    const started = await spawnService(name, main, env).then(
      (s) => s,
      (err: Error) => err,
    );
    if (!(started instanceof Error)) {
      await started.kill();
      throw new Error(`${name} started`);
    }
    return readFileSync(started.message.split('see ')[1]!.trim(), 'utf8');
  };

  it('refuses an anonymous request (401)', async () => {
    const anonymous = new SearchProbe({ url: node().url, ca: readFileSync(node().caFile, 'utf8') });
    expect((await anonymous.send('GET', '/_cluster/health')).status).toBe(401);
    expect((await probe.send('GET', '/_cluster/health')).status).toBe(200);
  });

  it('runs the pipeline end to end with a least-privilege API key: ?wait=indexed, sink, reconcile, reindex; logs no secret', async () => {
    const { path, products } = await setUpDemo(ns, { partitions: 2 });
    // The key docs/deployment.md tells users to make: only what Syncline needs, only on the collection's indexes.
    // (An API key cannot make another one with privileges: the user makes it, as an operator would.)
    const password = readFileSync(node().passwordFile, 'utf8').trim();
    const admin = new SearchProbe({
      url: node().url,
      ca: readFileSync(node().caFile, 'utf8'),
      authorization: `Basic ${Buffer.from(`${node().username}:${password}`).toString('base64')}`,
    });
    const { encoded: key } = await admin.ok('POST', '/_security/api_key', {
      name: `syncline-${ns.name}`,
      role_descriptors: {
        syncline: {
          cluster: ['monitor', 'manage_index_templates'],
          indices: [
            {
              names: [`${products.index.alias}*`],
              privileges: ['create_index', 'index', 'delete', 'read', 'view_index_metadata', 'manage'],
            },
          ],
        },
      },
    });
    const env = secureEnv(path, { SYNCLINE_ES_API_KEY_FILE: '', SYNCLINE_ES_API_KEY: key });
    const services: RunningService[] = [];
    try {
      services.push(await spawnService('secure-es-sink', 'services/es-sink/src/main.ts', env));
      const api = await spawnService('secure-es-api', 'services/write-api/src/main.ts', env);
      services.push(api);
      for (let i = 0; i < 30; i++) {
        const res = await fetch(
          `http://127.0.0.1:${api.port}/v1/collections/products/documents/sec-${i}${i === 29 ? '?wait=indexed' : ''}`,
          {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name: `secured ${i}`, price: i }),
          },
        );
        expect(res.status).toBeLessThan(300);
      }
      // ?wait=indexed answered: the node shows that version now (real-time GET).
      const [{ v }] = (
        await ns.pool.query<{ v: string }>(`select syncline_version as v from ${products.table} where id = 'sec-29'`)
      ).rows as [{ v: string }];
      expect((await probe.get(products.index.alias, 'sec-29')).version).toBe(Number(v));
      await eventually(async () => expect(await compareEsWithPg(probe, ns.pool, products)).toEqual(NONE), {
        timeoutMs: 60_000,
      });

      const reconciled = JSON.parse((await cli(env, ['reconcile', 'products', '--json'])).stdout);
      expect(reconciled).toMatchObject({ missing: [], stale: [], orphaned: [], diverged: [], ahead: [] });
      expect(reconciled.checked.postgres).toBe(30);
      const rebuilt = JSON.parse((await cli(env, ['reindex', 'products', '--json'])).stdout);
      expect(rebuilt.documents).toBe(30);
      expect(await probe.aliasTargets(products.index.alias)).toEqual([rebuilt.to]);
      expect(await compareEsWithPg(probe, ns.pool, products)).toEqual(NONE);
    } finally {
      await Promise.all(services.map((s) => s.kill()));
    }
    const secret = Buffer.from(key, 'base64').toString('utf8').split(':')[1]!;
    for (const s of services) {
      const log = readFileSync(s.logFile, 'utf8');
      for (const leaked of [key, secret]) expect(log).not.toContain(leaked);
    }
  });

  it('takes basic authentication with the CA given by its fingerprint', async () => {
    const { path } = await setUpDemo(ns, { partitions: 1 });
    const env = secureEnv(path, {
      SYNCLINE_ES_API_KEY_FILE: '',
      SYNCLINE_ES_CA_FILE: '',
      SYNCLINE_ES_CA_FINGERPRINT: node().caFingerprint,
      SYNCLINE_ES_USERNAME: node().username,
      SYNCLINE_ES_PASSWORD_FILE: node().passwordFile,
    });
    const sink = await spawnService('secure-es-basic', 'services/es-sink/src/main.ts', env);
    await sink.kill();
    const [status] = JSON.parse((await cli(env, ['status', '--json'])).stdout);
    expect(status).toMatchObject({ collection: 'products', aliasTarget: expect.stringMatching(/_\d{6}$/) });
  });

  for (const [what, overrides, setting] of [
    ['a wrong API key', { SYNCLINE_ES_API_KEY_FILE: '', SYNCLINE_ES_API_KEY: WRONG_KEY }, 'SYNCLINE_ES_API_KEY'],
    ['no credentials', { SYNCLINE_ES_API_KEY_FILE: '' }, 'SYNCLINE_ES_API_KEY'],
    [
      'a wrong password',
      { SYNCLINE_ES_API_KEY_FILE: '', SYNCLINE_ES_USERNAME: 'syncline', SYNCLINE_ES_PASSWORD: 'not-the-password' },
      'SYNCLINE_ES_USERNAME',
    ],
    ['an untrusted certificate', { SYNCLINE_ES_CA_FILE: 'OTHER' }, 'SYNCLINE_ES_CA_FILE'],
    [
      'a CA fingerprint that does not match',
      { SYNCLINE_ES_CA_FILE: '', SYNCLINE_ES_CA_FINGERPRINT: 'AB'.repeat(32) },
      'SYNCLINE_ES_CA_FINGERPRINT',
    ],
  ] as const) {
    it(`stops the sink and the write API at start-up on ${what}, naming ${setting}`, async () => {
      const { path } = await setUpDemo(ns, { partitions: 1 });
      const env = secureEnv(path, {
        ...overrides,
        ...(overrides.SYNCLINE_ES_CA_FILE === 'OTHER' && { SYNCLINE_ES_CA_FILE: node().otherCaFile }),
      });
      for (const [name, main] of [
        ['sink', 'services/es-sink/src/main.ts'],
        ['api', 'services/write-api/src/main.ts'],
      ] as const) {
        const log = await refusedStartLog(`refused-es-${name}`, main, env);
        expect(log).toContain(setting);
        expect(log).toContain('invalid configuration');
        expect(log).not.toMatch(/\n\s+at /); // no stack trace
        expect(log).not.toContain('not-the-password');
        expect(log).not.toContain(WRONG_KEY);
      }
      // The command line says the same and exits 1.
      const failed = await cli(env, ['status']).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain(setting);
    });
  }

  it('stops the sink when no search engine answers, naming SYNCLINE_ES_URL; the write API starts and warns', async () => {
    const { path } = await setUpDemo(ns, { partitions: 1 });
    const env = { ...serviceEnv(ns, path), SYNCLINE_ES_URL: 'http://127.0.0.1:1' };
    const log = await refusedStartLog('unreachable-es-sink', 'services/es-sink/src/main.ts', env);
    expect(log).toContain('SYNCLINE_ES_URL');
    expect(log).not.toMatch(/\n\s+at /);
    // Writes do not need the search engine: the write API accepts them, and ?wait=indexed waits until it is back.
    const api = await spawnService('unreachable-es-api', 'services/write-api/src/main.ts', env);
    try {
      const res = await fetch(`http://127.0.0.1:${api.port}/v1/collections/products/documents/offline-1`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'written while the search engine is away', price: 1 }),
      });
      expect(res.status).toBe(201);
    } finally {
      await api.kill();
    }
    expect(readFileSync(api.logFile, 'utf8')).toContain('the search engine did not answer');
  });

  it('stops the sink when the engine is not the one SYNCLINE_SEARCH_ENGINE names, both ways', async () => {
    const { path } = await setUpDemo(ns, { partitions: 1 });
    const opensearch = ns.services.opensearchUrl!;
    for (const [engine, url] of [
      ['opensearch', ns.services.esUrl],
      ['elasticsearch', opensearch],
    ] as const) {
      const env = { ...serviceEnv(ns, path), SYNCLINE_SEARCH_ENGINE: engine, SYNCLINE_ES_URL: url };
      const log = await refusedStartLog(`wrong-engine-${engine}`, 'services/es-sink/src/main.ts', env);
      expect(log).toContain('SYNCLINE_SEARCH_ENGINE');
    }
  });
});

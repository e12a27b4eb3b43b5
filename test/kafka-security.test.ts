// Kafka over SASL_SSL, as managed services run it, on the local stack's secured listener of the same
// broker (stack.sh: TLS with the stack's CA, SCRAM-SHA-256/512 and PLAIN): the write API (its relay
// embedded) and a sink as real processes, on each client. Once idle, Elasticsearch equals PostgreSQL,
// and no log line holds the password. Wrong credentials and an untrusted certificate stop a service at
// start-up with a message naming the setting, and so does a cluster that does not answer at all.
import { readFileSync } from 'node:fs';
import { Client as EsClient } from '@elastic/elasticsearch';
import { KAFKA_CLIENTS } from '@syncline/kafka';
import { createNamespace, eventually, type Namespace, type RunningService, spawnService } from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setUpDemo } from './support/harness.ts';
import { serviceEnv } from './support/namespaced.ts';

describe('Kafka over SASL_SSL', () => {
  let ns: Namespace;
  let es: EsClient;
  const secure = () => {
    const listener = ns.services.kafkaSecure;
    if (!listener) throw new Error('these scenarios need the local stack, whose broker has a SASL_SSL listener');
    return listener;
  };
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'security');
    es = new EsClient({ node: ns.services.esUrl });
  });
  afterAll(async () => {
    await es?.close();
    await ns?.cleanup();
  });

  /** The services' environment on the secured listener. */
  const secureEnv = (path: string, client: string, overrides: Record<string, string> = {}) => {
    const s = secure();
    return {
      ...serviceEnv(ns, path),
      SYNCLINE_KAFKA_CLIENT: client,
      SYNCLINE_KAFKA_BROKERS: s.brokers.join(','),
      SYNCLINE_KAFKA_TLS: 'true',
      SYNCLINE_KAFKA_TLS_CA_FILE: s.caFile,
      SYNCLINE_KAFKA_SASL_MECHANISM: client === 'kafkajs' ? 'scram-sha-256' : 'scram-sha-512',
      SYNCLINE_KAFKA_SASL_USERNAME: s.username,
      SYNCLINE_KAFKA_SASL_PASSWORD_FILE: s.passwordFile,
      ...overrides,
    };
  };

  /** Starts a sink that must exit during start-up; its log. */
  const refusedStartLog = async (name: string, env: Record<string, string>) => {
    const started = await spawnService(name, 'services/es-sink/src/main.ts', env).then(
      (s) => s,
      (err: Error) => err,
    );
    expect(started).toBeInstanceOf(Error);
    return readFileSync((started as Error).message.split('see ')[1]!.trim(), 'utf8');
  };

  for (const client of KAFKA_CLIENTS) {
    it(`runs the pipeline end to end with ${client}, and logs no secret`, async () => {
      const { path, products } = await setUpDemo(ns, { partitions: 2 });
      const env = secureEnv(path, client, {
        SYNCLINE_RELAY_ID: `${ns.name}-${client}`,
        SYNCLINE_SINK_GROUP: `${ns.groupPrefix}${client}`,
      });
      const services: RunningService[] = [];
      try {
        services.push(await spawnService(`secure-sink-${client}`, 'services/es-sink/src/main.ts', env));
        const api = await spawnService(`secure-api-${client}`, 'services/write-api/src/main.ts', env);
        services.push(api);
        const ids = Array.from({ length: 20 }, (_, i) => `${client}-${i}`);
        for (const id of ids) {
          const res = await fetch(`http://127.0.0.1:${api.port}/v1/collections/products/documents/${id}`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name: id, price: 1 }),
          });
          expect(res.status).toBeLessThan(300);
        }
        await eventually(
          async () => {
            const { docs } = await es.mget({ index: products.index.alias, ids, realtime: true });
            const versions = docs.map((d) => ('found' in d && d.found ? d._version : null));
            const { rows } = await ns.pool.query<{ id: string; v: string }>(
              `select id, syncline_version as v from ${products.table} where id = any($1) order by id`,
              [ids],
            );
            const expected = new Map(rows.map((r) => [r.id, Number(r.v)]));
            expect(versions).toEqual(ids.map((id) => expected.get(id)));
          },
          { timeoutMs: 60_000 },
        );
      } finally {
        await Promise.all(services.map((s) => s.kill()));
      }
      const password = readFileSync(secure().passwordFile, 'utf8').trim();
      for (const s of services) expect(readFileSync(s.logFile, 'utf8')).not.toContain(password);
    });
  }

  for (const [what, overrides, setting] of [
    [
      'a wrong password',
      { SYNCLINE_KAFKA_SASL_PASSWORD_FILE: '', SYNCLINE_KAFKA_SASL_PASSWORD: 'not-the-password' },
      'SYNCLINE_KAFKA_SASL_PASSWORD',
    ],
    ['an untrusted certificate', { SYNCLINE_KAFKA_TLS_CA_FILE: '' }, 'SYNCLINE_KAFKA_TLS_CA_FILE'],
  ] as const) {
    for (const client of KAFKA_CLIENTS) {
      it(`stops the sink at start-up on ${what} with ${client}, naming ${setting}`, async () => {
        const { path } = await setUpDemo(ns, { partitions: 1 });
        const env = secureEnv(path, client, {
          ...overrides,
          ...(setting === 'SYNCLINE_KAFKA_TLS_CA_FILE' && { SYNCLINE_KAFKA_TLS_CA_FILE: secure().otherCaFile }),
        });
        const log = await refusedStartLog(`secure-refused-${client}`, env);
        expect(log).toContain(setting);
        expect(log).not.toContain('not-the-password');
      });
    }
  }

  for (const client of KAFKA_CLIENTS) {
    it(`stops the sink at start-up when no broker answers with ${client}, naming SYNCLINE_KAFKA_BROKERS`, async () => {
      const { path } = await setUpDemo(ns, { partitions: 1 });
      const env = { ...serviceEnv(ns, path), SYNCLINE_KAFKA_CLIENT: client, SYNCLINE_KAFKA_BROKERS: '127.0.0.1:1' };
      const log = await refusedStartLog(`unreachable-${client}`, env);
      expect(log).toContain('no Kafka broker of SYNCLINE_KAFKA_BROKERS answered');
    });
  }
});

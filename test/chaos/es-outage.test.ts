// Guarantee 1 across an Elasticsearch outage: ES stops for 30 s during a write load; the sink retries
// (transient, never dead-lettered), and once ES is back, Elasticsearch equals PostgreSQL exactly.
import { deadLetterTopic } from '@syncline/kafka';
import {
  createNamespace,
  eventually,
  type Namespace,
  searchEngineName,
  startStack,
  stopService,
} from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compareEsWithPg } from '../support/compare.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { startWriteLoad } from '../support/load.ts';

const services = inject('services');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(services.mode === 'local')(`search engine outage during writes (${searchEngineName()})`, () => {
  let ns: Namespace;
  let h: Harness;
  beforeAll(async () => {
    ns = await createNamespace(services, 'esout');
    h = await startHarness(ns);
  });
  afterAll(async () => {
    await startStack();
    await h?.close();
    await ns?.cleanup();
  });

  it('retries through the outage and ends equal, with no dead letters', async () => {
    await h.startSink();
    const load = startWriteLoad(h.app, { writers: 4, pauseMs: 10 });
    await sleep(4000);
    await stopService(searchEngineName());
    const before = load.writes;
    await sleep(30_000);
    expect(load.writes - before).toBeGreaterThan(200);
    await startStack();
    await sleep(3000);
    await load.stop();
    expect(load.failures).toBe(0);
    await eventually(
      async () => {
        expect(await compareEsWithPg(ns.probe, ns.pool, h.collection)).toEqual({
          missing: [],
          orphaned: [],
          different: [],
        });
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    const admin = ns.kafkajs.admin();
    await admin.connect();
    const dlq = await admin.fetchTopicOffsets(deadLetterTopic(h.collection.topic));
    await admin.disconnect();
    expect(dlq.reduce((s, p) => s + Number(p.high), 0)).toBe(0);
    const metrics = await (await fetch(`http://127.0.0.1:${h.sinks[0]!.port}/metrics`)).text();
    expect(Number(/syncline_sink_retries_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
  });
});

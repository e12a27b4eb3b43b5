// Guarantees 1, 2 and 4 end to end on the real stack: with a write load running, sinks are killed
// with SIGKILL mid-batch, or added and removed (rebalances); once idle, Elasticsearch equals
// PostgreSQL exactly — every id, every field, every version — and no dead letters were written.
import { deadLetterTopic } from '@syncline/kafka';
import { createNamespace, eventually, type Namespace, searchEngineName } from '@syncline/testkit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { compareEsWithPg } from './support/compare.ts';
import { type Harness, startHarness } from './support/harness.ts';
import { startWriteLoad } from './support/load.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`pipeline under sink faults (${searchEngineName()})`, () => {
  let ns: Namespace;
  let h: Harness;
  beforeEach(async () => {
    ns = await createNamespace(inject('services'), 'pipe');
    h = await startHarness(ns);
  });
  afterEach(async () => {
    await h?.close();
    await ns?.cleanup();
  });

  const settle = async () => {
    await eventually(
      async () => {
        const drift = await compareEsWithPg(ns.probe, ns.pool, h.collection);
        expect(drift).toEqual({ missing: [], orphaned: [], different: [] });
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    const admin = ns.kafkajs.admin();
    await admin.connect();
    const dlq = await admin.fetchTopicOffsets(deadLetterTopic(h.collection.topic)).catch(() => []);
    await admin.disconnect();
    expect(dlq.reduce((s, p) => s + Number(p.high), 0)).toBe(0);
  };

  it('ends equal after the sink is SIGKILLed mid-batch again and again', async () => {
    await h.startSink();
    const load = startWriteLoad(h.app);
    for (let k = 0; k < 4; k++) {
      await sleep(2500);
      const victim = h.sinks.at(-1)!;
      await victim.kill('SIGKILL');
      await h.startSink();
    }
    await sleep(1500);
    await load.stop();
    expect(load.failures).toBe(0);
    expect(load.writes).toBeGreaterThan(500);
    await settle();
  });

  it('ends equal while sink instances join and leave the group (rebalances)', async () => {
    await Promise.all([h.startSink(), h.startSink(), h.startSink()]);
    const load = startWriteLoad(h.app);
    await sleep(4000);
    await h.startSink();
    await sleep(4000);
    await h.sinks[0]!.kill('SIGTERM');
    await sleep(4000);
    await load.stop();
    expect(load.failures).toBe(0);
    await settle();
  });

  it('answers ?wait=indexed only once the search index has the version, and 504 when it cannot in time', async () => {
    await h.startSink();
    const put = await h.app.inject({
      method: 'PUT',
      url: '/v1/collections/products/documents/ryw-1?wait=indexed&timeout=20000',
      payload: { name: 'read your writes', price: 1 },
    });
    expect(put.statusCode).toBe(201);
    const version = put.json().version as number;
    // Real-time GET straight after the answer: the version is there, no refresh needed.
    const doc = await ns.probe.get(h.collection.index.alias, 'ryw-1');
    expect(doc.version).toBe(version);
    const del = await h.app.inject({
      method: 'DELETE',
      url: '/v1/collections/products/documents/ryw-1?wait=indexed&timeout=20000',
    });
    expect(del.statusCode).toBe(200);
    expect((await ns.probe.get(h.collection.index.alias, 'ryw-1')).found).toBe(false);

    // With the sink gone, the write still commits, and the wait ends with a clear 504.
    await Promise.all(h.sinks.map((s) => s.kill('SIGKILL')));
    const late = await h.app.inject({
      method: 'PUT',
      url: '/v1/collections/products/documents/ryw-2?wait=indexed&timeout=500',
      payload: { name: 'not yet', price: 2 },
    });
    expect(late.statusCode).toBe(504);
    expect(late.json().error.code).toBe('SYNC_WAIT_TIMEOUT');
    const row = await ns.pool.query("select syncline_version from products where id = 'ryw-2'");
    expect(row.rowCount).toBe(1);
    expect(late.headers.etag).toBe(`"${row.rows[0].syncline_version}"`);

    // A delete of a document whose upsert is not indexed yet: "not found" is not "deleted". With no
    // sink it cannot be indexed, so the wait ends in 504 (it used to answer 200 at once).
    const unindexed = async (id: string) =>
      expect(
        (
          await h.app.inject({
            method: 'PUT',
            url: `/v1/collections/products/documents/${id}`,
            payload: { name: id, price: 3 },
          })
        ).statusCode,
      ).toBe(201);
    await unindexed('ryw-3');
    const early = await h.app.inject({
      method: 'DELETE',
      url: '/v1/collections/products/documents/ryw-3?wait=indexed&timeout=1000',
    });
    expect(early.statusCode).toBe(504);
    // With a sink again, the delete's answer comes once the upsert came and went: the document is not in
    // the index at the answer, and does not appear afterwards.
    await unindexed('ryw-4');
    await h.startSink();
    const del2 = await h.app.inject({
      method: 'DELETE',
      url: '/v1/collections/products/documents/ryw-4?wait=indexed&timeout=30000',
    });
    expect(del2.statusCode).toBe(200);
    for (let k = 0; k < 5; k++) {
      expect((await ns.probe.get(h.collection.index.alias, 'ryw-4')).found).toBe(false);
      await sleep(300);
    }
  });

  it('refuses wait timeouts outside 1..SYNCLINE_WAIT_INDEXED_MAX_MS', async () => {
    for (const timeout of ['0', '-1', 'abc', '1.5', '60001']) {
      const res = await h.app.inject({
        method: 'PUT',
        url: `/v1/collections/products/documents/t-1?wait=indexed&timeout=${timeout}`,
        payload: { name: 't', price: 1 },
      });
      expect(res.statusCode, timeout).toBe(400);
      expect(res.json().error.details[0].path).toBe('timeout');
    }
  });
});

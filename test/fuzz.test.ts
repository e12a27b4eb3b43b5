// The fuzzer of `./dev fuzz` in the suite, on a smaller budget: over real sockets, no answer is a 5xx
// or outside the documented error shape, and once idle Elasticsearch equals PostgreSQL.
import { createNamespace, eventually, type Namespace } from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compareEsWithPg } from './support/compare.ts';
import { fuzzWriteApi } from './support/fuzz.ts';
import { type Harness, startHarness } from './support/harness.ts';

describe('fuzzing the write API', () => {
  let ns: Namespace;
  let h: Harness;
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'fuzz');
    h = await startHarness(ns, { partitions: 2 });
    await h.startSink();
  });
  afterAll(async () => {
    await h?.close();
    await ns?.cleanup();
  });

  it('answers 2000 hostile requests without a 5xx, each error documented, and ends without drift', async () => {
    const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const result = await fuzzWriteApi({ url, apiKey: 'unused', requests: 2000, seed: 42, prefix: 'fz-' });
    expect(result.violations).toEqual([]);
    expect(result.requests).toBeGreaterThan(1900);
    expect(result.written.size).toBeGreaterThan(10);
    await eventually(
      async () =>
        expect(await compareEsWithPg(ns.probe, ns.pool, h.collection)).toEqual({
          missing: [],
          orphaned: [],
          different: [],
        }),
      {
        timeoutMs: 60_000,
        intervalMs: 1000,
      },
    );
  });
});

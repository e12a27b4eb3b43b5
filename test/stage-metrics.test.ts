// The stages of commit → indexed on the services' /metrics (issue 16, point 1): the relay's commit →
// read and commit → published, the sink's commit → fetched and commit → indexed, with buckets that tell
// 10 ms from 50 ms. A few writes through the real write API and sink move every one of them.

import { createNamespace, type Namespace, type RunningService, spawnService } from '@syncline/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { namespacedDeclaration, serviceEnv } from './support/namespaced.ts';

const histogram = async (service: RunningService, name: string) => {
  const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
  const count = Number(new RegExp(`^${name}_count\\{[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"`, 'gm'))].map((m) => m[1]);
  return { count, buckets };
};

describe('stage latency metrics', () => {
  let ns: Namespace;
  const running: RunningService[] = [];
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'stages');
  });
  afterAll(async () => {
    await Promise.all(running.map((s) => s.kill()));
    await ns?.cleanup();
  });

  it('moves every stage histogram of the relay and the sink', async () => {
    const { path } = namespacedDeclaration(ns, 2);
    const env = serviceEnv(ns, path);
    const api = await spawnService('stages-write-api', 'services/write-api/src/main.ts', env);
    running.push(api);
    running.push(await spawnService('stages-sink', 'services/es-sink/src/main.ts', env));
    const sink = running[1]!;
    for (let i = 0; i < 10; i++) {
      const res = await fetch(
        `http://127.0.0.1:${api.port}/v1/collections/products/documents/s-${i}?wait=indexed&timeout=30000`,
        {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: `stage ${i}`, price: i }),
        },
      );
      expect(res.status).toBe(201);
    }
    for (const [service, name] of [
      [api, 'syncline_relay_commit_to_read_seconds'],
      [api, 'syncline_relay_commit_to_published_seconds'],
      [sink, 'syncline_sink_commit_to_fetched_seconds'],
      [sink, 'syncline_sink_commit_to_indexed_seconds'],
    ] as const) {
      const h = await histogram(service, name);
      expect(h.count, name).toBeGreaterThan(0);
      expect(h.buckets, name).toEqual(expect.arrayContaining(['0.005', '0.01', '0.025', '0.05', '0.1']));
    }
  });
});

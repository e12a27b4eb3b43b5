// Guarantee 6: with Elasticsearch slowed down (a proxy that delays every request by 1.5 s), a large
// backlog in Kafka does not grow the sink's memory: Kafka fetch limits and one batch in flight per
// partition bound it, and lag grows instead.

import { collectionTopic, ensureTopics } from '@syncline/kafka';
import { EventCodec, SCHEMA_HEADER } from '@syncline/schema';
import { createNamespace, type Namespace, type RunningService, spawnService } from '@syncline/testkit';
import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { upsert } from './support/events.ts';
import { namespacedDeclaration, serviceEnv } from './support/namespaced.ts';
import { rssMiB, startSlowProxy } from './support/slow-proxy.ts';

// Node's baseline plus Kafka fetch buffers (10 MiB per fetch) and one bulk chunk per partition.
const RSS_BOUND_MIB = 400;

describe('sink memory under a slow Elasticsearch', () => {
  let ns: Namespace;
  let sink: RunningService | undefined;
  let proxy: Awaited<ReturnType<typeof startSlowProxy>> | undefined;
  beforeAll(async () => {
    ns = await createNamespace(inject('services'), 'memory');
  });
  afterAll(async () => {
    await sink?.kill('SIGKILL');
    await proxy?.close();
    await ns?.cleanup();
  });

  it(`stays under ${RSS_BOUND_MIB} MiB RSS while a 120 MB backlog waits`, async () => {
    const { declaration, path } = namespacedDeclaration(ns, 4);
    const products = declaration.collections[0]!;
    await ensureTopics(ns.kafka, declaration.collections.map(collectionTopic));
    const codec = new EventCodec(products);
    const producer = ns.kafkajs.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const description = 'x'.repeat(2000);
    for (let b = 0; b < 60; b++) {
      await producer.send({
        topic: products.topic,
        acks: 1,
        messages: Array.from({ length: 1000 }, (_, i) => {
          const e = upsert(`m-${b}-${i}`, b * 1000 + i + 1, { description });
          return {
            key: codec.encodeKey(e.id),
            value: codec.encode(e),
            headers: { [SCHEMA_HEADER]: codec.fingerprint },
          };
        }),
      });
    }
    await producer.disconnect();

    proxy = await startSlowProxy(ns.services.esUrl, 1500);
    sink = await spawnService('sink-memory', 'services/es-sink/src/main.ts', {
      ...serviceEnv(ns, path),
      SYNCLINE_ES_URL: proxy.url,
    });
    const samples: number[] = [];
    for (let i = 0; i < 40; i++) {
      samples.push(rssMiB(sink.pid));
      await new Promise((r) => setTimeout(r, 500));
    }
    const peak = Math.max(...samples);
    const firstHalf = Math.max(...samples.slice(0, 20));
    const secondHalf = Math.max(...samples.slice(20));
    const metrics = await (await fetch(`http://127.0.0.1:${sink.port}/metrics`)).text();
    const indexed = Number(/syncline_sink_documents_indexed_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
    console.log(
      `sink peak RSS ${peak.toFixed(0)} MiB (first 10 s ${firstHalf.toFixed(0)}, last 10 s ${secondHalf.toFixed(0)}); indexed ${indexed} of 60000 in 20 s through the slow proxy`,
    );
    expect(proxy.requests()).toBeGreaterThan(0);
    expect(indexed).toBeLessThan(60_000);
    expect(peak).toBeLessThan(RSS_BOUND_MIB);
    // A plateau, not a slope: memory does not keep growing with the waiting backlog.
    expect(secondHalf).toBeLessThan(firstHalf * 1.5 + 20);
  });
});

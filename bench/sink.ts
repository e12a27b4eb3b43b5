// Sink benchmark (issue 4), each figure against baselines measured in the same run:
//   drain a pre-filled topic of N events into Elasticsearch with the sink, versus
//   (a) the ceiling: the same documents sent from memory with the client's bulk helper into an index
//       with the same settings, and (b) the naive way: one awaited index call per event.
// (Commit-to-indexed latency under load is ./dev bench latency's.)
// Usage: ./dev bench sink [--events 200000] [--naive 3000] [--rounds 3]
import { createLogger, createMetricsRegistry } from '@syncline/core';
import { buildSink } from '@syncline/es-sink';
import { collectionTopic, ensureTopics } from '@syncline/kafka';
import { EventCodec } from '@syncline/schema';
import { ensureIndex, indexMappings, indexSettings } from '@syncline/sink';
import { arg, benchDocument, benchmark, median, produceEvents, rate, timed, writeResult } from './common.ts';

const EVENTS = arg('events', 200_000);
const NAIVE = arg('naive', 3000);
const ROUNDS = arg('rounds', 3);
const sinkConfig = {
  SYNCLINE_SINK_CONSUMERS: 2,
  SYNCLINE_SINK_CONCURRENCY: 6,
  SYNCLINE_SINK_MAX_DOCS: 10_000,
  SYNCLINE_SINK_MAX_BYTES: 10 << 20,
  SYNCLINE_SINK_FETCH_MAX_BYTES_PER_PARTITION: 2 << 20,
  SYNCLINE_SINK_FETCH_MAX_BYTES: 20 << 20,
  SYNCLINE_SINK_RETRY_INITIAL_MS: 100,
  SYNCLINE_SINK_RETRY_MAX_MS: 5000,
  SYNCLINE_SINK_BULK_TIMEOUT_MS: 60_000,
  SYNCLINE_SINK_SESSION_TIMEOUT_MS: 30_000,
};

await benchmark('benchsink', async (ns, declaration) => {
  const { es, kafka } = ns;
  const c = { ...declaration.collections[0]!, partitions: 6 };
  const decl = { collections: [c] };
  await ensureTopics(kafka, decl.collections.map(collectionTopic));
  const codec = new EventCodec(c);
  const now = Date.now();
  const events = Array.from({ length: EVENTS }, (_, i) => ({
    collection: 'products',
    id: `p-${i}`,
    op: 'UPSERT' as const,
    version: i + 1,
    committedAt: now,
    document: benchDocument(i, 'A product used by the sink benchmark, with a description of moderate length.', now),
  }));
  await produceEvents(ns.kafkajs, codec, c.topic, EVENTS, (i) => events[i]!);

  // The ceiling (bulk helper, from memory, into an index with the collection's settings and mapping) and
  // the sink draining the topic into a fresh index with a fresh group alternate; round 0 warms both up
  // and is not counted, the medians of the others are compared.
  const ceilingRates: number[] = [];
  const sinkRates: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const ceilingIndex = `${ns.indexPrefix}ceiling`;
    await es.indices.create({ index: ceilingIndex, settings: indexSettings(c), mappings: indexMappings(c) as never });
    const ceiling = await timed(() =>
      es.helpers.bulk({
        datasource: events,
        flushBytes: 5 << 20,
        concurrency: 6,
        onDocument: (e) => [
          { index: { _index: ceilingIndex, _id: e.id, version: e.version, version_type: 'external' } },
          e.document,
        ],
      }),
    );
    await es.indices.delete({ index: ceilingIndex });

    // A fresh index, created before the clock starts (the ceiling's index is too).
    await es.indices.delete({ index: `${c.index.alias}_*`, expand_wildcards: 'all' }, { ignore: [404] });
    await ensureIndex(ns.search, c);
    const registry = createMetricsRegistry('bench-sink', false);
    const sink = await buildSink({
      config: { ...sinkConfig, SYNCLINE_SINK_GROUP: `${ns.groupPrefix}sink-${round}` },
      declaration: decl,
      kafka,
      search: ns.search,
      log: createLogger('bench', 'silent'),
      registry,
    });
    const indexed = registry.getSingleMetric('syncline_sink_documents_indexed_total')!;
    const drain = await timed(async () => {
      await sink.start();
      while ((await indexed.get()).values.reduce((n, x) => n + x.value, 0) < EVENTS) {
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    await sink.stop();
    if (round > 0) {
      ceilingRates.push(rate(EVENTS, ceiling.ms));
      sinkRates.push(rate(EVENTS, drain.ms));
    }
  }

  // The naive baseline: one awaited index call per event.
  const naiveIndex = `${ns.indexPrefix}naive`;
  await es.indices.create({ index: naiveIndex, settings: indexSettings(c), mappings: indexMappings(c) as never });
  const naive = await timed(async () => {
    for (const { id, version, document } of events.slice(0, NAIVE)) {
      await es.index({ index: naiveIndex, id, version, version_type: 'external', document });
    }
  });

  const sinkRate = median(sinkRates);
  const ceilingRate = median(ceilingRates);
  const naiveRate = rate(NAIVE, naive.ms);
  writeResult(
    'sink',
    `Command: \`./dev bench sink --events ${EVENTS} --naive ${NAIVE} --rounds ${ROUNDS}\`

| measure | docs/s | ratio | target |
|---|---|---|---|
| sink drains ${EVENTS} events (6 partitions, 1 instance) | ${sinkRate} | | |
| ceiling: bulk helper from memory, same settings | ${ceilingRate} | sink / ceiling = ${(sinkRate / ceilingRate).toFixed(2)} | ≥ 0.85 |
| naive: one awaited index call per event (${NAIVE} events) | ${naiveRate} | sink / naive = ${(sinkRate / naiveRate).toFixed(1)}× | ≥ 10× |

Sink and ceiling are medians of ${ROUNDS} alternating rounds after one uncounted warm-up round; all rounds: sink
${sinkRates.join(', ')} vs ceiling ${ceilingRates.join(', ')} docs/s. The sink's time runs from its start (index found,
dead-letter topics ensured, ${sinkConfig.SYNCLINE_SINK_CONSUMERS} consumers joining the group) until it counted every
event indexed; configuration: ${Object.entries(sinkConfig)
      .filter(([k]) => /CONSUMERS|CONCURRENCY|MAX_DOCS|FETCH/.test(k))
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}.`,
    { sink: sinkRate, ceiling: ceilingRate, naive: naiveRate },
  );
});

// Operations benchmark (issue 5), each figure against a baseline measured in the same run:
//   reindex docs/s rebuilding N documents from the topic  vs  the raw bulk ceiling (bulk helper from
//   memory into an index with the same loading settings); and reconcile ids/s over N rows.
// Usage: ./dev bench operations [--docs 500000] [--rounds 3]
import { driftCount, reconcile, reindex } from '@syncline/cli';
import { collectionTopic, ensureTopics } from '@syncline/kafka';
import { migrate } from '@syncline/outbox';
import { EventCodec } from '@syncline/schema';
import { ensureIndex, ID_FIELD, indexMappings, indexSettings } from '@syncline/sink';
import { arg, benchDocument, benchmark, median, produceEvents, rate, timed, writeResult } from './common.ts';

const DOCS = arg('docs', 500_000);
const ROUNDS = arg('rounds', 3);
const BASE = Date.parse('2026-01-01T00:00:00Z');

await benchmark('benchops', async (ns, declaration) => {
  const { es, kafka } = ns;
  const c = declaration.collections[0]!;
  await migrate(ns.pool, declaration);
  await ensureTopics(kafka, declaration.collections.map(collectionTopic));
  await ensureIndex(ns.search, c);
  const doc = (n: number) => benchDocument(n, 'A product used by the operations benchmark.', BASE);
  const id = (n: number) => `p-${String(n).padStart(7, '0')}`;

  // The topic: one event per document, as the relay would have written them.
  const codec = new EventCodec(c);
  await produceEvents(ns.kafkajs, codec, c.topic, DOCS, (n) => ({
    collection: 'products',
    id: id(n),
    op: 'UPSERT',
    version: n + 1,
    committedAt: BASE,
    document: doc(n),
  }));
  // The same rows in PostgreSQL, for reconcile.
  await ns.pool.query(
    `insert into products (id, name, description, price, tags, in_stock, updated_at, syncline_version)
     select 'p-' || lpad(g::text, 7, '0'), 'Product ' || g, 'A product used by the operations benchmark.', g % 1000,
            array['bench', 't' || (g % 10)], g % 2 = 0, '2026-01-01T00:00:00Z'::timestamptz + g * interval '1 millisecond', g + 1
     from generate_series(0, $1::int - 1) g`,
    [DOCS],
  );

  // The ceiling: the same end state without Kafka — a fresh index with reindex's loading settings, the
  // same documents bulked from memory, then the settings restored and a refresh that makes them
  // searchable (with refresh off, building the segments is deferred to that refresh).
  // The two alternate, ROUNDS times each, and the medians are compared (one run of each is noisy here).
  const ceilingIndex = `${ns.indexPrefix}ceiling`;
  const ceilingRates: number[] = [];
  const bulkRates: number[] = [];
  const reindexRates: number[] = [];
  let rebuiltInto = '';
  // Round 0 warms up both sides (JIT, Elasticsearch's first indexing of this shape) and is not counted.
  for (let round = 0; round <= ROUNDS; round++) {
    const counted = round > 0;
    const ceiling = await timed(async () => {
      await es.indices.create({
        index: ceilingIndex,
        settings: { ...indexSettings(c), refresh_interval: '-1', number_of_replicas: 0 },
        mappings: indexMappings(c) as never,
      });
      const bulk = await timed(() =>
        es.helpers.bulk({
          datasource: (async function* () {
            for (let n = 0; n < DOCS; n++) yield { n };
          })(),
          flushBytes: 8 << 20,
          concurrency: 3,
          onDocument: ({ n }) => [
            { index: { _index: ceilingIndex, _id: id(n), version: n + 1, version_type: 'external' } },
            { ...doc(n), [ID_FIELD]: id(n) },
          ],
        }),
      );
      if (counted) bulkRates.push(rate(DOCS, bulk.ms));
      await es.indices.putSettings({
        index: ceilingIndex,
        settings: { refresh_interval: c.index.refreshInterval, number_of_replicas: c.index.replicas },
      });
      await es.indices.refresh({ index: ceilingIndex });
    });
    await es.indices.delete({ index: ceilingIndex });
    if (counted) ceilingRates.push(rate(DOCS, ceiling.ms));
    const rebuilt = await timed(() => reindex(ns.pool, kafka, ns.search, c, { graceSeconds: 0 }));
    if (rebuilt.value.documents !== DOCS)
      throw new Error(`reindex left ${rebuilt.value.documents} documents, not ${DOCS}`);
    if (counted) reindexRates.push(rate(DOCS, rebuilt.ms));
    rebuiltInto = rebuilt.value.to;
  }
  const checked = await timed(() => reconcile(ns.pool, ns.search, declaration, c));
  const drift = driftCount(checked.value);

  const reindexRate = median(reindexRates);
  const ceilingRate = median(ceilingRates);
  const bulkRate = median(bulkRates);
  writeResult(
    'operations',
    `Command: \`./dev bench operations --docs ${DOCS} --rounds ${ROUNDS}\`

| measure | figure | baseline (same run) | ratio | target |
|---|---|---|---|---|
| \`reindex\` rebuilds ${DOCS} documents from the topic (consume, bulk, settings, swap) | ${reindexRate} docs/s | ${ceilingRate} docs/s, bulk helper from memory into a fresh index, same settings, refreshed | ${(reindexRate / ceilingRate).toFixed(2)} | ≥ 0.90 |
| \`reconcile\` compares ${DOCS} rows with ${DOCS} documents (drift found: ${drift}) | ${rate(DOCS, checked.ms)} ids/s | | | |

Figures are medians of ${ROUNDS} alternating rounds (ceiling, then reindex) after one uncounted warm-up round; all rounds: reindex ${reindexRates.join(', ')}
vs ceiling ${ceilingRates.join(', ')} docs/s. Each reindex read all ${DOCS} events into a new index (the last: ${rebuiltInto})
and left exactly ${DOCS} documents; its time includes creating the index, restoring settings, refreshing and the alias
swap. The ceiling's time includes the same index creation, settings and refresh; its bulk requests alone ran at
${bulkRate} docs/s (median; reindex against that alone: ${(reindexRate / bulkRate).toFixed(2)}).`,
  );
});

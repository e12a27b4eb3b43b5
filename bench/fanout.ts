// Fan-out benchmark (issue "Documents joined from several tables"): one brand renamed under N products
// (the demo's joined documents), with the relay (and its assembler) and one sink as their own
// processes, measured against baselines taken in the same run:
//   - documents/s of the fan-out (from the rename's commit until the sink indexed all N) ÷ the sink's
//     bulk ceiling: the same N documents sent from memory with the client's bulk helper into an index
//     with the same settings and mapping;
//   - freshness of unrelated single-row writes (other products, paced) during the fan-out ÷ the same
//     writes without it: commit → the change visible to a real-time GET, from exact samples.
// Usage: ./dev bench fanout [--products 100000] [--rate 50] [--baseline-seconds 15] [--fanout-rate 0] [--fanout-backlog 1000]
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureTopics, topicsOf } from '@syncline/kafka';
import { enableCapture, migrate } from '@syncline/outbox';
import { withNamespace } from '@syncline/schema';
import { indexMappings, indexSettings } from '@syncline/sink';
import { type RunningService, spawnService, writeTempJson } from '@syncline/testkit';
import {
  DEMO_JOINED_SCHEMA_SQL,
  DEMO_SCHEMA_SQL,
  joinedDemoDeclaration,
  serviceEnv,
} from '../test/support/namespaced.ts';
import { arg, benchmark, cpuSeconds, latencySummary, pgBackends, pids, rate, timed, writeResult } from './common.ts';

const PRODUCTS = arg('products', 100_000);
const RATE = arg('rate', 50);
const BASELINE_SECONDS = arg('baseline-seconds', 15);
const UNRELATED = 1000;
/** SYNCLINE_ASSEMBLE_FANOUT_RATE for the relay (0: no limit). */
const FANOUT_RATE = arg('fanout-rate', 0);
/** SYNCLINE_ASSEMBLE_FANOUT_BACKLOG for the relay. */
const FANOUT_BACKLOG = arg('fanout-backlog', 1000);

/** The sum of a counter's samples in a /metrics text. */
const counter = (metrics: string, name: string) =>
  [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?)`, 'gm'))].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );

await benchmark('benchfanout', async (ns) => {
  const base = withNamespace(joinedDemoDeclaration, { topicPrefix: ns.topicPrefix, indexPrefix: ns.indexPrefix });
  const products = base.collections[0]!;
  const declaration = { collections: [products] };
  const path = writeTempJson(ns.name, declaration);
  await migrate(ns.pool, declaration);
  await ns.pool.query(DEMO_SCHEMA_SQL);
  await ns.pool.query(DEMO_JOINED_SCHEMA_SQL);
  await enableCapture(ns.pool, products);
  await ensureTopics(ns.kafka, topicsOf(declaration.collections));
  const env = {
    ...serviceEnv(ns, path),
    SYNCLINE_ASSEMBLE_FANOUT_RATE: String(FANOUT_RATE),
    SYNCLINE_ASSEMBLE_FANOUT_BACKLOG: String(FANOUT_BACKLOG),
  };
  const running: RunningService[] = [];
  try {
    const relay = await spawnService('bench-fanout-relay', 'services/outbox-relay/src/main.ts', env);
    const sink = await spawnService('bench-fanout-sink', 'services/es-sink/src/main.ts', env);
    running.push(relay, sink);
    const indexed = async () =>
      counter(
        await (await fetch(`http://127.0.0.1:${sink.port}/metrics`)).text(),
        'syncline_sink_documents_indexed_total',
      );

    // The catalogue: N products of one brand, UNRELATED products of another, some reviews.
    await ns.pool.query(`insert into brands values ('big', 'Before'), ('other', 'Other')`);
    await ns.pool.query(
      `insert into products (id, name, description, price, tags, in_stock, updated_at, brand_id)
       select 'p-' || g, 'Product ' || g, 'A product of the fan-out benchmark', g % 1000, '{bench}', true, now(), 'big'
       from generate_series(1, $1) g`,
      [PRODUCTS],
    );
    await ns.pool.query(
      `insert into products (id, name, price, brand_id) select 'u-' || g, 'Unrelated ' || g, 0, 'other' from generate_series(1, $1) g`,
      [UNRELATED],
    );
    await ns.pool.query(
      `insert into reviews select 'r-' || g, 'p-' || (g * 97 % $1 + 1), g % 5 + 1, 'Fine' from generate_series(1, 2000) g`,
      [PRODUCTS],
    );
    const total = PRODUCTS + UNRELATED;
    while ((await indexed()) < total) await sleep(200);
    console.log(`catalogue indexed: ${total} documents`);

    // Unrelated single-row writes, paced, each observed until a real-time GET shows it.
    let write = 0;
    const pending = new Map<string, { price: number; at: number }>();
    const observe = async (samples: number[], until: () => boolean) => {
      while (!until() || pending.size > 0) {
        if (pending.size) {
          const ids = [...pending.keys()];
          const { docs } = await ns.es.mget({ index: products.index.alias, ids, _source_includes: ['price'] });
          const now = performance.now();
          for (const d of docs) {
            const p = pending.get(d._id);
            const source = 'found' in d && d.found ? (d._source as { price: number }) : undefined;
            if (p && source?.price === p.price) {
              samples.push(now - p.at);
              pending.delete(d._id);
            }
          }
        }
        await sleep(10);
      }
    };
    const writeLoad = async (until: () => boolean) => {
      const start = performance.now();
      for (let n = 0; !until(); n++) {
        const wait = start + (n * 1000) / RATE - performance.now();
        if (wait > 0) await sleep(wait);
        const id = `u-${(write % UNRELATED) + 1}`;
        const price = ++write;
        await ns.pool.query('update products set price = $1 where id = $2', [price, id]);
        pending.set(id, { price, at: performance.now() });
      }
    };
    const phase = async (until: () => boolean) => {
      const samples: number[] = [];
      await Promise.all([writeLoad(until), observe(samples, until)]);
      return latencySummary(samples);
    };

    // Without a fan-out.
    const baselineEnd = performance.now() + BASELINE_SECONDS * 1000;
    const quiet = await phase(() => performance.now() > baselineEnd);

    // The fan-out: one statement renames the brand of N products.
    const before = await indexed();
    let done = false;
    const renamedCount = async () => {
      await ns.es.indices.refresh({ index: products.index.alias });
      const r = await ns.es.count({ index: products.index.alias, query: { term: { 'brand.name.keyword': 'After' } } });
      return r.count;
    };
    const groups = {
      relay: [relay.pid],
      sink: [sink.pid],
      'writer + observer (this process)': [process.pid],
      Kafka: pids('kafka.Kafka'),
      Elasticsearch: pids('org.elasticsearch.bootstrap'),
    };
    const cpuBefore = cpuSeconds({ ...groups, PostgreSQL: pids('^postgres') });
    const backendsBefore = await pgBackends(ns);
    await ns.pool.query(`update brands set name = 'After' where id = 'big'`);
    const fanout = timed(async () => {
      // Every fanned-out document indexed: first the sink's count (which also counts the unrelated writes,
      // so it gets there a little early), then the index itself, refreshed, every 20 ms.
      while ((await indexed()) - before < PRODUCTS) await sleep(20);
      while ((await renamedCount()) < PRODUCTS) await sleep(20);
      done = true;
    });
    const busy = await phase(() => done);
    const fanoutMs = (await fanout).ms;
    const cpuAfter = cpuSeconds({ ...groups, PostgreSQL: pids('^postgres') });
    const backendsAfter = await pgBackends(ns);
    const perDoc = (s: number) => ((s * 1e6) / PRODUCTS).toFixed(0);
    const cpuTable = [...Object.keys(groups), 'PostgreSQL']
      .map((g) => {
        const used = cpuAfter[g]! - cpuBefore[g]!;
        return `| ${g} | ${used.toFixed(1)} | ${perDoc(used)} |`;
      })
      .join('\n');
    const pgTable = [...Map.groupBy([...backendsAfter], ([, b]) => b.app)]
      .map(([app, list]) => {
        const used = list.reduce((n, [pid, b]) => n + b.cpu - (backendsBefore.get(pid)?.cpu ?? 0), 0);
        return used >= 0.05 ? `| ${app} | ${used.toFixed(1)} | ${perDoc(used)} |` : '';
      })
      .filter(Boolean)
      .join('\n');
    const check = { count: await renamedCount() };

    // The sink's bulk ceiling: the same documents, from memory, bulk helper, same settings and mapping.
    const ceilingIndex = `${ns.indexPrefix}ceiling`;
    await ns.es.indices.create({
      index: ceilingIndex,
      settings: indexSettings(products),
      mappings: indexMappings(products) as never,
    });
    const { rows } = await ns.pool.query<{ id: string; doc: Record<string, unknown> }>(
      `select p.id, jsonb_build_object('name', p.name, 'description', p.description, 'price', p.price::float8, 'tags', p.tags,
         'in_stock', p.in_stock, 'updated_at', p.updated_at, 'brand', jsonb_build_object('id', 'big', 'name', 'After'),
         'reviews', '[]'::jsonb) as doc
       from products p where p.brand_id = 'big'`,
    );
    let version = 1;
    const ceiling = await timed(() =>
      ns.es.helpers.bulk({
        datasource: rows,
        flushBytes: 5 << 20,
        concurrency: 6,
        onDocument: (r) => [
          { index: { _index: ceilingIndex, _id: r.id, version: version++, version_type: 'external' } },
          r.doc,
        ],
      }),
    );
    await ns.es.indices.delete({ index: ceilingIndex });

    const fanoutRate = rate(PRODUCTS, fanoutMs);
    const ceilingRate = rate(rows.length, ceiling.ms);
    const row = (label: string, s: ReturnType<typeof latencySummary>) =>
      `| ${label} | ${s.p50} | ${s.p90} | ${s.p99} | ${s.max} | ${s.samples} |`;
    writeResult(
      FANOUT_RATE || FANOUT_BACKLOG !== 1000 ? `fanout-rate-${FANOUT_RATE}-backlog-${FANOUT_BACKLOG}` : 'fanout',
      `Command: \`./dev bench fanout --products ${PRODUCTS} --rate ${RATE} --baseline-seconds ${BASELINE_SECONDS} --fanout-rate ${FANOUT_RATE} --fanout-backlog ${FANOUT_BACKLOG}\`

The demo's joined product documents (brand and reviews): ${PRODUCTS} products of brand \`big\`, ${UNRELATED} of another brand,
2000 reviews. The relay (with the assembler inside, \`SYNCLINE_ASSEMBLE_BATCH_SIZE\` default) and one sink (defaults) run as their own
processes; this process writes and observes. One statement (\`update brands set name = 'After' where id = 'big'\`) fans out to
${PRODUCTS} documents: the assembler expands it to the products and assembles them in batches, after the documents that
writers touched directly.

| measure | documents/s | ratio | target |
|---|---|---|---|
| fan-out: rename committed → all ${PRODUCTS} documents indexed (${(fanoutMs / 1000).toFixed(1)} s) | ${fanoutRate} | fan-out / ceiling = ${(fanoutRate / ceilingRate).toFixed(2)} | ≥ 0.5 |
| sink's bulk ceiling: the same documents from memory, bulk helper, same settings and mapping | ${ceilingRate} | | |

Documents carrying the new brand name afterwards: ${check.count} of ${PRODUCTS}.

Freshness of unrelated single-row writes (\`update products set price = … where id = 'u-…'\`, ${RATE}/s, each one observed
until a real-time GET shows it; exact samples, ms):

| | p50 | p90 | p99 | max | samples |
|---|---|---|---|---|---|
${row(`without a fan-out (${BASELINE_SECONDS} s)`, quiet)}
${row('during the fan-out', busy)}

p99 during ÷ without = **${(busy.p99 / quiet.p99).toFixed(2)}** (target ≤ 2).

CPU during the fan-out (${(fanoutMs / 1000).toFixed(1)} s, so ${((2 * fanoutMs) / 1000).toFixed(1)} core-seconds on 2 cores):

| process | CPU s | µs per document |
|---|---|---|
${cpuTable}

PostgreSQL's backends by application:

| application | CPU s | µs per document |
|---|---|---|
${pgTable}`,
    );
  } finally {
    await Promise.all(running.map((s) => s.kill('SIGKILL')));
  }
});

// ./dev bench latency [--rate N] [--seconds N] [--connections N]: how fresh the index stays under load.
// The write API (its relay embedded) and one sink run as their own processes, as in ./dev up; this
// process is only the load generator and the observer. It paces PUTs at a steady rate over keep-alive
// connections and, for every 10th write, polls Elasticsearch's real-time multi-get until that version
// is there: PUT answered → version indexed, from exact samples. Beside it, in the same run, a bare
// single-document Elasticsearch write at a low rate, and each stage's histogram from /metrics.
import { Client as EsClient } from '@elastic/elasticsearch';
import { type Namespace, type RunningService, spawnService } from '@syncline/testkit';
import { setUpDemo } from '../test/support/harness.ts';
import { serviceEnv } from '../test/support/namespaced.ts';
import { arg, benchmark, cpuSeconds, latencySummary, median, pgBackends, pids, writeResult } from './common.ts';
import { LoadConnection } from './http-load.ts';

const RATE = arg('rate', 500);
const SECONDS = arg('seconds', 20);
const CONNECTIONS = arg('connections', 64);
const SAMPLE_EVERY = 10;
const BULK = arg('bulk', 10_000);
const POLL_MS = arg('poll', 10);
const CAPTURE = arg('capture', 1) === 1;
/** 1: the relay as its own process (outbox-relay) instead of embedded in the write API. */
const SEPARATE_RELAY = arg('separate-relay', 0) === 1;

/** Quantile bounds of a Prometheus histogram (upper bucket bounds), for the stage breakdown. */
function histogram(metrics: string, name: string) {
  const buckets = [...metrics.matchAll(new RegExp(`${name}_bucket\\{le="([^"]+)"[^}]*\\} (\\d+)`, 'g'))].map((m) => ({
    le: m[1]!,
    n: Number(m[2]),
  }));
  const total = buckets.at(-1)?.n ?? 0;
  const q = (p: number) => buckets.find((b) => b.n >= p * total)?.le ?? 'n/a';
  return { p50: q(0.5), p99: q(0.99), n: total };
}

await benchmark('latency', async (ns) => {
  const { path, products } = await setUpDemo(ns, { capture: CAPTURE });
  const env = serviceEnv(ns, path);
  const services: RunningService[] = [];
  const es = new EsClient({ node: ns.services.esUrl });
  try {
    const sink = await spawnService('bench-sink', 'services/es-sink/src/main.ts', env);
    services.push(sink);
    const api = await spawnService('bench-write-api', 'services/write-api/src/main.ts', {
      ...env,
      SYNCLINE_EMBEDDED_RELAY: String(!SEPARATE_RELAY),
    });
    services.push(api);
    const relay = SEPARATE_RELAY
      ? await spawnService('bench-relay', 'services/outbox-relay/src/main.ts', env)
      : undefined;
    if (relay) services.push(relay);
    const connections = await Promise.all(Array.from({ length: CONNECTIONS }, () => LoadConnection.open(api.port)));
    // The bare single-document write, into an index of its own.
    const bareIndex = `${ns.indexPrefix}bare`;
    await es.indices.create({ index: bareIndex });
    // Warm up: the pipeline's first writes pay connections, JIT and the sink's first fetch.
    const write = async (conn: LoadConnection, i: number) => {
      const id = `l-${i % 5000}`;
      const r = await conn.request(
        'PUT',
        `/v1/collections/products/documents/${id}`,
        JSON.stringify({ name: `L ${i}`, price: i % 1000 }),
      );
      if (r.status !== 200 && r.status !== 201) throw new Error(`PUT answered ${r.status}: ${r.body}`);
      return { id, version: (JSON.parse(r.body) as { version: number }).version, at: performance.now() };
    };
    for (let i = 0; i < 200; i++) await write(connections[0]!, i);
    await new Promise((r) => setTimeout(r, 2000));

    const pending = new Map<string, { version: number; at: number }>();
    const indexed: number[] = [];
    const bare: number[] = [];
    const answered: number[] = [];
    let stop = false;
    // The observer: one real-time multi-get of every sampled write not yet seen, every POLL_MS.
    const observer = (async () => {
      while (!stop || pending.size) {
        if (pending.size) {
          const ids = [...pending.keys()];
          const { docs } = await es.mget({ index: products.index.alias, ids, _source: false, realtime: true });
          const now = performance.now();
          for (const d of docs) {
            const want = pending.get(d._id);
            if (want && 'found' in d && d.found && (d._version ?? 0) >= want.version) {
              indexed.push(now - want.at);
              pending.delete(d._id);
            }
          }
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    })();
    const bareLoop = (async () => {
      for (let i = 0; !stop; i++) {
        const t = performance.now();
        await es.index({ index: bareIndex, id: `b-${i % 100}`, document: { name: `B ${i}`, price: i } });
        bare.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    // The load: write i is due at start + i / RATE, on the next free connection.
    const idle = [...connections];
    const waiters: ((c: LoadConnection) => void)[] = [];
    const take = () => idle.pop() ?? new Promise<LoadConnection>((r) => waiters.push(r));
    const give = (c: LoadConnection) => (waiters.length ? waiters.shift()!(c) : idle.push(c));
    const total = RATE * SECONDS;
    const groups = {
      'write API': [api.pid],
      ...(relay ? { relay: [relay.pid] } : {}),
      sink: [sink.pid],
      'load generator + observer': [process.pid],
      Kafka: pids('kafka.Kafka'),
      Elasticsearch: pids('org.elasticsearch.bootstrap'),
    };
    // PostgreSQL's backends come and go: all of its processes at each reading.
    const cpuBefore = cpuSeconds({ ...groups, PostgreSQL: pids('^postgres') });
    const backendsBefore = await pgBackends(ns);
    const start = performance.now();
    const inflight: Promise<void>[] = [];
    let late = 0;
    for (let i = 0; i < total; i++) {
      const wait = start + (i * 1000) / RATE - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -50) late++;
      const conn = await take();
      const sent = performance.now();
      inflight.push(
        write(conn, i).then((w) => {
          give(conn);
          answered.push(w.at - sent);
          if (i % SAMPLE_EVERY === 0) pending.set(w.id, { version: w.version, at: w.at });
        }),
      );
    }
    await Promise.all(inflight);
    const elapsed = (performance.now() - start) / 1000;
    const cpuAfter = cpuSeconds({ ...groups, PostgreSQL: pids('^postgres') });
    const backendsAfter = await pgBackends(ns);
    stop = true;
    await Promise.all([observer, bareLoop]);
    for (const c of connections) c.close();

    const apiMetrics = await (await fetch(`http://127.0.0.1:${(relay ?? api).port}/metrics`)).text();
    const sinkMetrics = await (await fetch(`http://127.0.0.1:${sink.port}/metrics`)).text();
    // A _bulk of BULK operations answered after the commit, and the same answered once indexed (?wait=indexed),
    // alternating, after the pipeline drained the load.
    await new Promise((r) => setTimeout(r, 3000));
    const bulkConnection = await LoadConnection.open(api.port);
    const bulkMs: { plain: number[]; waited: number[] } = { plain: [], waited: [] };
    for (let round = 0; round < 4; round++) {
      for (const mode of ['plain', 'waited'] as const) {
        const body = JSON.stringify({
          operations: Array.from({ length: BULK }, (_, k) => ({
            op: 'upsert',
            id: `w-${k}`,
            document: { name: `W ${round} ${mode} ${k}`, price: k % 1000 },
          })),
        });
        const t = performance.now();
        const r = await bulkConnection.request(
          'POST',
          `/v1/collections/products/_bulk${mode === 'waited' ? '?wait=indexed' : ''}`,
          body,
        );
        if (r.status !== 200) throw new Error(`_bulk answered ${r.status}: ${r.body.slice(0, 300)}`);
        if (round > 0) bulkMs[mode].push(performance.now() - t); // round 0 warms up
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    bulkConnection.close();
    const plainBulk = median(bulkMs.plain);
    const waitedBulk = median(bulkMs.waited);

    const e2e = latencySummary(indexed);
    const b = latencySummary(bare);
    const put = latencySummary(answered);
    const stages = [
      ['commit → relay read', histogram(apiMetrics, 'syncline_relay_commit_to_read_seconds')],
      ['commit → Kafka acknowledged (per batch)', histogram(apiMetrics, 'syncline_relay_commit_to_published_seconds')],
      ['relay Kafka transaction', histogram(apiMetrics, 'syncline_relay_produce_seconds')],
      ['commit → sink fetched', histogram(sinkMetrics, 'syncline_sink_commit_to_fetched_seconds')],
      ['commit → bulk acknowledged', histogram(sinkMetrics, 'syncline_sink_commit_to_indexed_seconds')],
    ] as const;
    writeResult(
      ['latency', CAPTURE ? '' : 'owned-table', SEPARATE_RELAY ? 'relay-process' : ''].filter(Boolean).join('-'),
      `Command: \`./dev bench latency --rate ${RATE} --seconds ${SECONDS} --connections ${CONNECTIONS}\`

${total} PUTs over HTTP in ${elapsed.toFixed(1)} s (${Math.round(total / elapsed)}/s; ${late} sent more than 50 ms late),
${SEPARATE_RELAY ? 'write API, relay' : 'write API (relay embedded)'} and one sink as their own processes${CAPTURE ? ' (products captured, as in ./dev up)' : ' (products a table Syncline owns)'}; every ${SAMPLE_EVERY}th write observed by a
real-time multi-get every ${POLL_MS} ms.

| ms | p50 | p90 | p99 | max | samples | target |
|---|---|---|---|---|---|---|
| PUT answered → version in Elasticsearch | ${e2e.p50} | ${e2e.p90} | ${e2e.p99} | ${e2e.max} | ${e2e.samples} | p50 ≤ 50, p99 ≤ 150 |
| PUT sent → answered | ${put.p50} | ${put.p90} | ${put.p99} | ${put.max} | ${put.samples} | |
| bare single-document Elasticsearch write, same run | ${b.p50} | ${b.p90} | ${b.p99} | ${b.max} | ${b.samples} | |

A _bulk of ${BULK} upserts, medians of 3 alternating rounds after a warm-up: answered after the commit
${Math.round(plainBulk)} ms (${bulkMs.plain.map(Math.round).join(', ')}), with ?wait=indexed ${Math.round(waitedBulk)} ms
(${bulkMs.waited.map(Math.round).join(', ')}): **${(waitedBulk / plainBulk).toFixed(2)}×** (target ≤ 2×).

Stages (upper bounds of the services' histogram buckets, seconds):

| stage | p50 ≤ | p99 ≤ | observations |
|---|---|---|---|
${stages.map(([name, h]) => `| ${name} | ${h.p50} | ${h.p99} | ${h.n} |`).join('\n')}

CPU during the load (of ${(2 * elapsed).toFixed(0)} core-seconds on 2 cores):

| process | CPU s | ms per write |
|---|---|---|
${[...Object.keys(groups), 'PostgreSQL']
  .map((g) => {
    const used = cpuAfter[g]! - cpuBefore[g]!;
    return `| ${g} | ${used.toFixed(1)} | ${((used * 1000) / total).toFixed(2)} |`;
  })
  .join('\n')}

PostgreSQL's client backends by application (sessions opened during the load counted from 0):

| application | CPU s | ms per write |
|---|---|---|
${[...Map.groupBy([...backendsAfter], ([, b]) => b.app)]
  .map(([app, list]) => {
    const used = list.reduce((n, [pid, b]) => n + b.cpu - (backendsBefore.get(pid)?.cpu ?? 0), 0);
    return `| ${app} | ${used.toFixed(1)} | ${((used * 1000) / total).toFixed(2)} |`;
  })
  .join('\n')}`,
      {
        p50: e2e.p50,
        p90: e2e.p90,
        p99: e2e.p99,
        max: e2e.max,
        rate: Math.round(total / elapsed),
        bareP99: b.p99,
        waitRatio: waitedBulk / plainBulk,
      },
    );
  } finally {
    await Promise.all(services.map((s) => s.kill()));
    await es.close();
  }
});

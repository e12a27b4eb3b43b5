// Shared benchmark plumbing: the machine's description, timing, and writing results next to it.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { type ChangeEvent, type Declaration, type EventCodec, SCHEMA_HEADER, withNamespace } from '@syncline/schema';
import { createNamespace, kafkaClientName, type Namespace, REPO_ROOT, startServices } from '@syncline/testkit';
import type { Kafka } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { demoDeclaration } from '../test/support/namespaced.ts';

/** Runs a benchmark in a namespace of its own (the demo declaration under its prefixes), removed after; then exits. */
export async function benchmark(label: string, run: (ns: Namespace, declaration: Declaration) => Promise<void>) {
  const { services } = await startServices();
  const ns = await createNamespace(services, label);
  let failed = false;
  try {
    // The demo's products are captured; the benchmarks measure a table Syncline owns unless they set up capture.
    const base = withNamespace(demoDeclaration, { topicPrefix: ns.topicPrefix, indexPrefix: ns.indexPrefix });
    await run(ns, { collections: base.collections.map((c) => ({ ...c, capture: false })) });
  } catch (err) {
    console.error(err);
    failed = true;
  } finally {
    await ns.cleanup();
  }
  process.exit(failed ? 1 : 0);
}

export function machine(client: string | null = kafkaClientName()): string {
  const pg = execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-tAc', 'show server_version'])
    .toString()
    .trim();
  return [
    `- CPU: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    `- memory: ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    `- Node.js ${process.version}, PostgreSQL ${pg}, Kafka 3.9.2 (local KRaft), Elasticsearch 9.5.0 (integ-test distribution, 1 GiB heap)`,
    ...(client ? [`- Kafka client of every Syncline process: ${client} (SYNCLINE_KAFKA_CLIENT)`] : []),
    '- everything (load generator, services, PostgreSQL, Kafka, Elasticsearch) on the same machine',
  ].join('\n');
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/**
 * Writes bench/results/<name>.md (<name>-<client>.md when the Kafka client is not the default), and
 * appends the run's key figures to SYNCLINE_BENCH_FIGURES when set (bench/clients.ts collects them).
 */
export function writeResult(
  name: string,
  markdown: string,
  figures: Record<string, number> = {},
  /** false: the result compares clients (bench/clients.ts). */
  oneClient = true,
): void {
  const dir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const client = kafkaClientName();
  const file = client === 'kafkajs' ? `${name}.md` : `${name}-${client}.md`;
  const text = `# ${name} — ${new Date().toISOString()}\n\n${machine(oneClient ? client : null)}\n\n${markdown}\n`;
  writeFileSync(join(dir, file), text);
  console.log(text);
  const sink = process.env.SYNCLINE_BENCH_FIGURES;
  if (sink) appendFileSync(sink, `${JSON.stringify({ bench: name, client, figures })}\n`);
}

export const rate = (n: number, ms: number) => Math.round((n * 1000) / ms);

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

/** p50/p90/p99/max of exact latency samples (ms, rounded), and how many there were. */
export function latencySummary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN);
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: Math.round(sorted.at(-1) ?? Number.NaN),
    samples: sorted.length,
  };
}

/** A numeric command-line option: `--name value`. */
export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The benchmarks' product document number i. */
export const benchDocument = (i: number, description: string, base: number) => ({
  name: `Product ${i}`,
  description,
  price: i % 1000,
  tags: ['bench', `t${i % 10}`],
  in_stock: i % 2 === 0,
  updated_at: new Date(base + i).toISOString(),
});

/** Produces `count` events to the topic (acks=all, 5000 a request), as the relay would have written them. */
export async function produceEvents(
  kafka: Kafka,
  codec: EventCodec,
  topic: string,
  count: number,
  event: (i: number) => ChangeEvent,
) {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let n = 0; n < count; n += 5000) {
    const messages = Array.from({ length: Math.min(5000, count - n) }, (_, k) => {
      const e = event(n + k);
      return { key: codec.encodeKey(e.id), value: codec.encode(e), headers: { [SCHEMA_HEADER]: codec.fingerprint } };
    });
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
}

/** CPU seconds (user + system) used so far by each group of processes, from /proc. */
export function cpuSeconds(groups: Record<string, number[]>): Record<string, number> {
  const ticks = (pid: number) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(fields[11]) + Number(fields[12]);
    } catch {
      return 0; // exited
    }
  };
  return Object.fromEntries(
    Object.entries(groups).map(([g, pids]) => [g, pids.reduce((n, p) => n + ticks(p), 0) / 100]),
  );
}

export const pids = (pattern: string) =>
  execFileSync('pgrep', ['-f', pattern]).toString().trim().split('\n').filter(Boolean).map(Number);

/** CPU seconds of PostgreSQL's backends so far, per application_name (the write API's pool, the relay's sessions). */
export async function pgBackends(ns: Namespace): Promise<Map<number, { app: string; cpu: number }>> {
  const { rows } = await ns.pool.query<{ pid: number; app: string }>(
    `select pid, coalesce(nullif(application_name, ''), backend_type) as app from pg_stat_activity`,
  );
  return new Map(rows.map((r) => [r.pid, { app: r.app.replace(/:\d+$/, ''), cpu: cpuSeconds({ x: [r.pid] }).x! }]));
}

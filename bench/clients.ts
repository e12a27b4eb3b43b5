// ./dev bench clients [--events N] [--rounds N] [--rate N] [--seconds N]: the two Kafka clients behind
// the port (kafkajs, @platformatic/kafka) in the same run. Each of three benchmarks runs once per client,
// back to back, as its own process with SYNCLINE_KAFKA_CLIENT set (every Syncline process it starts
// inherits it): the relay draining the outbox against a bare producer of the same client
// (`bench write --relay-only 1`), the sink draining a topic against Elasticsearch's bulk ceiling
// (`bench sink`), and commit → indexed under a paced HTTP load (`bench latency`). Each writes its own
// result (bench/results/<name>[-platformatic].md); this one writes the comparison to
// bench/results/clients.md.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KAFKA_CLIENTS, type KafkaClientName } from '@syncline/kafka';
import { REPO_ROOT } from '@syncline/testkit';
import { arg, writeResult } from './common.ts';

const EVENTS = arg('events', 200_000);
const ROUNDS = arg('rounds', 3);
const RATE = arg('rate', 500);
const SECONDS = arg('seconds', 20);

const runs: Array<{ bench: string; args: string[] }> = [
  { bench: 'write', args: ['--relay-only', '1', '--events', String(EVENTS), '--rounds', String(ROUNDS)] },
  { bench: 'sink', args: ['--events', String(EVENTS), '--rounds', String(ROUNDS), '--naive', '500'] },
  { bench: 'latency', args: ['--rate', String(RATE), '--seconds', String(SECONDS)] },
];

const figuresFile = join(mkdtempSync(join(tmpdir(), 'syncline-clients-')), 'figures.jsonl');
for (const { bench, args } of runs) {
  for (const client of KAFKA_CLIENTS) {
    console.log(`\n=== bench ${bench} with ${client} ===`);
    const r = spawnSync(process.execPath, [join('bench', `${bench}.ts`), ...args], {
      cwd: REPO_ROOT,
      stdio: 'inherit',
      env: { ...process.env, SYNCLINE_KAFKA_CLIENT: client, SYNCLINE_BENCH_FIGURES: figuresFile },
    });
    if (r.status !== 0) throw new Error(`bench ${bench} with ${client} failed (exit ${r.status})`);
  }
}

type Figures = Record<string, number>;
const results = readFileSync(figuresFile, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { bench: string; client: KafkaClientName; figures: Figures });
const of = (bench: string, client: KafkaClientName) =>
  results.find((r) => r.bench === bench && r.client === client)!.figures;
const relay = { k: of('relay', 'kafkajs'), p: of('relay', 'platformatic') };
const sink = { k: of('sink', 'kafkajs'), p: of('sink', 'platformatic') };
const latency = { k: of('latency', 'kafkajs'), p: of('latency', 'platformatic') };
const fixed = (n: number, digits = 2) => n.toFixed(digits);
const row = (measure: string, k: number, p: number, better: 'higher' | 'lower', unit = '') =>
  `| ${measure} | ${k}${unit} | ${p}${unit} | ${fixed(p / k)} | ${(better === 'higher' ? p > k : p < k) ? 'platformatic' : 'kafkajs'} |`;

writeResult(
  'clients',
  `Command: \`./dev bench clients --events ${EVENTS} --rounds ${ROUNDS} --rate ${RATE} --seconds ${SECONDS}\`

Each benchmark ran once per client, back to back (kafkajs first), every Syncline process of it on that client;
the full results are in relay.md / relay-platformatic.md, sink.md / sink-platformatic.md and latency.md /
latency-platformatic.md beside this file.

| measure | kafkajs | @platformatic/kafka | platformatic ÷ kafkajs | better |
|---|---|---|---|---|
${row(`relay drains ${EVENTS} outbox events, events/s`, relay.k.relay!, relay.p.relay!, 'higher')}
${row('bare idempotent producer, same records, events/s', relay.k.bare!, relay.p.bare!, 'higher')}
| relay ÷ its own client's bare producer | ${fixed(relay.k.relay! / relay.k.bare!)} | ${fixed(relay.p.relay! / relay.p.bare!)} | | |
${row('bare producer in transactions, events/s', relay.k.transactional!, relay.p.transactional!, 'higher')}
${row(`sink drains ${EVENTS} events, docs/s`, sink.k.sink!, sink.p.sink!, 'higher')}
| sink ÷ bulk ceiling of the same run | ${fixed(sink.k.sink! / sink.k.ceiling!)} | ${fixed(sink.p.sink! / sink.p.ceiling!)} | | |
${row(`commit → indexed p50 at ${RATE} writes/s, ms`, latency.k.p50!, latency.p.p50!, 'lower')}
${row('commit → indexed p90, ms', latency.k.p90!, latency.p.p90!, 'lower')}
${row('commit → indexed p99, ms', latency.k.p99!, latency.p.p99!, 'lower')}
${row('commit → indexed max, ms', latency.k.max!, latency.p.max!, 'lower')}
| writes/s reached | ${latency.k.rate} | ${latency.p.rate} | | |
| bare single-document Elasticsearch write p99 (same run), ms | ${latency.k.bareP99} | ${latency.p.bareP99} | | |
| \`_bulk\` ?wait=indexed ÷ without | ${fixed(latency.k.waitRatio!)} | ${fixed(latency.p.waitRatio!)} | | |`,
  {},
  false,
);

// Multi-node clusters under live write load (stack.sh cluster: three KRaft brokers with replication factor
// 3 and min.insync.replicas 2, three Elasticsearch nodes), with two relays (one active, one standby) and
// two sink instances as real processes across each run:
//   - the broker leading most of the collection's partitions is SIGKILLed: the relay and the sinks carry
//     on with the other two brokers; nothing is lost and no version ever goes back;
//   - an Elasticsearch node holding primaries is SIGKILLed during indexing: the sinks retry; nothing is
//     lost, nothing is dead-lettered.
// Each ends with the index equal to PostgreSQL. Run with ./dev test cluster (not part of the default suite).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { deadLetterTopic, ensureTopics, topicsOf } from '@syncline/kafka';
import { migrate } from '@syncline/outbox';
import { type Declaration, EventCodec, SCHEMA_HEADER } from '@syncline/schema';
import {
  createNamespace,
  eventually,
  type Namespace,
  REPO_ROOT,
  type RunningService,
  readTopic,
  SearchProbe,
  spawnService,
  writeTempJson,
} from '@syncline/testkit';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { compareEsWithPg, versionsNeverGoBack } from '../support/compare.ts';
import { buildTestApp } from '../support/harness.ts';
import { startWriteLoad } from '../support/load.ts';
import { namespacedDeclaration, serviceEnv } from '../support/namespaced.ts';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NONE = { missing: [], orphaned: [], different: [] };
const BROKERS = ['127.0.0.1:19092', '127.0.0.1:19093', '127.0.0.1:19094'];
const ES_NODES = ['http://127.0.0.1:9210', 'http://127.0.0.1:9211', 'http://127.0.0.1:9212'];
const services = inject('services');

/** Starts what the last scenario killed (stack.sh cluster up only starts what is not running). */
const clusterUp = () => run('bash', [`${REPO_ROOT}stack/stack.sh`, 'cluster', 'up'], { timeout: 300_000 });

describe.runIf(services.mode === 'local')('multi-node clusters under write load', () => {
  let ns: Namespace;
  let app: FastifyInstance | undefined;
  let declaration: Declaration;
  const processes: RunningService[] = [];

  beforeEach(async () => {
    await clusterUp();
    ns = await createNamespace({ ...services, kafkaBrokers: BROKERS, esUrl: ES_NODES[0]! }, 'multinode');
    // One replica of every shard, so that a node's death loses no acknowledged document.
    const base = namespacedDeclaration(ns, 6).declaration.collections[0]!;
    declaration = { collections: [{ ...base, index: { ...base.index, shards: 3, replicas: 1 } }] };
    const path = writeTempJson(`${ns.name}-cluster`, declaration);
    await migrate(ns.pool, declaration);
    await ensureTopics(ns.kafka, topicsOf(declaration.collections));
    const env = {
      ...serviceEnv(ns, path),
      SYNCLINE_KAFKA_BROKERS: BROKERS.join(','),
      SYNCLINE_ES_URL: ES_NODES.join(','),
      SYNCLINE_SINK_RETRY_MAX_MS: '2000',
      SYNCLINE_SINK_SESSION_TIMEOUT_MS: '10000',
    };
    for (const name of ['relay-a', 'relay-b']) {
      processes.push(await spawnService(name, 'services/outbox-relay/src/main.ts', env));
    }
    for (const name of ['sink-a', 'sink-b'])
      processes.push(await spawnService(name, 'services/es-sink/src/main.ts', env));
    app = await buildTestApp(ns, declaration);
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
    await app?.close();
    await clusterUp();
    await ns?.cleanup();
  });

  const products = () => declaration.collections[0]!;
  const indexedTotal = async () => {
    let total = 0;
    for (const p of processes.filter((s) => s.name.startsWith('sink'))) {
      const metrics = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
      for (const m of metrics.matchAll(/syncline_sink_documents_indexed_total\{[^}]*\} (\d+)/g)) total += Number(m[1]);
    }
    return total;
  };
  const topicEnd = async () => {
    const admin = ns.kafkajs.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(products().topic)).reduce((s, p) => s + Number(p.high), 0);
    } finally {
      await admin.disconnect();
    }
  };
  /** Once idle: the index equals PostgreSQL, nothing was dead-lettered, and no id's version went back in Kafka. */
  const endsExact = async () => {
    const probe = new SearchProbe({ url: ES_NODES[0]! });
    await eventually(async () => expect(await compareEsWithPg(probe, ns.pool, products())).toEqual(NONE), {
      timeoutMs: 180_000,
      intervalMs: 2000,
    });
    const admin = ns.kafkajs.admin();
    await admin.connect();
    const dlq = await admin.fetchTopicOffsets(deadLetterTopic(products().topic));
    await admin.disconnect();
    expect(dlq.reduce((s, p) => s + Number(p.high), 0)).toBe(0);
    const codec = new EventCodec(products());
    const histories = new Map<string, number[]>();
    for (const { message } of await readTopic(ns.kafkajs, products().topic, {
      groupPrefix: `${ns.groupPrefix}check`,
    })) {
      if (!message.value) continue; // a delete's tombstone, after its event
      const ev = codec.decode(message.value!, message.headers?.[SCHEMA_HEADER]?.toString());
      histories.set(ev.id, [...(histories.get(ev.id) ?? []), ev.version]);
    }
    versionsNeverGoBack(histories);
  };

  it('carries on when the broker leading most partitions is SIGKILLed: 0 lost, 0 stale', async () => {
    const admin = ns.kafkajs.admin();
    await admin.connect();
    const [meta] = (await admin.fetchTopicMetadata({ topics: [products().topic] })).topics;
    await admin.disconnect();
    // Every partition is on all three brokers.
    expect(meta!.partitions.every((p) => p.replicas.length === 3)).toBe(true);
    const leading = new Map<number, number>();
    for (const p of meta!.partitions) leading.set(p.leader, (leading.get(p.leader) ?? 0) + 1);
    const [victim] = [...leading].sort((a, b) => b[1] - a[1])[0]!;

    const load = startWriteLoad(app!, { writers: 4, ids: 400, pauseMs: 10 });
    await sleep(6000);
    const pid = Number(readFileSync(`${REPO_ROOT}.stack/cluster/kafka-${victim}/kafka.pid`, 'utf8'));
    const [endAtKill, indexedAtKill, writesAtKill] = [await topicEnd(), await indexedTotal(), load.writes];
    process.kill(pid, 'SIGKILL');
    await sleep(20_000);
    // With two brokers of three, the relay keeps publishing and the sinks keep indexing. (The test's own
    // reads may meet metadata that still names the dead leader for a moment: they retry.)
    expect(load.writes - writesAtKill).toBeGreaterThan(200);
    await eventually(async () => expect(await topicEnd()).toBeGreaterThan(endAtKill + 200), { timeoutMs: 30_000 });
    expect(await indexedTotal()).toBeGreaterThan(indexedAtKill + 200);
    await load.stop();
    expect(load.failures).toBe(0);
    await endsExact();
  });

  it('retries through an Elasticsearch node SIGKILLed during indexing: 0 lost, index equal to PostgreSQL', async () => {
    const load = startWriteLoad(app!, { writers: 4, ids: 400, pauseMs: 10 });
    await sleep(6000);
    // The node (other than the one the test reads through) holding most primaries of the index.
    const probe = new SearchProbe({ url: ES_NODES[0]! });
    const shards = (await probe.ok('GET', `/_cat/shards/${products().index.alias}?format=json`)) as Array<{
      prirep: string;
      node: string;
      state: string;
    }>;
    const primaries = new Map<string, number>();
    for (const s of shards.filter((s) => s.prirep === 'p' && s.node !== 'es-cluster-1')) {
      primaries.set(s.node, (primaries.get(s.node) ?? 0) + 1);
    }
    const victim = [...primaries].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'es-cluster-2';
    const url = ES_NODES[Number(victim.slice(-1)) - 1]!;
    const { nodes } = await new SearchProbe({ url }).ok('GET', '/_nodes/_local/process');
    const pid = (Object.values(nodes)[0] as { process: { id: number } }).process.id;
    process.kill(pid, 'SIGKILL');
    const indexedAtKill = await indexedTotal();
    await sleep(20_000);
    expect(await indexedTotal()).toBeGreaterThan(indexedAtKill + 200);
    await load.stop();
    expect(load.failures).toBe(0);
    await endsExact();
  });
});

// A test suite's own corner of the shared services: a PostgreSQL schema, a Kafka topic and group
// prefix, an Elasticsearch index prefix. Suites running in parallel never see each other's data,
// and cleanup() removes everything the suite created.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Client as EsClient } from '@elastic/elasticsearch';
import { createKafka, KAFKA_CLIENTS, type KafkaClient, type KafkaClientName, KafkajsClient } from '@syncline/kafka';
import { createSearchEngine, type SearchEngine, type SearchEngineName } from '@syncline/search';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { SearchProbe } from './probe.ts';
import type { Services } from './services.ts';

export interface Namespace {
  /** e.g. t_1a2b3c4d; PostgreSQL schema name and the root of every other name. */
  name: string;
  /** A connection string whose search_path is the suite's schema. */
  pgUrl: string;
  pool: pg.Pool;
  /** The client under test (SYNCLINE_KAFKA_CLIENT), for what Syncline's code takes. */
  kafka: KafkaClient;
  /** A kafkajs client of the test's own, to produce, read and inspect as an outside observer. */
  kafkajs: Kafka;
  /** The search engine the tests run Syncline against (SYNCLINE_SEARCH_ENGINE) and its URL. */
  searchEngine: SearchEngineName;
  searchUrl: string;
  /** Syncline's adapter for that engine, for what Syncline's code takes. */
  search: SearchEngine;
  /** Plain HTTP to that engine, to read and inject as an outside observer (both engines). */
  probe: SearchProbe;
  /** An Elasticsearch client, for the scenarios that run on Elasticsearch only. */
  es: EsClient;
  topicPrefix: string;
  groupPrefix: string;
  indexPrefix: string;
  services: Services;
  /**
   * Runs SQL with psql, as any other client of the application's database would, in the suite's schema;
   * resolves with what psql printed, rejects with its error. Never synchronous: a statement that waits
   * for a lock held by Syncline's code running in this process (an ALTER TABLE waiting for the
   * assembler's transaction) must leave the event loop free, or both wait forever.
   */
  psql(sql: string): Promise<string>;
  cleanup(): Promise<void>;
}

const run = promisify(execFile);

/** The Kafka client the tests run Syncline with: SYNCLINE_KAFKA_CLIENT, kafkajs by default. */
export function kafkaClientName(): KafkaClientName {
  const name = process.env.SYNCLINE_KAFKA_CLIENT ?? 'kafkajs';
  if (!(KAFKA_CLIENTS as readonly string[]).includes(name))
    throw new Error(`SYNCLINE_KAFKA_CLIENT: unknown client ${name}`);
  return name as KafkaClientName;
}

/** The search engine the tests run Syncline against: SYNCLINE_SEARCH_ENGINE, elasticsearch by default. */
export function searchEngineName(): SearchEngineName {
  const name = process.env.SYNCLINE_SEARCH_ENGINE ?? 'elasticsearch';
  if (name !== 'elasticsearch' && name !== 'opensearch')
    throw new Error(`SYNCLINE_SEARCH_ENGINE: unknown engine ${name}`);
  return name;
}

/** Where that engine answers. */
export function searchUrlOf(services: Services, engine = searchEngineName()): string {
  if (engine === 'elasticsearch') return services.esUrl;
  if (!services.opensearchUrl) throw new Error('no OpenSearch for these tests: set SYNCLINE_OPENSEARCH_URL');
  return services.opensearchUrl;
}

export async function createNamespace(services: Services, label = 'test'): Promise<Namespace> {
  const name = `t_${label.replace(/[^a-z0-9]/g, '').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: services.pgUrl });
  await admin.connect();
  await admin.query(`create schema ${name}`);
  await admin.end();
  const url = new URL(services.pgUrl);
  url.searchParams.set('options', `-c search_path=${name},public`);
  const pgUrl = url.toString();
  const pool = new pg.Pool({ connectionString: pgUrl, max: 8 });
  pool.on('error', () => {}); // a connection cut by a PostgreSQL restart (test/chaos/)
  const kafka = createKafka({
    client: kafkaClientName(),
    clientId: name,
    brokers: services.kafkaBrokers,
    log: 'silent',
  });
  const kafkajs = new KafkajsClient({ clientId: `${name}-observer`, brokers: services.kafkaBrokers, log: 'silent' })
    .kafka;
  const searchEngine = searchEngineName();
  const searchUrl = searchUrlOf(services, searchEngine);
  const search = createSearchEngine({ engine: searchEngine, urls: [searchUrl] });
  const probe = new SearchProbe({ url: searchUrl });
  const es = new EsClient({ node: services.esUrl });
  const topicPrefix = `${name}.`;
  const indexPrefix = `${name.replace(/_/g, '-')}-`;
  const groupPrefix = `${name}.`;
  return {
    name,
    pgUrl,
    pool,
    kafka,
    kafkajs,
    searchEngine,
    searchUrl,
    search,
    probe,
    es,
    topicPrefix,
    groupPrefix,
    indexPrefix,
    services,
    async psql(sql) {
      const { stdout } = await run('psql', [services.pgUrl, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql], {
        encoding: 'utf8',
        env: { ...process.env, PGOPTIONS: `-c search_path=${name}` },
        timeout: 120_000,
      });
      return stdout;
    },
    async cleanup() {
      await pool.end().catch(() => {});
      const a = kafkajs.admin();
      await a.connect();
      try {
        const groups = (await a.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(groupPrefix));
        if (groups.length) await a.deleteGroups(groups).catch(() => {});
        const topics = (await a.listTopics()).filter((t) => t.startsWith(topicPrefix));
        if (topics.length) await a.deleteTopics({ topics, timeout: 30_000 });
      } finally {
        await a.disconnect();
      }
      await probe.dropPrefix(indexPrefix);
      await search.close();
      await es.close();
      const c = new pg.Client({ connectionString: services.pgUrl });
      await c.connect();
      await c.query(`drop schema if exists ${name} cascade`);
      await c.end();
    },
  };
}

import { defineConfig } from 'vitest/config';

// One run for the whole repository. Project 'main': unit tests (*.test.ts beside the code, no
// services), tests against real services (*.int.test.ts) and scenarios (test/), two files at a time.
// Project 'chaos' (test/chaos/): scenarios that stop shared services (Kafka, Elasticsearch) and so
// run alone, one file at a time, after 'main' (groupOrder).
// Every Syncline process of those runs on the default Kafka client, kafkajs. Projects 'platformatic'
// and 'platformatic-chaos' run the scenarios that exercise Kafka (relay, sink, operations, capture,
// joined documents, faults, outages) again with SYNCLINE_KAFKA_CLIENT=platformatic: the same tests on
// the other client.
const KAFKA_SCENARIOS = [
  'test/sink.test.ts',
  'test/sink-faults.test.ts',
  'test/relay-crash.test.ts',
  'test/relay-shards.test.ts',
  'test/write-path.test.ts',
  'test/operations.test.ts',
  'test/stage-metrics.test.ts',
  'test/capture.test.ts',
  'test/joined.test.ts',
];
const KAFKA_CHAOS = ['test/chaos/kafka-outage.test.ts', 'test/chaos/es-outage.test.ts'];
// Project 'cluster' (test/cluster/, only with SYNCLINE_CLUSTER_TESTS=1, as ./dev test cluster sets it): the
// multi-node fault scenarios on stack.sh's three-broker, three-node cluster.
// Projects 'opensearch' and 'opensearch-chaos' run the scenarios that exercise the search engine (the
// sink and its faults, ?wait=indexed, reindex, backfill, reconcile, dlq replay, an outage) again with
// SYNCLINE_SEARCH_ENGINE=opensearch, against the stack's OpenSearch node.
const SEARCH_SCENARIOS = ['test/sink.test.ts', 'test/sink-faults.test.ts', 'test/operations.test.ts'];
const SEARCH_CHAOS = ['test/chaos/es-outage.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['packages/testkit/src/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['test/chaos/**', 'test/cluster/**', '**/node_modules/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'platformatic',
          include: KAFKA_SCENARIOS,
          env: { SYNCLINE_KAFKA_CLIENT: 'platformatic' },
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        test: {
          name: 'platformatic-chaos',
          include: KAFKA_CHAOS,
          env: { SYNCLINE_KAFKA_CLIENT: 'platformatic' },
          fileParallelism: false,
          sequence: { groupOrder: 3 },
        },
      },
      {
        extends: true,
        test: {
          name: 'opensearch',
          include: SEARCH_SCENARIOS,
          env: { SYNCLINE_SEARCH_ENGINE: 'opensearch' },
          sequence: { groupOrder: 4 },
        },
      },
      {
        extends: true,
        test: {
          name: 'opensearch-chaos',
          include: SEARCH_CHAOS,
          env: { SYNCLINE_SEARCH_ENGINE: 'opensearch' },
          fileParallelism: false,
          sequence: { groupOrder: 5 },
        },
      },
      // ./dev test cluster: the multi-node scenarios, on stack.sh's cluster (not part of the default run).
      ...(process.env.SYNCLINE_CLUSTER_TESTS === '1'
        ? [
            {
              extends: true as const,
              test: { name: 'cluster', include: ['test/cluster/**/*.test.ts'], fileParallelism: false },
            },
          ]
        : []),
    ],
  },
});

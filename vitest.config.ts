import { defineConfig } from 'vitest/config';

// One run for the whole repository. Project 'main': unit tests (*.test.ts beside the code, no
// services), tests against real services (*.int.test.ts) and scenarios (test/), two files at a time.
// Project 'chaos' (test/chaos/): scenarios that stop shared services (Kafka, Elasticsearch) and so
// run alone, one file at a time, after 'main' (groupOrder).
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
          exclude: ['test/chaos/**', '**/node_modules/**'],
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
    ],
  },
});

// Shared scenario helpers: a namespaced declaration on disk, and the environment that points a
// Syncline service process at the suite's namespace.
import { readFileSync } from 'node:fs';
import { type Collection, type Declaration, loadDeclaration, withNamespace } from '@syncline/schema';
import { type Namespace, REPO_ROOT, writeTempJson } from '@syncline/testkit';

export const demoDeclaration = loadDeclaration(`${REPO_ROOT}syncline.collections.json`);

/**
 * The demo declaration under the suite's namespace. Its products are captured (the application's
 * own table); `capture: false` makes them an API-owned table that Syncline creates.
 */
export function namespacedDeclaration(
  ns: Namespace,
  partitions?: number,
  overrides: Partial<Collection> = { capture: false },
): { declaration: Declaration; path: string } {
  const base = withNamespace(demoDeclaration, { topicPrefix: ns.topicPrefix, indexPrefix: ns.indexPrefix });
  const declaration = {
    collections: base.collections.map((c) => ({ ...c, ...(partitions ? { partitions } : {}), ...overrides })),
  };
  return { declaration, path: writeTempJson(ns.name, declaration) };
}

/** The demo application's table (scripts/demo-schema.sql), created in the suite's schema. */
export const DEMO_SCHEMA_SQL = readFileSync(`${REPO_ROOT}scripts/demo-schema.sql`, 'utf8');

export function serviceEnv(ns: Namespace, declarationPath: string): Record<string, string> {
  return {
    SYNCLINE_PG_URL: ns.pgUrl,
    SYNCLINE_KAFKA_BROKERS: ns.services.kafkaBrokers.join(','),
    SYNCLINE_ES_URL: ns.services.esUrl,
    SYNCLINE_COLLECTIONS: declarationPath,
    SYNCLINE_RELAY_ID: `${ns.name}-relay`,
    SYNCLINE_SINK_GROUP: `${ns.groupPrefix}sink`,
    SYNCLINE_API_KEYS: '',
  };
}

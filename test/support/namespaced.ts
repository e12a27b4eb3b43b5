// Shared scenario helpers: a namespaced declaration on disk, and the environment that points a
// Syncline service process at the suite's namespace.
import { readFileSync } from 'node:fs';
import { type Collection, type Declaration, loadDeclaration, withNamespace } from '@syncline/schema';
import { type Namespace, REPO_ROOT, writeTempJson } from '@syncline/testkit';

/** The demo's declaration as the file has it: products joined with their brand and reviews. */
export const joinedDemoDeclaration = loadDeclaration(`${REPO_ROOT}syncline.collections.json`);

/** The demo's products as one table (no relations): what most scenarios test. */
export const demoDeclaration: Declaration = {
  collections: joinedDemoDeclaration.collections.map((c) => ({ ...c, relations: {} })),
};

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

/** The demo's declaration as `./dev up` runs it (products joined with brands and reviews), namespaced. */
export function joinedNamespacedDeclaration(
  ns: Namespace,
  partitions?: number,
): { declaration: Declaration; path: string } {
  const base = withNamespace(joinedDemoDeclaration, { topicPrefix: ns.topicPrefix, indexPrefix: ns.indexPrefix });
  const declaration = { collections: base.collections.map((c) => ({ ...c, ...(partitions ? { partitions } : {}) })) };
  return { declaration, path: writeTempJson(ns.name, declaration) };
}

/** The demo application's table (scripts/demo-schema.sql), created in the suite's schema. */
export const DEMO_SCHEMA_SQL = readFileSync(`${REPO_ROOT}scripts/demo-schema.sql`, 'utf8');
/** Its brands and reviews, joined into the product documents (scripts/demo-joined-schema.sql). */
export const DEMO_JOINED_SCHEMA_SQL = readFileSync(`${REPO_ROOT}scripts/demo-joined-schema.sql`, 'utf8');

export function serviceEnv(ns: Namespace, declarationPath: string): Record<string, string> {
  return {
    SYNCLINE_PG_URL: ns.pgUrl,
    SYNCLINE_KAFKA_BROKERS: ns.services.kafkaBrokers.join(','),
    SYNCLINE_SEARCH_ENGINE: ns.searchEngine,
    SYNCLINE_ES_URL: ns.searchUrl,
    SYNCLINE_COLLECTIONS: declarationPath,
    SYNCLINE_RELAY_ID: `${ns.name}-relay`,
    SYNCLINE_SINK_GROUP: `${ns.groupPrefix}sink`,
    SYNCLINE_API_KEYS: '',
  };
}

// Shared scenario helpers: a namespaced declaration on disk, and the environment that points a
// Syncline service process at the suite's namespace.
import { loadDeclaration, withNamespace, type Declaration } from '@syncline/schema';
import { type Namespace, REPO_ROOT, writeTempJson } from '@syncline/testkit';

export const demoDeclaration = loadDeclaration(`${REPO_ROOT}syncline.collections.json`);

export function namespacedDeclaration(ns: Namespace, partitions?: number): { declaration: Declaration; path: string } {
  const base = withNamespace(demoDeclaration, { topicPrefix: ns.topicPrefix, indexPrefix: ns.indexPrefix });
  const declaration = partitions ? { collections: base.collections.map((c) => ({ ...c, partitions })) } : base;
  return { declaration, path: writeTempJson(ns.name, declaration) };
}

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

// Index management: every collection is reached through its alias (products -> products_000001).
// The index template and mapping derive from the collection declaration and use core field types
// only (the integ-test distribution has no analysis-common or mapper-extras).
import { type Collection, searchProperties } from '@syncline/schema';
import type { SearchEngine } from '@syncline/search';

/** A keyword copy of the document id, sortable (unlike _id) and kept out of _source: reconcile
 *  streams Elasticsearch in id order through it. The sink adds it to every document. */
export const ID_FIELD = 'syncline_id';

export function indexMappings(c: Collection): Record<string, unknown> {
  return {
    dynamic: 'strict',
    _source: { excludes: [ID_FIELD] },
    properties: {
      ...searchProperties(c.fields, c.relations),
      [ID_FIELD]: { type: 'keyword' },
    },
  };
}

export function indexSettings(c: Collection): Record<string, unknown> {
  return {
    number_of_shards: c.index.shards,
    number_of_replicas: c.index.replicas,
    refresh_interval: c.index.refreshInterval,
  };
}

export function physicalIndexName(c: Collection, generation: number): string {
  return `${c.index.alias}_${String(generation).padStart(6, '0')}`;
}

/** Ensures the template and, when the alias does not exist yet, a first physical index behind it. */
export async function ensureIndex(engine: SearchEngine, c: Collection): Promise<string> {
  await engine.putIndexTemplate(`${c.index.alias}-template`, [`${c.index.alias}_*`], {
    settings: indexSettings(c),
    mappings: indexMappings(c),
  });
  const [current] = await engine.aliasTargets(c.index.alias);
  if (current) {
    // Fields added to the declaration (and the sortable id, for indexes created before it existed)
    // are added to the live index; changing an existing field's type needs `syncline reindex`.
    // A conflicting field is left as it is (the documents it rejects go to the dead-letter topic).
    const { properties } = indexMappings(c) as { properties: Record<string, unknown> };
    for (const [name, mapping] of Object.entries(properties)) {
      await engine.putMapping(c.index.alias, { [name]: mapping }).catch(() => {});
    }
    return current;
  }
  const index = physicalIndexName(c, 1);
  // false: another sink instance created it first.
  await engine.createIndex(index, { aliases: { [c.index.alias]: { is_write_index: true } } });
  return index;
}

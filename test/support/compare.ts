// The end state every scenario asserts: the search index holds exactly PostgreSQL's rows, with the
// same fields and the same versions, and nothing else (read through the tests' own HTTP probe, on
// Elasticsearch and OpenSearch alike).
import { isDeepStrictEqual } from 'node:util';
import { type Collection, rowToDocument } from '@syncline/schema';
import type { SearchProbe } from '@syncline/testkit';
import type pg from 'pg';

export interface Drift {
  missing: string[];
  orphaned: string[];
  different: string[];
}

/** Every document of the collection's index (refreshed first), with its version. */
export function esDocuments(probe: SearchProbe, c: Collection) {
  return probe.documents(c.index.alias);
}

/**
 * versions: for a captured table (which stores none), each id's newest version in the topic, which
 * the index must hold; without it, a captured table's documents are compared by content only.
 */
export async function compareEsWithPg(
  probe: SearchProbe,
  pool: pg.Pool,
  c: Collection,
  versions?: Map<string, number>,
): Promise<Drift> {
  const { rows } = await pool.query<Record<string, unknown>>(`select * from "${c.table}"`);
  const docs = await esDocuments(probe, c);
  const drift: Drift = { missing: [], orphaned: [], different: [] };
  for (const row of rows) {
    const id = String(row[c.primaryKey]);
    const doc = docs.get(id);
    docs.delete(id);
    if (!doc) drift.missing.push(id);
    else if (
      (c.capture
        ? versions !== undefined && doc.version !== versions.get(id)
        : doc.version !== Number(row.syncline_version)) ||
      // Field order aside: OpenSearch reorders a _source it filters (the sortable id is excluded from it).
      !isDeepStrictEqual(doc.source, rowToDocument(c, row))
    ) {
      drift.different.push(id);
    }
  }
  drift.orphaned = [...docs.keys()];
  return drift;
}

/**
 * Each id's versions in topic order must never go back: a relay killed between Kafka's commit and the
 * outbox removal republishes that batch (the same versions again), but an older version never appears
 * for the first time after a newer one. Returns each id's distinct versions, ascending.
 */
export function versionsNeverGoBack(histories: Map<string, number[]>): Map<string, number[]> {
  const distinct = new Map<string, number[]>();
  for (const [id, versions] of histories) {
    let newest = 0;
    const published = new Set<number>();
    for (const v of versions) {
      if (v > newest) newest = v;
      else if (!published.has(v)) throw new Error(`${id}: version ${v} first published after ${newest}`);
      published.add(v);
    }
    if (versions.at(-1) !== newest) throw new Error(`${id}: the last event is not the newest version`);
    distinct.set(
      id,
      [...published].sort((a, b) => a - b),
    );
  }
  return distinct;
}

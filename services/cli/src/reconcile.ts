// Reconcile: stream PostgreSQL rows and Elasticsearch documents in the same id order (a server-side
// cursor and search_after on the sortable syncline_id field, page by page, never the whole set in
// memory), merge-join them and report each id that is
//   missing   in PostgreSQL, not in Elasticsearch
//   stale     in Elasticsearch at an older version than the row
//   orphaned  in Elasticsearch with no row
//   diverged  same version, different content (a row changed behind the pipeline's back, or a
//             document edited in Elasticsearch)
//   ahead     in Elasticsearch at a newer version than the row (written outside the pipeline)
// --repair re-emits the current row of each such id through the outbox (a delete for orphans) with
// a new version, so repairs obey the same ordering guarantees as every other write.
import {
  allJoinedDocumentsSql,
  joinedDocumentsSql,
  OutboxWriter,
  VERSION_COLUMN,
  withTransaction,
} from '@syncline/outbox';
import { type Collection, type Declaration, imageToDocument, isJoined, rowToDocument } from '@syncline/schema';
import type { SearchEngine } from '@syncline/search';
import { ID_FIELD } from '@syncline/sink';
import type pg from 'pg';

export interface DriftReport {
  collection: string;
  checked: { postgres: number; elasticsearch: number };
  missing: string[];
  stale: string[];
  orphaned: string[];
  diverged: string[];
  ahead: string[];
  repaired: number;
}

const PAGE = 2000;

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

interface Item {
  id: string;
  version: number;
  doc: unknown;
}

/** A row as reconcile compares it: a joined collection's row is its whole document, as the join reads it now. */
function itemOf(c: Collection, r: Record<string, unknown>): Item {
  if (!isJoined(c))
    return { id: String(r[c.primaryKey]), version: Number(r[VERSION_COLUMN]), doc: rowToDocument(c, r) };
  const checked = imageToDocument(c, r.image as Record<string, unknown>);
  // A document the declaration cannot carry is dead-lettered, never indexed: it differs from whatever is there.
  return { id: String(r.id), version: 0, doc: checked.ok ? checked.document : { refused: checked.details } };
}

async function* pgRows(pool: pg.Pool, c: Collection): AsyncGenerator<Item> {
  const client = await pool.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    await client.query(
      `declare syncline_reconcile cursor for ${
        isJoined(c)
          ? allJoinedDocumentsSql(c)
          : `select * from "${c.table}" order by "${c.primaryKey}"${c.primaryKeyType === 'text' ? '' : '::text'} collate "C"`
      }`,
    );
    for (;;) {
      const { rows } = await client.query<Record<string, unknown>>(`fetch ${PAGE} from syncline_reconcile`);
      for (const r of rows) yield itemOf(c, r);
      if (rows.length < PAGE) break;
    }
    await client.query('commit');
  } finally {
    client.release();
  }
}

async function* indexDocs(search: SearchEngine, c: Collection, unsorted: Item[]): AsyncGenerator<Item> {
  let after: unknown[] | undefined;
  for (;;) {
    const hits = await search.sortedPage(c.index.alias, ID_FIELD, PAGE, after);
    for (const h of hits) {
      // Indexes created before syncline_id was excluded from _source carry it there: not document content.
      const { [ID_FIELD]: _sortable, ...source } = h.source;
      const item = { id: h.id, version: h.version, doc: source };
      // Written by hand, without the sortable id: outside the order, checked one by one.
      if (typeof h.sort[0] !== 'string') unsorted.push(item);
      else yield item;
    }
    if (hits.length < PAGE) break;
    after = hits.at(-1)!.sort;
  }
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export async function reconcile(
  pool: pg.Pool,
  search: SearchEngine,
  declaration: Declaration,
  c: Collection,
  { repair = false, onProgress }: { repair?: boolean; onProgress?: (checked: number) => void } = {},
): Promise<DriftReport> {
  const report: DriftReport = {
    collection: c.name,
    checked: { postgres: 0, elasticsearch: 0 },
    missing: [],
    stale: [],
    orphaned: [],
    diverged: [],
    ahead: [],
    repaired: 0,
  };
  await search.refresh(c.index.alias);
  const unsorted: Item[] = [];
  const left = pgRows(pool, c);
  const right = indexDocs(search, c, unsorted);
  // A captured table stores no versions (they live in the events): its documents are compared by content.
  const compare = (p: Item, e: Item) => {
    if (!c.capture && e.version < p.version) report.stale.push(p.id);
    else if (!c.capture && e.version > p.version) report.ahead.push(p.id);
    else if (canonical(e.doc) !== canonical(p.doc)) report.diverged.push(p.id);
  };
  try {
    let a = await left.next();
    let b = await right.next();

    while (!a.done || !b.done) {
      const order = a.done ? 1 : b.done ? -1 : byteOrder(a.value.id, b.value.id);
      if (order < 0) {
        report.missing.push(a.value!.id);
        report.checked.postgres++;
        a = await left.next();
      } else if (order > 0) {
        report.orphaned.push(b.value!.id);
        report.checked.elasticsearch++;
        b = await right.next();
      } else {
        compare(a.value!, b.value!);
        report.checked.postgres++;
        report.checked.elasticsearch++;
        a = await left.next();
        b = await right.next();
      }
      onProgress?.(report.checked.postgres);
    }
  } finally {
    // Release the PostgreSQL cursor's connection even when Elasticsearch failed midway.
    await left.return(undefined);
    await right.return(undefined);
  }
  // Documents without the sortable id were counted neither way yet: match them against rows.
  for (const e of unsorted) {
    report.checked.elasticsearch++;
    const { rows } = await pool.query<Record<string, unknown>>(
      isJoined(c)
        ? joinedDocumentsSql(c, [e.id])
        : { text: `select * from "${c.table}" where "${c.primaryKey}" = $1`, values: [e.id] },
    );
    const row = rows[0];
    if (!row) report.orphaned.push(e.id);
    else {
      report.missing = report.missing.filter((id) => id !== e.id);
      compare(itemOf(c, row), e);
    }
  }
  if (repair) {
    const ids = [...report.missing, ...report.stale, ...report.orphaned, ...report.diverged, ...report.ahead];
    const writer = new OutboxWriter(declaration);
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      if (c.capture) await writer.repairCaptured(pool, c.name, chunk);
      else await withTransaction(pool, (client) => writer.recordChange(client, c.name, chunk));
    }
    report.repaired = ids.length;
  }
  return report;
}

export function driftCount(r: DriftReport): number {
  return r.missing.length + r.stale.length + r.orphaned.length + r.diverged.length + r.ahead.length;
}

// Joined documents (a collection with relations, see declaration.ts): every table of the tree is
// captured by statement-level triggers that record, in the writer's own transaction, which documents
// (or which joined rows) a statement touched: a mark. The assembler (relay/assembler.ts) turns marks
// into documents later, in its own transactions, one collection at a time:
//   expand   a mark on a joined row becomes marks on the rows that join it, up to the roots (a brand
//            renamed: one mark, expanded to its products in the assembler's transaction, never in the
//            application's);
//   assemble the documents of a batch of root marks are read with one statement (the join evaluated
//            in PostgreSQL) and appended to the outbox as events, and those marks removed.
// Versions are drawn by the assembler under the collection's assembly lock, in a statement before
// the one that reads the documents: a document's later version always comes from a later snapshot,
// so a stale assembly can never win, whichever tables changed in whichever order.

import { createHash } from 'node:crypto';
import { type Collection, type JoinNode, joinNodes } from '@syncline/schema';
import {
  ident,
  JOIN_MARKS_TABLE,
  KEY_FORMS,
  KEY_PG_TYPES,
  literal,
  OUTBOX_TABLE,
  q,
  type Sql,
  VERSION_SEQUENCE,
} from './tables.ts';

const short = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 8);

/** The columns of a node's table that its documents read (the key, the declared fields, the links). */
export function nodeColumns(node: JoinNode): string[] {
  const columns = [node.primaryKey, ...Object.entries(node.fields).map(([name, f]) => f.column ?? name)];
  if (node.relation?.kind === 'many') columns.push(node.relation.column);
  for (const r of Object.values(node.relations)) if (r.kind === 'one') columns.push(r.column);
  return [...new Set(columns)];
}

/** The tables of a joined collection with the nodes each one is (a table may be joined twice). */
export function joinTables(c: Collection): Map<string, JoinNode[]> {
  const tables = new Map<string, JoinNode[]>();
  for (const node of joinNodes(c)) tables.set(node.table, [...(tables.get(node.table) ?? []), node]);
  return tables;
}

/** What the names of a collection's marking triggers begin with, on whichever table. */
export const joinTriggerPrefix = (c: Collection) => `syncline_join_${short(c.name)}`;

/** The names the marking triggers of one collection on one table use. */
export const joinNames = (c: Collection, table: string) => {
  const base = joinTriggerPrefix(c);
  return {
    fn: `syncline_join_${c.name.slice(0, 20)}_${short(`${c.name}/${table}`)}`,
    triggers: {
      insert: `${base}_insert`,
      update: `${base}_update`,
      delete: `${base}_delete`,
      truncate: `${base}_truncate`,
    },
  };
};

/**
 * For the rows of a source (a table's rows, or a transition table), the marks they make at each node
 * the table is: a root row marks its document; a row joined as many marks the parent row it belongs
 * to (its old and its new parent, when both transition tables are given); a row joined as one marks
 * itself, and the assembler finds the rows that join it. `source(n)` is the rows to read for node n.
 */
function marksOf(nodes: JoinNode[], source: (n: JoinNode) => string): string[] {
  return nodes.map((n) => {
    if (!n.relation) return `select '' as node, s.${q(n.primaryKey)}::text as key from ${source(n)} s`;
    if (n.relation.kind === 'many') {
      return `select ${literal(n.parent!.path)} as node, s.${q(n.relation.column)}::text as key from ${source(n)} s`;
    }
    return `select ${literal(n.path)} as node, s.${q(n.primaryKey)}::text as key from ${source(n)} s`;
  });
}

/**
 * The rows of one side of an UPDATE (old_rows or new_rows) whose columns that node reads changed: an
 * update of a column no document shows (a brand's updated_at) marks nothing, so it fans out to nothing.
 */
function changedRows(n: JoinNode, side: 'old_rows' | 'new_rows'): string {
  const other = side === 'old_rows' ? 'new_rows' : 'old_rows';
  const cols = nodeColumns(n);
  const row = (alias: string) => `row(${cols.map((c) => `${alias}.${q(c)}`).join(', ')})`;
  return `(select r.* from ${side} r where not exists (
      select 1 from ${other} x where x.${q(n.primaryKey)} = r.${q(n.primaryKey)} and ${row('x')} is not distinct from ${row('r')}))`;
}

/** The statements that install the marking triggers of one collection on one of its tables (schema-qualified). */
export function markTriggersSql(c: Collection, schema: string, table: string, nodes: JoinNode[]): string[] {
  const n = joinNames(c, table);
  const t = `${ident(schema)}.${q(table)}`;
  const marks = `${ident(schema)}.${q(JOIN_MARKS_TABLE)}`;
  const insert = (sources: ((n: JoinNode) => string)[]) =>
    `insert into ${marks} (collection, node, key)
    select distinct ${literal(c.name)}, m.node, m.key from (${sources.flatMap((s) => marksOf(nodes, s)).join('\n      union all ')}) m
    where m.key is not null;`;
  const fn = `create or replace function ${ident(schema)}.${q(n.fn)}() returns trigger language plpgsql
  security definer set search_path = pg_catalog, pg_temp as $syncline$
begin
  if TG_OP = 'INSERT' then
    ${insert([() => 'new_rows'])}
  elsif TG_OP = 'UPDATE' then
    ${insert([(node) => changedRows(node, 'old_rows'), (node) => changedRows(node, 'new_rows')])}
  elsif TG_OP = 'DELETE' then
    ${insert([() => 'old_rows'])}
  else
    -- TRUNCATE: as if every row were deleted. In REPEATABLE READ or SERIALIZABLE the rows committed
    -- while it waited for its lock would not be seen: refused, loudly, instead.
    if current_setting('transaction_isolation') <> 'read committed' then
      raise exception 'Syncline captures %: TRUNCATE it in a READ COMMITTED transaction', ${literal(table)}
        using hint = 'In REPEATABLE READ or SERIALIZABLE, the rows it removes cannot all be seen; use DELETE or READ COMMITTED';
    end if;
    ${insert([() => `only ${t}`])}
  end if;
  return null;
end $syncline$`;
  const trigger = (name: string, when: string, referencing: string) => [
    `drop trigger if exists ${q(name)} on ${t}`,
    `create trigger ${q(name)} ${when} on ${t} ${referencing} for each statement execute function ${ident(schema)}.${q(n.fn)}()`,
    `alter table ${t} enable always trigger ${q(name)}`,
  ];
  return [
    fn,
    ...trigger(n.triggers.insert, 'after insert', 'referencing new table as new_rows'),
    ...trigger(n.triggers.update, 'after update', 'referencing old table as old_rows new table as new_rows'),
    ...trigger(n.triggers.delete, 'after delete', 'referencing old table as old_rows'),
    ...trigger(n.triggers.truncate, 'before truncate', ''),
  ];
}

/** Pairs for jsonb_build_object, in calls of at most 50 pairs (100 arguments) joined with ||. */
function jsonObject(pairs: [string, string][]): string {
  const calls: string[] = [];
  for (let i = 0; i < pairs.length; i += 50) {
    calls.push(
      `jsonb_build_object(${pairs
        .slice(i, i + 50)
        .map(([k, v]) => `${literal(k)}, ${v}`)
        .join(', ')})`,
    );
  }
  return calls.length === 1 ? calls[0]! : `(${calls.join(' || ')})`;
}

/**
 * A node's row (alias `a`) as its image: its key and declared columns, then each relation joined
 * below it — the joined row's image or null (one), the array of them ordered by key (many).
 */
function imageSql(nodes: JoinNode[], node: JoinNode, a: string, depth: number): string {
  // Keys as text: a bigint key beyond 2^53 would be rounded by a JSON number.
  const pairs: [string, string][] = [
    [node.primaryKey, `${a}.${q(node.primaryKey)}::text`],
    ...Object.entries(node.fields).map(([name, f]): [string, string] => [
      f.column ?? name,
      `${a}.${q(f.column ?? name)}`,
    ]),
  ];
  for (const child of nodes.filter((n) => n.parent === node)) {
    const r = child.relation!;
    const b = `j${depth + 1}`;
    const image = imageSql(nodes, child, b, depth + 1);
    pairs.push([
      child.path.split('.').at(-1)!,
      r.kind === 'one'
        ? `(select ${image} from ${q(r.table)} ${b} where ${b}.${q(r.primaryKey)} = ${a}.${q(r.column)})`
        : `coalesce((select jsonb_agg(${image} order by ${b}.${q(r.primaryKey)}) from ${q(r.table)} ${b} where ${b}.${q(r.column)} = ${a}.${q(node.primaryKey)}), '[]'::jsonb)`,
    ]);
  }
  return jsonObject(pairs);
}

const rootOf = (c: Collection): JoinNode => joinNodes(c)[0]!;
const keyCast = (node: JoinNode) => KEY_PG_TYPES[node.primaryKeyType];

/**
 * A text id (SQL expression) as the root's key, or null when no key can have that form: an id that
 * cannot be a key (a document written into the index by hand, reconciled) is then a document without
 * a row, not an error that would hold up every other document.
 */
const asKey = (root: JoinNode, id: string): string =>
  root.primaryKeyType === 'text'
    ? id
    : `(case when ${id} ~ ${literal(KEY_FORMS[root.primaryKeyType])} then ${id}::${keyCast(root)} end)`;

/** The documents (images) of these ids, by one statement: the join evaluated in PostgreSQL ($1 ids). */
export function joinedDocumentsSql(c: Collection, ids: string[]): Sql {
  const root = rootOf(c);
  return {
    text: `select j0.${q(root.primaryKey)}::text as id, ${imageSql(joinNodes(c), root, 'j0', 0)} as image
from ${q(c.table)} j0 where j0.${q(root.primaryKey)} in (select ${asKey(root, 'k')} from unnest($1::text[]) k)`,
    values: [ids],
  };
}

/** Every document (image) in id order (bytewise, as reconcile merges), for a cursor. */
export function allJoinedDocumentsSql(c: Collection): string {
  const root = rootOf(c);
  const key = `j0.${q(root.primaryKey)}`;
  return `select ${key}::text as id, ${imageSql(joinNodes(c), root, 'j0', 0)} as image from ${q(c.table)} j0
order by ${root.primaryKeyType === 'text' ? key : `${key}::text`} collate "C"`;
}

/**
 * One step up the tree for up to $3 marks of one non-root node ($2): the marks are removed and the
 * rows that join them are marked instead, as fan-out (assembled after the documents writers touched
 * directly). A joined-as-one row marks the parent rows whose link holds its key; a joined-as-many row
 * marks its parent. Returns how many marks it took.
 */
export function expandMarksSql(c: Collection, node: JoinNode): Sql {
  const r = node.relation!;
  const parent = node.parent!;
  const source =
    r.kind === 'one'
      ? `select p.${q(parent.primaryKey)}::text as key, t.at from taken t join ${q(parent.table)} p on p.${q(r.column)} = t.key::${keyCast(node)}`
      : `select n.${q(r.column)}::text as key, t.at from taken t join ${q(node.table)} n on n.${q(node.primaryKey)} = t.key::${keyCast(node)}`;
  return {
    text: `with taken as (
  delete from ${q(JOIN_MARKS_TABLE)} where seq = any(array(
    select seq from ${q(JOIN_MARKS_TABLE)} where collection = $1 and node = $2 order by fanout, seq limit $3))
  returning key, at
), marked as (
  insert into ${q(JOIN_MARKS_TABLE)} (collection, node, key, fanout, at)
  select $1, ${literal(parent.path)}, x.key, true, min(x.at) from (${source}) x where x.key is not null group by x.key
)
select count(*)::int as taken from taken`,
    values: [c.name, node.path],
  };
}

/**
 * The next documents to assemble: the ids of up to $2 root marks of writes and up to $3 of fan-out
 * (and re-emits), each with a new version, and whether it came only from fan-out. The versions are
 * drawn here, before the statement that reads the documents takes its snapshot (see the top of this
 * file, and the write API's wait for joined writes).
 */
export const pickMarksSql = (c: Collection, writes: number, fanout: number): Sql => ({
  text: `select k.key, nextval('${q(VERSION_SEQUENCE)}')::text as version, k.fanout from (
  select m.key, bool_and(m.fanout) as fanout from (
    (select key, fanout from ${q(JOIN_MARKS_TABLE)} where collection = $1 and node = '' and not fanout order by seq limit $2)
    union all
    (select key, fanout from ${q(JOIN_MARKS_TABLE)} where collection = $1 and node = '' and fanout order by seq limit $3)
  ) m group by m.key) k`,
  values: [c.name, writes, fanout],
});

/**
 * Assembles the documents of these ids ($2, with their versions $3) and appends them to the outbox —
 * an upsert with the document's image, or a delete when the root row is gone — and removes the marks
 * of those ids drawn before their version (a mark is only ever taken by an assembly versioned after
 * it: so a mark drawn after a commit is taken by an assembly whose snapshot holds that commit; the
 * write API's wait relies on it). Marks the snapshot does not see, or drawn later, stay for the next
 * assembly. An event's time is its earliest mark's: what the latency metrics measure from.
 */
export function assembleSql(c: Collection, ids: string[], versions: string[]): Sql {
  const root = rootOf(c);
  // Each id's marks are found by one index lookup on their key (a lateral join), whatever the
  // statistics say: the marks table is a queue, its statistics always stale, and a plan that believes
  // them scans every mark once per batch. Each image is built once (docs is materialized).
  return {
    text: `with picked as (
  select i.key, i.version, m.seqs, m.at
  from unnest($2::text[], $3::bigint[]) as i(key, version)
  cross join lateral (
    select array_agg(seq) as seqs, min(at) as at from ${q(JOIN_MARKS_TABLE)}
    where collection = $1 and node = '' and key = i.key and seq < i.version) m
), gone as (
  delete from ${q(JOIN_MARKS_TABLE)} where seq = any(array(select unnest(seqs) from picked))
), docs as materialized (
  select p.key, p.version, p.at,
    case when j0.${q(root.primaryKey)} is null then 'DELETE' else 'UPSERT' end as op,
    case when j0.${q(root.primaryKey)} is null then null else ${imageSql(joinNodes(c), root, 'j0', 0)} end as image
  from picked p left join ${q(c.table)} j0 on j0.${q(root.primaryKey)} = ${asKey(root, 'p.key')}
)
insert into ${q(OUTBOX_TABLE)} (seq, collection, aggregate_id, op, version, payload, created_at)
select version, $1, key, op, version, image, coalesce(at, clock_timestamp()) from docs order by version`,
    values: [c.name, ids, versions],
  };
}

/**
 * Marks these ids of a joined collection for assembly: how backfill, repair and replay re-emit. As
 * fan-out: the documents writers touch meanwhile are assembled first.
 */
export const markIdsSql = (c: Collection, ids: string[]): Sql => ({
  text: `insert into ${q(JOIN_MARKS_TABLE)} (collection, node, key, fanout) select $1, '', k, true from unnest($2::text[]) k`,
  values: [c.name, ids],
});

/**
 * Marks these ids for assembly again, as a write's (not fan-out), and returns each id's mark: an
 * assembly that versions the id above it read a snapshot taken after this statement (the write API's
 * wait), and once the mark is gone, every assembly of the id before it has committed.
 */
export const waitMarksSql = (c: Collection, ids: string[]): Sql => ({
  text: `insert into ${q(JOIN_MARKS_TABLE)} (collection, node, key) select $1, '', k from unnest($2::text[]) k
returning key as id, seq::text`,
  values: [c.name, ids],
});

/** Which of these marks (ids with their seqs) are still to be assembled. */
export const pendingMarksSql = (c: Collection, ids: string[], seqs: string[]): Sql => ({
  text: `select w.id from unnest($2::text[], $3::bigint[]) as w(id, seq)
where exists (select 1 from ${q(JOIN_MARKS_TABLE)} m where m.collection = $1 and m.node = '' and m.key = w.id and m.seq = w.seq)`,
  values: [c.name, ids, seqs],
});

/** The ids among these that a statement's triggers marked (after `mark`, the sequence's last value before it). */
export const writtenMarksSql = (c: Collection, ids: string[], mark: string): Sql => ({
  text: `select distinct key as id from ${q(JOIN_MARKS_TABLE)} where seq > $3 and collection = $1 and node = '' and key = any($2::text[])`,
  values: [c.name, ids, mark],
});

/** How many events wait in the outbox, counted up to $1 (a bounded read of the queue's head). */
export const outboxBacklogSql = (upTo: number): Sql => ({
  text: `select count(*)::int as n from (select 1 from ${q(OUTBOX_TABLE)} limit $1) x`,
  values: [upTo],
});

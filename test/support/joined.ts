// Joined documents in tests: a second joined collection (orders → items → product, integer keys),
// and the comparison of an index with the join evaluated in PostgreSQL by queries written by hand
// (not by Syncline's SQL).
import { type Collection, EventCodec, parseDeclaration, SCHEMA_HEADER } from '@syncline/schema';
import { type Namespace, readTopic } from '@syncline/testkit';
import { esDocuments } from './compare.ts';

/** Orders with their items, each item with its product's name: two levels, integer keys, a table (products) in two collections. */
export const ORDERS_SQL = `
create table orders (id bigint primary key, customer text not null, placed_at timestamptz);
-- No foreign key to orders: an item may outlive its order (and must never bring the order back).
create table order_items (id bigint primary key, order_id bigint, product_id text references products on delete set null, qty int not null);
create index on order_items (order_id);
create index on order_items (product_id);`;

export const ordersCollection = (ns: Namespace): Collection =>
  parseDeclaration({
    collections: [
      {
        name: 'orders',
        table: 'orders',
        primaryKeyType: 'integer',
        capture: true,
        topic: `${ns.topicPrefix}syncline.orders`,
        partitions: 3,
        index: { alias: `${ns.indexPrefix}orders` },
        fields: { customer: { type: 'string', required: true }, placed_at: { type: 'timestamp' } },
        relations: {
          items: {
            kind: 'many',
            table: 'order_items',
            column: 'order_id',
            primaryKeyType: 'integer',
            fields: { qty: { type: 'long', required: true } },
            relations: {
              product: {
                kind: 'one',
                table: 'products',
                column: 'product_id',
                fields: { name: { type: 'string', required: true } },
              },
            },
          },
        },
      },
    ],
  }).collections[0]!;

const ms = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The documents as the join reads them in PostgreSQL, written by hand. */
const EXPECTED: Record<string, string> = {
  products: `select p.id, jsonb_build_object(
      'name', p.name, 'description', p.description, 'price', p.price::float8, 'tags', p.tags,
      'in_stock', p.in_stock, 'updated_at', ${ms('p.updated_at')},
      'brand', (select jsonb_build_object('id', b.id, 'name', b.name) from brands b where b.id = p.brand_id),
      'reviews', coalesce((select jsonb_agg(jsonb_build_object('id', r.id, 'rating', r.rating, 'body', r.body) order by r.id)
                           from reviews r where r.product_id = p.id), '[]')) as doc
    from products p`,
  orders: `select o.id::text as id, jsonb_build_object(
      'customer', o.customer, 'placed_at', ${ms('o.placed_at')},
      'items', coalesce((select jsonb_agg(jsonb_build_object('id', i.id::text, 'qty', i.qty,
                 'product', (select jsonb_build_object('id', p.id, 'name', p.name) from products p where p.id = i.product_id))
               order by i.id) from order_items i where i.order_id = o.id), '[]')) as doc
    from orders o`,
};

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

/** What differs between the index and the hand-written join (empty lists: equal). */
export async function joinedDrift(ns: Namespace, c: Collection, versions?: Map<string, number>) {
  const { rows } = await ns.pool.query<{ id: string; doc: unknown }>(EXPECTED[c.name]!);
  const docs = await esDocuments(ns.probe, c);
  const out = { missing: [] as string[], orphaned: [] as string[], different: [] as string[] };
  for (const row of rows) {
    const doc = docs.get(row.id);
    docs.delete(row.id);
    if (!doc) out.missing.push(row.id);
    else if (canonical(doc.source) !== canonical(row.doc)) out.different.push(row.id);
    else if (versions && doc.version !== versions.get(row.id)) out.different.push(`${row.id}@${doc.version}`);
  }
  out.orphaned = [...docs.keys()];
  return out;
}

/** Each id's versions in the collection's topic, in topic order (deletes included). */
export async function topicHistories(ns: Namespace, c: Collection): Promise<Map<string, number[]>> {
  const codec = new EventCodec(c);
  const histories = new Map<string, number[]>();
  for (const { message } of await readTopic(ns.kafkajs, c.topic, { atLeast: 1, quietMs: 1500 })) {
    if (!message.value) continue;
    const e = codec.decode(message.value, message.headers?.[SCHEMA_HEADER]?.toString());
    histories.set(e.id, [...(histories.get(e.id) ?? []), e.version]);
  }
  return histories;
}

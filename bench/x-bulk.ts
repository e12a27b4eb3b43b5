import pg from 'pg';
import { migrate, OutboxWriter, withTransaction } from '@syncline/outbox';
import { withNamespace } from '@syncline/schema';
import { createNamespace, startServices } from '@syncline/testkit';
import { demoDeclaration } from '../test/support/pipeline.ts';
const doc = (i: number) => ({
  name: `Product ${i}`,
  description: 'A product used by the write benchmark, with a description of moderate length.',
  price: i % 1000,
  tags: ['bench', `t${i % 10}`],
  in_stock: i % 2 === 0,
  updated_at: new Date(1_790_000_000_000 + i).toISOString(),
});
const { services } = await startServices();
const ns = await createNamespace(services, 'xbulk');
const declaration = withNamespace(demoDeclaration, { topicPrefix: ns.topicPrefix, indexPrefix: ns.indexPrefix });
await migrate(ns.pool, declaration);
if (process.env.JSONCOL) await ns.pool.query('alter table syncline_outbox alter column payload type json');
const writer = new OutboxWriter(declaration);
const pool = new pg.Pool({ connectionString: ns.pgUrl, max: 4 });
const times = new Map<string, number>();
const origQuery = (pg.Client.prototype as any).query;
(pg.Client.prototype as any).query = function (this: any, text: any, ...rest: any[]) {
  const key = String(typeof text === 'string' ? text : (text?.text ?? '?'))
    .replace(/\s+/g, ' ')
    .slice(0, 60);
  const s = performance.now();
  const r = origQuery.call(this, text, ...rest);
  if (r && typeof r.then === 'function')
    return r.finally(() => times.set(key, (times.get(key) ?? 0) + performance.now() - s));
  return r;
};
const ROWS = 100000,
  BULK = 1000;
let next = 0;
const t = performance.now();
await Promise.all(
  Array.from({ length: Number(process.env.CONC ?? 4) }, async () => {
    for (let start = next; start < ROWS; start = next) {
      next += BULK;
      const ops = Array.from({ length: BULK }, (_, k) => ({
        op: 'upsert' as const,
        id: `b-${start + k}`,
        document: doc(start + k),
      }));
      await withTransaction(pool, (c) => writer.apply(c, 'products', ops));
    }
  }),
);
const ms = performance.now() - t;
console.log(`bulk direct ${Math.round((ROWS * 1000) / ms)} rows/s`);
for (const [k, v] of [...times].sort((a, b) => b[1] - a[1])) console.log(Math.round(v).toString().padStart(7), k);
await pool.end();
await ns.cleanup();
process.exit(0);

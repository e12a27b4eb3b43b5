// `syncline status`: one line of facts per collection, from PostgreSQL, Kafka and Elasticsearch.
import { deadLetterTopic } from '@syncline/kafka';
import { OUTBOX_TABLE } from '@syncline/outbox';
import type { Context } from './context.ts';

export interface CollectionStatus {
  collection: string;
  postgresRows: number;
  outboxBacklog: number;
  topicEvents: number;
  consumerLag: number;
  indexDocuments: number;
  aliasTarget: string | null;
  deadLetters: number;
}

export async function status(ctx: Context): Promise<CollectionStatus[]> {
  const admin = await ctx.kafka.admin();
  try {
    const topics = new Set(await admin.listTopics());
    const offsets = async (topic: string) => (topics.has(topic) ? await admin.topicOffsets(topic) : []);
    const events = (ends: { high: number; low: number }[]) => ends.reduce((s, p) => s + p.high - p.low, 0);
    const count = async (sql: string, values: unknown[] = []) =>
      Number((await ctx.pool.query<{ n: string }>(sql, values)).rows[0]!.n);
    const out: CollectionStatus[] = [];
    for (const c of ctx.declaration.collections) {
      const rows = await count(`select count(*) as n from "${c.table}"`);
      const backlog = await count(`select count(*) as n from ${OUTBOX_TABLE} where collection = $1`, [c.name]);
      const ends = await offsets(c.topic);
      let lag = 0;
      if (ends.length) {
        const committed = await admin.groupOffsets(ctx.sinkGroup, c.topic);
        lag = ends.reduce((s, p) => s + p.high - (committed.get(p.partition) ?? p.low), 0);
      }
      const deadLetters = events(await offsets(deadLetterTopic(c.topic)));
      const [target = null] = await ctx.search.aliasTargets(c.index.alias);
      const docs = target ? await ctx.search.count(c.index.alias) : 0;
      out.push({
        collection: c.name,
        postgresRows: rows,
        outboxBacklog: backlog,
        topicEvents: events(ends),
        consumerLag: lag,
        indexDocuments: docs,
        aliasTarget: target,
        deadLetters,
      });
    }
    return out;
  } finally {
    await admin.close();
  }
}

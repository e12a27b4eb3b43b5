// The port (port.ts) on kafkajs, the client our users asked for.
import { createRequire } from 'node:module';
import {
  AssignerProtocol,
  CompressionTypes,
  type Consumer,
  type ICustomPartitioner,
  Kafka,
  logLevel,
  type PartitionAssigner,
  type Producer,
} from 'kafkajs';
import type { KafkaClientOptions } from './client.ts';
import { keyHash } from './partitioner.ts';
import type {
  ConsumerSpec,
  GroupConsumer,
  IncomingRecord,
  KafkaAdmin,
  KafkaClient,
  OutgoingRecord,
  ProducerTransaction,
  RecordProducer,
  TopicMessages,
  TransactionalProducer,
} from './port.ts';

// kafkajs 2.2.4 (unmaintained) schedules its request queue's throttle check with a negative timeout
// when it is not throttled, and Node ≥ 24 warns about it (TimeoutNegativeWarning, kafkajs issue 1751)
// in every process. The check is scheduled here with the same delay, never below 0: the warning is gone
// at its cause, and every other warning (this one too, from other code) is printed as before.
const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
  prototype: { scheduleCheckPendingRequests(): void };
};
const CHECK_PENDING_REQUESTS_INTERVAL = 10;
RequestQueue.prototype.scheduleCheckPendingRequests = function (this: {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
}) {
  if (this.throttleCheckTimeoutId) return;
  let scheduleAt = this.throttledUntil - Date.now();
  if (this.pending.length > 0 && scheduleAt <= 0) scheduleAt = CHECK_PENDING_REQUESTS_INTERVAL;
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    Math.max(0, scheduleAt),
  );
};

/** The default partitioner's choice, from the hash computed ahead when there is one. */
const keyHashPartitioner: ICustomPartitioner =
  () =>
  ({ partitionMetadata, message }) => {
    const { keyHash: hash, key } = message as unknown as OutgoingRecord;
    return (hash ?? keyHash(key)) % partitionMetadata.length;
  };

/** Assigns the consumer (alone in its group) exactly the given partitions. */
function fixedAssigner(topic: string, partitions: number[]): PartitionAssigner {
  return () => ({
    name: 'SynclineFixed',
    version: 0,
    async assign({ members }) {
      return members.map(({ memberId }, i) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: i === 0 ? { [topic]: partitions } : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: 'SynclineFixed',
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
      };
    },
  });
}

export class KafkajsClient implements KafkaClient {
  readonly name = 'kafkajs' as const;
  readonly kafka: Kafka;

  constructor({ clientId, brokers, log = 'warn', security = {} }: KafkaClientOptions) {
    const { tls, sasl } = security;
    this.kafka = new Kafka({
      clientId,
      brokers,
      logLevel: log === 'warn' ? logLevel.WARN : logLevel.NOTHING,
      ...(tls && { ssl: tls.ca || tls.cert ? { ...tls, ...(tls.ca && { ca: [tls.ca] }) } : true }),
      ...(sasl && { sasl: { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as never }),
    });
  }

  async admin(): Promise<KafkaAdmin> {
    const admin = this.kafka.admin();
    await admin.connect();
    return {
      listTopics: () => admin.listTopics(),
      async createTopics(topics) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: topics.map((t) => ({
            topic: t.topic,
            numPartitions: t.partitions,
            replicationFactor: t.replicationFactor ?? -1,
            configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
          })),
        });
      },
      async topicOffsets(topic) {
        return (await admin.fetchTopicOffsets(topic)).map((p) => ({
          partition: p.partition,
          low: Number(p.low),
          high: Number(p.high),
        }));
      },
      async groupOffsets(groupId, topic) {
        const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return new Map(
          (t?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => [p.partition, Number(p.offset)]),
        );
      },
      async setGroupOffsets(groupId, topic, offsets) {
        const partitions = [...offsets].map(([partition, offset]) => ({ partition, offset: String(offset) }));
        if (partitions.length) await admin.setOffsets({ groupId, topic, partitions });
      },
      listGroups: async () => (await admin.listGroups()).groups.map((g) => g.groupId),
      async deleteGroups(groupIds) {
        if (groupIds.length) await admin.deleteGroups(groupIds);
      },
      close: () => admin.disconnect(),
    };
  }

  transactionalProducer(options: { transactionalId: string; compression: 'gzip' | 'none' }): TransactionalProducer {
    const producer = this.kafka.producer({
      transactionalId: options.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: keyHashPartitioner,
      // Should a transaction be refused with CONCURRENT_TRANSACTIONS, the next try comes after 20 ms,
      // not kafkajs's default 300 ms.
      retry: { retries: 5, initialRetryTime: 20 },
    });
    const compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    return {
      async connect() {
        await producer.connect();
        // kafkajs initialises a transactional id (bumping its epoch, which fences an older producer)
        // only at its first transaction: an empty one is begun and aborted (which sends nothing).
        await (await producer.transaction()).abort();
      },
      async begin(): Promise<ProducerTransaction> {
        const txn = await producer.transaction();
        return {
          async send(records) {
            await txn.sendBatch({ acks: -1, compression, topicMessages: records as never });
          },
          commit: () => txn.commit(),
          abort: () => txn.abort(),
        };
      },
      close: () => producer.disconnect(),
    };
  }

  producer(options: { compression?: 'gzip' | 'none' } = {}): RecordProducer {
    const compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    let producer: Promise<Producer> | undefined;
    const connected = () => {
      if (!producer) {
        const p = this.kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          createPartitioner: keyHashPartitioner,
        });
        producer = p.connect().then(() => p);
        producer.catch(() => {
          producer = undefined;
        });
      }
      return producer;
    };
    return {
      async send(records: TopicMessages[]) {
        await (await connected()).sendBatch({ acks: -1, compression, topicMessages: records as never });
      },
      async close() {
        const p = producer;
        producer = undefined;
        await p?.then((x) => x.disconnect()).catch(() => {});
      },
    };
  }

  consumer(spec: ConsumerSpec): GroupConsumer {
    const fixed = spec.partitions;
    const c: Consumer = this.kafka.consumer({
      groupId: spec.groupId,
      maxBytesPerPartition: spec.maxBytesPerPartition,
      maxBytes: spec.maxBytes,
      ...(spec.maxWaitMs !== undefined && { maxWaitTimeInMs: spec.maxWaitMs }),
      ...(spec.sessionTimeoutMs !== undefined && {
        sessionTimeout: spec.sessionTimeoutMs,
        heartbeatInterval: Math.min(3000, Math.floor(spec.sessionTimeoutMs / 3)),
      }),
      ...(fixed && { partitionAssigners: [fixedAssigner(spec.topics[0]!, fixed)] }),
      readUncommitted: false,
    });
    let running = false;
    c.on(c.events.GROUP_JOIN, (e) => spec.onJoin?.(e.payload.memberAssignment));
    c.on(c.events.STOP, () => spec.onStop?.());
    c.on(c.events.CRASH, (e) => spec.onCrash?.(e.payload.error, e.payload.restart));
    // A batch of nothing but transaction markers never reaches eachBatch: its end is seen here.
    c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize === 0) spec.onPosition?.(payload.topic, payload.partition, Number(payload.lastOffset) + 1);
    });
    return {
      async start() {
        running = true;
        await c.connect();
        await c.subscribe({ topics: spec.topics, fromBeginning: true });
        await c.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: spec.concurrency,
          eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
            const outcome = await spec.eachBatch(
              {
                topic: batch.topic,
                partition: batch.partition,
                // kafkajs's messages have the record's fields (and more): no copy.
                messages: batch.messages as IncomingRecord[],
                next: Number(batch.lastOffset()) + 1,
                highWatermark: Number(batch.highWatermark),
              },
              { active: () => running && isRunning() && !isStale(), heartbeat },
            );
            if (outcome === 'settled') resolveOffset(batch.lastOffset());
          },
        });
      },
      async commit(offsets) {
        await c.commitOffsets(
          offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })),
        );
      },
      async stop() {
        running = false;
        await c.disconnect();
      },
    };
  }
}

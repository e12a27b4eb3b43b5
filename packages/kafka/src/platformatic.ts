// The port (port.ts) on @platformatic/kafka: maintained, pure TypeScript. Its consumer is a stream of
// records; this adapter hands them over as per-partition batches, the shape the sink and the
// operations work in.
import {
  Admin,
  Consumer,
  FetchIsolationLevels,
  type GroupPartitionsAssigner,
  type Message,
  type MessagesStream,
  ProduceAcks,
  Producer,
  type ProducerOptions,
} from '@platformatic/kafka';
import type { KafkaClientOptions } from './client.ts';
import { keyHash } from './partitioner.ts';
import type {
  ConsumerSpec,
  GroupConsumer,
  IncomingRecord,
  KafkaAdmin,
  KafkaClient,
  OutgoingRecord,
  PartitionBatch,
  RecordProducer,
  TopicMessages,
  TransactionalProducer,
} from './port.ts';

type Options = Omit<KafkaClientOptions, 'client' | 'log'>;

/** Header values are strings or bytes; the client writes bytes. */
const headerSerializers = {
  headerKey: (k?: string) => (k === undefined ? undefined : Buffer.from(k)),
  headerValue: (v?: string | Buffer) => (v === undefined ? undefined : typeof v === 'string' ? Buffer.from(v) : v),
};

/** The default partitioner's choice; the client takes the remainder by the partition count itself. */
const partitioner = (message: { key?: Buffer }) => {
  const { keyHash: hash, key } = message as OutgoingRecord;
  return hash ?? keyHash(key);
};

type AnyProducer = Producer<Buffer, Buffer, string, string | Buffer>;

const toMessages = (records: TopicMessages[]) =>
  records.flatMap(({ topic, messages }) =>
    messages.map((m) => ({ topic, key: m.key, value: m.value ?? undefined, headers: m.headers, keyHash: m.keyHash })),
  ) as never;

export class PlatformaticClient implements KafkaClient {
  readonly name = 'platformatic' as const;
  private readonly options: Options;

  constructor(options: Options) {
    this.options = options;
  }

  private base(suffix: string) {
    return { clientId: `${this.options.clientId}-${suffix}`, bootstrapBrokers: this.options.brokers };
  }

  async admin(): Promise<KafkaAdmin> {
    const admin = new Admin(this.base('admin'));
    // Connects (and fails here when the cluster is unreachable), as kafkajs's admin does.
    await admin.metadata({ topics: [] }).catch(async (err) => {
      await admin.close().catch(() => {});
      throw err;
    });
    return {
      listTopics: () => admin.listTopics(),
      async createTopics(topics) {
        for (const t of topics) {
          await admin.createTopics({
            topics: [t.topic],
            partitions: t.partitions,
            replicas: t.replicationFactor ?? -1,
            configs: Object.entries(t.config).map(([name, value]) => ({ name, value })),
          });
        }
        // Created topics have no leaders for a moment: wait for them, as kafkajs's waitForLeaders does.
        const names = topics.map((t) => t.topic);
        for (let i = 0; names.length && i < 100; i++) {
          const metadata = await admin.metadata({ topics: names, forceUpdate: true }).catch(() => undefined);
          const led = names.every((n) =>
            metadata?.topics.get(n)?.partitions.every((p) => p !== undefined && p.leader >= 0),
          );
          if (led) return;
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      async topicOffsets(topic) {
        const metadata = await admin.metadata({ topics: [topic] });
        const count = metadata.topics.get(topic)!.partitionsCount;
        const partitions = Array.from({ length: count }, (_, partition) => partition);
        const at = async (timestamp: bigint) => {
          const [t] = await admin.listOffsets({
            topics: [{ name: topic, partitions: partitions.map((p) => ({ partitionIndex: p, timestamp })) }] as never,
          });
          return new Map(t!.partitions.map((p) => [p.partitionIndex, Number(p.offset)]));
        };
        const [low, high] = await Promise.all([at(-2n), at(-1n)]);
        return partitions.map((p) => ({ partition: p, low: low.get(p)!, high: high.get(p)! }));
      },
      async groupOffsets(groupId, topic) {
        const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
        const t = group?.topics.find((x) => x.name === topic);
        return new Map(
          (t?.partitions ?? [])
            .filter((p) => p.committedOffset >= 0n)
            .map((p) => [p.partitionIndex, Number(p.committedOffset)]),
        );
      },
      async setGroupOffsets(groupId, topic, offsets) {
        if (offsets.size === 0) return;
        await admin.alterConsumerGroupOffsets({
          groupId,
          topics: [
            { name: topic, partitionOffsets: [...offsets].map(([partition, o]) => ({ partition, offset: BigInt(o) })) },
          ],
        });
      },
      listGroups: async () => [...(await admin.listGroups()).keys()],
      async deleteGroups(groupIds) {
        if (groupIds.length) await admin.deleteGroups({ groups: groupIds });
      },
      close: () => admin.close(),
    };
  }

  private producerOptions(suffix: string): ProducerOptions<Buffer, Buffer, string, string | Buffer> {
    return {
      ...this.base(suffix),
      idempotent: true,
      // A new producer asks the broker for an id as new (-1/-1): the client's default (0/0) is taken as
      // the id and epoch of an earlier producer, which a restarted relay's transactional id never
      // matches (the broker refuses it for as long as the id's state lives), and which would bump
      // producer id 0's epoch for a non-transactional one.
      producerId: -1n,
      producerEpoch: -1,
      acks: ProduceAcks.ALL,
      partitioner,
      serializers: headerSerializers as never,
      // A transaction refused while the previous one completes (CONCURRENT_TRANSACTIONS) is retried soon.
      retries: 5,
      retryDelay: 20,
    };
  }

  transactionalProducer(options: { transactionalId: string; compression: 'gzip' | 'none' }): TransactionalProducer {
    const producer: AnyProducer = new Producer({
      ...this.producerOptions('tx'),
      transactionalId: options.transactionalId,
      compression: options.compression,
    });
    return {
      async connect() {
        // Beginning the first transaction initialises the transactional id (bumping its epoch fences an
        // older producer); it is then dropped here without a word to the broker (an EndTxn for a
        // transaction without partitions is refused).
        await (await producer.beginTransaction()).cancel();
      },
      async begin() {
        const txn = await producer.beginTransaction();
        return {
          async send(records) {
            await txn.send({ messages: toMessages(records) });
          },
          commit: () => txn.commit(),
          abort: () => txn.abort(),
        };
      },
      close: () => producer.close(true),
    };
  }

  producer(options: { compression?: 'gzip' | 'none' } = {}): RecordProducer {
    let producer: AnyProducer | undefined;
    return {
      send: async (records) => {
        producer ??= new Producer({ ...this.producerOptions('producer'), compression: options.compression ?? 'none' });
        await producer.send({ messages: toMessages(records) });
      },
      async close() {
        const p = producer;
        producer = undefined;
        await p?.close(true).catch(() => {});
      },
    };
  }

  consumer(spec: ConsumerSpec): GroupConsumer {
    return new PlatformaticGroupConsumer(this.base('consumer'), spec);
  }
}

/** Assigns the only member exactly the given partitions of the topic. */
const fixedAssigner =
  (topic: string, partitions: number[]): GroupPartitionsAssigner =>
  (_current, members) =>
    [...members.keys()].map((memberId, i) => ({
      memberId,
      assignments: new Map(i === 0 ? [[topic, { topic, partitions }]] : []),
    }));

/** The most records handed over in one round (the stream reads ahead up to its high-water mark). */
const ROUND_RECORDS = 20_000;

class PlatformaticGroupConsumer implements GroupConsumer {
  private readonly consumer: Consumer;
  private readonly spec: ConsumerSpec;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake = () => {};
  private readonly epochs = new Map<string, number>();

  constructor(base: { clientId: string; bootstrapBrokers: string[] }, spec: ConsumerSpec) {
    this.spec = spec;
    this.consumer = new Consumer({
      ...base,
      groupId: spec.groupId,
      ...(spec.sessionTimeoutMs !== undefined && {
        sessionTimeout: spec.sessionTimeoutMs,
        heartbeatInterval: Math.min(3000, Math.floor(spec.sessionTimeoutMs / 3)),
      }),
    });
    this.consumer.on('consumer:group:join', (e) => {
      const assignment: Record<string, number[]> = {};
      for (const a of e.assignments ?? []) assignment[a.topic] = a.partitions;
      spec.onJoin?.(assignment);
    });
    this.consumer.on('consumer:group:leave', () => spec.onStop?.());
  }

  async start(): Promise<void> {
    const { spec } = this;
    this.running = true;
    const stream = await this.consumer.consume({
      topics: spec.topics,
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxBytes: spec.maxBytes,
      maxBytesPerPartition: spec.maxBytesPerPartition,
      maxWaitTime: spec.maxWaitMs ?? 500,
      highWaterMark: ROUND_RECORDS,
      ...(spec.partitions && { partitionAssigner: fixedAssigner(spec.topics[0]!, spec.partitions) }),
    } as never);
    this.stream = stream;
    stream.on('error', (err) => this.crash(err));
    // A 'readable' listener keeps the stream fetching in paused mode; a fetch that brought only
    // transaction markers is seen after its response was applied.
    stream.on('readable', () => this.wake());
    stream.on('fetch', () => setImmediate(() => this.wake()));
    this.loop = this.run(stream).catch((err) => this.crash(err));
  }

  private crash(err: unknown) {
    if (!this.running) return;
    this.running = false;
    this.wake();
    this.spec.onCrash?.(err, false);
  }

  private owns(topic: string, partition: number): boolean {
    return Boolean(this.consumer.assignments?.some((a) => a.topic === topic && a.partitions.includes(partition)));
  }

  private async run(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>): Promise<void> {
    const { spec } = this;
    while (this.running) {
      const round: Message<Buffer, Buffer, Buffer, Buffer>[] = [];
      for (let m = stream.read(); m !== null; m = round.length < ROUND_RECORDS ? stream.read() : null) round.push(m);
      const drained = stream.readableLength === 0;
      const batches = new Map<string, PartitionBatch>();
      for (const m of round) {
        const key = `${m.topic}:${m.partition}`;
        let batch = batches.get(key);
        if (!batch) {
          batch = { topic: m.topic, partition: m.partition, messages: [], next: 0 };
          batches.set(key, batch);
        }
        const headers: Record<string, Buffer | undefined> = {};
        for (const [k, v] of m.headerEntries) headers[k.toString()] = v;
        batch.messages.push({ key: m.key ?? null, value: m.value ?? null, headers, offset: String(m.offset) });
        batch.next = Number(m.offset) + 1;
        this.epochs.set(key, m.leaderEpoch);
      }
      if (drained) {
        // Every record the stream fetched was handed over: its positions are the batches' ends, or
        // the markers-only ends of partitions without records.
        for (const [key, offset] of stream.offsetsToFetch) {
          const batch = batches.get(key);
          if (batch) batch.next = Math.max(batch.next, Number(offset));
          else if (this.running) {
            const at = key.lastIndexOf(':');
            spec.onPosition?.(key.slice(0, at), Number(key.slice(at + 1)), Number(offset));
          }
        }
      }
      if (batches.size === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (stream.readableLength > 0 || !this.running) resolve();
        });
        continue;
      }
      const queue = [...batches.values()];
      const worker = async () => {
        for (let b = queue.shift(); b && this.running; b = queue.shift()) {
          const batch = b;
          await spec.eachBatch(batch, {
            active: () => this.running && this.owns(batch.topic, batch.partition),
            heartbeat: async () => {},
          });
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(spec.concurrency, queue.length)) }, worker));
    }
  }

  async commit(offsets: Array<{ topic: string; partition: number; offset: number }>): Promise<void> {
    await this.consumer.commit({
      offsets: offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: BigInt(o.offset),
        leaderEpoch: this.epochs.get(`${o.topic}:${o.partition}`) ?? -1,
      })),
    });
  }

  async stop(): Promise<void> {
    const wasRunning = this.running;
    this.running = false;
    this.wake();
    await this.loop?.catch(() => {});
    await this.stream?.close().catch(() => {});
    await this.consumer.close(true).catch(() => {});
    if (wasRunning) this.spec.onStop?.();
  }
}

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
import { SynclineError } from '@syncline/core';
import type { KafkaClientOptions } from './client.ts';
import { keyHash } from './partitioner.ts';
import type {
  ConsumerSpec,
  GroupConsumer,
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
    // A tombstone's value is null, which the client writes as a null record value.
    messages.map((m) => ({ topic, key: m.key, value: m.value, headers: m.headers, keyHash: m.keyHash })),
  ) as never;

export class PlatformaticClient implements KafkaClient {
  readonly name = 'platformatic' as const;
  private readonly options: Options;

  constructor(options: Options) {
    this.options = options;
  }

  private base(suffix: string) {
    const { tls, sasl } = this.options.security ?? {};
    return {
      clientId: `${this.options.clientId}-${suffix}`,
      bootstrapBrokers: this.options.brokers,
      ...(tls && { tls }),
      ...(sasl && {
        sasl: { mechanism: sasl.mechanism.toUpperCase() as 'PLAIN', username: sasl.username, password: sasl.password },
      }),
    };
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
      // A transaction refused while the previous one completes (CONCURRENT_TRANSACTIONS) is retried
      // soon, then with doubling delays up to 2 s (≈ 6 s in all), like kafkajs's retry.
      retries: 8,
      retryDelay: (_client: unknown, _operation: string, attempt: number) => Math.min(2000, 20 * 2 ** attempt),
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
        let sent = false;
        return {
          async send(records) {
            sent = true;
            await txn.send({ messages: toMessages(records) });
          },
          commit: () => txn.commit(),
          // The broker refuses to end a transaction it never heard of (no partition added): drop it here.
          abort: () => (sent ? txn.abort() : txn.cancel()),
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

type Stream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

/**
 * The group consumer on @platformatic/kafka's record stream. What kafkajs does by itself is done here:
 * - after every join (a new generation) and after an abandoned batch, the stream is replaced by a new one
 *   that starts at the group's committed offsets: records the old one had fetched (ahead, or from a
 *   position the library kept, or from a fetch in flight across the rejoin) are never handed over;
 * - a commit is refused as SYNC_PARTITION_LOST when the batch was handed over in an earlier generation
 *   or the partition is no longer this member's (the library would rejoin and commit anyway);
 * - a consumer given fixed partitions hands over only those (alone in its group, the library assigns
 *   it every partition).
 */
class PlatformaticGroupConsumer implements GroupConsumer {
  private readonly consumer: Consumer;
  private readonly spec: ConsumerSpec;
  private stream: Stream | undefined;
  private running = false;
  private stopped = false;
  /** Set on a join or an abandoned batch: the run loop replaces the stream before handing over more. */
  private restart = false;
  private loop: Promise<void> | undefined;
  private wake = () => {};
  private readonly epochs = new Map<string, number>();
  /** The generation each partition's last batch was handed over in. */
  private readonly handedIn = new Map<string, number>();

  constructor(base: ReturnType<PlatformaticClient['base']>, spec: ConsumerSpec) {
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
      for (const a of e.assignments ?? []) assignment[a.topic] = this.mine(a.topic, a.partitions);
      this.restart = true;
      this.wake();
      spec.onJoin?.(assignment);
    });
    // A rejoin the library could not complete (the coordinator gone for long) is reported here.
    this.consumer.on('error', (err) => this.crash(err));
  }

  /** The partitions of the topic this consumer hands over. */
  private mine(topic: string, partitions: number[]): number[] {
    const fixed = this.spec.partitions;
    return fixed && topic === this.spec.topics[0] ? partitions.filter((p) => fixed.includes(p)) : partitions;
  }

  /** `topic:partition` of every partition this member owns and hands over (once per round, not per record). */
  private owned(): Set<string> {
    const keys = new Set<string>();
    for (const a of this.consumer.assignments ?? []) {
      for (const p of this.mine(a.topic, a.partitions)) keys.add(`${a.topic}:${p}`);
    }
    return keys;
  }

  private async open(): Promise<Stream> {
    const { spec } = this;
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
    stream.on('error', (err) => {
      if (this.stream === stream) this.crash(err);
    });
    // A 'readable' listener keeps the stream fetching in paused mode; a fetch that brought only
    // transaction markers is seen after its response was applied.
    stream.on('readable', () => this.wake());
    stream.on('fetch', () => setImmediate(() => this.wake()));
    return stream;
  }

  async start(): Promise<void> {
    this.running = true;
    this.stream = await this.open();
    this.restart = false;
    this.loop = this.run().catch((err) => this.crash(err));
  }

  private crash(err: unknown) {
    if (!this.running) return;
    this.running = false;
    this.wake();
    this.spec.onCrash?.(err, false);
  }

  /** A new stream at the group's committed offsets; the old one's records are dropped. */
  private async replaceStream(): Promise<void> {
    this.restart = false;
    const old = this.stream;
    // Opened before the old one closes: the topics stay tracked, so the member does not rejoin.
    this.stream = await this.open();
    await old?.close().catch(() => {});
  }

  private async run(): Promise<void> {
    const { spec } = this;
    while (this.running) {
      if (this.restart) await this.replaceStream();
      const stream = this.stream!;
      const generation = this.consumer.generationId;
      const round: Message<Buffer, Buffer, Buffer, Buffer>[] = [];
      for (let m = stream.read(); m !== null; m = round.length < ROUND_RECORDS ? stream.read() : null) round.push(m);
      if (this.restart) continue; // a join happened: these may be stale
      const drained = stream.readableLength === 0;
      const owned = this.owned();
      const batches = new Map<string, PartitionBatch>();
      for (const m of round) {
        const key = `${m.topic}:${m.partition}`;
        if (!owned.has(key)) continue;
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
          if (!owned.has(key)) continue;
          const batch = batches.get(key);
          if (batch) batch.next = Math.max(batch.next, Number(offset));
          else {
            const at = key.lastIndexOf(':');
            spec.onPosition?.(key.slice(0, at), Number(key.slice(at + 1)), Number(offset));
          }
        }
      }
      if (batches.size === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (stream.readableLength > 0 || !this.running || this.restart) resolve();
        });
        continue;
      }
      const queue = [...batches.values()];
      const worker = async () => {
        for (let b = queue.shift(); b && this.running; b = queue.shift()) {
          const batch = b;
          this.handedIn.set(`${batch.topic}:${batch.partition}`, generation);
          const outcome = await spec.eachBatch(batch, {
            active: () =>
              this.running &&
              this.consumer.generationId === generation &&
              this.owned().has(`${batch.topic}:${batch.partition}`),
            heartbeat: async () => {},
          });
          // The stream has read past the abandoned records: the next round starts again from the commits.
          if (outcome === 'abandoned') this.restart = true;
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(spec.concurrency, queue.length)) }, worker));
    }
  }

  async commit(offsets: Array<{ topic: string; partition: number; offset: number }>): Promise<void> {
    for (const o of offsets) {
      const key = `${o.topic}:${o.partition}`;
      const handed = this.handedIn.get(key);
      if ((handed !== undefined && handed !== this.consumer.generationId) || !this.owned().has(key)) {
        throw new SynclineError(
          'SYNC_PARTITION_LOST',
          `partition ${key} was reassigned (generation ${this.consumer.generationId})`,
        );
      }
    }
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
    await this.consumer.close().catch(() => this.consumer.close(true).catch(() => {}));
    if (wasRunning && !this.stopped) this.spec.onStop?.();
    this.stopped = true;
  }
}

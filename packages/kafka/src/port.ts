// The one port through which Syncline talks to Kafka. Two adapters implement it: kafkajs.ts (the
// client our users asked for) and platformatic.ts (@platformatic/kafka); SYNCLINE_KAFKA_CLIENT picks one
// (client.ts). Everything Syncline does with Kafka is one of the few operations below, so the two
// adapters are the only code that knows a client's API.

/** The clients behind the port. */
export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

/** A record to produce. Header values are strings or bytes. */
export interface OutgoingRecord {
  key: Buffer;
  /** null: a tombstone. */
  value: Buffer | null;
  headers?: Record<string, string | Buffer>;
  /** `keyHash(key)` computed ahead (the relay's reader thread does); computed here when absent. */
  keyHash?: number;
}

export interface TopicMessages {
  topic: string;
  messages: OutgoingRecord[];
}

/** A record as consumed. */
export interface IncomingRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | undefined>;
  offset: string;
}

/** Records of one partition, in offset order, from one fetch. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: IncomingRecord[];
  /** The position after the batch: its last record's offset + 1, or more when transaction markers follow. */
  next: number;
  /** The partition's end when the batch was fetched, when the client says (kafkajs does). */
  highWatermark?: number;
}

export interface BatchControl {
  /** False once the partition was revoked or the consumer is stopping: the batch should be abandoned. */
  active(): boolean;
  /** Tells the group this member is alive during a long batch (a no-op where the client heartbeats by itself). */
  heartbeat(): Promise<void>;
}

export interface ConsumerSpec {
  groupId: string;
  topics: string[];
  /** The consumer is alone in its group and takes exactly these partitions of `topics[0]` (no rebalancing). */
  partitions?: number[];
  maxBytesPerPartition: number;
  maxBytes: number;
  /** How long a fetch waits for records (ms). */
  maxWaitMs?: number;
  sessionTimeoutMs?: number;
  /** How many partitions' batches may be processed at once. */
  concurrency: number;
  /**
   * Processes one batch. Resolving 'settled' moves the consumer's position past it; 'abandoned' (the
   * partition was lost, or the consumer stops) leaves it for whoever reads the partition next. A
   * rejection crashes the consumer (onCrash). The position is committed only through `commit`.
   */
  eachBatch(batch: PartitionBatch, control: BatchControl): Promise<'settled' | 'abandoned'>;
  /**
   * The consumer's position in a partition passed `next` without records to hand over (transaction
   * markers take offsets and are never delivered). Reading up to an end offset needs it.
   */
  onPosition?(topic: string, partition: number, next: number): void;
  /** Joined the group with this assignment (topic → partitions). */
  onJoin?(assignment: Record<string, number[]>): void;
  /** Left the group or stopped. */
  onStop?(): void;
  /** Failed; `restarting` when the client recovers by itself, otherwise the consumer is stopped. */
  onCrash?(error: unknown, restarting: boolean): void;
}

export interface GroupConsumer {
  /** Connects, joins and starts consuming; resolves once running (batches arrive later). */
  start(): Promise<void>;
  /** Commits these next offsets for the group (rejects when the partition is no longer this member's). */
  commit(offsets: Array<{ topic: string; partition: number; offset: number }>): Promise<void>;
  stop(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Omitted: the broker's default. */
  replicationFactor?: number;
  config: Record<string, string>;
}

export interface KafkaAdmin {
  listTopics(): Promise<string[]>;
  /** Creates the topics and waits for their leaders. */
  createTopics(topics: TopicSpec[]): Promise<void>;
  /** Each partition's first and end offsets. */
  topicOffsets(topic: string): Promise<Array<{ partition: number; low: number; high: number }>>;
  /** The group's committed next offsets in the topic; partitions it never committed are absent. */
  groupOffsets(groupId: string, topic: string): Promise<Map<number, number>>;
  /** Sets the committed offsets of a group that has no active member. */
  setGroupOffsets(groupId: string, topic: string, offsets: Map<number, number>): Promise<void>;
  listGroups(): Promise<string[]>;
  deleteGroups(groupIds: string[]): Promise<void>;
  close(): Promise<void>;
}

/** One transaction of a transactional producer. */
export interface ProducerTransaction {
  /** Sends one produce request's records (acks=all); per partition in the order given. */
  send(records: TopicMessages[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TransactionalProducer {
  /** Connects and initialises the transactional id, which fences any older producer with the same id. */
  connect(): Promise<void>;
  begin(): Promise<ProducerTransaction>;
  close(): Promise<void>;
}

/** An idempotent producer (acks=all), outside transactions. */
export interface RecordProducer {
  send(records: TopicMessages[]): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaClient {
  readonly name: KafkaClientName;
  /** A connected admin; close it when done. */
  admin(): Promise<KafkaAdmin>;
  transactionalProducer(options: { transactionalId: string; compression: 'gzip' | 'none' }): TransactionalProducer;
  producer(options?: { compression?: 'gzip' | 'none' }): RecordProducer;
  consumer(spec: ConsumerSpec): GroupConsumer;
}

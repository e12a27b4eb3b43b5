// Reads the next batch of committed outbox events, already encoded as Kafka records. The reading
// and encoding run on a worker thread (outbox-reader-worker.ts) with its own connection; the
// caller's thread only receives one transferred buffer per batch.
import { Worker } from 'node:worker_threads';
import type { TopicMessages } from '@syncline/kafka';
import type { Declaration } from '@syncline/schema';
import { type PackedBatch, type SeqRuns, unpack } from './event-batch.ts';

export interface ReadRequest {
  id: number;
  limit: number;
  /** Seqs of batches read but not yet removed: not read again. */
  exclude: SeqRuns;
}

/** A failed read carries the driver's error code, so that it is classified like any PostgreSQL error. */
export type ReadResponse =
  | { id: number; batch: PackedBatch }
  | { id: number; error: string; code?: string | undefined };

/** Which rows a relay reads: those of shard `index` of `count` (see relay-layout.ts). */
export interface Shard {
  index: number;
  count: number;
}

export interface EncodedBatch {
  runs: SeqRuns;
  events: number;
  maxRecordBytes: number;
  /** Commit time of the oldest event, epoch ms (0 when empty). */
  oldestCommittedAt: number;
  topicMessages: TopicMessages[];
}

export interface BatchReader {
  /** Up to `limit` committed events oldest first (ascending seq), skipping `exclude`. */
  read(limit: number, exclude: SeqRuns): Promise<EncodedBatch>;
  close(): Promise<void>;
}

export class OutboxReader implements BatchReader {
  /** What the worker thread reads with (outbox-reader-worker.ts). */
  private readonly workerData: { connectionString: string; declaration: Declaration; shard: Shard };
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (b: EncodedBatch) => void; reject: (e: Error) => void }>();

  constructor(connectionString: string, declaration: Declaration, shard: Shard = { index: 0, count: 1 }) {
    this.workerData = { connectionString, declaration, shard };
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./outbox-reader-worker.ts', import.meta.url), { workerData: this.workerData });
    worker.unref();
    worker.on('message', (m: ReadResponse) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (!p) return;
      if ('error' in m) p.reject(Object.assign(new Error(`reading the outbox failed: ${m.error}`), { code: m.code }));
      else {
        const { runs, events, maxRecordBytes, oldestCommittedAt } = m.batch;
        p.resolve({ runs, events, maxRecordBytes, oldestCommittedAt, topicMessages: unpack(m.batch) });
      }
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the outbox reader thread exited with ${code}`)));
    this.worker = worker;
    return worker;
  }

  read(limit: number, exclude: SeqRuns): Promise<EncodedBatch> {
    const worker = this.started();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, limit, exclude } satisfies ReadRequest);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}

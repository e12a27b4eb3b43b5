import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { keyHash, murmur2 } from './partitioner.ts';

// kafkajs's own murmur2 (64-bit Long arithmetic): the reference the relay's must equal.
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer,
) => number;

const partitionMetadata = (n: number) =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
    offlineReplicas: [],
  }));

describe('relay partitioner', () => {
  it("computes Kafka's murmur2 for keys of every length, as kafkajs does", () => {
    for (let length = 0; length < 64; length++) {
      for (let i = 0; i < 20; i++) {
        const key = randomBytes(length);
        expect(murmur2(key)).toBe(kafkajsMurmur2(key));
      }
    }
  });

  it("chooses the default partitioner's partition: the key hash modulo the partition count", () => {
    const theirs = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 6, 7, 64]) {
      for (let i = 0; i < 200; i++) {
        const key = Buffer.from(`p-${i * 7919}`);
        const args = { topic: 't', partitionMetadata: partitionMetadata(partitions) };
        expect(keyHash(key) % partitions).toBe(theirs({ ...args, message: { key, value: null } }));
      }
    }
  });
});

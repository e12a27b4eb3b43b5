// Partition choice for the relay's records, the same as Kafka's default partitioner (and both
// clients'): murmur2 of the key bytes, made positive, modulo the topic's partition count. The hash is
// computed on the reader thread (event-batch.ts), so the thread that talks to Kafka only takes a
// remainder; kafkajs's own murmur2 works on 64-bit Long objects and was a large part of that thread's time.

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) in 32-bit arithmetic. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[length4 + 2]! << 16;
  if (rest >= 2) h ^= data[length4 + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[length4]!, m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h;
}

/** The partition-count-independent part of the default partitioner's choice. */
export const keyHash = (key: Uint8Array): number => murmur2(key) & 0x7fffffff;

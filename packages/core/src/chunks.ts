/** Splits items, in order, into consecutive chunks of at most `count` items and about `bytes` bytes
 * (a chunk is closed before the item that would pass either bound; an item larger than `bytes` is alone). */
export function boundedChunks<T>(
  items: Iterable<T>,
  sizeOf: (item: T) => number,
  limits: { count: number; bytes: number },
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= limits.count || bytes + size > limits.bytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

// The sink's configuration, from the environment, validated once at start-up.
import { z } from 'zod';
import { httpPort, loadConfig as load, sharedEnv } from '@syncline/core';

const int = (min: number) => z.coerce.number().int().min(min);

export const configSchema = z.object({
  ...sharedEnv,
  SYNCLINE_HTTP_PORT: httpPort(8082),
  SYNCLINE_SINK_GROUP: z.string().min(1).default('syncline-es-sink'),
  /** Group members (kafkajs consumers) in one instance: one can fetch while another's batches are indexed (memory bounds multiply). */
  SYNCLINE_SINK_CONSUMERS: int(1).default(1),
  /** Partitions processed at the same time by each of them. */
  SYNCLINE_SINK_CONCURRENCY: int(1).default(4),
  SYNCLINE_SINK_MAX_DOCS: int(1).default(5000),
  SYNCLINE_SINK_MAX_BYTES: int(1024).default(5 * 1024 * 1024),
  /** Kafka fetch limits: with the concurrency above, they bound the sink's memory. */
  SYNCLINE_SINK_FETCH_MAX_BYTES_PER_PARTITION: int(1024).default(1024 * 1024),
  SYNCLINE_SINK_FETCH_MAX_BYTES: int(1024).default(10 * 1024 * 1024),
  SYNCLINE_SINK_RETRY_INITIAL_MS: int(1).default(200),
  SYNCLINE_SINK_RETRY_MAX_MS: int(1).default(10_000),
  /** How long a crashed instance keeps its partitions before the group moves them (Kafka allows >= 6000). */
  SYNCLINE_SINK_SESSION_TIMEOUT_MS: int(6000).default(30_000),
  SYNCLINE_SINK_BULK_TIMEOUT_MS: int(100).default(30_000),
});

export type SinkConfig = z.infer<typeof configSchema>;

export function loadConfig(env: Record<string, string | undefined>): Readonly<SinkConfig> {
  return load(configSchema, env);
}

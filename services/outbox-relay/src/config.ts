// The relay service's configuration, from the environment, validated once at start-up.
import { z } from 'zod';
import { loadConfig as load } from '@syncline/core';

export const configSchema = z.object({
  SYNCLINE_PG_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/syncline'),
  SYNCLINE_KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) => s.split(',').map((b) => b.trim())),
  SYNCLINE_COLLECTIONS: z.string().default('syncline.collections.json'),
  SYNCLINE_HTTP_HOST: z.string().default('127.0.0.1'),
  SYNCLINE_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  /** Kafka transactional id prefix; every relay of one outbox must use the same. */
  SYNCLINE_RELAY_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default('syncline-relay'),
  /** Fault injection for tests: exit(137) after the Nth publish, before removing the rows. */
  SYNCLINE_FAULT_EXIT_AFTER_PUBLISH: z.coerce.number().int().min(0).default(0),
  SYNCLINE_RELAY_SHARD: z.coerce.number().int().min(0).default(0),
  SYNCLINE_RELAY_BATCH_SIZE: z.coerce.number().int().positive().default(2000),
  SYNCLINE_RELAY_COMPRESSION: z.enum(['gzip', 'none']).default('gzip'),
  SYNCLINE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export function loadConfig(env: Record<string, string | undefined>) {
  return load(configSchema, env);
}

// The relay service's configuration, from the environment, validated once at start-up.
import { z } from 'zod';
import { httpPort, loadConfig as load, sharedEnv } from '@syncline/core';

export const configSchema = z
  .object({
    ...sharedEnv,
    SYNCLINE_HTTP_PORT: httpPort(8081),
    /** Kafka transactional id prefix; every relay of one outbox must use the same. */
    SYNCLINE_RELAY_ID: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/)
      .default('syncline-relay'),
    /** Fault injection for tests: exit(137) after the Nth publish, before removing the rows. */
    SYNCLINE_FAULT_EXIT_AFTER_PUBLISH: z.coerce.number().int().min(0).default(0),
    /** Relays splitting the outbox by document id, and which of them this one is (0-based). */
    SYNCLINE_RELAY_SHARDS: z.coerce.number().int().min(1).max(64).default(1),
    SYNCLINE_RELAY_SHARD: z.coerce.number().int().min(0).default(0),
    /** Most events per batch (one Kafka transaction), and about the most bytes of records in one. */
    SYNCLINE_RELAY_BATCH_SIZE: z.coerce.number().int().positive().default(20000),
    SYNCLINE_RELAY_BATCH_BYTES: z.coerce.number().int().min(65536).default(16 * 1024 * 1024),
    SYNCLINE_RELAY_COMPRESSION: z.enum(['gzip', 'none']).default('gzip'),
  })
  .refine((c) => c.SYNCLINE_RELAY_SHARD < c.SYNCLINE_RELAY_SHARDS, {
    message: 'must be less than SYNCLINE_RELAY_SHARDS',
    path: ['SYNCLINE_RELAY_SHARD'],
  });

export function loadConfig(env: Record<string, string | undefined>) {
  return load(configSchema, env);
}

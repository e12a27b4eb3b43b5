// The write service's configuration, from the environment, validated once at start-up.
import { z } from 'zod';
import { httpPort, loadConfig as load, sharedEnv } from '@syncline/core';

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

export const configSchema = z.object({
  ...sharedEnv,
  SYNCLINE_HTTP_PORT: httpPort(8080),
  /** Comma-separated; empty disables authentication (logged as a warning). */
  SYNCLINE_API_KEYS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    ),
  SYNCLINE_BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(1_048_576),
  SYNCLINE_BULK_MAX_OPERATIONS: z.coerce.number().int().positive().default(10_000),
  SYNCLINE_PG_POOL_SIZE: z.coerce.number().int().positive().default(20),
  /** Run the outbox relay inside this process (true) or rely on a separate outbox-relay service. */
  SYNCLINE_EMBEDDED_RELAY: bool.default(true),
  SYNCLINE_RELAY_COMPRESSION: z.enum(['gzip', 'none']).default('gzip'),
  SYNCLINE_WAIT_INDEXED_MAX_MS: z.coerce.number().int().positive().default(30_000),
});

export type WriteApiConfig = z.infer<typeof configSchema>;

export function loadConfig(env: Record<string, string | undefined>): Readonly<WriteApiConfig> {
  return load(configSchema, env);
}

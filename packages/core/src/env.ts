// The environment variables every Syncline process shares, as zod fields; each service's
// config.ts composes its schema from these and its own.
import { z } from 'zod';

export const sharedEnv = {
  SYNCLINE_PG_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/syncline'),
  SYNCLINE_KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) => s.split(',').map((b) => b.trim())),
  SYNCLINE_ES_URL: z.string().url().default('http://127.0.0.1:9200'),
  SYNCLINE_COLLECTIONS: z.string().default('syncline.collections.json'),
  SYNCLINE_HTTP_HOST: z.string().default('127.0.0.1'),
  SYNCLINE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

export const httpPort = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

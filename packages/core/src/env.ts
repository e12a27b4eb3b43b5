// Every environment variable of every Syncline process, with its default, defined once. Each
// service's config.ts composes its schema from these groups; docs/configuration.md says what each
// one bounds or sets (env.test.ts checks that it names every one).
import { z } from 'zod';

const int = (min: number) => z.coerce.number().int().min(min);
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
/** A comma-separated list, each item trimmed. */
const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s) => s.split(',').map((x) => x.trim()));

export const httpPort = (fallback: number) => int(0).max(65535).default(fallback);

export const sharedEnv = {
  SYNCLINE_PG_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/syncline'),
  SYNCLINE_KAFKA_BROKERS: list('127.0.0.1:9092'),
  SYNCLINE_KAFKA_CLIENT: z.enum(['kafkajs', 'platformatic']).default('kafkajs'),
  // Kafka security (both clients): TLS, and SASL over it or over plaintext; secrets inline or from files.
  SYNCLINE_KAFKA_TLS: bool.default(false),
  SYNCLINE_KAFKA_TLS_CA_FILE: z.string().optional(),
  SYNCLINE_KAFKA_TLS_CERT_FILE: z.string().optional(),
  SYNCLINE_KAFKA_TLS_KEY_FILE: z.string().optional(),
  SYNCLINE_KAFKA_SASL_MECHANISM: z.enum(['none', 'plain', 'scram-sha-256', 'scram-sha-512']).default('none'),
  SYNCLINE_KAFKA_SASL_USERNAME: z.string().optional(),
  SYNCLINE_KAFKA_SASL_PASSWORD: z.string().optional(),
  SYNCLINE_KAFKA_SASL_PASSWORD_FILE: z.string().optional(),
  // The search engine: which one, where (https:// for TLS), whom to trust, and who we are; secrets inline or from files.
  SYNCLINE_SEARCH_ENGINE: z.enum(['elasticsearch', 'opensearch']).default('elasticsearch'),
  SYNCLINE_ES_URL: list('http://127.0.0.1:9200').pipe(z.array(z.string().url()).min(1)),
  SYNCLINE_ES_CA_FILE: z.string().optional(),
  SYNCLINE_ES_CA_FINGERPRINT: z.string().optional(),
  SYNCLINE_ES_API_KEY: z.string().optional(),
  SYNCLINE_ES_API_KEY_FILE: z.string().optional(),
  SYNCLINE_ES_USERNAME: z.string().optional(),
  SYNCLINE_ES_PASSWORD: z.string().optional(),
  SYNCLINE_ES_PASSWORD_FILE: z.string().optional(),
  SYNCLINE_COLLECTIONS: z.string().default('syncline.collections.json'),
  SYNCLINE_HTTP_HOST: z.string().default('127.0.0.1'),
  SYNCLINE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

/** The variables every process reads, as parsed. */
export type SharedConfig = z.infer<z.ZodObject<typeof sharedEnv>>;

export const writeApiEnv = {
  SYNCLINE_API_KEYS: list('').transform((keys) => keys.filter(Boolean)),
  SYNCLINE_BODY_LIMIT_BYTES: int(1).default(1_048_576),
  SYNCLINE_BULK_MAX_OPERATIONS: int(1).default(10_000),
  SYNCLINE_PG_POOL_SIZE: int(1).default(20),
  SYNCLINE_EMBEDDED_RELAY: bool.default(true),
  SYNCLINE_WAIT_INDEXED_MAX_MS: int(1).default(30_000),
};

/** The sink's consumer group, which the command line reads lag from too, and the relay's assembler paces fan-out by. */
export const sinkGroupEnv = {
  SYNCLINE_SINK_GROUP: z.string().min(1).default('syncline-es-sink'),
};

/** The relay's, embedded in the write API or on its own. */
export const relayEnv = {
  SYNCLINE_RELAY_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default('syncline-relay'),
  SYNCLINE_RELAY_BATCH_SIZE: int(1).default(20000),
  SYNCLINE_RELAY_BATCH_BYTES: int(65536).default(16 * 1024 * 1024),
  SYNCLINE_RELAY_COMPRESSION: z.enum(['gzip', 'none']).default('none'),
  SYNCLINE_ASSEMBLE_BATCH_SIZE: int(1).max(100_000).default(1000),
  SYNCLINE_ASSEMBLE_FANOUT_RATE: int(0).default(0),
  SYNCLINE_ASSEMBLE_FANOUT_BACKLOG: int(1).default(1000),
  ...sinkGroupEnv,
};

export const RELAY_DEFAULTS = z.object(relayEnv).parse({});

/** The relay service's alone. */
export const relayServiceEnv = {
  SYNCLINE_RELAY_SHARDS: int(1).max(64).default(1),
  SYNCLINE_RELAY_SHARD: int(0).default(0),
  SYNCLINE_FAULT_EXIT_AFTER_PUBLISH: int(0).default(0),
};

export const sinkEnv = {
  ...sinkGroupEnv,
  SYNCLINE_SINK_CONSUMERS: int(1).default(1),
  SYNCLINE_SINK_CONCURRENCY: int(1).default(4),
  SYNCLINE_SINK_MAX_DOCS: int(1).default(5000),
  SYNCLINE_SINK_MAX_BYTES: int(1024).default(5 * 1024 * 1024),
  SYNCLINE_SINK_FETCH_MAX_BYTES_PER_PARTITION: int(1024).default(1024 * 1024),
  SYNCLINE_SINK_FETCH_MAX_BYTES: int(1024).default(10 * 1024 * 1024),
  SYNCLINE_SINK_RETRY_INITIAL_MS: int(1).default(200),
  SYNCLINE_SINK_RETRY_MAX_MS: int(1).default(10_000),
  SYNCLINE_SINK_SESSION_TIMEOUT_MS: int(6000).default(30_000),
  SYNCLINE_SINK_BULK_TIMEOUT_MS: int(100).default(30_000),
};

/** Every variable (SYNCLINE_HTTP_PORT's default is each service's own), for the documentation check. */
export const ALL_ENV = {
  ...sharedEnv,
  SYNCLINE_HTTP_PORT: httpPort(0),
  ...writeApiEnv,
  ...relayEnv,
  ...relayServiceEnv,
  ...sinkEnv,
};

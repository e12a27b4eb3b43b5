export { loadConfig } from './config.ts';
export { ERROR_CATALOG, type ErrorCode, type ErrorDetail, isSynclineError, SynclineError } from './errors.ts';
export { createLogger, type Logger } from './logger.ts';
export { Counter, createMetricsRegistry, Gauge, Histogram, type Registry } from './metrics.ts';
export { type BackoffOptions, backoffDelay, sleep } from './retry.ts';
export { httpPort, sharedEnv } from './env.ts';

export { boundedChunks } from './chunks.ts';
export { loadConfig } from './config.ts';
export {
  ALL_ENV,
  httpPort,
  RELAY_DEFAULTS,
  relayEnv,
  relayServiceEnv,
  sharedEnv,
  sinkEnv,
  sinkGroupEnv,
  writeApiEnv,
} from './env.ts';
export {
  classifyError,
  ERROR_CATALOG,
  type ErrorClassifier,
  type ErrorCode,
  type ErrorDetail,
  isSynclineError,
  SynclineError,
} from './errors.ts';
export { createLogger, type Logger } from './logger.ts';
export { createMetricsRegistry, LATENCY_BUCKETS, metricsOn, type Registry } from './metrics.ts';
export { listen, type OpsOptions, opsRoutes, runService, startOpsServer, untilSignal } from './ops.ts';
export { type BackoffOptions, backoffDelay, retry, type RetryOptions, sleep } from './retry.ts';

export { boundedChunks } from './chunks.ts';
export { invalidConfig, invalidSetting, loadConfig, readSettingFile, secretSetting } from './config.ts';
export * from './env.ts';
export {
  ERROR_CATALOG,
  type ErrorCode,
  type ErrorDetail,
  isSynclineError,
  SynclineError,
  UNTRUSTED_CERTIFICATE,
} from './errors.ts';
export { createLogger, type Logger } from './logger.ts';
export { createMetricsRegistry, metricsOn, type Registry } from './metrics.ts';
export { listen, opsRoutes, runService, startOpsServer, untilSignal } from './ops.ts';
export { backoffDelay, retry, sleep } from './retry.ts';

export { buildApp, type WriteApiDeps } from './app.ts';
export { configSchema, loadConfig, type WriteApiConfig } from './config.ts';
export { EsIndexedVersionReader } from './es-indexed-version.ts';
export { buildRelay } from './relay.ts';
export { withTransaction } from '@syncline/outbox';
export type { IndexedVersionReader } from './routes/documents.ts';

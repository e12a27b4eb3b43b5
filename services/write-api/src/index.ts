export { buildApp, type WriteApiDeps } from './app.ts';
export { configSchema, loadConfig, type WriteApiConfig } from './config.ts';
export { EsIndexedVersionReader } from './es-indexed-version.ts';
export { buildRelay } from './relay.ts';
export { type IndexedVersionReader, withTransaction } from './routes/documents.ts';

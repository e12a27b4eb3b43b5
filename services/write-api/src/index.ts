export { buildApp, type WriteApiDeps } from './app.ts';
export { configSchema, loadConfig, type WriteApiConfig } from './config.ts';

export { buildApp, type WriteApiDeps } from './app.ts';
export { configSchema, loadConfig, type WriteApiConfig } from './config.ts';
export { type Change, type IndexWaiter, PipelineIndexWaiter } from './index-waiter.ts';

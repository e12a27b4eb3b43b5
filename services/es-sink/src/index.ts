export { buildSink, type Sink } from './app.ts';
export { configSchema, loadConfig, type SinkConfig } from './config.ts';

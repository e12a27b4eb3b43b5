export { buildSink, type Sink } from './app.ts';

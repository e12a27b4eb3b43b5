export { buildApp } from './app.ts';
export { PipelineIndexWaiter } from './index-waiter.ts';

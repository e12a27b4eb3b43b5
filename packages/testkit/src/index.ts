import './vitest-context.ts';

export { eventually } from './eventually.ts';
export { createNamespace, type Namespace } from './namespace.ts';
export { type Services, type StartedServices, startServices } from './services.ts';
export { type ReadMessage, readTopic } from './kafka.ts';
export { REPO_ROOT, type RunningService, spawnService, writeTempJson } from './processes.ts';
export { startStack, stopService } from './faults.ts';

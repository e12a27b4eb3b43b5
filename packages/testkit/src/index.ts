import './vitest-context.ts';

export { eventually } from './eventually.ts';
export { createNamespace, type Namespace } from './namespace.ts';
export { startServices } from './services.ts';
export { readTopic } from './kafka.ts';
export { REPO_ROOT, type RunningService, spawnService, writeTempJson } from './processes.ts';
export { startStack, stopService } from './faults.ts';

import './vitest-context.ts';

export { eventually } from './eventually.ts';
export { restartPostgres, startStack, stopService } from './faults.ts';
export { readTopic } from './kafka.ts';
export { createNamespace, kafkaClientName, type Namespace } from './namespace.ts';
export { REPO_ROOT, type RunningService, spawnService, writeTempJson } from './processes.ts';
export { startServices } from './services.ts';

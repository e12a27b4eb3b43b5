import './vitest-context.ts';

export { eventually } from './eventually.ts';
export { restartPostgres, startStack, stopService } from './faults.ts';
export { readTopic } from './kafka.ts';
export { createNamespace, kafkaClientName, type Namespace, searchEngineName, searchUrlOf } from './namespace.ts';
export { type ProbedDocument, SearchProbe } from './probe.ts';
export { REPO_ROOT, type RunningService, spawnService, writeTempJson } from './processes.ts';
export { startServices } from './services.ts';

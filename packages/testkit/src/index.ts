import './vitest-context.ts';

export { eventually } from './eventually.ts';
export { createNamespace, type Namespace } from './namespace.ts';
export { type Services, type StartedServices, startServices } from './services.ts';

// vitest globalSetup: resolve the services once per run and hand them to every test file.
import type { TestProject } from 'vitest/node';
import { startServices } from './services.ts';
import './vitest-context.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = await startServices();
  project.provide('services', started.services);
  return started.stop;
}

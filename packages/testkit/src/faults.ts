// Stopping and restarting a shared service, for outage scenarios. Only the local stack can be
// controlled from here; scenarios that need it run when services.mode is 'local'.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from './processes.ts';

const run = promisify(execFile);

export async function stopService(service: 'kafka' | 'elasticsearch'): Promise<void> {
  await run('bash', [`${REPO_ROOT}stack/stack.sh`, 'stop', service]);
}

export async function startStack(): Promise<void> {
  await run('bash', [`${REPO_ROOT}stack/stack.sh`, 'up']);
}

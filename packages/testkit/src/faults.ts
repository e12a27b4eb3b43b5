// Stopping and restarting a shared service, for outage scenarios. Only the local stack can be
// controlled from here; scenarios that need it run when services.mode is 'local'.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from './processes.ts';

const run = promisify(execFile);

export async function stopService(service: 'kafka' | 'elasticsearch' | 'opensearch'): Promise<void> {
  await run('bash', [`${REPO_ROOT}stack/stack.sh`, 'stop', service]);
}

export async function startStack(): Promise<void> {
  await run('bash', [`${REPO_ROOT}stack/stack.sh`, 'up', 'all']);
}

/**
 * Restarts the machine's PostgreSQL cluster (pg_ctlcluster, as .ci/run starts it) and waits until it
 * accepts connections again. Every session of every suite is cut: run it only in test/chaos/.
 */
export async function restartPostgres(pgUrl: string): Promise<void> {
  const { stdout } = await run('ls', ['/etc/postgresql']);
  const version = stdout.trim().split(/\s+/)[0]!;
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart']);
  for (let i = 0; i < 600; i++) {
    const ready = await run('pg_isready', ['-d', pgUrl]).then(
      () => true,
      () => false,
    );
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('PostgreSQL did not come back within 60 s of its restart');
}

// Syncline services as real child processes, for tests that kill them (SIGKILL) mid-flight.
// Each logs to .stack/logs/tests/<name>-<pid>.log; the port comes from its 'listening' log line.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LOG_DIR = join(REPO_ROOT, '.stack', 'logs', 'tests');

export interface RunningService {
  name: string;
  child: ChildProcess;
  pid: number;
  port: number;
  logFile: string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** entry: path relative to the repository, e.g. services/outbox-relay/src/main.ts */
export async function spawnService(
  name: string,
  entry: string,
  env: Record<string, string>,
  { timeoutMs = 60_000, args = [] as string[] } = {},
): Promise<RunningService> {
  mkdirSync(LOG_DIR, { recursive: true });
  const child = spawn(process.execPath, [join(REPO_ROOT, entry), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, SYNCLINE_HTTP_PORT: '0', SYNCLINE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logFile = join(LOG_DIR, `${name}-${child.pid}.log`);
  const log = createWriteStream(logFile);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within ${timeoutMs} ms; see ${logFile}`)),
      timeoutMs,
    );
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      buffer += chunk.toString();
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
        try {
          const parsed = JSON.parse(line) as { msg?: string; port?: number };
          if (parsed.msg === 'listening' && parsed.port) {
            clearTimeout(timer);
            resolve(parsed.port);
          }
        } catch {
          // not a JSON log line
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} during start-up; see ${logFile}`));
    });
  });
  return {
    name,
    child,
    pid: child.pid!,
    port,
    logFile,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Writes a declaration to a temporary file, for a child process's SYNCLINE_COLLECTIONS. */
export function writeTempJson(name: string, value: unknown): string {
  const path = join(tmpdir(), `${name}-${process.pid}-${Date.now()}.json`);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

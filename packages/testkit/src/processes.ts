// Syncline services as real child processes: for tests that kill them (SIGKILL) mid-flight, and for
// `./dev up`, which leaves them running in the background (detached). Output goes to a log file
// (.stack/logs/tests/<name>-<n>.log unless one is given); the port comes from its 'listening' line.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LOG_DIR = join(REPO_ROOT, '.stack', 'logs', 'tests');
let started = 0;

export interface RunningService {
  name: string;
  child: ChildProcess;
  pid: number;
  port: number;
  logFile: string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** The port of the first 'listening' line written to `file` after byte `from`. */
function listeningPort(file: string, from: number): number | undefined {
  const text = readFileSync(file).subarray(from).toString();
  for (const line of text.split('\n')) {
    if (!line.includes('"listening"')) continue;
    try {
      const parsed = JSON.parse(line) as { msg?: string; port?: number };
      if (parsed.msg === 'listening' && parsed.port) return parsed.port;
    } catch {
      // not a JSON log line
    }
  }
  return undefined;
}

/** entry: path relative to the repository, e.g. services/outbox-relay/src/main.ts */
export async function spawnService(
  name: string,
  entry: string,
  env: Record<string, string>,
  { timeoutMs = 60_000, args = [] as string[], logFile = '', detached = false } = {},
): Promise<RunningService> {
  const log = logFile || join(LOG_DIR, `${name}-${process.pid}-${++started}.log`);
  mkdirSync(dirname(log), { recursive: true });
  const fd = openSync(log, 'a');
  const from = statSync(log).size;
  const child = spawn(process.execPath, [join(REPO_ROOT, entry), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, SYNCLINE_HTTP_PORT: '0', SYNCLINE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', fd, fd],
    detached,
  });
  closeSync(fd);
  if (detached) child.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + timeoutMs;
  let port = listeningPort(log, from);
  for (; !port; port = listeningPort(log, from)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode} during start-up; see ${log}`);
    }
    if (Date.now() > deadline) throw new Error(`${name} did not start within ${timeoutMs} ms; see ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name,
    child,
    pid: child.pid!,
    port,
    logFile: log,
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

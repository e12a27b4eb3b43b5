// Waiting between attempts, and the one retry loop: a failure is retried only while its catalog
// error says `retriable`.
import { setTimeout as delay } from 'node:timers/promises';
import { classifyError, type ErrorClassifier, type SynclineError } from './errors.ts';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** Exponential backoff with equal jitter (between half the capped ceiling and the ceiling). */
export function backoffDelay(attempt: number, { initialMs, maxMs }: BackoffOptions): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt));
  return Math.floor(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Resolves after `ms`, or as soon as `signal` aborts (an abort ends the wait, it is no failure). */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => {});

export interface RetryOptions {
  backoff: BackoffOptions;
  /** The drivers' classifiers that turn a failure into a catalog error (classifyError). */
  classifiers?: ErrorClassifier[];
  /** Called before each wait. */
  onRetry?: (err: SynclineError, attempt: number, delayMs: number) => void;
  /** How to wait (default: sleep, cut short by `signal`). */
  wait?: (ms: number) => Promise<void>;
  /** Once aborted, a failure is thrown instead of retried. */
  signal?: AbortSignal;
}

/** Calls fn until it succeeds; throws the first failure that is not retriable, as a catalog error. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const known = classifyError(err, ...(options.classifiers ?? []));
      if (!known.retriable || options.signal?.aborted) throw known;
      const delay = backoffDelay(attempt, options.backoff);
      options.onRetry?.(known, attempt, delay);
      await (options.wait ?? ((ms) => sleep(ms, options.signal)))(delay);
      if (options.signal?.aborted) throw known;
    }
  }
}

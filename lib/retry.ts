/**
 * Retrying an attempt to reach an engine: exponential backoff, a time limit per attempt,
 * and a ConnectionError after the last try (docs/design.md section 7). Shared by every backend.
 */
import { ConnectionError } from './errors';
import type { ConnectionLog } from './log';

/**
 * How {@link withRetries} retries.
 *
 * @example
 * const { maxTries, connectionTimeout } = conn.config;
 * const policy: RetryPolicy = { backend: conn.backend, maxTries, connectionTimeout, target: conn.location, log: conn.log, what: 'get block' };
 */
export interface RetryPolicy {
  /** Backend name, for the error message. */
  backend: string;
  /** Attempts in all; 0 = forever. */
  maxTries: number;
  /** Milliseconds one attempt may take before it counts as failed; none when omitted. */
  connectionTimeout?: number;
  /** First pause between attempts, doubled each time (capped at `maxDelay`). Default 100 ms. */
  initialDelay?: number;
  /** Longest pause between attempts. Default 5000 ms. */
  maxDelay?: number;
  /** Whether a failure is worth another try. Default: every failure is. */
  retryable?: (error: unknown) => boolean;
  /** What is being reached, for the message (never a URL with a password). */
  target?: string;
  /**
   * The error thrown when trying stops. Default: a ConnectionError whose cause is the last
   * failure (an engine may rather map a refused statement to its own error).
   */
  giveUp?: (lastError: unknown, tries: number) => Error;
  /** Stops retrying (the last failure is thrown) once this aborts: a feed being closed. */
  signal?: AbortSignal;
  /** Where each retry ("try 2 of 3 in 200 ms") and a slow successful try are reported: the connection's log. */
  log?: ConnectionLog;
  /** What is being tried (`'get block'`), for those lines. */
  what?: string;
}

/**
 * Waits `ms`, or less if `signal` aborts. Not unref'd: whoever waits on the pause keeps the
 * process alive.
 *
 * @example
 * await pause(50, feedSignal);
 */
export const pause = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** Runs `attempt` with a time limit; a late attempt's result is disposed of by `onLate`. */
async function withTimeout<T>(attempt: () => Promise<T>, ms: number, onLate?: (value: T) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const pending = attempt();
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([pending, limit]);
  } finally {
    clearTimeout(timer);
    if (timedOut) pending.then((value) => onLate?.(value), () => undefined);
  }
}

/**
 * Tries `attempt` until it succeeds or `maxTries` attempts have failed, then throws a
 * {@link ConnectionError} whose `cause` is the last failure.
 *
 * @example
 * const client = await withRetries(() => pool.connect(), { backend: 'postgres', maxTries: 3, connectionTimeout: 5000 },
 *   (late) => late.release());
 */
export async function withRetries<T>(attempt: () => Promise<T>, policy: RetryPolicy, onLate?: (value: T) => void): Promise<T> {
  const { maxTries, connectionTimeout, initialDelay = 100, maxDelay = 5000, retryable = () => true } = policy;
  let delay = initialDelay;
  let lastError: unknown;
  let tries = 0;
  const { log, what = policy.target } = policy;
  while (maxTries === 0 || tries < maxTries) {
    tries++;
    // Each try is timed on its own: the pauses between tries are reported as retries, not as slowness.
    const stop = log?.timer(what ?? 'operation');
    try {
      const result = connectionTimeout === undefined ? await attempt() : await withTimeout(attempt, connectionTimeout, onLate);
      stop?.();
      return result;
    } catch (error) {
      lastError = error;
      if (!retryable(error) || policy.signal?.aborted) break;
      if (maxTries !== 0 && tries >= maxTries) break;
      log?.retry(what, tries, maxTries, delay, error);
      await pause(delay, policy.signal);
      if (policy.signal?.aborted) break;
      delay = Math.min(delay * 2, maxDelay);
    }
  }
  if (policy.giveUp) throw policy.giveUp(lastError, tries);
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  const where = policy.target ? ` ${policy.target}` : '';
  const count = ` after ${tries} ${tries === 1 ? 'try' : 'tries'}`;
  throw new ConnectionError(policy.backend, `could not connect${where}${count}: ${reason}`, { cause: lastError });
}

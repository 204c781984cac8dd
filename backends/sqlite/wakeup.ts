/**
 * In-process wake-ups for SQLite changefeeds. A feed polls the change log every
 * `pollInterval` ms because other processes' writes send no signal; a write made in this
 * process wakes the feeds on the same database at once, so a listener in the writing
 * process sees its event within a fraction of a millisecond instead of up to a poll later.
 * The wake-up carries nothing: the feed still reads the log, so missing one loses nothing.
 */

/** Waiting feeds, by database (a file's absolute path, or the connection for ':memory:'). */
const waiting = new Map<unknown, Set<() => void>>();

/**
 * Wakes every feed waiting on `database`.
 *
 * @example
 * wakeFeeds(conn.location);   // after a write committed
 */
export function wakeFeeds(database: unknown): void {
  const feeds = waiting.get(database);
  if (!feeds) return;
  waiting.delete(database);
  for (const wake of feeds) wake();
}

/**
 * Waits until a write to `database` in this process, `ms` milliseconds, or `signal`
 * aborts, whichever comes first.
 *
 * @example
 * await waitForWrite(conn.location, conn.pollInterval, signal);
 */
export function waitForWrite(database: unknown, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      const feeds = waiting.get(database);
      feeds?.delete(done);
      if (feeds?.size === 0) waiting.delete(database);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    let feeds = waiting.get(database);
    if (!feeds) waiting.set(database, (feeds = new Set()));
    feeds.add(done);
  });
}

/**
 * Changefeeds on RethinkDB read the change log (changelog.ts), not the tables: RethinkDB's own
 * changefeeds forget everything that happens while they are disconnected (which is how
 * BigchainDB's RethinkDB feed lost events during outages). The log keeps it.
 *
 * How a feed reads. Its position is the number of the last entry of its table it went past
 * (logreader.ts). Each pull reads the entries after the position in number order and delivers
 * the events of its operations, waiting at an entry still pending (a write in progress) until
 * it is done or `pendingTimeout` has passed (then it delivers what the state shows the write
 * did, and keeps watching the entry for the rest). Numbers skipped because their entry was
 * not visible yet, and entries watched, are checked again until settled.
 *
 * Waking up. A server-side changefeed on the table's log entries (`changes()`, reporting only
 * their id, number and state) wakes the feed when an entry is inserted or completed, and
 * reveals entries that appeared behind the position. It is a hint: the feed also re-reads the
 * log every `heartbeatInterval` without one (every `pollInterval` while the wake-up is down),
 * so a wake-up that dies silently costs latency, never events.
 *
 * Dead peers. Every read has the query deadline (connection.ts). The wake-up cursor has none
 * (it is silent whenever nothing is written), so when it has been silent for
 * `heartbeatInterval`, the feed pings the connection it runs on; no answer within as long,
 * and that connection is closed as dead, which fails the cursor, and the feed opens a new
 * one. A lost connection, a table briefly unavailable (resharding, reconfiguration, a new
 * primary replica: "Changefeed aborted (table unavailable)", "Cannot perform read: ...") and
 * the like are ridden out; the feed resumes from its position and loses nothing.
 *
 * The guarantee: every change committed after the feed started listening is delivered once,
 * in the order of the log (write order; within one write, batch order), except that a write
 * found late (cut short, or behind the position) is delivered when found; a feed that falls
 * behind the log's retention (`changeLogRetention`) fails loudly instead of skipping events.
 * The limits are those of the log (changelog.ts).
 */
import { ChangeFeed, type ChangeEvent, type ChangefeedOptions } from '../../lib/changefeed';
import type * as changefeed from '../../lib/changefeed';
import type { HandlerMap } from '../../lib/dispatch';
import type { FeedOutage } from '../../lib/log';
import { pause } from '../../lib/retry';
import type { TableName } from '../../lib/tables';
import { type ChangeEntry, entriesById, entriesNumbered, liveEntries, startRead, tailRead } from './changelog';
import type { OpenCursor, RethinkConnection } from './connection';
import { isTransient } from './errors';
import { type LiveReport, LogReader } from './logreader';

/** Entries read per query (an entry holds up to 1,000 events). */
const BATCH = 16;
/** How many of the last numbers before its start a feed checks for writes in flight. */
const START_WINDOW = 256;

const NOTHING: unique symbol = Symbol('nothing reported');

/**
 * A feed over the rethinkdb change log: the queries of a {@link LogReader}.
 *
 * @example
 * const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT);
 * for await (const { record } of feed) console.log('block', record);
 */
export class RethinkChangeFeed extends ChangeFeed {
  readonly #reader: LogReader;
  #live: OpenCursor<LiveReport> | undefined;
  #pending: Promise<LiveReport> | undefined;
  /** When the wake-up last reported, or its connection last answered a ping. */
  #heard = 0;
  readonly #outage: FeedOutage;

  constructor(
    private readonly conn: RethinkConnection,
    table: TableName,
    operations: number,
    options?: ChangefeedOptions,
  ) {
    super(table, operations, options);
    this.#outage = conn.log.feedOutage(table);
    this.#reader = new LogReader(table, operations, { pendingTimeout: conn.options.pendingTimeout, checkInterval: conn.options.pollInterval });
  }

  protected async start(): Promise<void> {
    // Wake-up first: an entry inserted after it listens is reported by it.
    await this.openLive();
    if (this.closed) return;
    try {
      this.#reader.begin(await this.conn.run('start changefeed', startRead(this.conn.db, this.table, START_WINDOW)), START_WINDOW);
    } catch (error) {
      this.dropLive();
      throw error;
    }
  }

  protected async pull(signal: AbortSignal): Promise<ChangeEvent[]> {
    for (;;) {
      if (signal.aborted) return [];
      try {
        if (!this.#live) {
          await this.openLive();
          if (!this.#live) return [];
        }
        // What lies behind the position first: it was written before what lies ahead.
        const behind = await this.readOutstanding();
        if (behind.length) return behind;
        const answer = await this.conn.run('read changefeed', tailRead(this.conn.db, this.table, this.#reader.position, BATCH));
        this.#outage.resumed();
        const { events, full, resolve } = this.#reader.acceptTail(answer, BATCH);
        // Delivered before anything else can fail: the reader has gone past them.
        if (events.length) return events;
        if (resolve) {
          const resolved = await this.readResolved(resolve);
          if (resolved.length) return resolved;
          continue;
        }
        if (full) continue;
        await this.waitForWakeUp(signal);
      } catch (error) {
        if (signal.aborted || this.closed) return [];
        if (!isTransient(error)) throw error;
        this.#outage.failed(error);
        this.dropLive();
        await pause(this.conn.options.pollInterval, signal);
      }
    }
  }

  /** Opens the wake-up changefeed on this table's log entries (closing it if the feed closed meanwhile). */
  private async openLive(): Promise<void> {
    const live = (await this.conn.cursor('open changefeed', liveEntries(this.conn.db, this.table))) as OpenCursor<LiveReport>;
    if (this.closed) {
      // close() ran while it was opening: stop() found nothing to close, so it is closed here.
      live.cursor.close().catch(() => undefined);
      return;
    }
    this.#live = live;
    this.#heard = Date.now();
  }

  /** Closes the wake-up; the next pull opens a new one. */
  private dropLive(): void {
    const live = this.#live;
    this.#live = undefined;
    this.#pending = undefined;
    this.#reader.wakeUpLost();
    live?.cursor.close().catch(() => undefined);
  }

  /** Checks the holes and watched entries when due (see logreader.ts). */
  private async readOutstanding(): Promise<ChangeEvent[]> {
    const asked = this.#reader.outstanding();
    if (!asked) return [];
    const byNumber: ChangeEntry[] = asked.numbers.length
      ? await this.conn.run('read changefeed', entriesNumbered(this.conn.db, this.table, asked.numbers))
      : [];
    const byId: ChangeEntry[] = asked.ids.length ? await this.conn.run('read changefeed', entriesById(this.conn.db, this.table, asked.ids)) : [];
    return this.#reader.acceptOutstanding(asked, byNumber, byId);
  }

  /** Reads the pending entry at the head with the events its state shows, and delivers them. */
  private async readResolved(id: string): Promise<ChangeEvent[]> {
    const [entry] = (await this.conn.run('read changefeed', entriesById(this.conn.db, this.table, [id]))) as ChangeEntry[];
    return this.#reader.acceptResolved(id, entry);
  }

  /**
   * Waits for the wake-up to report entries (taking every report already received), for the
   * reader's next due time, at most `heartbeatInterval` (then the log is read again anyway),
   * or for the end of the feed. A wake-up silent for `heartbeatInterval` has its connection
   * pinged first; a report of dropped reports (an overflow) closes the wake-up.
   */
  private async waitForWakeUp(signal: AbortSignal): Promise<void> {
    const { heartbeatInterval, pollInterval } = this.conn.options;
    const due = this.#reader.nextDue() ?? Number.POSITIVE_INFINITY;
    const live = this.#live;
    if (!live) return pause(Math.min(pollInterval, due), signal);
    if (Date.now() - this.#heard >= heartbeatInterval) {
      if (!(await this.conn.ping(live.connection))) return this.dropLive();
      this.#heard = Date.now();
    }
    const wait = Math.min(heartbeatInterval - (Date.now() - this.#heard), due);
    // The timer ends with the wait, whichever way it ends (a busy feed waits often).
    const waited = new AbortController();
    const both = typeof AbortSignal.any === 'function' ? AbortSignal.any([signal, waited.signal]) : signal;
    const timeout = pause(Math.max(0, wait), both).then((): typeof NOTHING => NOTHING);
    let report: LiveReport | typeof NOTHING = await Promise.race([this.next$(live), timeout]).finally(() => waited.abort());
    while (report !== NOTHING) {
      this.#pending = undefined;
      this.#heard = Date.now();
      if (this.#reader.report(report) === 'overflow') return this.dropLive();
      // Take the reports already received before reading the log again.
      const received = new Promise<typeof NOTHING>((resolve) => setImmediate(() => resolve(NOTHING)));
      report = await Promise.race([this.next$(live), received]);
    }
  }

  /** The wake-up's next report (one request in flight at a time, kept across waits). */
  private next$(live: OpenCursor<LiveReport>): Promise<LiveReport> {
    if (!this.#pending) {
      this.#pending = live.cursor.next();
      // Handled here too: a request left pending when the feed stops must not reject unheard.
      this.#pending.catch(() => undefined);
    }
    return this.#pending;
  }

  protected override async stop(): Promise<void> {
    this.dropLive();
  }
}

/**
 * The changefeed handlers of the rethinkdb backend, registered by its index.
 *
 * @example
 * registerHandlers(RethinkConnection, changefeed, changefeedHandlers);
 */
export const changefeedHandlers: HandlerMap<typeof changefeed, typeof RethinkConnection> = {
  getChangefeed(conn, table, operations, options) {
    return new RethinkChangeFeed(conn, table, operations, options).ownedBy(conn).open();
  },
};

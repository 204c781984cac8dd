/**
 * Changefeeds on RethinkDB read the change log (changelog.ts), not the tables: RethinkDB's own
 * changefeeds forget everything that happens while they are disconnected (which is how
 * BigchainDB's RethinkDB feed lost events during outages). The log keeps it.
 *
 * How a feed reads. Its position is the last log entry it read in order, or a time it reads
 * after. Each pull reads the next entries after the position, in `position` index order, and
 * delivers the events of its table whose operation is in its mask. An entry is stamped with
 * the time its write reached the server but becomes visible when the write finishes, so a
 * slow write's entry can land behind a quicker one's: a *late* entry. A server-side
 * changefeed on the log (`changes()`) carries only the positions of new entries: it wakes the
 * feed up, and it reveals late entries, which are fetched by id and delivered before anything
 * further on (out of position order, never lost). Every delivered entry id is remembered for
 * the overlap window, so nothing is delivered twice. While the wake-up is down, the feed polls
 * every `pollInterval` ms.
 *
 * The position never moves closer than `SETTLE_MS` (logreader.ts) to the server's clock when the feed
 * is idle: an entry stamped within that margin is read in order by the next read, not reported
 * late. At the start, the feed remembers the entries already visible in that margin, so a
 * change written before it started is not delivered.
 *
 * After a lost connection, the feed opens a new wake-up, then re-reads the log from
 * `feedOverlap` ms before its position up to its position, delivering what it has not seen:
 * the entries that landed behind it while it was away.
 *
 * The guarantee, precisely: every change committed after the feed started listening is
 * delivered once, in the order of the log (write order; within one write, batch order),
 * except that a late entry comes when it becomes visible; across a lost connection, a change
 * is missed only if its write query took longer than `feedOverlap` to finish *and* finished
 * while the feed was disconnected, or if the server died between the change and its log
 * entry (there are no multi-document transactions). A feed that falls behind the log's
 * retention (`changeLogRetention`) fails loudly instead of skipping events.
 */
import { type RCursor, r } from 'rethinkdb-ts';
import { ChangeFeed, type ChangeEvent, type ChangefeedOptions } from '../../lib/changefeed';
import type * as changefeed from '../../lib/changefeed';
import type { HandlerMap } from '../../lib/dispatch';
import type { TableName } from '../../lib/tables';
import { pause } from '../../lib/retry';
import { type Bound, type ChangeEntry, type Position, type RawTime, entriesById, liveEntries, overlapEntries, tailRead } from './changelog';
import type { RethinkConnection } from './connection';
import { isConnectionFailure } from './errors';
import { type LiveReport, LogReader, positionOf, settledBefore } from './logreader';

/** Entries read per query. */
const BATCH = 100;

const RAW = { timeFormat: 'raw' } as const;
const NOTHING: unique symbol = Symbol('nothing pending');

/**
 * A feed over the rethinkdb change log: the queries of a {@link LogReader}.
 *
 * @example
 * const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT);
 * for await (const { record } of feed) console.log('block', record);
 */
export class RethinkChangeFeed extends ChangeFeed {
  readonly #reader: LogReader;
  #live: RCursor<LiveReport> | undefined;
  #pending: Promise<LiveReport> | undefined;
  /** The wake-up was lost: re-read the overlap (from after this entry, when paging). */
  #resume: { after?: Position } | undefined;

  constructor(
    private readonly conn: RethinkConnection,
    table: TableName,
    operations: number,
    options?: ChangefeedOptions,
  ) {
    super(table, operations, options);
    this.#reader = new LogReader(table, operations, conn.options.feedOverlap);
  }

  protected async start(): Promise<void> {
    // Wake-up first: an entry committed after it listens is reported by it.
    await this.openLive();
    try {
      await this.takeStartingPosition();
    } catch (error) {
      this.dropLive();
      throw error;
    }
  }

  /** Reads the server's time and the entries already there: they are not delivered. */
  private async takeStartingPosition(): Promise<void> {
    const now = (await this.conn.run('start changefeed', r.now(), { runOptions: RAW })) as unknown as RawTime;
    const visible: ChangeEntry[] = [];
    for (let after: Position | undefined; ; ) {
      const page = await this.readRange(settledBefore(now), undefined, after);
      visible.push(...page);
      if (page.length < BATCH) break;
      after = positionOf(page[page.length - 1]);
    }
    this.#reader.begin(now, visible);
  }

  protected async pull(signal: AbortSignal): Promise<ChangeEvent[]> {
    for (;;) {
      if (signal.aborted) return [];
      try {
        if (!this.#live) {
          await this.openLive();
          this.#resume = {};
        }
        if (this.#resume) {
          const events = await this.readOverlap();
          if (events.length) return events;
          continue;
        }
        // Late entries first: they belong before anything after the position.
        const late = await this.readLate();
        if (late.length) return late;
        const answer = await this.conn.run('read changefeed', tailRead(this.conn.db, this.table, this.#reader.position, BATCH), { runOptions: RAW });
        const { events, full } = this.#reader.acceptTail(answer, BATCH);
        if (events.length) return events;
        if (full) continue;
        await this.waitForWakeUp(signal);
      } catch (error) {
        if (signal.aborted) return [];
        if (!isTransient(error)) throw error;
        this.dropLive();
        await pause(this.conn.options.pollInterval, signal);
      }
    }
  }

  /** Opens the wake-up changefeed on this table's log entries. */
  private async openLive(): Promise<void> {
    this.#live = (await this.conn.cursor('open changefeed', liveEntries(this.conn.db, this.table), RAW)) as unknown as RCursor<LiveReport>;
  }

  /** Closes the wake-up; the next pull opens a new one and re-reads the overlap. */
  private dropLive(): void {
    const live = this.#live;
    this.#live = undefined;
    this.#pending = undefined;
    this.#reader.dropLate();
    live?.close().catch(() => undefined);
  }

  /** Re-reads one page of the overlap window behind the position after a lost wake-up. */
  private async readOverlap(): Promise<ChangeEvent[]> {
    const entries = await this.readRange(this.#reader.overlapFrom(), this.#reader.position, this.#resume?.after);
    this.#resume = entries.length === BATCH ? { after: positionOf(entries[entries.length - 1]) } : undefined;
    return this.#reader.acceptOverlap(entries);
  }

  /** One page of the entries from `from` up to `through` (the end when undefined). */
  private async readRange(from: RawTime, through: Bound | undefined, after: Position | undefined): Promise<ChangeEntry[]> {
    const term = overlapEntries(this.conn.db, this.table, from, through, after, BATCH);
    return (await this.conn.run('read changefeed', term, { runOptions: RAW })) as ChangeEntry[];
  }

  /** Fetches and delivers the late entries the wake-up reported. */
  private async readLate(): Promise<ChangeEvent[]> {
    const ids = this.#reader.takeLate();
    if (ids.length === 0) return [];
    const entries = (await this.conn.run('read changefeed', entriesById(this.conn.db, ids), { runOptions: RAW })) as ChangeEntry[];
    return this.#reader.acceptLate(entries);
  }

  /**
   * Waits for the wake-up to report entries (taking every report already received), for the
   * poll interval, or for the end of the feed. A report of dropped reports (an overflow)
   * closes the wake-up, so the overlap is re-read.
   */
  private async waitForWakeUp(signal: AbortSignal): Promise<void> {
    const live = this.#live;
    if (!live) return pause(this.conn.options.pollInterval, signal);
    // The poll timer ends with the wait, whichever way it ends (a busy feed waits often).
    const waited = new AbortController();
    const both = typeof AbortSignal.any === 'function' ? AbortSignal.any([signal, waited.signal]) : signal;
    const timeout = pause(this.conn.options.pollInterval, both).then((): typeof NOTHING => NOTHING);
    let report: LiveReport | typeof NOTHING = await Promise.race([this.next$(live), timeout]).finally(() => waited.abort());
    while (report !== NOTHING) {
      this.#pending = undefined;
      if (this.#reader.report(report) === 'overflow') return this.dropLive();
      // Take the reports already received before reading the log again.
      const received = new Promise<typeof NOTHING>((resolve) => setImmediate(() => resolve(NOTHING)));
      report = await Promise.race([this.next$(live), received]);
    }
  }

  /** The wake-up's next report (one request in flight at a time, kept across waits). */
  private next$(live: RCursor<LiveReport>): Promise<LiveReport> {
    if (!this.#pending) {
      this.#pending = live.next();
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
 * True for failures a feed rides out: a lost or unreachable server, or a table briefly
 * unavailable (a changefeed is aborted while its table is reconfigured). A missing database
 * or table is not: nobody will bring it back by waiting.
 */
function isTransient(error: unknown): boolean {
  if (isConnectionFailure(error)) return true;
  const message = error instanceof Error ? `${error.message} ${(error.cause as Error | undefined)?.message ?? ''}` : '';
  return /unavailable|primary replica|Changefeed aborted/i.test(message) && !/does not exist/.test(message);
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

/**
 * Changefeeds over the SQL family's change log. Every engine's triggers append each change
 * to `changes` (seq, tbl, op, record) in the same transaction as the change, numbered in
 * commit order; a feed delivers what comes after the last seq it saw, so it can neither miss
 * nor repeat an event. Engines differ only in how a feed waits for more: SQLite polls,
 * PostgreSQL is woken by notifications.
 */
import { ChangeFeed, type ChangeEvent, type ChangefeedOptions } from '../../lib/changefeed';
import { ConnectionError, OperationError } from '../../lib/errors';
import type { FeedOutage } from '../../lib/log';
import type { TableName } from '../../lib/tables';
import type { SqlConnection } from './connection';

/** Change-log rows read per query. */
export const BATCH = 1000;

/**
 * The error of a feed that can no longer deliver every event (the log was pruned past it, or
 * made anew): it fails rather than skip any.
 *
 * @example
 * throw fellBehind('sqlite', 'events after 7 and before 12 were pruned from the change log');
 */
export function fellBehind(backend: string, why: string): OperationError {
  return new OperationError(backend, `changefeed fell behind: ${why} (raise changeLogRetention, or reopen the feed)`);
}

/**
 * The error of a feed at `position` whose next entry is `first` when the log's oldest entry
 * is `oldest`, if entries it had not read were pruned; undefined if none were. A first entry
 * after a gap that is also the oldest kept means pruning; a gap elsewhere is a rolled-back
 * transaction's numbers.
 */
export function prunedPast(backend: string, position: number, first: number, oldest: number): OperationError | undefined {
  if (position > 0 && first > position + 1 && oldest === first) {
    return fellBehind(backend, `events after ${position} and before ${first} were pruned from the change log`);
  }
  return undefined;
}

/** The oldest entry kept in the log, for {@link prunedPast}. */
export const OLDEST = 'SELECT MIN(seq) AS oldest FROM changes';

/**
 * The log's identity: a random id each engine's schema gives the log when it creates it
 * (`change_log_identity`, one row). Sequence numbers begin again when the database is
 * dropped and made anew, so a feed compares this id, not numbers, to tell that what it was
 * reading is gone.
 */
export const LOG_IDENTITY = '(SELECT id FROM change_log_identity)';

/** Where the log ends, and whose log it is: where a feed starts. */
const START = `SELECT COALESCE(MAX(seq), 0) AS seq, ${LOG_IDENTITY} AS log FROM changes`;

/**
 * The entries after a position, each with the log's identity; when there are none, one row
 * with the identity alone (seq null), so that an idle feed notices a log begun again too.
 */
const READ = `SELECT i.log, c.seq, c.tbl, c.op, c.record
  FROM (SELECT ${LOG_IDENTITY} AS log) i
  LEFT JOIN (SELECT seq, tbl, op, record FROM changes WHERE seq > ? ORDER BY seq LIMIT ?) c ON true
  ORDER BY c.seq`;

/** What one read of the log gave: this feed's events, and whether more entries wait already. */
export interface LogRead {
  events: ChangeEvent[];
  more: boolean;
}

/**
 * A feed over the change log of a SQL engine; an engine adds how to wait for changes.
 *
 * @example
 * class PollingFeed extends ChangeLogFeed<MyConnection> {
 *   protected waitForChanges(signal: AbortSignal) { return sleep(50, signal); }
 * }
 */
export abstract class ChangeLogFeed<C extends SqlConnection> extends ChangeFeed {
  /** The seq of the last log entry this feed has finished with. */
  protected position = 0;
  /** The identity of the log that `position` counts in (see LOG_IDENTITY). */
  protected log = '';
  /** Reports an outage of this feed and its end (lib/log.ts). */
  protected readonly outage: FeedOutage;

  constructor(
    protected readonly conn: C,
    table: TableName,
    operations: number,
    options?: ChangefeedOptions,
  ) {
    super(table, operations, options);
    this.outage = conn.log.feedOutage(table);
  }

  /** Resolves when changes may have arrived (or the wait is over, or `signal` aborts). */
  protected abstract waitForChanges(signal: AbortSignal): Promise<void>;

  /** Called before each read of the log (a feed woken by notifications resets its flag). */
  protected beforeRead(): void {}

  protected async start(): Promise<void> {
    const [row] = await this.conn.rows<{ seq: unknown; log: unknown }>('start changefeed', START);
    this.position = Number(row.seq);
    this.log = String(row.log ?? '');
  }

  /** Fails if `current` (the log's identity now) is not the log this feed started on. */
  protected checkSameLog(current: unknown): void {
    if (String(current ?? '') !== this.log) throw fellBehind(this.conn.backend, 'the change log it was reading was dropped and begun again');
  }

  protected async pull(signal: AbortSignal): Promise<ChangeEvent[]> {
    for (;;) {
      if (signal.aborted) return [];
      this.beforeRead();
      let batch: LogRead;
      try {
        batch = await this.read(signal);
      } catch (error) {
        // An outage delays events, it does not end the feed: it reads on from its position
        // once the engine answers again (or ends quietly if it is closed meanwhile).
        if (!(error instanceof ConnectionError) || signal.aborted || this.conn.closed) {
          if (signal.aborted) return [];
          throw error;
        }
        this.outage.failed(error);
        await this.waitForChanges(signal);
        continue;
      }
      this.outage.resumed();
      const { events, more } = batch;
      if (events.length) return events;
      // A full batch of other tables' events: read on at once.
      if (more) continue;
      await this.waitForChanges(signal);
    }
  }

  /**
   * The next events after the position, advancing it past every entry seen. An engine whose
   * log holds more than one event per entry overrides this.
   */
  protected async read(signal: AbortSignal): Promise<LogRead> {
    const read = await this.conn.rows<{ log: unknown; seq: unknown; tbl: TableName; op: unknown; record: unknown }>(
      'read changefeed',
      READ,
      [this.position, BATCH],
      signal,
    );
    this.checkSameLog(read[0]?.log);
    const rows = read.filter((row) => row.seq !== null && row.seq !== undefined);
    if (rows.length && Number(rows[0].seq) > this.position + 1) {
      const [{ oldest }] = await this.conn.rows<{ oldest: unknown }>('read changefeed', OLDEST);
      const pruned = prunedPast(this.conn.backend, this.position, Number(rows[0].seq), Number(oldest));
      if (pruned) throw pruned;
    }
    const events: ChangeEvent[] = [];
    for (const row of rows) {
      this.position = Number(row.seq);
      const operation = Number(row.op);
      if (row.tbl === this.table && (operation & this.operations) !== 0) {
        events.push({ operation, table: row.tbl, record: this.conn.fromJson(row.record) });
      }
    }
    return { events, more: rows.length === BATCH };
  }
}

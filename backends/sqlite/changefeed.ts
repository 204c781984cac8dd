/**
 * Changefeeds on SQLite read the SQL family's change log (see ../sql/changefeed.ts), whose
 * bulk inserts are logged as ranges of rows (changelog.ts). SQLite has no notifications
 * across processes, so an idle feed polls every `pollInterval` ms (a write in this process
 * wakes it at once: wakeup.ts); a busy one reads on without pausing. The log is written in
 * the writing transaction, so writes made by other processes reach the feed too.
 */
import type * as changefeed from '../../lib/changefeed';
import { type ChangeEvent, ChangeFeed } from '../../lib/changefeed';
import type { HandlerMap } from '../../lib/dispatch';
import type { TableName } from '../../lib/tables';
import { BATCH, ChangeLogFeed, type LogRead, OLDEST, fellBehind, prunedPast } from '../sql/changefeed';
import { type RangedTable, logIdentity, resolveRange } from './changelog';
import type { SqliteConnection } from './connection';
import { waitForWrite } from './wakeup';

interface LogEntry {
  seq: number;
  tbl: TableName;
  op: number;
  record: string;
  ref: number | null;
  ref_to: number | null;
}

/** A range entry being delivered: the entry, and the next of its rows to resolve. */
interface OpenRange {
  seq: number;
  from: number;
  to: number;
  next: number;
}

/** Where a read starts, advanced as it goes and kept only if the whole read succeeds. */
interface Cursor {
  position: number;
  range: OpenRange | undefined;
}

const RANGE_KEPT = 'SELECT 1 FROM changes WHERE seq = ? AND tbl = ? AND ref = ? AND ref_to = ?';
const READ_LOG = 'SELECT seq, tbl, op, record, ref, ref_to FROM changes WHERE seq > ? ORDER BY seq LIMIT ?';

/**
 * A feed over the sqlite change log.
 *
 * @example
 * const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT);
 */
export class SqliteChangeFeed extends ChangeLogFeed<SqliteConnection> {
  /** A range of this feed's table not yet delivered whole (at most BATCH events per read). */
  #range: OpenRange | undefined;
  protected waitForChanges(signal: AbortSignal): Promise<void> {
    return waitForWrite(this.conn.database, this.conn.pollInterval, signal);
  }

  /**
   * Up to BATCH events after the position. One read transaction, so that a range is
   * resolved against the same state of the database as the entries read with it; the
   * position moves only once the whole read succeeded, so a failed read loses nothing.
   */
  protected override async read(): Promise<LogRead> {
    const { conn } = this;
    const cursor = { position: this.position, range: this.#range && { ...this.#range } };
    const { events, entries } = conn.read('read changefeed', () => conn.db.transaction(() => this.readLog(cursor))());
    this.position = cursor.position;
    this.#range = cursor.range;
    return { events, more: entries === BATCH || cursor.range !== undefined };
  }

  private readLog(cursor: Cursor): { events: ChangeEvent[]; entries: number } {
    const events: ChangeEvent[] = [];
    this.checkSameLog(logIdentity(this.conn));
    if (cursor.range) {
      this.checkRangeKept(cursor.range);
      this.deliverRange(cursor, events);
      if (cursor.range) return { events, entries: 0 };
    }
    const from = cursor.position;
    const entries = this.conn.statement(READ_LOG).all(from, BATCH) as LogEntry[];
    if (entries.length) this.checkNotPrunedPast(from, entries[0].seq);
    for (const entry of entries) {
      const wanted = entry.tbl === this.table && (entry.op & this.operations) !== 0;
      if (wanted && entry.ref_to !== null) {
        cursor.range = { seq: entry.seq, next: Number(entry.ref), from: Number(entry.ref), to: Number(entry.ref_to) };
        this.deliverRange(cursor, events);
        // The rest of the range (and the entries after it) wait for the next read.
        if (cursor.range) break;
        continue;
      }
      cursor.position = entry.seq;
      if (wanted) events.push({ operation: entry.op, table: entry.tbl, record: JSON.parse(entry.record) });
    }
    return { events, entries: entries.length };
  }

  /** Resolves the open range's next rows, as many as fit in this read; closes it when done. */
  private deliverRange(cursor: Cursor, events: ChangeEvent[]): void {
    const range = cursor.range!;
    const room = Math.max(BATCH - events.length, 1);
    const last = Math.min(range.to, range.next + room - 1);
    for (const record of resolveRange(this.conn, this.table as RangedTable, range.seq, range.next, last)) {
      events.push({ operation: ChangeFeed.INSERT, table: this.table, record: JSON.parse(record) });
    }
    if (last === range.to) {
      cursor.position = range.seq;
      cursor.range = undefined;
    } else {
      range.next = last + 1;
    }
  }

  /**
   * Rows of a range are resolved through the entries after it: if the range was pruned
   * since the last read (or the log dropped and begun again), those may be gone too, and
   * events with them.
   */
  private checkRangeKept(range: OpenRange): void {
    if (!this.conn.statement(RANGE_KEPT).get(range.seq, this.table, range.from, range.to)) {
      throw fellBehind(this.conn.backend, `the change-log entry ${range.seq} it was reading is gone`);
    }
  }

  /** Entries this feed had not read, pruned since (see prunedPast). */
  private checkNotPrunedPast(from: number, first: number): void {
    if (first <= from + 1) return;
    const pruned = prunedPast(this.conn.backend, from, first, (this.conn.statement(OLDEST).get() as { oldest: number }).oldest);
    if (pruned) throw pruned;
  }

}

/** The changefeed handlers of the sqlite backend, registered by its index. */
export const changefeedHandlers: HandlerMap<typeof changefeed, typeof SqliteConnection> = {
  getChangefeed(conn, table, operations, options) {
    return new SqliteChangeFeed(conn, table, operations, options).ownedBy(conn).open();
  },
};

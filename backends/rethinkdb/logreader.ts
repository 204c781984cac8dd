/**
 * Where a changefeed is in the change log, and which events each read delivers: the decisions
 * of the feed (changefeed.ts), apart from its queries, so they can be checked without a server.
 *
 * A reader keeps its position (the last entry read in order, or a time it reads after), the ids
 * of the entries it delivered within the overlap window (so nothing is delivered twice), and
 * the entries the wake-up reported behind its position (late entries, delivered before
 * anything further on).
 */
import type { ChangeEvent } from '../../lib/changefeed';
import { OperationError } from '../../lib/errors';
import type { TableName } from '../../lib/tables';
import { type Bound, type ChangeEntry, type Position, type RawTime, type TailAnswer, comparePositions } from './changelog';

/**
 * Milliseconds an idle feed's position stays behind the server's clock: longer than a write
 * normally takes, so that its entry is read in order by the next read rather than reported late.
 *
 * @example
 * reader.begin(now, visibleEntries);   // the position is SETTLE_MS before `now`
 */
export const SETTLE_MS = 2000;

/**
 * What the wake-up changefeed reports: the position of a new entry (`new_val`; null for an
 * entry pruned), or an error (its buffer overflowed and reports were dropped).
 *
 * @example
 * const report: LiveReport = { new_val: { id, at, writer, n: 4, chunk: 0 }, old_val: null };
 */
export interface LiveReport {
  new_val?: (Position & { id: string }) | null;
  old_val?: unknown;
  error?: string;
}

/**
 * A time as the server writes it.
 *
 * @example
 * rawTime(1767225600.5);   // { $reql_type$: 'TIME', epoch_time: 1767225600.5, timezone: '+00:00' }
 */
export function rawTime(epoch: number): RawTime {
  return { $reql_type$: 'TIME', epoch_time: epoch, timezone: '+00:00' };
}

/**
 * The time {@link SETTLE_MS} before `now`: where a feed's position starts, and what a feed
 * reads at its start to know which entries were already there.
 *
 * @example
 * settledBefore(rawTime(100)).epoch_time;   // 98
 */
export function settledBefore(now: RawTime): RawTime {
  return rawTime(now.epoch_time - SETTLE_MS / 1000);
}

/**
 * An entry's position.
 *
 * @example
 * positionOf(entry);   // { at, writer, n, chunk }
 */
export function positionOf(entry: Position): Position {
  return { at: entry.at, writer: entry.writer, n: entry.n, chunk: entry.chunk };
}

/**
 * True if an entry at `position` is at or behind `bound` (a time bound covers every entry of
 * its time).
 *
 * @example
 * isBehind(entry, { at: serverNow });   // true for an entry stamped before serverNow
 */
export function isBehind(position: Position, bound: Bound): boolean {
  if ('writer' in bound) return comparePositions(position, bound) <= 0;
  return position.at.epoch_time <= bound.at.epoch_time;
}

/**
 * The reading state of one feed.
 *
 * @example
 * const reader = new LogReader('blocks', ChangeFeed.INSERT, 60_000);
 * reader.begin(now, visible);
 * const { events } = reader.acceptTail(await read(tailRead(db, 'blocks', reader.position, 100)));
 */
export class LogReader {
  #last!: Bound;
  #start!: RawTime;
  #seen = new Map<string, number>();
  #late: (Position & { id: string })[] = [];

  constructor(
    readonly table: TableName,
    readonly operations: number,
    /** The overlap window, in milliseconds. */
    readonly overlap: number,
  ) {}

  /** The last entry read in order, or the time reading goes on after. */
  get position(): Bound {
    return this.#last;
  }

  /**
   * Starts at the server's time `now`: the position is {@link SETTLE_MS} before it, and the
   * entries already visible after that (`visible`, read at the start) count as seen, since they
   * were written before the feed started.
   */
  begin(now: RawTime, visible: readonly ChangeEntry[]): void {
    this.#start = now;
    this.#last = { at: settledBefore(now) };
    for (const entry of visible) this.#seen.set(entry.id, entry.at.epoch_time);
  }

  /**
   * Takes a tail read (the entries after the position): delivers those not seen, moves the
   * position through them, or, when there are none, up to {@link SETTLE_MS} behind the
   * server's time. Fails if the log was pruned past the position. `full` says more may follow.
   */
  acceptTail(answer: TailAnswer, batch: number): { events: ChangeEvent[]; full: boolean } {
    if (answer.watermark && this.#last.at.epoch_time < answer.watermark.epoch_time) {
      throw new OperationError(
        'rethinkdb',
        `changefeed on ${this.table} fell behind: change-log entries older than ${new Date(answer.watermark.epoch_time * 1000).toISOString()} ` +
          'were pruned before it read them (raise changeLogRetention, or read the feed more often)',
      );
    }
    const events = this.deliver(answer.entries, (entry) => (this.#last = positionOf(entry)));
    const settled = settledBefore(answer.now);
    if (answer.entries.length === 0 && settled.epoch_time > this.#last.at.epoch_time) this.#last = { at: settled };
    this.forget();
    return { events, full: answer.entries.length === batch };
  }

  /**
   * Where the re-read after a lost wake-up begins: the overlap window before the position, but
   * not before the start (what was visible then is remembered as seen, what came later is not).
   */
  overlapFrom(): RawTime {
    return rawTime(Math.max(this.#last.at.epoch_time - this.overlap / 1000, settledBefore(this.#start).epoch_time));
  }

  /** Takes a page of the re-read after a lost wake-up: delivers the entries not seen. */
  acceptOverlap(entries: readonly ChangeEntry[]): ChangeEvent[] {
    return this.deliver(entries);
  }

  /**
   * Takes a report of the wake-up: `overflow` (reports were dropped: re-read the overlap),
   * `late` (an entry behind the position, kept to fetch), `ahead` (the next tail read gets it),
   * or `ignored` (seen already, or a pruned entry).
   */
  report(change: LiveReport): 'overflow' | 'late' | 'ahead' | 'ignored' {
    if (change.error !== undefined) return 'overflow';
    const entry = change.new_val;
    if (!entry || this.#seen.has(entry.id)) return 'ignored';
    if (!isBehind(entry, this.#last)) return 'ahead';
    if (!this.#late.some((late) => late.id === entry.id)) this.#late.push(entry);
    return 'late';
  }

  /** The ids of the late entries to fetch (and forgets them: they are fetched once). */
  takeLate(): string[] {
    const ids = this.#late.filter((entry) => !this.#seen.has(entry.id)).map((entry) => entry.id);
    this.#late = [];
    return ids;
  }

  /** Forgets the late entries reported (a new wake-up and the overlap re-read replace them). */
  dropLate(): void {
    this.#late = [];
  }

  /** Takes the late entries fetched: delivers them in position order, those not seen. */
  acceptLate(entries: readonly ChangeEntry[]): ChangeEvent[] {
    return this.deliver([...entries].sort(comparePositions));
  }

  /** The events of entries not delivered before, remembering them; `visit` sees every entry. */
  private deliver(entries: readonly ChangeEntry[], visit?: (entry: ChangeEntry) => void): ChangeEvent[] {
    const events: ChangeEvent[] = [];
    for (const entry of entries) {
      visit?.(entry);
      if (this.#seen.has(entry.id)) continue;
      this.#seen.set(entry.id, entry.at.epoch_time);
      for (const { op, record } of entry.events) {
        if ((op & this.operations) !== 0) events.push({ operation: op, table: this.table, record });
      }
    }
    return events;
  }

  /** Forgets delivered ids older than the overlap window: no read goes back that far. */
  private forget(): void {
    const horizon = this.#last.at.epoch_time - this.overlap / 1000;
    for (const [id, at] of this.#seen) if (at < horizon) this.#seen.delete(id);
  }
}

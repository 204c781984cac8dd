/**
 * Where a changefeed is in the change log, and which events each read delivers: the decisions
 * of the feed (changefeed.ts), apart from its queries, so they can be checked without a server.
 * The log itself, and why reading it this way loses nothing, is explained in changelog.ts.
 *
 * A reader keeps:
 *  - its position: the number of the last entry of its table it went past, in order;
 *  - the entry at the head, when it is pending: the reader waits for it (delivering in number
 *    order is what keeps feeds consistent with the stored state), at most `pendingTimeout`,
 *    then has it read from the state, delivers that, and watches it;
 *  - holes: numbers it went past without seeing their entry (a write that took its number a
 *    moment before another and had not inserted its entry yet, or a write cut before it
 *    inserted it). It checks them until their entry shows up or `pendingTimeout` passes;
 *  - watched entries: entries it went past or found pending (a stale head, a hole's entry
 *    found pending, the writes in progress when the feed started), with the keys already
 *    delivered; checked until done (the rest of their events delivered) or pruned;
 *  - the ids of the entries delivered lately, so a late report of one is not taken for new.
 *
 * Times are the reader's own clock (monotonic), never a server's.
 */
import type { ChangeEvent } from '../../lib/changefeed';
import { OperationError } from '../../lib/errors';
import type { TableName } from '../../lib/tables';
import type { ChangeEntry, Key, LoggedEvent, StartAnswer, TailAnswer } from './changelog';

/**
 * What the wake-up changefeed reports: an entry inserted or updated (its id, number and
 * state), or an error (its queue overflowed and reports were dropped).
 *
 * @example
 * const report: LiveReport = { new_val: { id, tbl: 'blocks', seq: 42, state: 'done' }, old_val: { id, tbl: 'blocks', seq: 42, state: 'pending' } };
 */
export interface LiveReport {
  new_val?: { id: string; tbl: string; seq: number; state: string } | null;
  old_val?: { id: string; seq: number; state: string } | null;
  error?: string;
}

/**
 * How a reader waits and checks, in milliseconds; `now` is its clock.
 *
 * @example
 * new LogReader('blocks', ChangeFeed.ALL, { pendingTimeout: 120_000, checkInterval: 1000 });
 */
export interface ReaderTiming {
  /** How long a pending entry at the head is waited for, and a hole checked. */
  pendingTimeout: number;
  /** Least time between two checks of the holes and watched entries. */
  checkInterval: number;
  now?: () => number;
}

/**
 * What to check (see {@link LogReader.outstanding}): hole numbers and watched entry ids.
 *
 * @example
 * const { numbers, ids }: Outstanding = reader.outstanding()!;
 */
export interface Outstanding {
  numbers: number[];
  ids: string[];
}

/**
 * How many holes a reader remembers at most (the oldest are given up first).
 *
 * @example
 * reader.holeCount <= MAX_HOLES;   // true
 */
export const MAX_HOLES = 10_000;

interface Watched {
  seq: number;
  /** Keys delivered already (JSON, so 1 and '1' differ). */
  emitted: Set<string>;
  /** Since when it is watched: read from the state only once `pendingTimeout` has passed. */
  since: number;
}

const keyOf = (key: Key) => JSON.stringify(key);

/**
 * The reading state of one feed.
 *
 * @example
 * const reader = new LogReader('blocks', ChangeFeed.INSERT, { pendingTimeout: 120_000, checkInterval: 1000 });
 * reader.begin(await conn.run('start changefeed', startRead(db, 'blocks', 256)), 256);
 * const { events } = reader.acceptTail(await conn.run('read changefeed', tailRead(db, 'blocks', reader.position, 16)), 16);
 */
export class LogReader {
  #position = 0;
  #head: { id: string; since: number } | undefined;
  #holes = new Map<number, number>();
  #watched = new Map<string, Watched>();
  #delivered = new Map<string, number>();
  /** Numbers whose entries were visible when the feed started: written before it. */
  #before = new Set<number>();
  #nextCheck = 0;
  readonly #now: () => number;

  constructor(
    readonly table: TableName,
    readonly operations: number,
    readonly timing: ReaderTiming,
  ) {
    this.#now = timing.now ?? (() => performance.now());
  }

  /** The number of the last entry gone past in order. */
  get position(): number {
    return this.#position;
  }

  /** Hole numbers remembered. */
  get holes(): number[] {
    return [...this.#holes.keys()];
  }

  /** Ids of the entries watched. */
  get watched(): string[] {
    return [...this.#watched.keys()];
  }

  /**
   * Starts after the table's last number: the entries up to it were written before the feed
   * started, except the writes still in progress (watched, with the keys they had changed
   * already counted as delivered) and the numbers of the last `window` without a visible
   * entry (writes in flight: holes).
   */
  begin(start: StartAnswer, window: number): void {
    const now = this.#now();
    this.#position = start.counter;
    this.#before = new Set(start.recent);
    for (let n = Math.max(1, start.counter - window + 1); n <= start.counter; n++) if (!this.#before.has(n)) this.#hole(n, now);
    for (const entry of start.pending) {
      this.#watched.set(entry.id, { seq: entry.seq, emitted: new Set((entry.events ?? []).map((event) => keyOf(event.key))), since: now });
    }
  }

  /**
   * Takes a tail read (the entries after the position): delivers the done ones in order up to
   * the first pending one, noting the numbers skipped as holes. Fails if the log was pruned
   * past the position. `full` says more may follow; `resolve` names the pending entry at the
   * head once it has been waited for `pendingTimeout`: read it with its state
   * (entriesById) and pass it to {@link acceptResolved}.
   */
  acceptTail(answer: TailAnswer, batch: number): { events: ChangeEvent[]; full: boolean; resolve?: string } {
    if (answer.pruned > this.#position) {
      throw new OperationError(
        'rethinkdb',
        `changefeed on ${this.table} fell behind: change-log entries up to number ${answer.pruned} were pruned before it read them ` +
          `(it was at ${this.#position}; raise changeLogRetention, or read the feed more often)`,
      );
    }
    const now = this.#now();
    const events: ChangeEvent[] = [];
    for (const entry of answer.entries) {
      for (let n = Math.max(this.#position + 1, entry.seq - MAX_HOLES); n < entry.seq; n++) this.#hole(n, now);
      if (entry.state !== 'done') {
        if (this.#head?.id !== entry.id) this.#head = { id: entry.id, since: now };
        const stale = now - this.#head.since >= this.timing.pendingTimeout;
        this.#forget(now);
        return { events, full: false, ...(stale ? { resolve: entry.id } : {}) };
      }
      this.#head = undefined;
      this.#position = entry.seq;
      if (this.#watched.has(entry.id) || this.#delivered.has(entry.id)) continue;
      this.#delivered.set(entry.id, now);
      events.push(...this.#events(entry.events ?? []));
    }
    this.#forget(now);
    return { events, full: answer.entries.length === batch };
  }

  /**
   * Takes the pending entry at the head, read with the events its state shows: delivers them,
   * goes past it and watches it (for the keys its write changes later). `entry` is undefined
   * when it is gone (pruned: the next tail read says so).
   */
  acceptResolved(id: string, entry: ChangeEntry | undefined): ChangeEvent[] {
    const since = this.#head?.id === id ? this.#head.since : this.#now();
    this.#head = undefined;
    if (!entry) return [];
    this.#position = Math.max(this.#position, entry.seq);
    if (entry.state === 'done') {
      this.#delivered.set(entry.id, this.#now());
      return this.#events(entry.events ?? []);
    }
    const watched: Watched = { seq: entry.seq, emitted: new Set(), since };
    this.#watched.set(entry.id, watched);
    return this.#newEvents(watched, entry.events ?? []);
  }

  /**
   * The holes and watched entries to check now, if any and if the last check is at least
   * `checkInterval` old (or a report asked for one); holes waited for longer than
   * `pendingTimeout` are given up first. When only entries read from the state already are
   * left (a writer that died: they stay pending until pruned), the next check waits a
   * quarter of `pendingTimeout` instead: nothing is late by then, it only saves queries.
   */
  outstanding(): Outstanding | undefined {
    const now = this.#now();
    for (const [n, since] of this.#holes) if (now - since >= this.timing.pendingTimeout) this.#holes.delete(n);
    if ((this.#holes.size === 0 && this.#watched.size === 0) || now < this.#nextCheck) return undefined;
    const waiting = this.#holes.size > 0 || [...this.#watched.values()].some((watched) => now - watched.since < this.timing.pendingTimeout);
    this.#nextCheck = now + (waiting ? this.timing.checkInterval : Math.max(this.timing.checkInterval, this.timing.pendingTimeout / 4));
    return { numbers: this.holes, ids: this.watched };
  }

  /**
   * Takes the entries found for a check: `byNumber` for the holes (a done one is delivered
   * whole, a pending one watched), `byId` for the watched entries (read with the events their
   * state shows when pending: delivered once watched for `pendingTimeout`; a done one's
   * remaining events delivered and the entry let go; one not found is gone, pruned). Events
   * come in number order.
   */
  acceptOutstanding(asked: Outstanding, byNumber: readonly ChangeEntry[], byId: readonly ChangeEntry[]): ChangeEvent[] {
    const now = this.#now();
    const found: { seq: number; events: ChangeEvent[] }[] = [];
    for (const entry of byNumber) {
      this.#holes.delete(entry.seq);
      if (this.#watched.has(entry.id) || this.#delivered.has(entry.id)) continue;
      if (entry.state === 'done') {
        this.#delivered.set(entry.id, now);
        found.push({ seq: entry.seq, events: this.#events(entry.events ?? []) });
      } else {
        this.#watched.set(entry.id, { seq: entry.seq, emitted: new Set(), since: now });
      }
    }
    const present = new Set(byId.map((entry) => entry.id));
    for (const id of asked.ids) if (!present.has(id)) this.#watched.delete(id);
    for (const entry of byId) {
      const watched = this.#watched.get(entry.id);
      if (!watched) continue;
      if (entry.state === 'done') {
        this.#watched.delete(entry.id);
        this.#delivered.set(entry.id, now);
        found.push({ seq: entry.seq, events: this.#newEvents(watched, entry.events ?? []) });
      } else if (now - watched.since >= this.timing.pendingTimeout) {
        found.push({ seq: entry.seq, events: this.#newEvents(watched, entry.events ?? []) });
      }
    }
    return found.sort((a, b) => a.seq - b.seq).flatMap((item) => item.events);
  }

  /**
   * Takes a report of the wake-up: `overflow` (reports were dropped), `ahead` (the next tail
   * read gets it), `late` (an entry behind the position the reader must check: a hole's, a
   * watched one's, or a new one it never saw; a check is then due at once), or `ignored`.
   */
  report(change: LiveReport): 'overflow' | 'late' | 'ahead' | 'ignored' {
    if (change.error !== undefined) return 'overflow';
    const entry = change.new_val;
    if (!entry) return 'ignored';
    if (entry.seq > this.#position) return 'ahead';
    if (this.#watched.has(entry.id) || this.#holes.has(entry.seq)) {
      this.#nextCheck = 0;
      return 'late';
    }
    // Only an entry that has just been inserted can be one the reader never saw.
    if (this.#delivered.has(entry.id) || this.#before.has(entry.seq) || change.old_val) return 'ignored';
    this.#watched.set(entry.id, { seq: entry.seq, emitted: new Set(), since: this.#now() });
    this.#nextCheck = 0;
    return 'late';
  }

  /** The wake-up was lost: its reports meanwhile are missing, so the next check is due at once. */
  wakeUpLost(): void {
    this.#nextCheck = 0;
  }

  /**
   * Milliseconds until the reader needs to read again without a report (a pending head
   * becoming stale, a check due), or undefined when nothing is waiting.
   */
  nextDue(): number | undefined {
    const now = this.#now();
    const due: number[] = [];
    if (this.#head) due.push(this.#head.since + this.timing.pendingTimeout - now);
    if (this.#holes.size || this.#watched.size) due.push(this.#nextCheck - now);
    return due.length ? Math.max(0, Math.min(...due)) : undefined;
  }

  /** Remembers a hole (giving up the oldest beyond {@link MAX_HOLES}). */
  #hole(n: number, now: number): void {
    if (this.#holes.has(n) || this.#before.has(n)) return;
    this.#holes.set(n, now);
    if (this.#holes.size > MAX_HOLES) this.#holes.delete(this.#holes.keys().next().value!);
  }

  /** The events of a watched entry whose keys were not delivered yet, remembering them. */
  #newEvents(watched: Watched, events: readonly LoggedEvent[]): ChangeEvent[] {
    const fresh = events.filter((event) => !watched.emitted.has(keyOf(event.key)));
    for (const event of fresh) watched.emitted.add(keyOf(event.key));
    return this.#events(fresh);
  }

  /** The feed's events among logged ones (its operations only). */
  #events(events: readonly LoggedEvent[]): ChangeEvent[] {
    return events.filter(({ op }) => (op & this.operations) !== 0).map(({ op, record }) => ({ operation: op, table: this.table, record }));
  }

  /** Forgets delivered ids older than twice `pendingTimeout`: no report lags that much. */
  #forget(now: number): void {
    for (const [id, at] of this.#delivered) if (now - at > 2 * this.timing.pendingTimeout) this.#delivered.delete(id);
  }
}

/**
 * `changefeed`: a stream of the changes made to one table (docs/design.md section 5).
 *
 * A feed is pull-based: the consumer's `next()` asks the backend for the next batch, so a
 * slow consumer slows the reading down instead of growing a buffer without bound. A
 * backend extends {@link ChangeFeed} with three methods (`start`, `pull`, `stop`) and
 * gets iteration, prefeed, `close()`, abort signals and error delivery from here.
 *
 * @module
 */
import type { Connection } from './connection';
import { defineInterface, generic } from './dispatch';
import { checkArgument } from './model';
import { TABLES, type TableName, isTableName } from './tables';

/**
 * One change. `operation` is one of `ChangeFeed.INSERT`, `DELETE` or `UPDATE`.
 *
 * @example
 * for await (const { operation, table, record } of feed) {
 *   if (operation === ChangeFeed.DELETE) console.log('removed from', table, record);
 * }
 */
export interface ChangeEvent<R = unknown> {
  operation: number;
  table: TableName;
  /** The record inserted or updated (as it is now), or deleted (as it was). */
  record: R;
}

/**
 * Options of {@link getChangefeed}.
 *
 * @example
 * const ac = new AbortController();
 * const prefeed = [{ operation: ChangeFeed.INSERT, table: 'blocks' as const, record: latest }];
 * const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT, { prefeed, signal: ac.signal });
 * ac.abort();   // closes the feed
 */
export interface ChangefeedOptions {
  /** Items yielded before the first change, as given. */
  prefeed?: Iterable<ChangeEvent>;
  /** Aborting it closes the feed. */
  signal?: AbortSignal;
}

/**
 * Base class of every backend's feed; also the home of the operation bits.
 * Await a feed to know it is listening: every change committed after that is delivered,
 * in commit order, exactly once, across dropped connections.
 *
 * @example
 * const feed = await changefeed.getChangefeed(conn, 'transactions', ChangeFeed.INSERT);
 * for await (const { record } of feed) console.log('new transaction', record);
 * // elsewhere: feed.close();
 */
export abstract class ChangeFeed implements AsyncIterableIterator<ChangeEvent> {
  static readonly INSERT = 1;
  static readonly DELETE = 2;
  static readonly UPDATE = 4;
  /** INSERT | DELETE | UPDATE. */
  static readonly ALL = 7;

  readonly table: TableName;
  readonly operations: number;
  #buffer: ChangeEvent[];
  #started: Promise<void> | undefined;
  #closing: AbortController = new AbortController();
  #failure: unknown;
  #done = false;
  #pulling: Promise<IteratorResult<ChangeEvent>> | undefined;
  #untie: (() => void) | undefined;
  #unlisten: (() => void) | undefined;


  protected constructor(table: TableName, operations: number, options: ChangefeedOptions = {}) {
    this.table = table;
    this.operations = operations;
    this.#buffer = options.prefeed ? [...options.prefeed] : [];
    const { signal } = options;
    if (signal) {
      if (signal.aborted) this.#done = true;
      else {
        const onAbort = () => void this.close();
        signal.addEventListener('abort', onAbort, { once: true });
        this.#unlisten = () => signal.removeEventListener('abort', onAbort);
      }
    }
    Object.defineProperty(this, 'then', {
      configurable: true,
      writable: true,
      enumerable: false,
      value: (onFulfilled?: (feed: ListeningFeed) => unknown, onRejected?: (reason: unknown) => unknown) =>
        this.#listening().then(onFulfilled, onRejected),
    });
  }

  /** Resolves with the feed once it listens (no longer thenable from then on). */
  async #listening(): Promise<this> {
    this.open();
    await this.#started;
    if (this.#failure !== undefined) throw this.#failure;
    delete (this as { then?: unknown }).then;
    return this;
  }

  /**
   * Starts listening (takes the starting position). Called by the backend's handler right
   * after construction; idempotent. Returns the feed.
   */
  open(): this {
    if (!this.#started && !this.#done) {
      this.#started = this.start().catch((error) => {
        this.#failure = error;
      });
    }
    return this;
  }

  /**
   * Ties the feed to the connection it reads through, so that closing the connection
   * closes the feed. Called by the backend's handler; returns the feed.
   */
  ownedBy(conn: Connection): this {
    this.#untie = conn.own(this);
    return this;
  }

  /** Takes the starting position: later changes are the ones this feed delivers. */
  protected abstract start(): Promise<void>;

  /**
   * Waits for the next changes after the last one delivered and returns them in order
   * (possibly none, e.g. when `signal` aborts). A dropped connection is the backend's to
   * resume from its last position; only an unrecoverable failure may throw.
   */
  protected abstract pull(signal: AbortSignal): Promise<ChangeEvent[]>;

  /** Releases what the feed holds (listener connection, timers). */
  protected async stop(): Promise<void> {}

  /** True once the feed is closed or has failed. */
  get closed(): boolean {
    return this.#done;
  }

  async next(): Promise<IteratorResult<ChangeEvent>> {
    // One pull at a time: concurrent next() calls queue behind each other, in order.
    while (this.#pulling) await this.#pulling.catch(() => undefined);
    const pending = this.#next();
    this.#pulling = pending;
    try {
      return await pending;
    } finally {
      this.#pulling = undefined;
    }
  }

  async #next(): Promise<IteratorResult<ChangeEvent>> {
    for (;;) {
      if (this.#buffer.length) return { value: this.#buffer.shift()!, done: false };
      if (this.#done) return { value: undefined, done: true };
      this.open();
      await this.#started;
      if (this.#failure !== undefined) return this.#fail();
      try {
        const batch = await this.pull(this.#closing.signal);
        if (!this.#done) this.#buffer.push(...batch);
      } catch (error) {
        if (this.#done) continue;
        this.#failure = error;
        return this.#fail();
      }
    }
  }

  async #fail(): Promise<never> {
    const failure = this.#failure;
    await this.close();
    throw failure;
  }

  /** Stops the feed; a pending `next()` resolves as done. Idempotent. */
  async close(): Promise<void> {
    if (this.#done && this.#closing.signal.aborted) return;
    this.#done = true;
    this.#buffer = [];
    this.#closing.abort();
    this.#untie?.();
    this.#unlisten?.();
    await this.#started;
    await this.stop();
  }

  async return(): Promise<IteratorResult<ChangeEvent>> {
    await this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * A feed that failed before it could start: awaiting it rejects, iterating it throws.
   * The generic returns one when its arguments are bad or no backend handles the call.
   */
  static failed(table: string, operations: number, error: unknown): ChangeFeed {
    // The table may be the bad argument itself: it is kept as given, for the message's sake.
    return new FailedFeed(table as TableName, operations, error).open();
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface ChangeFeed {
  /**
   * Awaiting a feed waits until it listens, then gives the feed itself, or rejects if it could
   * not start. `then` is an own property of each feed, removed once the feed listens, so that
   * the await ends with the feed (and `for await` works with or without the await).
   */
  then<A = ListeningFeed, B = never>(
    onFulfilled?: ((feed: ListeningFeed) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B>;
}

/**
 * What awaiting a feed gives: the feed itself, listening. (Its type leaves `then` out: the
 * property is gone by then.)
 *
 * @example
 * const feed: ListeningFeed = await changefeed.getChangefeed(conn, 'utxos', ChangeFeed.DELETE);
 * feed instanceof ChangeFeed;   // true
 */
export type ListeningFeed = Omit<ChangeFeed, 'then'>;

class FailedFeed extends ChangeFeed {
  constructor(table: TableName, operations: number, private readonly error: unknown) {
    super(table, operations);
  }
  protected async start(): Promise<void> {
    throw this.error;
  }
  protected async pull(): Promise<ChangeEvent[]> {
    throw this.error;
  }
}

/**
 * The changes to `table` whose operation is in the bit mask `operations`
 * (`ChangeFeed.INSERT | ChangeFeed.DELETE | ChangeFeed.UPDATE`), after `prefeed`.
 * Failures (a bad table, no handler) arrive when the feed is awaited or iterated.
 *
 * @example
 * const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT, { signal: ac.signal });
 * for await (const event of feed) console.log(event.record);
 */
export const getChangefeed = generic<(conn: Connection, table: TableName, operations: number, options?: ChangefeedOptions) => ChangeFeed>(
  'changefeed.getChangefeed',
  {
    failure: (error, args) => ChangeFeed.failed(String(args[1]), Number(args[2]) || 0, error),
    check: (_conn, table, operations, options) => {
      checkArgument('table', isTableName(table), table, `one of ${TABLES.join(', ')}`);
      checkArgument(
        'operations',
        Number.isInteger(operations) && operations >= 1 && operations <= ChangeFeed.ALL,
        operations,
        'a bit mask of ChangeFeed.INSERT, DELETE and UPDATE (1 to 7)',
      );
      checkArgument('options', options === undefined || (options !== null && typeof options === 'object'), options, 'an options object');
    },
  },
);

defineInterface('changefeed', { getChangefeed });

/**
 * The RethinkDB connection: a few driver connections (see pool.ts), opened on first use.
 *
 * Retries: a failure to reach the server is retried with backoff up to `maxTries`, then
 * reported as ConnectionError. A read that loses its connection is retried too. A write that
 * loses its connection after it was sent is not: the server may have applied it, and
 * RethinkDB has no transaction to roll it back, so the caller gets a ConnectionError saying
 * the outcome is unknown. A query the server refuses is mapped at once, never retried.
 */
import { randomBytes } from 'node:crypto';
import { type RCursor, type RFeed, type RQuery, type RunOptions, r } from 'rethinkdb-ts';
import type { ResolvedConfig } from '../../lib/config';
import { Connection } from '../../lib/connection';
import { ConnectionError } from '../../lib/errors';
import { withRetries } from '../../lib/retry';
import { pruneEntries } from './changelog';
import { indeterminateWrite, isConnectionFailure, mapRethinkError, shortMessage } from './errors';
import { type ResolvedRethinkOptions, connectOptions, rethinkOptions, serverLocation } from './options';
import { ConnectionPool } from './pool';
import type { Writer } from './terms';

/** Write queries between two prunings of the change log. */
const PRUNE_EVERY = 1000;

/**
 * How a query runs.
 *
 * @example
 * await conn.run('store block', term, { write: true });
 */
export interface RunSettings {
  /** The query writes: it is not retried once sent. */
  write?: boolean;
  /** Driver run options (`timeFormat`, `arrayLimit`, ...). */
  runOptions?: RunOptions;
}

/**
 * A connection to one RethinkDB database.
 *
 * @example
 * const conn = await connect({ backend: 'rethinkdb', url: 'rethinkdb://admin@127.0.0.1:28015/ledger' });
 * await schema.initDatabase(conn);
 */
export class RethinkConnection extends Connection {
  readonly options: ResolvedRethinkOptions;
  /**
   * This connection as a writer: its id in `seq` stamps and change-log positions (random, 16
   * hex digits) and its counter, which gives a new number to every write and document.
   */
  readonly writer: Writer;
  #counter = 0;
  #pool: ConnectionPool | undefined;
  #writes = 0;

  constructor(config: ResolvedConfig) {
    super(config);
    this.options = rethinkOptions(config);
    this.writer = { id: randomBytes(8).toString('hex'), next: () => ++this.#counter };
  }

  override get location(): string {
    return serverLocation(this.config);
  }

  /** The database name. */
  get db(): string {
    return this.config.name;
  }

  /** The driver connections, made on first use. */
  get pool(): ConnectionPool {
    if (this.#pool) return this.#pool;
    if (this.closed) throw new ConnectionError('rethinkdb', 'the connection is closed');
    const options = connectOptions(this.config);
    this.#pool = new ConnectionPool(() => r.connect(options), this.options.poolSize);
    return this.#pool;
  }

  /**
   * Runs a query and returns its result (a cursor's rows as an array); failures are mapped to
   * chainstore errors. `what` names the operation for messages.
   *
   * @example
   * const block = await conn.run('get block', table(conn.db, 'blocks').get(1));
   */
  run<T>(what: string, term: RQuery<T>, settings: RunSettings = {}): Promise<T> {
    const { write = false, runOptions } = settings;
    return this.attempt(what, async () => {
      const connection = await this.pool.acquire();
      try {
        return await term.run(connection, runOptions);
      } catch (error) {
        if (write && isConnectionFailure(error)) throw indeterminateWrite(what, error);
        throw error;
      }
    }).finally(() => {
      if (write) this.countWrite();
    });
  }

  /**
   * Opens a changefeed cursor (retried like a read until it is open).
   *
   * @example
   * const cursor = await conn.cursor('open changefeed', table(conn.db, 'changes').changes());
   */
  cursor<T>(what: string, term: RFeed<T>, runOptions?: RunOptions): Promise<RCursor<T>> {
    return this.attempt(what, async () => term.run(await this.pool.acquire(), runOptions));
  }

  /** Runs `work` with retries while the server cannot be reached; maps the final failure. */
  private attempt<T>(what: string, work: () => Promise<T>): Promise<T> {
    return withRetries(work, {
      backend: 'rethinkdb',
      maxTries: this.config.maxTries,
      retryable: (error) => !this.closed && !(error instanceof ConnectionError) && isConnectionFailure(error),
      giveUp: (error, tries) => this.giveUp(what, error, tries),
    });
  }

  private giveUp(what: string, error: unknown, tries: number): Error {
    if (this.closed) return new ConnectionError('rethinkdb', `${what}: the connection is closed`, { cause: error });
    if (error instanceof ConnectionError || !isConnectionFailure(error)) return mapRethinkError(error, what);
    const count = `${tries} ${tries === 1 ? 'try' : 'tries'}`;
    return new ConnectionError('rethinkdb', `${what}: could not reach ${this.location} after ${count}: ${shortMessage(error)}`, { cause: error });
  }

  /** Every so many writes, drops change-log entries beyond the retention (housekeeping only). */
  private countWrite(): void {
    if (++this.#writes % PRUNE_EVERY !== 0 || this.closed) return;
    this.run('prune change log', pruneEntries(this.db, this.options.changeLogRetention)).catch(() => undefined);
  }

  protected override async release(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.close();
  }
}

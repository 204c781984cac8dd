/**
 * The RethinkDB connection: a few driver connections (see pool.ts), opened on first use.
 *
 * Retries. Every query this backend sends may be sent again: reads, schema changes guarded
 * by "unless it exists", reconfigurations (they set a layout), and writes, which are logged
 * writes (changelog.ts) whose second run changes nothing the first one did. So a query is
 * tried again, with backoff, up to `maxTries`, when it fails for a transient reason: the
 * server cannot be reached, the connection is lost, no answer comes within `queryTimeout`
 * (the connection is then closed as dead), or a table is briefly unavailable (resharding,
 * reconfiguration, a new primary replica). The last failure is reported as ConnectionError;
 * for a write, saying that it may or may not have been applied. A query the server refuses
 * for any other reason is mapped at once, never retried.
 *
 * Results are unescaped on the way back (documents.ts): user JSON comes back as written.
 */
import { randomBytes } from 'node:crypto';
import { type Connection as DriverConnection, type RCursor, type RFeed, type RQuery, type RunOptions, r } from 'rethinkdb-ts';
import type { ResolvedConfig } from '../../lib/config';
import { Connection } from '../../lib/connection';
import { BackendError, ConnectionError } from '../../lib/errors';
import { withRetries } from '../../lib/retry';
import { pruneEntries } from './changelog';
import { unescapeKeys } from './documents';
import { indeterminateWrite, isTransient, isUnavailable, mapRethinkError, shortMessage } from './errors';
import { type ResolvedRethinkOptions, connectOptions, rethinkOptions, serverLocation } from './options';
import { ConnectionPool, withDeadline } from './pool';
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
  /** The query writes: a final failure says its outcome is unknown. */
  write?: boolean;
  /** Driver run options (`timeFormat`, `arrayLimit`, ...). */
  runOptions?: RunOptions;
}

/**
 * A changefeed cursor and the driver connection it runs on (a feed pings that connection when
 * the cursor stays silent).
 *
 * @example
 * const { cursor, connection }: OpenCursor<Change> = await conn.cursor('open changefeed', term);
 */
export interface OpenCursor<T> {
  cursor: RCursor<T>;
  connection: DriverConnection;
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
   * Runs a query and returns its result (a cursor's rows as an array), unescaped; transient
   * failures are retried (see the top of this file), the last one mapped to a chainstore
   * error. `what` names the operation for messages.
   *
   * @example
   * const block = await conn.run('get block', table(conn.db, 'blocks').get(1));
   */
  run<T>(what: string, term: RQuery<T>, settings: RunSettings = {}): Promise<T> {
    const { write = false, runOptions } = settings;
    let sent = false;
    return this.attempt(what, write, () => sent, async () => {
      sent = false;
      const connection = await this.pool.acquire();
      sent = true;
      return unescapeKeys(await withDeadline(connection, term.run(connection, runOptions), this.options.queryTimeout));
    }).finally(() => {
      if (write) this.countWrite();
    });
  }

  /**
   * Opens a changefeed cursor (retried like a read until it is open; the opening, not the
   * feed, has the query deadline) and gives it with the driver connection it runs on.
   *
   * @example
   * const { cursor, connection } = await conn.cursor('open changefeed', liveEntries(conn.db, 'blocks'));
   */
  cursor<T>(what: string, term: RFeed<T>, runOptions?: RunOptions): Promise<OpenCursor<T>> {
    return this.attempt(what, false, () => false, async () => {
      const connection = await this.pool.acquire();
      const cursor = await withDeadline(connection, term.run(connection, runOptions), this.options.queryTimeout);
      return { cursor, connection };
    });
  }

  /**
   * True if `connection` answers a trivial query within `heartbeatInterval`; if it does not,
   * it is closed as dead (failing every query and cursor on it) and false is returned.
   *
   * @example
   * if (!(await conn.ping(connection))) reopenTheFeed();
   */
  async ping(connection: DriverConnection): Promise<boolean> {
    if (!connection.open) return false;
    try {
      await withDeadline(connection, r.expr(1).run(connection), this.options.heartbeatInterval);
      return true;
    } catch {
      connection.close().catch(() => undefined);
      return false;
    }
  }

  /** Runs `work` with retries while it fails for a transient reason; maps the final failure. */
  private attempt<T>(what: string, write: boolean, sent: () => boolean, work: () => Promise<T>): Promise<T> {
    return withRetries(work, {
      backend: 'rethinkdb',
      log: this.log,
      what,
      maxTries: this.config.maxTries,
      // A chainstore error thrown inside (a closed connection) is final.
      retryable: (error) => !this.closed && !(error instanceof BackendError) && isTransient(error),
      giveUp: (error, tries) => this.giveUp(what, write && sent(), error, tries),
    });
  }

  private giveUp(what: string, unanswered: boolean, error: unknown, tries: number): Error {
    if (this.closed) return new ConnectionError('rethinkdb', `${what}: the connection is closed`, { cause: error });
    if (error instanceof BackendError || !isTransient(error)) return mapRethinkError(error, what);
    const count = `after ${tries} ${tries === 1 ? 'try' : 'tries'}`;
    if (isUnavailable(error)) {
      return new ConnectionError('rethinkdb', `${what}: the table stayed unavailable ${count} (it may be being reconfigured): ${shortMessage(error)}`, {
        cause: error,
      });
    }
    if (unanswered) return indeterminateWrite(what, `from ${this.location} ${count}`, error);
    return new ConnectionError('rethinkdb', `${what}: could not reach ${this.location} ${count}: ${shortMessage(error)}`, { cause: error });
  }

  /** Every so many writes, drops change-log entries beyond the retention (housekeeping only). */
  private countWrite(): void {
    if (++this.#writes % PRUNE_EVERY !== 0 || this.closed) return;
    this.run('prune change log', pruneEntries(this.db, this.options.changeLogRetention), { write: true }).catch(() => undefined);
  }

  protected override async release(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.close();
  }
}

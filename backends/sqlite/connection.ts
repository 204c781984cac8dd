/**
 * The embedded SQLite connection (better-sqlite3).
 *
 * Why these settings: WAL lets readers (changefeeds, other processes) run while one process
 * writes; a busy timeout makes writers from several processes queue instead of failing with
 * SQLITE_BUSY; write transactions begin IMMEDIATE so two writers never deadlock upgrading a
 * read lock. Statements are prepared once per connection and cached by their SQL text.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { SqlConnection, type TransactionLink } from '../sql/connection';
import { PRUNE_CHANGE_LOG, PRUNE_EVERY_WRITES } from '../sql/statements';
import type { ResolvedConfig } from '../../lib/config';
import type { Block, Transaction } from '../../lib/model';
import { ConfigurationError, quoted } from '../../lib/errors';
import { mapSqliteError } from './errors';
import { type CommitSettings, commitThread } from './commit-thread';
import { wakeFeeds } from './wakeup';
import { commitBlockRows } from './writes';

/**
 * Options of the sqlite backend, with their defaults.
 *
 * @example
 * await connect({ backend: 'sqlite', name: './data/ledger.db', busyTimeout: 10000, synchronous: 'NORMAL' });
 */
export interface SqliteOptions {
  /** The database file; `':memory:'` for a private in-memory database. Default `./.chainstore/chainstore.db`. */
  name: string;
  /** Milliseconds a writer waits for another process's write lock (a 100,000-transaction batch holds it for seconds). Default 60000. */
  busyTimeout?: number;
  /** SQLite `synchronous`: `'FULL'` (default, durable across power loss) or `'NORMAL'` (durable across process crashes). */
  synchronous?: 'FULL' | 'NORMAL';
  /** Milliseconds between change-log polls of an idle changefeed. Default 50. */
  pollInterval?: number;
  /** Change events kept for feeds that fall behind; older ones are pruned. Default 1,000,000. */
  changeLogRetention?: number;
  /** Page cache size in MiB. Default 64. */
  cacheSize?: number;
  /**
   * MiB of the file read through a memory map (SQLite's `mmap_size`; it caps the value at the
   * largest it was built for, just under 2 GiB with better-sqlite3). A page read from the map
   * costs no system call and no copy, which keeps lookups in a large ledger fast once it
   * outgrows the page cache. 0 reads with system calls only: choose it for a file on a
   * network file system or other unreliable storage, where an I/O error on a mapped page
   * ends the process (SIGBUS) instead of failing one operation. Default 2048.
   */
  mmapSize?: number;
  /**
   * Pages of write-ahead log after which a commit copies them into the database file
   * (SQLite's `wal_autocheckpoint`). Each checkpoint writes the pages changed since the last
   * one and syncs the file, and the commit that triggers it waits for that: a ledger's writes
   * touch about ten random index pages per transaction, so a longer interval copies the same
   * page once instead of many times. SQLite's own default, 1000, measured 30% more time per
   * committed block than 10000 (bench/, the node section); the price is a log file of up to
   * that many pages (40 MB with 4 KiB pages) beside the database. Default 10000.
   */
  walAutocheckpoint?: number;
  /**
   * Commit blocks (`query.commitBlock`) on the process's commit thread, a worker thread with
   * a database handle of its own, so that the calling thread is free while SQLite writes and
   * syncs the block: a node validates the next block meanwhile, on the other core. The commit
   * is the same single transaction either way. Only for a file: an in-memory database lives
   * in one connection, and always commits on it. Default `true` for a file.
   */
  commitThread?: boolean;
}

const DEFAULTS = { busyTimeout: 60_000, synchronous: 'FULL', pollInterval: 50, changeLogRetention: 1_000_000, cacheSize: 64, mmapSize: 2048, walAutocheckpoint: 10_000 } as const;

function option<K extends keyof typeof DEFAULTS>(config: ResolvedConfig, key: K, check: (v: unknown) => boolean): (typeof DEFAULTS)[K] {
  const value = config[key] ?? DEFAULTS[key];
  if (!check(value)) throw new ConfigurationError(`[sqlite] option ${key} is invalid: ${quoted(value)}`);
  return value as (typeof DEFAULTS)[K];
}

/** What using a closed connection throws, on its own thread or through the commit thread. */
const closedError = () => mapSqliteError(new Error('the connection is closed'), 'open', true);

const BY_ROW_NUMBER: TransactionLink = { side: 'tx_seq', column: 'seq' };

const positiveInteger = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;

/**
 * A connection to one SQLite database file. Opened on first use.
 *
 * @example
 * const conn = await connect({ name: ':memory:' });   // a SqliteConnection
 * conn.location;   // ':memory:'
 */
export class SqliteConnection extends SqlConnection {
  /** The resolved file path, or `':memory:'`. */
  readonly path: string;
  readonly busyTimeout: number;
  readonly synchronous: 'FULL' | 'NORMAL';
  readonly pollInterval: number;
  readonly changeLogRetention: number;
  readonly cacheSize: number;
  readonly mmapSize: number;
  readonly walAutocheckpoint: number;
  /** Whether blocks are committed on the commit thread (see {@link SqliteOptions.commitThread}). */
  readonly commitThread: boolean;
  /** This connection's handle on the commit thread, once it has one. */
  #threadHandle: number | undefined;
  #db: Database.Database | undefined;
  #statements = new Map<string, Database.Statement>();
  #writes = 0;

  constructor(config: ResolvedConfig) {
    super(config);
    this.path = config.name === ':memory:' ? ':memory:' : resolve(config.name);
    this.busyTimeout = option(config, 'busyTimeout', (v) => Number.isSafeInteger(v) && (v as number) >= 0);
    this.synchronous = option(config, 'synchronous', (v) => v === 'FULL' || v === 'NORMAL');
    this.pollInterval = option(config, 'pollInterval', positiveInteger);
    this.changeLogRetention = option(config, 'changeLogRetention', positiveInteger);
    this.cacheSize = option(config, 'cacheSize', positiveInteger);
    this.mmapSize = option(config, 'mmapSize', (v) => Number.isSafeInteger(v) && (v as number) >= 0);
    this.walAutocheckpoint = option(config, 'walAutocheckpoint', positiveInteger);
    const thread = config.commitThread ?? this.path !== ':memory:';
    if (typeof thread !== 'boolean') throw new ConfigurationError(`[sqlite] option commitThread is invalid: ${quoted(thread)}`);
    if (thread && this.path === ':memory:') {
      throw new ConfigurationError("[sqlite] option commitThread is invalid for ':memory:': an in-memory database lives in one connection, which commits itself");
    }
    this.commitThread = thread;
  }

  override get location(): string {
    return this.path;
  }

  /** Side rows keep the transaction's row number (schema.ts): lookups reach the row by it. */
  override get transactionLink(): TransactionLink {
    return BY_ROW_NUMBER;
  }

  /** What identifies this database among the process's connections: its file, or itself in memory. */
  get database(): unknown {
    return this.path === ':memory:' ? this : this.path;
  }

  /** The open database handle; opens the file on first use. */
  get db(): Database.Database {
    if (this.#db) return this.#db;
    if (this.closed) throw closedError();
    try {
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      const db = new Database(this.path, { timeout: this.busyTimeout });
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${this.synchronous}`);
      // SQLite's default page cache (2 MB) makes large batches and indexes thrash the disk.
      db.pragma(`cache_size = -${this.cacheSize * 1024}`);
      // In bytes, as an integer however large (a Number would print 2**50 MiB as 1.1e+21,
      // which SQLite reads as 1); SQLite caps it at its build's maximum.
      db.pragma(`mmap_size = ${BigInt(this.mmapSize) * 1_048_576n}`);
      db.pragma(`wal_autocheckpoint = ${this.walAutocheckpoint}`);
      this.#db = db;
      return db;
    } catch (error) {
      throw mapSqliteError(error, `open ${this.path}`, true);
    }
  }

  /** True if the database is open or its file exists (asking opens and creates nothing). */
  exists(): boolean {
    return this.#db !== undefined || this.path === ':memory:' || existsSync(this.path);
  }

  /** A prepared statement for `sql`, prepared once per connection. */
  statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs `work` in one IMMEDIATE transaction (all or nothing), mapping engine errors.
   * Nested calls join the outer transaction.
   */
  write<T>(what: string, work: () => T): T {
    let result: T;
    try {
      if (this.db.inTransaction) return work();
      // Timed when it succeeds (as every backend times its operations): a failure is thrown, not logged.
      const stop = this.log.timer(what);
      result = this.db.transaction(work).immediate();
      stop();
    } catch (error) {
      throw mapSqliteError(error, what);
    }
    if (++this.#writes % PRUNE_EVERY_WRITES === 0) this.pruneChangeLog();
    wakeFeeds(this.database);
    return result;
  }

  /**
   * Commits a block: the pre-commit record, the transactions, the UTXOs and the block, in
   * one transaction (writes.ts), on the commit thread or on this connection.
   */
  async commitBlock(block: Block, txs: readonly Transaction[]): Promise<void> {
    if (!this.commitThread) {
      commitBlockRows(this, block, txs);
      return;
    }
    if (this.closed) throw closedError();
    const stop = this.log.timer('commit block');
    await commitThread.commit((this.#threadHandle ??= commitThread.handle()), this.#commitSettings(), block, txs);
    stop();
    wakeFeeds(this.database);
  }

  #commitSettings(): CommitSettings {
    const { path: name, busyTimeout, synchronous, cacheSize, mmapSize, walAutocheckpoint, changeLogRetention } = this;
    return { name, busyTimeout, synchronous, cacheSize, mmapSize, walAutocheckpoint, changeLogRetention };
  }

  /** Closes this connection's handle on the commit thread; the next commit opens a new one. */
  async #closeThreadHandle(): Promise<void> {
    const handle = this.#threadHandle;
    this.#threadHandle = undefined;
    if (handle !== undefined) await commitThread.close(handle);
  }

  /**
   * Drops change events older than the newest `changeLogRetention`. Housekeeping only: a
   * failure (say, the tables were dropped) must not fail the write that triggered it.
   */
  pruneChangeLog(): void {
    try {
      this.statement(PRUNE_CHANGE_LOG).run(this.changeLogRetention);
    } catch {
      // Left for the next write to try again.
    }
  }

  /** Runs a read, mapping engine errors. */
  read<T>(what: string, work: () => T): T {
    try {
      const stop = this.log.timer(what);
      const result = work();
      stop();
      return result;
    } catch (error) {
      throw mapSqliteError(error, what);
    }
  }

  async rows<R>(what: string, sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return this.read(what, () => this.statement(sql).all(...params) as R[]);
  }

  async run(what: string, sql: string, params: readonly unknown[] = []): Promise<void> {
    this.write(what, () => this.statement(sql).run(...params));
  }

  inList(column: string): string {
    return `${column} IN (SELECT value FROM json_each(?))`;
  }

  listParam(values: readonly unknown[]): string {
    return JSON.stringify(values);
  }

  fromJson(value: unknown): unknown {
    return JSON.parse(value as string);
  }

  toJson(value: unknown): string {
    return JSON.stringify(value);
  }

  /** Forgets prepared statements (after the schema changed under them). */
  forgetStatements(): void {
    this.#statements.clear();
    // The commit thread's handle prepared them too. Requests are answered in order, so a
    // commit after this one opens a fresh handle; a failure to close is the next commit's to report.
    this.#closeThreadHandle().catch(() => undefined);
  }

  protected override async release(): Promise<void> {
    await this.#closeThreadHandle();
    this.#statements.clear();
    this.#db?.close();
    this.#db = undefined;
  }
}

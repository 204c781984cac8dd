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
import { ConfigurationError, quoted } from '../../lib/errors';
import { mapSqliteError } from './errors';
import { wakeFeeds } from './wakeup';

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
}

const DEFAULTS = { busyTimeout: 60_000, synchronous: 'FULL', pollInterval: 50, changeLogRetention: 1_000_000, cacheSize: 64, mmapSize: 2048 } as const;

function option<K extends keyof typeof DEFAULTS>(config: ResolvedConfig, key: K, check: (v: unknown) => boolean): (typeof DEFAULTS)[K] {
  const value = config[key] ?? DEFAULTS[key];
  if (!check(value)) throw new ConfigurationError(`[sqlite] option ${key} is invalid: ${quoted(value)}`);
  return value as (typeof DEFAULTS)[K];
}

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
    if (this.closed) throw mapSqliteError(new Error('the connection is closed'), 'open', true);
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
  }

  protected override async release(): Promise<void> {
    this.#statements.clear();
    this.#db?.close();
    this.#db = undefined;
  }
}

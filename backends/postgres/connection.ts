/**
 * The PostgreSQL connection: a pg.Pool opened on first use.
 *
 * Why these choices: statements are prepared by name on each pooled client, so a point read
 * is parsed and planned once per client; BIGINT columns come back as numbers (heights and
 * counts stay below 2^53); every failure that means "the connection went away" is retried
 * with backoff up to `maxTries`, then reported as ConnectionError; a statement the server
 * refuses is mapped at once, never retried.
 *
 * The writer lease. A statement a process sent just before it died still runs on the server,
 * and may commit, until the server notices the closed socket once that statement is done. So
 * that no such late statement can land after `recover()` (or in the middle of it), every
 * pooled session that writes holds the session-level advisory lock WRITER_LEASE in shared
 * mode, taken before its first write and held until the session ends (PostgreSQL releases a
 * session's advisory locks only when the session is gone, which is after its last statement).
 * `recover()` takes the same lock exclusively, on a session of its own, and does all its
 * work on that session: it starts only once every writing session of every other process has
 * ended, and writers of other processes wait while it works. Writers share the lease, so any
 * number of processes may write at once; only a recovery needs the database to itself.
 * Sessions that only read never take it: a reader does not hold a recovery up.
 * A dead client host (no FIN, no RST) is found by server-side TCP keepalives and
 * `tcp_user_timeout`, set on every session (`deadSessionTimeout`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { ResolvedConfig, TlsOptions } from '../../lib/config';
import { ChainstoreError, ConfigurationError, ConnectionError, LeaseError, type LeaseHolder } from '../../lib/errors';
import { withRetries } from '../../lib/retry';
import { SqlConnection } from '../sql/connection';
import { PRUNE_CHANGE_LOG, PRUNE_EVERY_WRITES } from '../sql/statements';
import { isConnectionFailure, isRetryable, mapPostgresError } from './errors';
import { escapeParameter, jsonbText, parseJsonb, parseText } from './nul';
import { type Client, type Pool, type PoolClient, type PoolConfig, type QueryConfig, type QueryResult, type QueryResultRow, pg } from './driver';

/**
 * Options of the postgres backend, with their defaults (besides those of every backend:
 * host `localhost`, port 5432, name `chainstore`, login `postgres`, password, ssl,
 * maxTries 3, connectionTimeout 5000).
 *
 * @example
 * await connect({ backend: 'postgres', url: 'postgres://app:secret@db:5432/ledger', poolSize: 20 });
 */
export interface PostgresOptions {
  /** Most pooled connections. Default 10. */
  poolSize?: number;
  /** Milliseconds an idle pooled connection is kept. Default 10000. */
  idleTimeout?: number;
  /** Milliseconds between change-log reads of an idle changefeed, on top of notifications. Default 1000. */
  pollInterval?: number;
  /** Change events kept for feeds that fall behind; older ones are pruned. Default 1,000,000. */
  changeLogRetention?: number;
  /** The database `createDatabase` and `dropDatabase` connect to. Default `postgres`. */
  maintenanceDatabase?: string;
  /**
   * Milliseconds `recover()` waits for the writer lease (every other process's writing
   * sessions gone), and a write waits while another process recovers; then LeaseError.
   * 0: no limit. Default 30000.
   */
  leaseTimeout?: number;
  /**
   * Milliseconds within which the server ends a session whose client host vanished without
   * closing its socket (server-side TCP keepalives and `tcp_user_timeout`, PostgreSQL 12 and
   * later). 0: the server's own settings (about 2 h 11 min on Linux). At least 4000. Default 10000.
   */
  deadSessionTimeout?: number;
}

const DEFAULTS = {
  poolSize: 10,
  idleTimeout: 10_000,
  pollInterval: 1000,
  changeLogRetention: 1_000_000,
  maintenanceDatabase: 'postgres',
  leaseTimeout: 30_000,
  deadSessionTimeout: 10_000,
} as const;

const positiveInteger = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;

function option<K extends keyof typeof DEFAULTS>(config: ResolvedConfig, key: K, check: (v: unknown) => boolean): (typeof DEFAULTS)[K] {
  const value = config[key] ?? DEFAULTS[key];
  if (!check(value)) throw new ConfigurationError(`[postgres] option ${key} is invalid: ${JSON.stringify(value)}`);
  return value as (typeof DEFAULTS)[K];
}

/** BIGINT as a JavaScript number; jsonb and text through the NUL-escape decoder (nul.ts). */
const INT8 = 20;
const TEXT = 25;
const JSONB = 3802;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8) return (value: string) => Number(value);
    if (oid === JSONB) return parseJsonb;
    if (oid === TEXT) return parseText;
    return pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

/** What a transaction's work runs its statements on (parameters escaped as everywhere). */
export interface TransactionClient {
  query(text: string, values?: unknown[]): Promise<QueryResult>;
}

/** The key of the advisory lock that orders writes to the change log (see schema.ts). */
export const CHANGE_LOG_LOCK = 0x636861696e; // 'chain'

/**
 * The key of the writer lease: a session-level advisory lock, shared by every writing
 * session, exclusive for recover() (see the top of this file).
 */
export const WRITER_LEASE = 0x6c65617365; // 'lease'

/** How often recover() tries for the exclusive lease while other sessions hold it. */
const LEASE_POLL_MS = 10;

/**
 * Whether a statement may change the database: everything but a plain SELECT counts as a
 * write (a SELECT that names a writing command anywhere, FOR UPDATE included, counts too).
 */
const writes = new Map<string, boolean>();
export function isWrite(text: string): boolean {
  let write = writes.get(text);
  if (write === undefined) {
    write = !/^\s*SELECT\b/i.test(text) || /\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY|CALL|NEXTVAL|SETVAL|PG_ADVISORY\w*)\b/i.test(text);
    writes.set(text, write);
  }
  return write;
}

/** The sessions holding the writer lease, other than the asking one. */
const LEASE_HOLDERS = `
SELECT l.pid, l.mode, a.application_name AS application, a.client_addr::text || ':' || a.client_port AS client,
  a.backend_start::text AS since, a.state
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = ${Math.floor(WRITER_LEASE / 2 ** 32)} AND l.objid = ${WRITER_LEASE % 2 ** 32} AND l.objsubid = 1
ORDER BY l.pid`;

const describeHolders = (holders: readonly LeaseHolder[]) =>
  holders.map((h) => `pid ${h.pid} (${[h.application, h.client, h.since && `since ${h.since}`, h.state].filter(Boolean).join(', ')})`).join('; ');

/**
 * A connection to one PostgreSQL database.
 *
 * @example
 * const conn = await connect({ backend: 'postgres', name: 'ledger' });
 * await schema.initDatabase(conn);
 */
export class PostgresConnection extends SqlConnection {
  readonly poolSize: number;
  readonly idleTimeout: number;
  readonly pollInterval: number;
  readonly changeLogRetention: number;
  readonly maintenanceDatabase: string;
  readonly leaseTimeout: number;
  readonly deadSessionTimeout: number;
  #pool: Pool | undefined;
  #numbered = new Map<string, string>();
  #writes = 0;
  /** Pooled sessions that hold the writer lease shared. */
  #leased = new WeakSet<PoolClient>();
  /** The session holding the lease exclusively, for the work of {@link exclusively}. */
  #exclusive = new AsyncLocalStorage<PoolClient | Client>();
  /** While this connection runs {@link exclusively}: its other writes wait for it. */
  #recovering: Promise<unknown> | undefined;

  constructor(config: ResolvedConfig) {
    super(config);
    this.poolSize = option(config, 'poolSize', positiveInteger);
    this.idleTimeout = option(config, 'idleTimeout', (v) => Number.isSafeInteger(v) && (v as number) >= 0);
    this.pollInterval = option(config, 'pollInterval', positiveInteger);
    this.changeLogRetention = option(config, 'changeLogRetention', positiveInteger);
    this.maintenanceDatabase = option(config, 'maintenanceDatabase', (v) => typeof v === 'string' && v !== '');
    this.leaseTimeout = option(config, 'leaseTimeout', (v) => Number.isSafeInteger(v) && (v as number) >= 0);
    this.deadSessionTimeout = option(config, 'deadSessionTimeout', (v) => v === 0 || (Number.isSafeInteger(v) && (v as number) >= 4000));
  }

  override get location(): string {
    const { host = 'localhost', port = 5432, name } = this.config;
    return `${host}:${port}/${name}`;
  }

  /** Driver settings for `database` (the configured one by default); never printed. */
  clientConfig(database = this.config.name): PoolConfig {
    const { host, port, login, password, ssl, connectionTimeout } = this.config;
    return {
      host,
      port,
      database,
      user: login,
      password,
      ssl: ssl === true ? true : ssl ? (ssl as TlsOptions) : undefined,
      connectionTimeoutMillis: connectionTimeout,
      types,
      application_name: 'chainstore',
      ...this.keepalive(),
    };
  }

  /**
   * Keepalives for `deadSessionTimeout`: the server probes a silent client after half of it,
   * then three times a sixth of it apart, and gives up on unacknowledged data after all of
   * it. The client probes the server the same way (a dead server is a ConnectionError).
   */
  private keepalive(): Pick<PoolConfig, 'keepAlive' | 'keepAliveInitialDelayMillis' | 'options'> {
    const timeout = this.deadSessionTimeout;
    if (timeout === 0) return { keepAlive: true };
    const idle = Math.max(1, Math.floor(timeout / 2000));
    const interval = Math.max(1, Math.floor(timeout / 6000));
    return {
      keepAlive: true,
      keepAliveInitialDelayMillis: idle * 1000,
      options: `-c tcp_keepalives_idle=${idle} -c tcp_keepalives_interval=${interval} -c tcp_keepalives_count=3 -c tcp_user_timeout=${timeout}`,
    };
  }

  /** The pool, made on first use. */
  get pool(): Pool {
    if (this.#pool) return this.#pool;
    if (this.closed) throw new ConnectionError('postgres', 'the connection is closed');
    const pool = new pg.Pool({ ...this.clientConfig(), max: this.poolSize, idleTimeoutMillis: this.idleTimeout });
    // An idle client whose server session ended: the pool drops it, the next query retries.
    pool.on('error', () => undefined);
    this.#pool = pool;
    return pool;
  }

  /**
   * Runs `work` with retries on connection failures; a refused statement is mapped at once.
   */
  attempt<T>(what: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetries(work, {
      backend: 'postgres',
      signal,
      log: this.log,
      what,
      maxTries: this.config.maxTries,
      retryable: (error) => !this.closed && isRetryable(error),
      giveUp: (error) => mapPostgresError(error, what),
    });
  }

  /** Rows of a statement written with `$n` placeholders (prepared by name, once per client). */
  async query<R extends QueryResultRow = QueryResultRow>(
    what: string,
    text: string,
    values: readonly unknown[] = [],
    signal?: AbortSignal,
  ): Promise<R[]> {
    const statement: QueryConfig = { name: statementName(text), text, values: values.map(escapeParameter) };
    const exclusive = this.#exclusive.getStore();
    if (exclusive) {
      // Inside exclusively(): on the session that holds the lease, never retried on another.
      return (await exclusive.query<R>(statement).catch((error: unknown) => Promise.reject(mapPostgresError(error, what)))).rows;
    }
    const result = await this.attempt(
      what,
      () => (isWrite(text) ? this.onLeasedClient((client) => client.query<R>(statement)) : this.pool.query<R>(statement)),
      signal,
    );
    return result.rows;
  }

  /**
   * Runs `work` on a pooled session that holds the writer lease shared (taken on the
   * session's first write, waiting up to `leaseTimeout` while another process recovers).
   */
  private async onLeasedClient<T>(work: (client: PoolClient, discard: (error: unknown) => void) => Promise<T>): Promise<T> {
    if (this.#recovering) await this.#recovering.catch(() => undefined);
    const client = await this.pool.connect();
    // A checked-out client's lost connection is an 'error' event: without a listener it
    // would end the process; with one, the failing query rejects and the work is retried.
    // A session that failed that way leaves the pool.
    let broken: unknown;
    const discard = (error: unknown) => {
      broken ??= error;
    };
    client.on('error', discard);
    try {
      if (!this.#leased.has(client)) {
        await this.takeSharedLease(client);
        this.#leased.add(client);
      }
      return await work(client, discard);
    } catch (error) {
      if (isConnectionFailure(error) || !this.#leased.has(client)) discard(error);
      throw error;
    } finally {
      client.off('error', discard);
      client.release(broken instanceof Error ? broken : broken === undefined ? undefined : new Error(String(broken)));
    }
  }

  /** The writer lease, shared, for the life of `client`'s session; LeaseError after `leaseTimeout`. */
  private async takeSharedLease(client: PoolClient): Promise<void> {
    try {
      await client.query(`BEGIN; SET LOCAL lock_timeout = ${this.leaseTimeout}; SELECT pg_advisory_lock_shared(${WRITER_LEASE}); COMMIT`);
    } catch (error) {
      if ((error as { code?: string }).code !== '55P03') throw error;
      await client.query('ROLLBACK');
      const holders = await this.leaseHolders(client);
      throw new LeaseError(
        'postgres',
        `a write waited ${this.leaseTimeout} ms for the writer lease while another process recovers the database: ${describeHolders(holders) || 'held'}`,
        holders,
        { cause: error },
      );
    }
  }

  private async leaseHolders(client: PoolClient | Client): Promise<LeaseHolder[]> {
    return (await client.query<LeaseHolder>(LEASE_HOLDERS)).rows;
  }

  /**
   * Runs `work` (recover()) holding the writer lease exclusively, on a session of its own
   * that every statement of `work` runs on: it starts once no other session holds the lease,
   * that is, once every writing session of every other process (a dead one's included, last
   * statement run) has ended, and no other process writes until it is done. This
   * connection's own pooled sessions are closed first (they may hold the lease shared); its
   * other writes meanwhile wait. After `leaseTimeout` ms with the lease still held by others:
   * LeaseError naming their sessions. A connection lost during `work` runs all of it again on
   * a new session (recover() is idempotent).
   */
  override async exclusively<T>(work: () => Promise<T>): Promise<T> {
    if (this.#exclusive.getStore()) return work();
    let done!: () => void;
    const recovering = (this.#recovering = new Promise<void>((resolve) => (done = resolve)));
    try {
      await this.endPool();
      return await withRetries(async () => {
        const client = new pg.Client(this.clientConfig());
        client.on('error', () => undefined);
        await client.connect();
        try {
          await this.takeExclusiveLease(client);
          return await this.#exclusive.run(client, work);
        } finally {
          // Ending the session releases the lease.
          await client.end().catch(() => undefined);
        }
      }, {
        backend: 'postgres',
        log: this.log,
        what: 'recover',
        maxTries: this.config.maxTries,
        // A lost session (work's statements come back mapped): all of it again, on a new one.
        retryable: (error) => !this.closed && (error instanceof ConnectionError || isRetryable(error)),
        // The work's own failures (a RecoveryError, a mapped statement) come out as they are.
        giveUp: (error) => (error instanceof ChainstoreError || !(error instanceof Error && 'code' in error) ? (error as Error) : mapPostgresError(error, 'recover')),
      });
    } finally {
      if (this.#recovering === recovering) this.#recovering = undefined;
      done();
    }
  }

  private async takeExclusiveLease(client: Client): Promise<void> {
    const deadline = this.leaseTimeout === 0 ? Infinity : Date.now() + this.leaseTimeout;
    for (;;) {
      const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${WRITER_LEASE}) AS ok`);
      if (rows[0].ok) return;
      if (Date.now() >= deadline) {
        const holders = await this.leaseHolders(client);
        throw new LeaseError(
          'postgres',
          `recover: the writer lease is still held after ${this.leaseTimeout} ms by ${holders.length} other session(s): ${describeHolders(holders) || '(gone since)'}. ` +
            'Another process still writes to the database (or recovers it); stop it, or raise leaseTimeout',
          holders,
        );
      }
      await sleep(LEASE_POLL_MS);
    }
  }

  async rows<R>(what: string, sql: string, params: readonly unknown[] = [], signal?: AbortSignal): Promise<R[]> {
    return (await this.query(what, this.numbered(sql), params, signal)) as R[];
  }

  async run(what: string, sql: string, params: readonly unknown[] = []): Promise<void> {
    await this.query(what, this.numbered(sql), params);
    this.countWrite();
  }

  inList(column: string): string {
    return `${column} = ANY(?)`;
  }

  listParam(values: readonly unknown[]): unknown[] {
    return [...values];
  }

  // pg parses jsonb itself (with parseJsonb, see `types`).
  fromJson(value: unknown): unknown {
    return value;
  }

  toJson(value: unknown): string {
    return jsonbText(value);
  }

  /**
   * Runs `work` in one transaction on one pooled client, holding the change-log lock from
   * the start so that writers queue in one order and never deadlock on it. The whole
   * transaction is retried when the connection fails or the server asks for a retry.
   *
   * A connection lost while COMMIT was on its way leaves the outcome unknown: the server may
   * have committed and only the answer was lost. Running the work again would then fail on
   * its own rows (a DuplicateKeyError for a block that is stored), so the next attempt first
   * asks the server what became of that transaction, by its id (`txid_status`): committed,
   * the work is done; aborted, it runs again; still in progress, it asks again after a pause.
   */
  async transaction<T>(what: string, work: (client: TransactionClient) => Promise<T>): Promise<T> {
    const exclusive = this.#exclusive.getStore();
    if (exclusive) return this.transactionOn(exclusive, what, work);
    let unresolved: { xid: string; value: T } | undefined;
    const lostAtCommit = (xid: string, value: T) => {
      unresolved = { xid, value };
    };
    let result: T;
    try {
      result = await this.attempt(what, async () => {
        if (unresolved) {
          if (await this.committed(unresolved.xid)) return unresolved.value;
          unresolved = undefined;
        }
        return this.transactionOnce(work, lostAtCommit);
      });
    } catch (error) {
      // The last try lost its COMMIT: one more question before reporting a failure that
      // may not be one.
      if (!unresolved || !(await this.committed(unresolved.xid).catch(() => false))) throw error;
      result = unresolved.value;
    }
    this.countWrite();
    return result;
  }

  /** One try of {@link transaction}, on a leased session; a connection lost at COMMIT is reported to `lostAtCommit`. */
  private transactionOnce<T>(work: (client: TransactionClient) => Promise<T>, lostAtCommit: (xid: string, value: T) => void): Promise<T> {
    return this.onLeasedClient(async (client, discard) => {
      await client.query('BEGIN');
      try {
        const { rows } = await client.query<{ xid: string }>('SELECT pg_advisory_xact_lock($1), txid_current()::text AS xid', [CHANGE_LOG_LOCK]);
        const value = await work({ query: (text, values) => client.query(text, values?.map(escapeParameter)) });
        await client.query('COMMIT').catch((error: unknown) => {
          if (isConnectionFailure(error)) lostAtCommit(rows[0].xid, value);
          throw error;
        });
        return value;
      } catch (error) {
        // A failed ROLLBACK means a lost session: it leaves the pool.
        await client.query('ROLLBACK').catch(discard);
        throw error;
      }
    });
  }

  /** A transaction inside {@link exclusively}: on the lease's own session, not retried. */
  private async transactionOn<T>(client: PoolClient | Client, what: string, work: (client: TransactionClient) => Promise<T>): Promise<T> {
    try {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [CHANGE_LOG_LOCK]);
        const value = await work({ query: (text, values) => client.query(text, values?.map(escapeParameter)) });
        await client.query('COMMIT');
        return value;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } catch (error) {
      throw mapPostgresError(error, what);
    }
  }

  /**
   * Whether transaction `xid`, whose COMMIT went unanswered, committed. While the server
   * still runs it (it has not noticed the lost session: a cut network, not a closed socket),
   * its session holds the change-log lock and every writer waits: it is ended, and the
   * caller's retries ask again after a pause (ended, it is aborted).
   */
  private async committed(xid: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ status: string | null }>('SELECT txid_status($1::bigint) AS status', [xid]);
    const status = rows[0]?.status;
    if (status === 'in progress') {
      // backend_xid is the 32-bit id, without txid_current's epoch.
      await this.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_xid::text::bigint = $1::bigint % 4294967296', [xid]);
      throw Object.assign(new Error(`transaction ${xid} of a lost session was still in progress`), { code: '08006' });
    }
    return status === 'committed';
  }

  /** `?` placeholders as `$1, $2, ...`, converted once per SQL text. */
  private numbered(sql: string): string {
    let text = this.#numbered.get(sql);
    if (text === undefined) {
      let n = 0;
      text = sql.replace(/\?/g, () => `$${++n}`);
      this.#numbered.set(sql, text);
    }
    return text;
  }

  /** Every so many writes, drops change events beyond the retention (housekeeping only). */
  private countWrite(): void {
    if (++this.#writes % PRUNE_EVERY_WRITES !== 0) return;
    this.query('prune change log', this.numbered(PRUNE_CHANGE_LOG), [this.changeLogRetention]).catch(() => undefined);
  }

  /** Ends the pool (used by close, and before dropping the database). */
  async endPool(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end();
  }

  protected override async release(): Promise<void> {
    await this.endPool();
  }
}

const names = new Map<string, string>();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A stable prepared-statement name for a SQL text. */
function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `cs_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    names.set(text, name);
  }
  return name;
}

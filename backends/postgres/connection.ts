/**
 * The PostgreSQL connection: a pg.Pool opened on first use.
 *
 * Why these choices: statements are prepared by name on each pooled client, so a point read
 * is parsed and planned once per client; BIGINT columns come back as numbers (heights and
 * counts stay below 2^53); every failure that means "the connection went away" is retried
 * with backoff up to `maxTries`, then reported as ConnectionError; a statement the server
 * refuses is mapped at once, never retried.
 */
import { createHash } from 'node:crypto';
import type { ResolvedConfig, TlsOptions } from '../../lib/config';
import { ConfigurationError, ConnectionError } from '../../lib/errors';
import { withRetries } from '../../lib/retry';
import { SqlConnection } from '../sql/connection';
import { isConnectionFailure, isRetryable, mapPostgresError } from './errors';
import { escapeParameter, jsonbText, parseJsonb, parseText } from './nul';
import { type Pool, type PoolConfig, type QueryResult, type QueryResultRow, pg } from './driver';

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
}

const DEFAULTS = { poolSize: 10, idleTimeout: 10_000, pollInterval: 1000, changeLogRetention: 1_000_000, maintenanceDatabase: 'postgres' } as const;

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
  #pool: Pool | undefined;
  #numbered = new Map<string, string>();
  #writes = 0;

  constructor(config: ResolvedConfig) {
    super(config);
    this.poolSize = option(config, 'poolSize', positiveInteger);
    this.idleTimeout = option(config, 'idleTimeout', (v) => Number.isSafeInteger(v) && (v as number) >= 0);
    this.pollInterval = option(config, 'pollInterval', positiveInteger);
    this.changeLogRetention = option(config, 'changeLogRetention', positiveInteger);
    this.maintenanceDatabase = option(config, 'maintenanceDatabase', (v) => typeof v === 'string' && v !== '');
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
    const escaped = values.map(escapeParameter);
    const result = await this.attempt(what, () => this.pool.query<R>({ name: statementName(text), text, values: escaped }), signal);
    return result.rows;
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

  /** One try of {@link transaction}; a connection lost at COMMIT is reported to `lostAtCommit`. */
  private async transactionOnce<T>(work: (client: TransactionClient) => Promise<T>, lostAtCommit: (xid: string, value: T) => void): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client's lost connection is an 'error' event: without a listener it
    // would end the process; with one, the failing query rejects and the work is retried.
    let broken: unknown;
    const onError = (error: unknown) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ xid: string }>('SELECT pg_advisory_xact_lock($1), txid_current()::text AS xid', [CHANGE_LOG_LOCK]);
      const value = await work({ query: (text, values) => client.query(text, values?.map(escapeParameter)) });
      await client.query('COMMIT').catch((error: unknown) => {
        if (isConnectionFailure(error)) lostAtCommit(rows[0].xid, value);
        throw error;
      });
      return value;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError;
      });
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken instanceof Error ? broken : broken === undefined ? undefined : new Error(String(broken)));
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
    if (++this.#writes % 1000 !== 0) return;
    this.pool
      .query('DELETE FROM changes WHERE seq <= (SELECT MAX(seq) FROM changes) - $1', [this.changeLogRetention])
      .catch(() => undefined);
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

/** A stable prepared-statement name for a SQL text. */
function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `cs_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    names.set(text, name);
  }
  return name;
}

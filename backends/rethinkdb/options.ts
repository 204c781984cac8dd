/**
 * The rethinkdb backend's options, and the driver settings a configuration becomes.
 *
 * The settings handed to `r.connect` carry the password, so they are built to stay
 * unprintable: the password is a non-enumerable property (the driver reads it by name,
 * `JSON.stringify` and `util.inspect` never show it).
 */
import { inspect } from 'node:util';
import type { RConnectionOptions } from 'rethinkdb-ts';
import type { ResolvedConfig, TlsOptions } from '../../lib/config';
import { ConfigurationError, quoted } from '../../lib/errors';

/**
 * Options of the rethinkdb backend, with their defaults (besides those of every backend:
 * host `localhost`, port 28015, name `chainstore`, login `admin`, password, ssl, maxTries 3,
 * connectionTimeout 5000).
 *
 * @example
 * await connect({ backend: 'rethinkdb', url: 'rethinkdb://admin:secret@db.internal:28015/ledger', poolSize: 8, queryTimeout: 30_000 });
 */
export interface RethinkOptions {
  /** Connections kept open to the server (queries are multiplexed over each). Default 4. */
  poolSize?: number;
  /**
   * Milliseconds a query may wait for its answer before its connection is taken for dead:
   * the connection is closed (failing every query on it) and the query is tried again on a
   * new one, up to `maxTries`. 0 waits forever. Changefeed cursors are exempt (a feed's
   * silence is checked by its heartbeat instead). Default 60000.
   */
  queryTimeout?: number;
  /**
   * Milliseconds of silence after which TCP keepalive probes start on a plain (non-TLS)
   * socket; 0 keeps the system's setting. Default 30000.
   */
  keepAlive?: number;
  /**
   * Milliseconds a changefeed's wake-up may stay silent before the connection carrying it is
   * pinged (and closed if the ping gets no answer within as long); also how often a woken-up
   * feed re-reads the change log anyway. Default 10000.
   */
  heartbeatInterval?: number;
  /** Milliseconds between change-log reads of a feed whose server-side wake-up is down. Default 1000. */
  pollInterval?: number;
  /**
   * Milliseconds a changefeed waits for a write in progress (a pending change-log entry)
   * before it reads the state of the records the write touches and reports what it finds.
   * Must exceed `queryTimeout`. Default 120000.
   */
  pendingTimeout?: number;
  /** Milliseconds change-log entries are kept for feeds that fall behind. Default 86400000 (a day). */
  changeLogRetention?: number;
  /** Shards of each table `createTables` makes (1 to 64). Default: the server's (1). */
  shards?: number;
  /** Replicas of each shard of each table `createTables` makes. Default: the server's (1). */
  replicas?: number;
}

/**
 * Every option resolved (placement stays undefined for the server's default).
 *
 * @example
 * const { poolSize, queryTimeout }: ResolvedRethinkOptions = conn.options;
 */
export type ResolvedRethinkOptions = Required<Omit<RethinkOptions, 'shards' | 'replicas'>> & Pick<RethinkOptions, 'shards' | 'replicas'>;

/**
 * The defaults of the options (milliseconds, except poolSize).
 *
 * @example
 * DEFAULTS.queryTimeout;   // 60000
 */
export const DEFAULTS = {
  poolSize: 4,
  queryTimeout: 60_000,
  keepAlive: 30_000,
  heartbeatInterval: 10_000,
  pollInterval: 1000,
  pendingTimeout: 120_000,
  changeLogRetention: 86_400_000,
} as const;

const positiveInteger = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
const naturalNumber = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

function option(config: ResolvedConfig, key: keyof RethinkOptions, check: (v: unknown) => boolean, fallback?: number): number | undefined {
  const value = config[key] ?? fallback;
  if (value === undefined) return undefined;
  if (!check(value)) throw new ConfigurationError(`[rethinkdb] option ${key} is invalid: ${quoted(value)}`);
  return value as number;
}

/**
 * The backend's options from a resolved configuration, defaults filled in; a bad value is a
 * ConfigurationError naming the option.
 *
 * @example
 * rethinkOptions(resolveConfig('rethinkdb', { poolSize: 2 }, {})).poolSize;   // 2
 */
export function rethinkOptions(config: ResolvedConfig): ResolvedRethinkOptions {
  const options = {
    poolSize: option(config, 'poolSize', positiveInteger, DEFAULTS.poolSize)!,
    queryTimeout: option(config, 'queryTimeout', naturalNumber, DEFAULTS.queryTimeout)!,
    keepAlive: option(config, 'keepAlive', naturalNumber, DEFAULTS.keepAlive)!,
    heartbeatInterval: option(config, 'heartbeatInterval', positiveInteger, DEFAULTS.heartbeatInterval)!,
    pollInterval: option(config, 'pollInterval', positiveInteger, DEFAULTS.pollInterval)!,
    pendingTimeout: option(config, 'pendingTimeout', positiveInteger, DEFAULTS.pendingTimeout)!,
    changeLogRetention: option(config, 'changeLogRetention', positiveInteger, DEFAULTS.changeLogRetention)!,
    shards: option(config, 'shards', (v) => positiveInteger(v) && (v as number) <= 64),
    replicas: option(config, 'replicas', positiveInteger),
  };
  // A feed that reads a write's records while the write can still run could report too
  // early; the query deadline is what bounds a write (see changelog.ts).
  if (options.queryTimeout > 0 && options.pendingTimeout <= options.queryTimeout) {
    throw new ConfigurationError(
      `[rethinkdb] option pendingTimeout (${options.pendingTimeout}) must exceed queryTimeout (${options.queryTimeout})`,
    );
  }
  return options;
}

/**
 * The default port of a RethinkDB server's client driver protocol.
 *
 * @example
 * config.port ?? DEFAULT_PORT;   // 28015
 */
export const DEFAULT_PORT = 28015;

/**
 * Where a configuration points, for messages: `host:port/db`, never with a password.
 *
 * @example
 * serverLocation(resolveConfig('rethinkdb', { url: 'rethinkdb://u:pw@db:28016/ledger' }, {}));   // 'db:28016/ledger'
 */
export function serverLocation(config: ResolvedConfig): string {
  return `${config.host ?? 'localhost'}:${config.port ?? DEFAULT_PORT}/${config.name}`;
}

/**
 * The settings `r.connect` takes for a configuration: the server (with TLS when `ssl` is set),
 * the database, the user (`admin` by default, as RethinkDB's own), the connect timeout in
 * seconds, and `silent` (the driver would otherwise print errors to the console itself).
 * The password is present but unprintable.
 *
 * TCP keepalive: rethinkdb-ts hands `server` to `net.connect` / `tls.connect` and then calls
 * `setKeepAlive(true)` without a delay, which keeps the delay already set. `keepAlive` and
 * `keepAliveInitialDelay` in `server` set that delay on a plain socket; `tls.connect` ignores
 * them (nodejs/node#62003), so a TLS socket keeps the system's delay (two hours on Linux).
 * Keepalive alone is slow anyway (after the delay, Linux probes 9 times 75 s apart), which is
 * why queries have a deadline and feeds a heartbeat (connection.ts, changefeed.ts). The
 * driver's own `pingInterval` stays off: its ping waits for an answer without a deadline, so
 * it detects nothing on a silently dropped path.
 *
 * @example
 * const options = connectOptions(resolveConfig('rethinkdb', { url: 'rethinkdb://app:pw@db:28015/ledger' }, {}));
 * options.server;            // { host: 'db', port: 28015 }
 * JSON.stringify(options);   // no password in it
 */
export function connectOptions(config: ResolvedConfig): RConnectionOptions {
  const keepAlive = typeof config.keepAlive === 'number' ? config.keepAlive : DEFAULTS.keepAlive;
  const server = {
    host: config.host ?? 'localhost',
    port: config.port ?? DEFAULT_PORT,
    ...(keepAlive > 0 && !config.ssl ? { keepAlive: true, keepAliveInitialDelay: keepAlive } : {}),
    ...tlsOptions(config.ssl),
  };
  const options = {
    server,
    db: config.name,
    user: config.login ?? 'admin',
    // The driver takes seconds; fractions are honoured.
    timeout: config.connectionTimeout / 1000,
    pingInterval: -1,
    silent: true,
  } as RConnectionOptions;
  const printable = () => ({ ...options, ...(config.password ? { password: '***' } : {}) });
  Object.defineProperties(options, {
    password: { value: config.password ?? '', enumerable: false },
    toJSON: { value: printable, enumerable: false },
    [inspect.custom]: { value: printable, enumerable: false },
  });
  return options;
}

/** The TLS part of the server settings: none, the system's trust store, or the given files. */
function tlsOptions(ssl: boolean | TlsOptions | undefined): { tls: true } & TlsOptions | Record<string, never> {
  if (!ssl) return {};
  return ssl === true ? { tls: true } : { ...ssl, tls: true };
}

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
import { ConfigurationError } from '../../lib/errors';

/**
 * Options of the rethinkdb backend, with their defaults (besides those of every backend:
 * host `localhost`, port 28015, name `chainstore`, login `admin`, password, ssl, maxTries 3,
 * connectionTimeout 5000).
 *
 * @example
 * await connect({ backend: 'rethinkdb', url: 'rethinkdb://admin:secret@db.internal:28015/ledger', poolSize: 8 });
 */
export interface RethinkOptions {
  /** Connections kept open to the server (queries are multiplexed over each). Default 4. */
  poolSize?: number;
  /** Milliseconds between change-log reads of a feed whose server-side wake-up is down. Default 1000. */
  pollInterval?: number;
  /**
   * Milliseconds a changefeed looks back when it resumes after a lost connection: a change
   * whose write query took longer than this to finish, while the feed was disconnected, can be
   * missed (see changefeed.ts). Default 60000.
   */
  feedOverlap?: number;
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
 * const { poolSize, feedOverlap }: ResolvedRethinkOptions = conn.options;
 */
export type ResolvedRethinkOptions = Required<Omit<RethinkOptions, 'shards' | 'replicas'>> & Pick<RethinkOptions, 'shards' | 'replicas'>;

const DEFAULTS = { poolSize: 4, pollInterval: 1000, feedOverlap: 60_000, changeLogRetention: 86_400_000 } as const;

const positiveInteger = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;

function option(config: ResolvedConfig, key: keyof RethinkOptions, check: (v: unknown) => boolean, fallback?: number): number | undefined {
  const value = config[key] ?? fallback;
  if (value === undefined) return undefined;
  if (!check(value)) throw new ConfigurationError(`[rethinkdb] option ${key} is invalid: ${JSON.stringify(value)}`);
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
  return {
    poolSize: option(config, 'poolSize', positiveInteger, DEFAULTS.poolSize)!,
    pollInterval: option(config, 'pollInterval', positiveInteger, DEFAULTS.pollInterval)!,
    feedOverlap: option(config, 'feedOverlap', positiveInteger, DEFAULTS.feedOverlap)!,
    changeLogRetention: option(config, 'changeLogRetention', positiveInteger, DEFAULTS.changeLogRetention)!,
    shards: option(config, 'shards', (v) => positiveInteger(v) && (v as number) <= 64),
    replicas: option(config, 'replicas', positiveInteger),
  };
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
 * @example
 * const options = connectOptions(resolveConfig('rethinkdb', { url: 'rethinkdb://app:pw@db:28015/ledger' }, {}));
 * options.server;            // { host: 'db', port: 28015 }
 * JSON.stringify(options);   // no password in it
 */
export function connectOptions(config: ResolvedConfig): RConnectionOptions {
  const server = {
    host: config.host ?? 'localhost',
    port: config.port ?? DEFAULT_PORT,
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

/**
 * The localmongodb backend's options and how they become the driver's settings. Pure: no
 * network, no client; the password is added only where the client is made (connection.ts),
 * so nothing this module returns can print it.
 */
import type { ResolvedConfig, TlsOptions } from '../../lib/config';
import { redactUrl } from '../../lib/config';
import { ConfigurationError, quoted } from '../../lib/errors';
import type { MongoClientOptions } from './driver';
import { safeDecode } from '../../lib/url';

/**
 * Options of the localmongodb backend, with their defaults (besides those of every backend:
 * host `localhost`, port 27017, name `chainstore`, login, password, ssl, maxTries 3,
 * connectionTimeout 5000).
 *
 * @example
 * await connect({ backend: 'localmongodb', url: 'mongodb://db1:27017,db2:27017/ledger?replicaSet=rs0', poolSize: 20 });
 * await connect({ backend: 'localmongodb', host: 'db1', replicaSet: 'rs0', login: 'app', password: process.env.DB_PASSWORD });
 */
export interface MongoOptions {
  /**
   * `mongodb://` or `mongodb+srv://`. Given to the driver as it is (host lists, `?replicaSet=`,
   * `?tls=`, `?authSource=` and every other URL option keep the driver's meaning); without
   * one, a URL is built from host and port, and the login and password go to the driver apart.
   */
  url?: string;
  /** Name of the replica set to join; the driver then accepts only its members. Default: none (as the URL says). */
  replicaSet?: string;
  /** Most pooled connections per server. Default 10. */
  poolSize?: number;
  /** Database holding the user's credentials, when login and password are options (not in a URL). Default `admin`. */
  authSource?: string;
  /**
   * How writes (and transaction commits) are acknowledged. Default `{ w: 'majority', journal:
   * true }`: a write is acknowledged once a majority of the replica set has it in its on-disk
   * journal, so it survives a failover and a crash (a standalone server acknowledges it once
   * journaled). A URL's `w`, `journal` or `wtimeoutMS` parameters replace the default; this
   * option replaces both.
   */
  writeConcern?: MongoWriteConcern;
}

/**
 * A write concern: `w` (how many members must have a write, or `'majority'`; 0 is refused:
 * an unacknowledged write cannot report a duplicate), `journal` (acknowledged once in the
 * on-disk journal) and `wtimeoutMS` (how long to wait for `w` members; none by default).
 *
 * @example
 * const fast: MongoWriteConcern = { w: 1, journal: true };
 */
export interface MongoWriteConcern {
  w?: number | 'majority';
  journal?: boolean;
  wtimeoutMS?: number;
}

/**
 * The defaults of {@link MongoOptions}.
 *
 * @example
 * MONGO_DEFAULTS.poolSize;   // 10
 * MONGO_DEFAULTS.writeConcern;   // { w: 'majority', journal: true }
 */
export const MONGO_DEFAULTS = Object.freeze({
  poolSize: 10,
  authSource: 'admin',
  writeConcern: Object.freeze({ w: 'majority', journal: true }) as Readonly<MongoWriteConcern>,
});

/** URL parameters that set the write concern (lower case, as {@link urlParameters} gives them). */
const WRITE_CONCERN_PARAMETERS = ['w', 'journal', 'wtimeoutms'];

/**
 * What the driver is given: the URL and its options. The password is not in `options` (see
 * {@link withCredentials}).
 *
 * @example
 * const { url, options } = clientSettings(conn.config);
 */
export interface ClientSettings {
  url: string;
  options: MongoClientOptions;
  /** True when `url` came from the configuration (it may carry credentials); false when built here. */
  urlGiven: boolean;
}

const BACKEND = 'localmongodb';

function invalid(option: string, value: unknown, expected: string): ConfigurationError {
  return new ConfigurationError(`[${BACKEND}] option ${option} must be ${expected}, got ${quoted(value)}`);
}

/**
 * The backend's own options, checked, with defaults applied.
 *
 * @example
 * mongoOptions(resolveConfig('localmongodb', { poolSize: 20 }, {})).poolSize;   // 20
 */
export function mongoOptions(
  config: ResolvedConfig,
): Required<Omit<MongoOptions, 'url' | 'replicaSet' | 'writeConcern'>> & { replicaSet?: string; writeConcern?: MongoWriteConcern } {
  const poolSize = config.poolSize ?? MONGO_DEFAULTS.poolSize;
  if (!Number.isSafeInteger(poolSize) || (poolSize as number) < 1) throw invalid('poolSize', poolSize, 'a positive integer');
  const authSource = config.authSource ?? MONGO_DEFAULTS.authSource;
  if (typeof authSource !== 'string' || authSource === '') throw invalid('authSource', authSource, 'a database name');
  const replicaSet = config.replicaSet;
  if (replicaSet !== undefined && (typeof replicaSet !== 'string' || replicaSet === '')) {
    throw invalid('replicaSet', replicaSet, 'a replica set name');
  }
  const writeConcern = config.writeConcern === undefined ? undefined : checkWriteConcern(config.writeConcern);
  return {
    poolSize: poolSize as number,
    authSource,
    ...(replicaSet !== undefined ? { replicaSet: replicaSet as string } : {}),
    ...(writeConcern !== undefined ? { writeConcern } : {}),
  };
}

/** The writeConcern option, checked, with only the fields it gives. */
function checkWriteConcern(value: unknown): MongoWriteConcern {
  const expected = "an object { w, journal, wtimeoutMS } (w: a positive integer or 'majority')";
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('writeConcern', value, expected);
  const { w, journal, wtimeoutMS, ...unknown } = value as Record<string, unknown>;
  if (Object.keys(unknown).length) throw invalid('writeConcern', value, `${expected}, without ${Object.keys(unknown).join(', ')}`);
  if (w !== undefined && !(Number.isSafeInteger(w) && (w as number) >= 1) && w !== 'majority') {
    throw invalid('writeConcern.w', w, "a positive integer or 'majority' (0, unacknowledged, cannot report duplicates)");
  }
  if (journal !== undefined && typeof journal !== 'boolean') throw invalid('writeConcern.journal', journal, 'true or false');
  if (wtimeoutMS !== undefined && !(Number.isSafeInteger(wtimeoutMS) && (wtimeoutMS as number) >= 0)) {
    throw invalid('writeConcern.wtimeoutMS', wtimeoutMS, 'a number of milliseconds');
  }
  return {
    ...(w !== undefined ? { w: w as number | 'majority' } : {}),
    ...(journal !== undefined ? { journal } : {}),
    ...(wtimeoutMS !== undefined ? { wtimeoutMS: wtimeoutMS as number } : {}),
  };
}

/** `host:port` for a URL, with an IPv6 address in brackets. */
function hostPort(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/** The driver's TLS options for chainstore's `ssl` option. */
function tlsOptions(ssl: ResolvedConfig['ssl']): MongoClientOptions {
  if (ssl === undefined || ssl === false) return {};
  if (ssl === true) return { tls: true };
  const { ca, cert, key, rejectUnauthorized } = ssl as TlsOptions;
  return {
    tls: true,
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    // The driver's own spelling of "do not check the server's certificate".
    ...(rejectUnauthorized === false ? { tlsAllowInvalidCertificates: true } : {}),
  };
}

/**
 * The URL and options the driver is given for a configuration (without the password, which
 * {@link withCredentials} adds when the client is made).
 *
 * @example
 * clientSettings(resolveConfig('localmongodb', { host: 'db', login: 'app', password: 'pw' }, {}, { port: 27017 }));
 * // { url: 'mongodb://db:27017/', options: { auth: { username: 'app' }, authSource: 'admin', maxPoolSize: 10, ... }, urlGiven: false }
 */
export function clientSettings(config: ResolvedConfig): ClientSettings {
  const { poolSize, authSource, replicaSet, writeConcern } = mongoOptions(config);
  const url = config.url;
  if (url !== undefined && !/^mongodb(\+srv)?:\/\//i.test(url)) {
    throw new ConfigurationError(`[${BACKEND}] URL ${JSON.stringify(redactUrl(url))} is not a mongodb:// or mongodb+srv:// URL`);
  }
  // A setting the URL spells out is the user's word: chainstore's defaults do not override it.
  const inUrl = urlParameters(url);
  const unlessInUrl = (name: string, value: Partial<MongoClientOptions>) => (inUrl.has(name.toLowerCase()) ? {} : value);
  const options: MongoClientOptions = {
    ...unlessInUrl('appName', { appName: 'chainstore' }),
    ...(config.poolSize !== undefined ? { maxPoolSize: poolSize } : unlessInUrl('maxPoolSize', { maxPoolSize: poolSize })),
    // One attempt to reach the deployment is one server selection; a failed one is retried by chainstore.
    ...unlessInUrl('serverSelectionTimeoutMS', { serverSelectionTimeoutMS: config.connectionTimeout }),
    ...unlessInUrl('connectTimeoutMS', { connectTimeoutMS: config.connectionTimeout }),
    // JSON has no undefined: a property holding it is left out, as JSON.stringify does.
    ignoreUndefined: true,
    ...(replicaSet !== undefined ? { replicaSet } : {}),
    ...(writeConcern !== undefined
      ? { writeConcern }
      : WRITE_CONCERN_PARAMETERS.some((name) => inUrl.has(name))
        ? {}
        : { writeConcern: { ...MONGO_DEFAULTS.writeConcern } }),
    ...tlsOptions(config.ssl),
  };
  if (url !== undefined) return { url, options, urlGiven: true };
  const host = config.host ?? 'localhost';
  const port = config.port ?? 27017;
  if (config.login !== undefined) {
    options.auth = { username: config.login };
    options.authSource = authSource;
  }
  return { url: `mongodb://${hostPort(host, port)}/`, options, urlGiven: false };
}

/**
 * The names of a URL's query parameters, in lower case (the driver reads them case-insensitively).
 *
 * @example
 * urlParameters('mongodb://h/db?replicaSet=rs0&maxPoolSize=5');   // Set { 'replicaset', 'maxpoolsize' }
 */
export function urlParameters(url: string | undefined): Set<string> {
  const query = url?.split('?')[1]?.split('#')[0] ?? '';
  return new Set(query.split('&').filter(Boolean).map((pair) => safeDecode(pair.split('=')[0]).toLowerCase()));
}

/**
 * `options` with the configured password added to `auth`, for the client constructor only.
 *
 * @example
 * new MongoClient(url, withCredentials(options, conn.config));
 */
export function withCredentials(options: MongoClientOptions, config: ResolvedConfig): MongoClientOptions {
  if (!options.auth || config.password === undefined) return options;
  return { ...options, auth: { ...options.auth, password: config.password } };
}

/**
 * True when the configuration says, before any server is asked, that the deployment is a
 * replica set: the `replicaSet` option or URL parameter.
 *
 * @example
 * declaresReplicaSet(resolveConfig('localmongodb', { url: 'mongodb://h/?replicaSet=rs0' }, {}));   // true
 */
export function declaresReplicaSet(config: ResolvedConfig): boolean {
  return config.replicaSet !== undefined || (config.url !== undefined && /[?&]replicaSet=[^&]/i.test(config.url));
}

/**
 * True when the configuration says the deployment supports transactions and change streams:
 * a declared replica set, or a `mongodb+srv://` URL (managed clusters, which are replica
 * sets or sharded clusters, never standalone servers).
 *
 * @example
 * declaresTransactions(resolveConfig('localmongodb', { url: 'mongodb+srv://cluster0.example.net/ledger' }, {}));   // true
 */
export function declaresTransactions(config: ResolvedConfig): boolean {
  return declaresReplicaSet(config) || (config.url !== undefined && /^mongodb\+srv:/i.test(config.url));
}

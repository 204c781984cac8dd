/**
 * Resolves what `connect()` is given into one frozen configuration
 * (DESIGN section 7): explicit options > `CHAINSTORE_*` environment > backend defaults.
 *
 * The password is kept out of every printable view: it is a non-enumerable property,
 * the URL is stored redacted for display, and `util.inspect` / `JSON.stringify` of a
 * config never show either.
 */
import { inspect } from 'node:util';
import { ConfigurationError } from './errors';

/**
 * TLS settings for server backends.
 *
 * @example
 * const ssl: TlsOptions = { ca: readFileSync('ca.pem'), rejectUnauthorized: true };
 * await connect({ backend: 'postgres', host: 'db.internal', ssl });
 */
export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
}

/**
 * What `connect()` accepts. Every field is optional; see the README's configuration table.
 *
 * @example
 * await connect({ backend: 'sqlite', name: ':memory:' });
 * await connect({ url: 'postgres://app:secret@db.internal:5432/ledger', maxTries: 5 });
 */
export interface ConnectionOptions {
  /** Registered backend name. Default: the default backend (`'sqlite'`). */
  backend?: string;
  /** The engine's own URL form; overrides host, port, name, login and password. */
  url?: string;
  host?: string;
  port?: number;
  /** Database name; for sqlite, the file path (`':memory:'` allowed). */
  name?: string;
  login?: string;
  password?: string;
  ssl?: boolean | TlsOptions;
  /** How many times an operation may try to reach the engine; 0 = forever. Default 3. */
  maxTries?: number;
  /** Milliseconds one attempt to reach the engine may take. Default 5000. */
  connectionTimeout?: number;
  /** Backend-specific options (pool size, busy timeout, ...), documented per backend. */
  [option: string]: unknown;
}

/**
 * A resolved, frozen configuration, as a backend receives it.
 *
 * @example
 * const config = resolveConfig('postgres', { url: 'postgres://u:pw@h/db' }, {}, { port: 5432 });
 * config.displayUrl;   // 'postgres://u:***@h/db'
 * config.maxTries;     // 3
 */
export interface ResolvedConfig {
  readonly backend: string;
  readonly host?: string;
  readonly port?: number;
  readonly name: string;
  readonly login?: string;
  /** Non-enumerable: never printed. */
  readonly password?: string;
  /** Non-enumerable: the URL as given (it may hold a password). */
  readonly url?: string;
  /** The URL with its password masked, for messages. */
  readonly displayUrl?: string;
  readonly ssl?: boolean | TlsOptions;
  readonly maxTries: number;
  readonly connectionTimeout: number;
  readonly [option: string]: unknown;
}

/**
 * The defaults a backend declares when it is registered.
 *
 * @example
 * const defaults: BackendDefaults = { host: 'localhost', port: 5432, name: 'chainstore' };
 * registerBackend('mypg', (config) => new MyPgConnection(config), defaults);
 */
export type BackendDefaults = Partial<Omit<ConnectionOptions, 'backend'>>;

/**
 * Default for `maxTries`.
 *
 * @example
 * resolveConfig('sqlite', { name: ':memory:' }, {}).maxTries;   // DEFAULT_MAX_TRIES, 3
 */
export const DEFAULT_MAX_TRIES = 3;
/**
 * Default for `connectionTimeout`, in milliseconds.
 *
 * @example
 * resolveConfig('sqlite', { name: ':memory:' }, {}).connectionTimeout;   // DEFAULT_CONNECTION_TIMEOUT, 5000
 */
export const DEFAULT_CONNECTION_TIMEOUT = 5000;

const ENV_PREFIX = 'CHAINSTORE_DATABASE_';

/** The database name of a backend that declares none. */
export const DEFAULT_NAME = 'chainstore';

/**
 * Environment variables read, and the option each one sets.
 *
 * @example
 * ENVIRONMENT.CHAINSTORE_DATABASE_MAX_TRIES;   // 'maxTries'
 */
export const ENVIRONMENT: Readonly<Record<string, keyof ConnectionOptions>> = Object.freeze({
  [`${ENV_PREFIX}BACKEND`]: 'backend',
  [`${ENV_PREFIX}URL`]: 'url',
  [`${ENV_PREFIX}HOST`]: 'host',
  [`${ENV_PREFIX}PORT`]: 'port',
  [`${ENV_PREFIX}NAME`]: 'name',
  [`${ENV_PREFIX}LOGIN`]: 'login',
  [`${ENV_PREFIX}PASSWORD`]: 'password',
  [`${ENV_PREFIX}SSL`]: 'ssl',
  [`${ENV_PREFIX}MAX_TRIES`]: 'maxTries',
  [`${ENV_PREFIX}CONNECTION_TIMEOUT`]: 'connectionTimeout',
});

function parseInteger(option: string, raw: string | number, min: number, max: number): number {
  const value = typeof raw === 'number' ? raw : /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`option ${option} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function parseBoolean(option: string, raw: string): boolean {
  const text = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on', 'require'].includes(text)) return true;
  if (['0', 'false', 'no', 'off', 'disable', ''].includes(text)) return false;
  throw new ConfigurationError(`option ${option} must be true or false, got ${JSON.stringify(raw)}`);
}

/**
 * Reads the `CHAINSTORE_DATABASE_*` variables into options (strings parsed to their types).
 *
 * @example
 * optionsFromEnvironment({ CHAINSTORE_DATABASE_PORT: '5433', CHAINSTORE_DATABASE_SSL: 'yes' });   // { port: 5433, ssl: true }
 */
export function optionsFromEnvironment(env: NodeJS.ProcessEnv = process.env): ConnectionOptions {
  const options: ConnectionOptions = {};
  for (const [variable, option] of Object.entries(ENVIRONMENT)) {
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    if (option === 'port') options.port = parseInteger(variable, raw, 1, 65535);
    else if (option === 'maxTries') options.maxTries = parseInteger(variable, raw, 0, Number.MAX_SAFE_INTEGER);
    else if (option === 'connectionTimeout') options.connectionTimeout = parseInteger(variable, raw, 1, 2 ** 31 - 1);
    else if (option === 'ssl') options.ssl = parseBoolean(variable, raw);
    else options[option] = raw;
  }
  return options;
}

/**
 * Masks the password of a URL (`postgres://app:***@host/db`). The user part runs to the
 * last `@`, so a password with an unencoded `@`, `/` or `#` is masked whole; where the URL is
 * ambiguous, more is masked rather than less.
 *
 * @example
 * redactUrl('mongodb://u:pw@h/db');        // 'mongodb://u:***@h/db'
 * redactUrl('postgres://u:a#b/c@h/db');    // 'postgres://u:***@h/db'
 */
export function redactUrl(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^:@]*):(.*)@([^@]*)$/is.exec(url);
  const masked = match ? `${match[1]}${match[2]}:***@${match[4]}` : url;
  // Some drivers also take the password as a query parameter.
  return masked.replace(/([?&](?:password|pass|pwd)=)[^&#]*/gi, '$1***');
}

/**
 * What a server URL says, by option. Taken apart by hand rather than by the WHATWG parser:
 * the user part runs to the LAST `@` (a password may hold an unencoded `@`, `/`, `#`), a
 * MongoDB host list (`h1:27017,h2:27017`) is allowed (the first host stands for `host` and
 * `port`; the driver gets the URL), and a bad escape is kept as written rather than thrown.
 */
function optionsFromServerUrl(url: string): ConnectionOptions {
  const match = /^[a-z][a-z0-9+.-]*:\/\/(?:(.*)@)?([^@/?#]*)(\/[^?#]*)?([?#].*)?$/is.exec(url);
  if (!match || !match[2]) throw new ConfigurationError(`malformed database URL ${JSON.stringify(redactUrl(url))}`);
  const [, userInfo, hosts, path] = match;
  const options: ConnectionOptions = {};
  const [first] = hosts.split(',');
  const bracketed = /^\[([^\]]*)\](?::(\d+))?$/.exec(first);
  const plain = /^([^:]*)(?::(\d+))?$/.exec(first);
  const [, host, port] = bracketed ?? plain ?? [];
  if (host === undefined) throw new ConfigurationError(`malformed database URL ${JSON.stringify(redactUrl(url))}`);
  if (host) options.host = safeDecode(host);
  if (port) options.port = Number(port);
  const name = path ? safeDecode(path.slice(1)) : '';
  if (name) options.name = name;
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':');
    options.login = safeDecode(colon === -1 ? userInfo : userInfo.slice(0, colon));
    if (colon !== -1) options.password = safeDecode(userInfo.slice(colon + 1));
  }
  return options;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * What a `sqlite:` URL says: `sqlite:relative/path.db`, `sqlite:///abs/path.db`,
 * `sqlite::memory:`.
 */
function optionsFromSqliteUrl(url: string): ConnectionOptions {
  const rest = url.replace(/^sqlite3?:/i, '');
  if (rest === ':memory:' || rest === '//:memory:') return { name: ':memory:' };
  if (rest.startsWith('///')) return { name: decodeURIComponent(rest.slice(2)) };
  if (rest.startsWith('//')) {
    throw new ConfigurationError(`sqlite URL ${JSON.stringify(redactUrl(url))} names a host; use sqlite:relative/path.db or sqlite:///abs/path.db`);
  }
  if (!rest) throw new ConfigurationError(`sqlite URL ${JSON.stringify(redactUrl(url))} names no file`);
  return { name: decodeURIComponent(rest) };
}

/**
 * The backend a URL's scheme implies, if any.
 *
 * @example
 * backendOfUrl('mongodb+srv://cluster0.example.net/ledger');   // 'localmongodb'
 * backendOfUrl('mysql://h/db');                                // undefined
 */
export function backendOfUrl(url: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'sqlite':
    case 'sqlite3':
      return 'sqlite';
    case 'postgres':
    case 'postgresql':
      return 'postgres';
    case 'mongodb':
    case 'mongodb+srv':
      return 'localmongodb';
    case 'rethinkdb':
      return 'rethinkdb';
    default:
      return undefined;
  }
}

function pick(options: ConnectionOptions, keys: readonly string[]): ConnectionOptions {
  const out: ConnectionOptions = {};
  for (const key of keys) if (options[key] !== undefined) out[key] = options[key];
  return out;
}

/**
 * A URL from the environment with the parts explicit options override written into it
 * (user and password; host and port, which replace a whole host list), so that the URL a
 * backend hands its driver says what the resolved config says. The path and the parameters
 * stay as the URL has them.
 */
function withExplicitParts(url: string, explicit: ConnectionOptions, merged: ConnectionOptions): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)(?:(.*)@)?([^@/?#]*)(.*)$/is.exec(url);
  if (!match) return url;
  const [, scheme, userInfo, hosts, rest] = match;
  const credentials =
    explicit.login !== undefined || explicit.password !== undefined
      ? merged.login === undefined && merged.password === undefined
        ? undefined
        : `${encodeURIComponent(String(merged.login ?? ''))}${merged.password !== undefined ? `:${encodeURIComponent(String(merged.password))}` : ''}`
      : userInfo;
  const host = String(merged.host ?? '');
  const where =
    explicit.host !== undefined || explicit.port !== undefined
      ? `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}${merged.port !== undefined ? `:${String(merged.port)}` : ''}`
      : hosts;
  return `${scheme}${credentials !== undefined ? `${credentials}@` : ''}${where}${rest}`;
}

/**
 * Resolves options, environment and backend defaults into one frozen config.
 * An explicit `url` option wins over everything; a URL from the environment wins
 * over the environment's parts but not over explicit options (an explicit host, port,
 * login or password is also written into the URL the config carries).
 *
 * @example
 * resolveConfig('postgres', { url: 'postgres://u:pw@h:6543/ledger' }, {}, { port: 5432 }).port;   // 6543
 */
export function resolveConfig(
  backend: string,
  options: ConnectionOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  defaults: BackendDefaults = {},
): ResolvedConfig {
  const fromEnv = optionsFromEnvironment(env);
  const fromOptions = pick(options, Object.keys(options).filter((k) => options[k] !== undefined));
  const url = (fromOptions.url ?? fromEnv.url) as string | undefined;
  if (url !== undefined && typeof url !== 'string') throw new ConfigurationError('option url must be a string');
  const urlIsExplicit = fromOptions.url !== undefined;

  let fromUrl: ConnectionOptions = {};
  if (url) {
    const implied = backendOfUrl(url);
    if (implied && implied !== backend) {
      throw new ConfigurationError(`URL scheme of ${JSON.stringify(redactUrl(url))} is for backend '${implied}', not '${backend}'`);
    }
    fromUrl = backend === 'sqlite' ? optionsFromSqliteUrl(url) : optionsFromServerUrl(url);
  }

  const merged: ConnectionOptions = urlIsExplicit
    ? { ...defaults, ...fromEnv, ...fromOptions, ...fromUrl }
    : { ...defaults, ...fromEnv, ...fromUrl, ...fromOptions };
  merged.backend = backend;

  const maxTries = parseInteger('maxTries', (merged.maxTries as number | undefined) ?? DEFAULT_MAX_TRIES, 0, Number.MAX_SAFE_INTEGER);
  const connectionTimeout = parseInteger(
    'connectionTimeout',
    (merged.connectionTimeout as number | undefined) ?? DEFAULT_CONNECTION_TIMEOUT,
    1,
    2 ** 31 - 1,
  );
  if (merged.port !== undefined) merged.port = parseInteger('port', merged.port as number, 1, 65535);
  for (const key of ['host', 'name', 'login', 'password'] as const) {
    if (merged[key] !== undefined && typeof merged[key] !== 'string') {
      throw new ConfigurationError(`option ${key} must be a string`);
    }
  }
  // A backend that declares no default database name gets the project's.
  if (merged.name === undefined) merged.name = DEFAULT_NAME;
  if (typeof merged.name !== 'string' || merged.name === '') {
    throw new ConfigurationError(`backend '${backend}': option name must be a non-empty string`);
  }
  const ssl = merged.ssl;
  if (ssl !== undefined && typeof ssl !== 'boolean' && (ssl === null || typeof ssl !== 'object')) {
    throw new ConfigurationError('option ssl must be true, false or an object { ca, cert, key, rejectUnauthorized }');
  }

  const { password, url: _givenUrl, ...visible } = merged;
  const resolvedUrl = url && !urlIsExplicit && backend !== 'sqlite' ? withExplicitParts(url, fromOptions, merged) : url;
  const config: Record<string, unknown> = { ...visible, maxTries, connectionTimeout };
  if (resolvedUrl) config.displayUrl = redactUrl(resolvedUrl);
  Object.defineProperty(config, 'password', { value: password, enumerable: false });
  Object.defineProperty(config, 'url', { value: resolvedUrl, enumerable: false });
  Object.defineProperty(config, inspect.custom, {
    value: () => ({ ...config, ...(password !== undefined ? { password: '***' } : {}) }),
    enumerable: false,
  });
  return Object.freeze(config) as ResolvedConfig;
}

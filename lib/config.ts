/**
 * Resolves what `connect()` is given into one frozen configuration
 * (docs/design.md section 7): explicit options > `CHAINSTORE_*` environment > backend defaults.
 *
 * The password is kept out of every printable view: it is a non-enumerable property,
 * the URL is stored redacted for display, and `util.inspect` / `JSON.stringify` of a
 * config never show either.
 */
import { inspect } from 'node:util';
import { ConfigurationError, quoted } from './errors';
import { DEFAULT_SLOW_THRESHOLD, type Logger } from './log';
import { safeDecode } from './url';

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
  /**
   * Where retries, slow operations, changefeed outages and recoveries are reported: a pino
   * logger, `console`, or any {@link Logger}. Default: none (`DEBUG=chainstore:*` still shows them).
   */
  logger?: Logger;
  /** Milliseconds past which an operation is logged as slow; 0 logs none. Default 1000. */
  slowThreshold?: number;
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
  /** Non-enumerable: a logger is an object of its own, not configuration to print. */
  readonly logger?: Logger;
  readonly slowThreshold: number;
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
  [`${ENV_PREFIX}SLOW_THRESHOLD`]: 'slowThreshold',
});

function parseInteger(option: string, raw: string | number, min: number, max: number): number {
  const value = typeof raw === 'number' ? raw : /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`option ${option} must be an integer from ${min} to ${max}, got ${quoted(raw)}`);
  }
  return value;
}

function parseBoolean(option: string, raw: string): boolean {
  const text = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on', 'require'].includes(text)) return true;
  if (['0', 'false', 'no', 'off', 'disable', ''].includes(text)) return false;
  throw new ConfigurationError(`option ${option} must be true or false, got ${quoted(raw)}`);
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
    else if (option === 'slowThreshold') options.slowThreshold = parseInteger(variable, raw, 0, 2 ** 31 - 1);
    else if (option === 'ssl') options.ssl = parseBoolean(variable, raw);
    else options[option] = raw;
  }
  return options;
}

/**
 * Masks the password of a URL (`postgres://app:***@host/db`). The user part runs to the
 * last `@`, so a password with an unencoded `@`, `/` or `#` is masked whole; where the URL is
 * ambiguous, more is masked rather than less: in a URL that is not `scheme://user:password@...`
 * (`postgres:/app:pw@h`, `postgres:app:pw@h`, a space before the scheme) everything before the
 * last `@` but the scheme is masked, and in one without an `@` whatever follows a `:` that
 * starts no port (`postgres://app:pw`). Whitespace around the URL is kept, so a message
 * quoting the result shows it.
 *
 * @example
 * redactUrl('mongodb://u:pw@h/db');        // 'mongodb://u:***@h/db'
 * redactUrl('postgres://u:a#b/c@h/db');    // 'postgres://u:***@h/db'
 * redactUrl('postgres:/u:pw@h/db');        // 'postgres:/***@h/db'
 */
export function redactUrl(url: string): string {
  const [, lead, text, trail] = /^(\s*)(.*?)(\s*)$/s.exec(url) ?? ['', '', url, ''];
  // Some drivers also take the password as a query parameter.
  const masked = maskUserPart(text).replace(/([?&](?:password|pass|pwd)=)[^&#]*/gi, '$1***');
  return `${lead}${masked}${trail}`;
}

/** Scheme and slashes, as far as a text has them (`postgres://`, `postgres:/`, `sqlite:`). */
const SCHEME_PREFIX = /^[a-z][a-z0-9+.-]+:\/{0,2}/i;

function maskUserPart(text: string): string {
  const wellFormed = /^([a-z][a-z0-9+.-]*:\/\/)([^:@/?#\s]*):(.*)@([^@]*)$/is.exec(text);
  if (wellFormed) return `${wellFormed[1]}${wellFormed[2]}:***@${wellFormed[4]}`;
  // A user without a password, or no user at all: nothing to mask.
  if (/^[a-z][a-z0-9+.-]*:\/\/[^:@/?#\s]*@[^@]*$/is.test(text)) return text;
  const prefix = SCHEME_PREFIX.exec(text)?.[0] ?? '';
  const at = text.lastIndexOf('@');
  if (at !== -1) return `${prefix}***@${text.slice(at + 1)}`;
  if (!prefix) return text; // a file path
  const body = text.slice(prefix.length);
  if (!prefix.endsWith('//')) return isPathScheme(prefix) ? text : `${prefix}***`;
  // Ports are digits: a ':' followed by anything else may start a password.
  const authority = /^[^/?#]*/.exec(body)?.[0] ?? '';
  const hosts = /^(?:\[[^\]]*\]|[^:,[\]]*)(?::\d*)?(?:,(?:\[[^\]]*\]|[^:,[\]]*)(?::\d*)?)*$/;
  if (hosts.test(authority)) return text;
  const colon = authority.indexOf(':');
  return colon === -1 ? `${prefix}***` : `${prefix}${authority.slice(0, colon)}:***`;
}

/**
 * What a server URL says, by option. Taken apart by hand rather than by the WHATWG parser:
 * the user part runs to the LAST `@` (a password may hold an unencoded `@`, `/`, `#`), a
 * MongoDB host list (`h1:27017,h2:27017`) is allowed (the first host stands for `host` and
 * `port`; the driver gets the URL), and a bad escape is kept as written rather than thrown.
 */
function optionsFromServerUrl(url: string): ConnectionOptions {
  const match = /^[a-z][a-z0-9+.-]*:\/\/(?:(.*)@)?([^@/?#]*)(\/[^?#]*)?([?#].*)?$/is.exec(url);
  const malformed = () =>
    new ConfigurationError(`malformed database URL ${JSON.stringify(redactUrl(url))}; expected ${schemeOf(url) ?? 'scheme'}://[user@]host[:port][/name], a password after the user and a ':'`);
  if (!match || !match[2]) throw malformed();
  const [, userInfo, hosts, path] = match;
  const options: ConnectionOptions = {};
  const [first] = hosts.split(',');
  const bracketed = /^\[([^\]]*)\](?::(\d+))?$/.exec(first);
  const plain = /^([^:]*)(?::(\d+))?$/.exec(first);
  const [, host, port] = bracketed ?? plain ?? [];
  if (host === undefined) throw malformed();
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

/**
 * What a `sqlite:` URL says: `sqlite:relative/path.db`, `sqlite:///abs/path.db`,
 * `sqlite::memory:`.
 */
function optionsFromSqliteUrl(url: string): ConnectionOptions {
  const rest = url.replace(/^sqlite3?:/i, '');
  if (rest === ':memory:' || rest === '//:memory:') return { name: ':memory:' };
  if (rest.startsWith('///')) return { name: safeDecode(rest.slice(2)) };
  if (rest.startsWith('//')) {
    throw new ConfigurationError(`sqlite URL ${JSON.stringify(redactUrl(url))} names a host; use sqlite:relative/path.db or sqlite:///abs/path.db`);
  }
  if (!rest) throw new ConfigurationError(`sqlite URL ${JSON.stringify(redactUrl(url))} names no file`);
  return { name: safeDecode(rest) };
}

// ---------------------------------------------------------------------------
// URL schemes, as the registered backends declare them
// ---------------------------------------------------------------------------

/** A URL scheme as a backend declares it: its name and form, `postgres://` or `sqlite:`. */
const SCHEME_FORM = /^([a-z][a-z0-9+.-]+):(\/\/)?$/;

/** Scheme name -> the backend that owns it and the form it is written in. */
const schemeOwners = new Map<string, { backend: string; form: string }>();

/**
 * Declares the URL schemes of `backend` (replacing what it declared before; `[]` removes
 * them). Each is written as the URL begins: `'postgres://'` for a URL with a host,
 * `'sqlite:'` for one that names a file. Called by `registerBackend`.
 *
 * @example
 * setBackendSchemes('postgres', ['postgres://', 'postgresql://']);
 */
export function setBackendSchemes(backend: string, schemes: readonly string[]): void {
  if (!Array.isArray(schemes)) throw new ConfigurationError(`backend '${backend}': URL schemes must be a list such as ['mydb://']`);
  const declared = new Map<string, string>();
  for (const form of schemes) {
    const name = typeof form === 'string' ? SCHEME_FORM.exec(form)?.[1] : undefined;
    if (name === undefined) {
      throw new ConfigurationError(`backend '${backend}': URL scheme ${JSON.stringify(form)} must be written as a URL begins, in lower case, e.g. 'mydb://' or 'mydb:'`);
    }
    const owner = schemeOwners.get(name)?.backend;
    if (owner !== undefined && owner !== backend) throw new ConfigurationError(`backend '${backend}': URL scheme '${form}' belongs to backend '${owner}'`);
    declared.set(name, form);
  }
  for (const [name, owner] of schemeOwners) if (owner.backend === backend) schemeOwners.delete(name);
  for (const [name, form] of declared) schemeOwners.set(name, { backend, form });
}

/**
 * The URL schemes of the registered backends, by backend, for messages.
 *
 * @example
 * knownSchemes();   // 'mongodb://, mongodb+srv:// (localmongodb); postgres://, postgresql:// (postgres); ...'
 */
export function knownSchemes(): string {
  const byBackend = new Map<string, string[]>();
  for (const { backend, form } of schemeOwners.values()) byBackend.set(backend, [...(byBackend.get(backend) ?? []), form]);
  const listed = [...byBackend].sort(([a], [b]) => a.localeCompare(b)).map(([backend, forms]) => `${forms.join(', ')} (${backend})`);
  return listed.length ? listed.join('; ') : '(none registered)';
}

/**
 * The scheme a URL begins with, lower-cased, if any. At least two characters: `C:\\data` is
 * a Windows path, not a URL.
 */
function schemeOf(url: string): string | undefined {
  return /^([a-z][a-z0-9+.-]+):/i.exec(url)?.[1]?.toLowerCase();
}

/** True for a scheme whose URLs name a file (`sqlite:`), not a host. */
function isPathScheme(prefix: string): boolean {
  const owner = schemeOwners.get(schemeOf(prefix) ?? '');
  return owner !== undefined && !owner.form.endsWith('//');
}

/**
 * The backend a URL's scheme implies, if any.
 *
 * @example
 * backendOfUrl('mongodb+srv://cluster0.example.net/ledger');   // 'localmongodb'
 * backendOfUrl('mysql://h/db');                                // undefined
 */
export function backendOfUrl(url: string): string | undefined {
  const scheme = typeof url === 'string' ? schemeOf(url) : undefined;
  return scheme === undefined ? undefined : schemeOwners.get(scheme)?.backend;
}

/** Leading or trailing whitespace: a space, a tab, a newline. */
const PADDED = /^\s|\s$/;

/**
 * Refuses a URL `backend` cannot take: one with whitespace around it (never trimmed: a
 * pasted newline would become part of the database name), one whose scheme no backend owns
 * or another backend owns, and, for a backend with URL schemes of its own, one without a
 * scheme. A text without a scheme is a file path for sqlite.
 */
function checkUrl(url: string, backend: string): void {
  const shown = JSON.stringify(redactUrl(url));
  if (PADDED.test(url)) {
    throw new ConfigurationError(`database URL ${shown} begins or ends with whitespace (a space, tab or newline); URLs are taken as written, not trimmed: remove it`);
  }
  const scheme = schemeOf(url);
  if (scheme === undefined) {
    const own = [...schemeOwners.values()].filter((owner) => owner.backend === backend).map((owner) => owner.form);
    if (backend !== 'sqlite' && own.length) {
      throw new ConfigurationError(`database URL ${shown} has no scheme; backend '${backend}' takes ${own.join(' or ')} URLs`);
    }
    return;
  }
  const owner = schemeOwners.get(scheme)?.backend;
  if (owner === undefined) {
    throw new ConfigurationError(`database URL ${shown}: no backend owns the scheme '${scheme}:'; known schemes: ${knownSchemes()}`);
  }
  if (owner !== backend) throw new ConfigurationError(`URL scheme of ${shown} is for backend '${owner}', not '${backend}'`);
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

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** The `logger` option, checked now rather than at the first retry, when it would be too late to say. */
function checkLogger(logger: unknown): Logger | undefined {
  if (logger === undefined) return undefined;
  const missing = logger !== null && typeof logger === 'object' ? LOG_LEVELS.filter((level) => typeof (logger as Record<string, unknown>)[level] !== 'function') : LOG_LEVELS;
  if (missing.length) {
    throw new ConfigurationError(`option logger must be an object with the methods ${LOG_LEVELS.join(', ')} (a pino logger, console), but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`);
  }
  return logger as Logger;
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
    checkUrl(url, backend);
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
  const slowThreshold = parseInteger('slowThreshold', (merged.slowThreshold as number | undefined) ?? DEFAULT_SLOW_THRESHOLD, 0, 2 ** 31 - 1);
  const logger = checkLogger(merged.logger);
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
  for (const key of ['host', 'name'] as const) {
    const value = merged[key] as string | undefined;
    if (value !== undefined && PADDED.test(value)) {
      throw new ConfigurationError(
        `backend '${backend}': option ${key} ${JSON.stringify(redactUrl(value))} begins or ends with whitespace (a space, tab or newline); it is taken as written, not trimmed: remove it`,
      );
    }
  }
  // A URL where a file name belongs (CHAINSTORE_DATABASE_NAME set to a server's URL) would
  // become a tree of directories named after its parts, password included.
  if (backend === 'sqlite' && /^[a-z][a-z0-9+.-]+:\/\//i.test(merged.name)) {
    throw new ConfigurationError(
      `backend 'sqlite': option name ${JSON.stringify(redactUrl(merged.name))} is a URL, not a file path; give a URL as url (CHAINSTORE_DATABASE_URL, --url)`,
    );
  }
  const ssl = merged.ssl;
  if (ssl !== undefined && typeof ssl !== 'boolean' && (ssl === null || typeof ssl !== 'object')) {
    throw new ConfigurationError('option ssl must be true, false or an object { ca, cert, key, rejectUnauthorized }');
  }

  const { password, url: _givenUrl, logger: _logger, ...visible } = merged;
  const resolvedUrl = url && !urlIsExplicit && backend !== 'sqlite' ? withExplicitParts(url, fromOptions, merged) : url;
  const config: Record<string, unknown> = { ...visible, maxTries, connectionTimeout, slowThreshold };
  if (resolvedUrl) config.displayUrl = redactUrl(resolvedUrl);
  Object.defineProperty(config, 'password', { value: password, enumerable: false });
  Object.defineProperty(config, 'logger', { value: logger, enumerable: false });
  Object.defineProperty(config, 'url', { value: resolvedUrl, enumerable: false });
  Object.defineProperty(config, inspect.custom, {
    value: () => ({ ...config, ...(password !== undefined ? { password: '***' } : {}) }),
    enumerable: false,
  });
  return Object.freeze(config) as ResolvedConfig;
}

/**
 * The Connection base class, the backend registry and `connect()` (docs/design.md section 7).
 *
 * The registry maps a backend name to a factory. Built-in backends are registered here
 * through a static map of loaders, so a bundler sees every `import()` and a backend's
 * folder (and its driver) is loaded only when that backend is first used.
 */
import { inspect } from 'node:util';
import { type BackendDefaults, type ConnectionOptions, type ResolvedConfig, backendOfUrl, resolveConfig, setBackendSchemes } from './config';
import { ConfigurationError, quoted } from './errors';
import { ConnectionLog } from './log';

/**
 * Base class of every backend's connection. Generics dispatch on its subclasses.
 * `connect()` makes one without touching the network: the first operation opens it.
 *
 * @example
 * class MemoryConnection extends Connection {}
 * query.getBlock.register(MemoryConnection, async (conn, height) => null);
 */
export class Connection {
  /** The registered name of the backend (`'sqlite'`, `'postgres'`, ...). */
  readonly backend: string;
  /** The resolved, frozen configuration (the password is not enumerable). */
  readonly config: ResolvedConfig;
  #closed = false;
  #owned = new Set<{ close(): Promise<void> }>();
  #log: ConnectionLog | undefined;

  constructor(config: Partial<ResolvedConfig> & { backend?: string } = {}) {
    const backend = config.backend ?? new.target.name;
    this.config = Object.isFrozen(config) && config.backend ? (config as ResolvedConfig) : resolveConfig(backend, { name: 'default', ...config }, {});
    this.backend = backend;
  }

  /** True once `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Where this connection reports retries, slow operations, changefeed outages and
   * recoveries: the `logger` option and `DEBUG=chainstore:*`, masked (see lib/log.ts).
   * Backends write to it; applications listen through the `logger` option.
   *
   * @example
   * conn.log.retry('get block', 1, conn.config.maxTries, 200, error);
   */
  get log(): ConnectionLog {
    // Made on first use: a subclass's location is only known once its constructor has run.
    this.#log ??= new ConnectionLog({
      backend: this.backend,
      location: this.location,
      logger: this.config.logger,
      slowThreshold: this.config.slowThreshold,
      password: this.config.password,
    });
    return this.#log;
  }

  /** Where the data lives, for messages and `status` (never with a password). */
  get location(): string {
    const { displayUrl, host, port, name } = this.config;
    if (displayUrl) return displayUrl;
    return host ? `${host}${port ? `:${port}` : ''}/${name}` : name;
  }

  /**
   * Releases everything the connection holds. Idempotent. Subclasses extend
   * {@link Connection.release} rather than this method.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // What was opened through this connection (changefeeds) ends with it.
    await Promise.all([...this.#owned].map((resource) => resource.close().catch(() => undefined)));
    this.#owned.clear();
    await this.release();
  }

  /**
   * Ties a resource opened through this connection (a changefeed) to it: `close()` closes
   * it too. Returns the function that unties it, for when the resource closes first.
   *
   * @example
   * const untie = conn.own(feed);   // in ChangeFeed.ownedBy
   */
  own(resource: { close(): Promise<void> }): () => void {
    this.#owned.add(resource);
    return () => void this.#owned.delete(resource);
  }

  /**
   * Runs `work` (recover()) once no other process can still change the database, and keeps
   * them out until it is done, as far as the engine allows. Here: at once, for engines
   * whose writers die with their process (SQLite: a killed process leaves no write behind,
   * and the file lock serialises the living). PostgreSQL takes its writer lease exclusively
   * (backends/postgres/connection.ts). `work` must be idempotent: a backend may run it again
   * after a lost connection.
   *
   * @example
   * await conn.exclusively(() => repair(conn));
   */
  exclusively<T>(work: () => Promise<T>): Promise<T> {
    return work();
  }

  /** Frees the engine resources (pool, file handle, feeds). Called once by `close()`. */
  protected async release(): Promise<void> {}

  /** Shown by `console.log(conn)`: backend and location, never a password. */
  [inspect.custom](): string {
    return `${this.constructor.name} { backend: '${this.backend}', location: '${this.location}'${this.#closed ? ', closed' : ''} }`;
  }

  toJSON(): Record<string, unknown> {
    return { backend: this.backend, location: this.location, closed: this.#closed };
  }
}

// ---------------------------------------------------------------------------
// Backend registry
// ---------------------------------------------------------------------------

/**
 * Makes a connection from a resolved config (may be async, e.g. to import a driver).
 *
 * @example
 * const factory: BackendFactory = (config) => new MemoryConnection(config);
 * registerBackend('memory', factory);
 */
export type BackendFactory = (config: ResolvedConfig) => Connection | Promise<Connection>;

interface BackendEntry {
  factory: BackendFactory;
  defaults: BackendDefaults;
}

const BUILTIN_DEFAULT = 'sqlite';
const backends = new Map<string, BackendEntry>();
let defaultBackend: string | null = BUILTIN_DEFAULT;

/**
 * Registers (or replaces) a backend under `name`; `null` removes it, and resets the
 * default backend if it was the default. `schemes` are the URL schemes it owns, written as
 * its URLs begin (`'mydb://'` for a URL with a host, `'mydb:'` for one that names a file):
 * `connect({ url })` picks the backend by them, and a URL whose scheme no backend owns is
 * refused. Replacing a backend replaces its defaults and schemes too.
 *
 * @example
 * registerBackend('memory', (config) => new MemoryConnection(config), {}, ['memory://']);
 * const conn = await connect({ backend: 'memory' });
 */
export function registerBackend(name: string, factory: BackendFactory | null, defaults: BackendDefaults = {}, schemes: readonly string[] = []): void {
  if (typeof name !== 'string' || !/^[a-z][a-z0-9_-]*$/i.test(name)) {
    throw new ConfigurationError(`backend name must be a word of letters, digits, '_' or '-', got ${quoted(name)}`);
  }
  if (factory === null) {
    backends.delete(name);
    setBackendSchemes(name, []);
    if (defaultBackend === name) defaultBackend = backends.has(BUILTIN_DEFAULT) ? BUILTIN_DEFAULT : null;
    return;
  }
  if (typeof factory !== 'function') throw new ConfigurationError(`backend '${name}': the factory must be a function`);
  setBackendSchemes(name, schemes);
  backends.set(name, { factory, defaults: { ...defaults } });
}

/**
 * Sets the backend `connect()` uses when neither options nor environment name one;
 * `null` restores the built-in default (`'sqlite'`).
 *
 * @example
 * setDefaultBackend('postgres');
 */
export function setDefaultBackend(name: string | null): void {
  if (name === null) {
    defaultBackend = backends.has(BUILTIN_DEFAULT) ? BUILTIN_DEFAULT : null;
    return;
  }
  if (!backends.has(name)) throw unknownBackend(name);
  defaultBackend = name;
}

/**
 * The registered backend names, sorted.
 *
 * @example
 * listBackends();   // ['localmongodb', 'postgres', 'rethinkdb', 'sqlite']
 */
export function listBackends(): string[] {
  return [...backends.keys()].sort();
}

/**
 * The backend `connect()` would use without options and environment, or null.
 *
 * @example
 * getDefaultBackend();   // 'sqlite' until setDefaultBackend() says otherwise
 */
export function getDefaultBackend(): string | null {
  return defaultBackend;
}

function unknownBackend(name: string): ConfigurationError {
  const known = listBackends();
  return new ConfigurationError(
    `unknown backend ${quoted(name)}; known backends: ${known.length ? known.join(', ') : '(none registered)'}`,
  );
}

/**
 * Resolves the configuration, finds the backend and returns its Connection. Touches no
 * network: the connection (or pool) opens on the first operation.
 *
 * @example
 * const conn = await connect();                                   // ./.chainstore/chainstore.db
 * const mem = await connect({ name: ':memory:' });
 * const pg = await connect({ backend: 'postgres', url: process.env.DATABASE_URL });
 * await conn.close();
 */
export async function connect(options: ConnectionOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  if (options === null || typeof options !== 'object') throw new ConfigurationError('connect() takes an options object');
  const url = (options.url ?? env.CHAINSTORE_DATABASE_URL) as string | undefined;
  const name =
    (options.backend as string | undefined) ??
    (options.url ? backendOfUrl(options.url) : undefined) ??
    (env.CHAINSTORE_DATABASE_BACKEND || undefined) ??
    (url ? backendOfUrl(url) : undefined) ??
    defaultBackend;
  if (name === null) throw new ConfigurationError('no backend given and no default backend registered');
  const entry = backends.get(name);
  if (!entry) throw unknownBackend(name);
  const config = resolveConfig(name, options, env, entry.defaults);
  const conn = await entry.factory(config);
  if (!(conn instanceof Connection)) {
    throw new ConfigurationError(`backend '${name}': the factory did not return a Connection`);
  }
  return conn;
}

/**
 * Wraps a backend loader so that a missing driver package becomes a
 * {@link ConfigurationError} naming the package to install.
 *
 * @example
 * registerBackend('postgres', lazyBackend('postgres', 'pg', () => import('../backends/postgres')));
 */
export function lazyBackend(
  name: string,
  driverPackage: string,
  load: () => Promise<{ create(config: ResolvedConfig): Connection }>,
): BackendFactory {
  return async (config) => {
    let backend: { create(config: ResolvedConfig): Connection };
    try {
      backend = await load();
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${driverPackage}'`);
      if (missing) {
        throw new ConfigurationError(`backend '${name}' needs the package '${driverPackage}': run npm install ${driverPackage}`, { cause: error });
      }
      throw error;
    }
    return backend.create(config);
  };
}

// The built-in backends, each loaded on first use. The map is static so bundlers see every import.
registerBackend(
  'sqlite',
  lazyBackend('sqlite', 'better-sqlite3', () => import('../backends/sqlite')),
  { name: './.chainstore/chainstore.db' },
  ['sqlite:', 'sqlite3:'],
);
registerBackend(
  'postgres',
  lazyBackend('postgres', 'pg', () => import('../backends/postgres')),
  { host: 'localhost', port: 5432, name: 'chainstore', login: 'postgres' },
  ['postgres://', 'postgresql://'],
);
registerBackend(
  'localmongodb',
  lazyBackend('localmongodb', 'mongodb', () => import('../backends/localmongodb')),
  { host: 'localhost', port: 27017, name: 'chainstore' },
  ['mongodb://', 'mongodb+srv://'],
);
registerBackend(
  'rethinkdb',
  lazyBackend('rethinkdb', 'rethinkdb-ts', () => import('../backends/rethinkdb')),
  { host: 'localhost', port: 28015, name: 'chainstore' },
  ['rethinkdb://'],
);

/**
 * The error hierarchy of chainstore (docs/design.md section 8).
 *
 * ```
 * ChainstoreError
 * ├── BackendError                 (.backend names the engine)
 * │   ├── ConnectionError
 * │   └── OperationError
 * │       ├── DuplicateKeyError    (.keys)
 * │       ├── UnsupportedOperationError
 * │       └── LeaseError           (.holders)
 * ├── ConfigurationError
 * ├── ValidationError              (.path)
 * ├── RegistrationError
 * ├── NotImplementedError
 * └── RecoveryError
 * ```
 *
 * Every class has a stable `code`, so callers can branch without `instanceof`
 * across package copies. Driver errors never escape raw: backends wrap them and
 * keep the original as `cause`.
 */

/**
 * Options accepted by every chainstore error.
 *
 * @example
 * throw new OperationError('sqlite', 'store block failed', { cause: driverError });
 */
export interface ChainstoreErrorOptions {
  /** The error this one wraps (usually a driver error). */
  cause?: unknown;
}

/**
 * Base class of every error chainstore throws.
 *
 * @example
 * try { await query.storeBlock(conn, block) } catch (e) {
 *   if (e instanceof ChainstoreError) console.error(e.code, e.message)
 * }
 */
export class ChainstoreError extends Error {
  /** Stable, machine-readable code, e.g. `'CHAINSTORE_DUPLICATE_KEY'`. */
  readonly code: string = 'CHAINSTORE_ERROR';

  constructor(message: string, options: ChainstoreErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
  }
}

/**
 * An engine-side failure. Made by a backend as `new XError(backend, message, { cause })`, its
 * message starts with `[backend]`; `new XError(message)` (no backend) is accepted too, for
 * code outside any backend.
 *
 * @example
 * throw new OperationError('sqlite', 'store block failed', { cause: driverError });   // '[sqlite] store block failed'
 * if (e instanceof BackendError) console.error(`${e.backend} failed: ${e.message}`)
 */
export class BackendError extends ChainstoreError {
  override readonly code: string = 'CHAINSTORE_BACKEND';
  /** Registered name of the backend that failed (`'sqlite'`, `'postgres'`, ...), or `''`. */
  readonly backend: string;

  constructor(backend: string, message?: string | ChainstoreErrorOptions, options: ChainstoreErrorOptions = {}) {
    const named = typeof message === 'string';
    super(named ? `[${backend}] ${message}` : backend, named ? options : (message ?? {}));
    this.backend = named ? backend : '';
  }
}

/**
 * The engine could not be reached, or the connection was lost and the retries ran out.
 *
 * @example
 * await connect({ backend: 'postgres', port: 1, maxTries: 1 })
 *   .then((c) => query.getLatestBlock(c))   // rejects with ConnectionError
 */
export class ConnectionError extends BackendError {
  override readonly code: string = 'CHAINSTORE_CONNECTION';
}

/**
 * An operation reached the engine and failed there.
 *
 * @example
 * if (e instanceof OperationError) console.error(e.message, e.cause)
 */
export class OperationError extends BackendError {
  override readonly code: string = 'CHAINSTORE_OPERATION';
}

/**
 * A write hit an existing unique key. `keys` lists the offending keys
 * (transaction ids, block heights, ...).
 *
 * @example
 * try { await query.writeTransactions(conn, txs) }
 * catch (e) { if (e instanceof DuplicateKeyError) console.log('already stored:', e.keys) }
 */
export class DuplicateKeyError extends OperationError {
  override readonly code: string = 'CHAINSTORE_DUPLICATE_KEY';
  /** The duplicate keys, as the caller named them. */
  readonly keys: readonly (string | number)[];

  /**
   * `(backend, message, keys, options?)` as backends make it, or `(message, keys?, options?)`.
   * The message names at most ten keys; `keys` has them all.
   */
  constructor(
    backend: string,
    message?: string | readonly (string | number)[],
    keys?: readonly (string | number)[] | ChainstoreErrorOptions,
    options: ChainstoreErrorOptions = {},
  ) {
    if (typeof message === 'string') {
      super(backend, message, options);
      this.keys = Object.freeze([...((keys as readonly (string | number)[] | undefined) ?? [])]);
    } else {
      super(backend, (keys as ChainstoreErrorOptions | undefined) ?? {});
      this.keys = Object.freeze([...(message ?? [])]);
    }
  }
}

/**
 * The operation means nothing for this engine (sharding on SQLite, say).
 * `capabilities(conn)` tells in advance.
 *
 * @example
 * await admin.setShards(sqliteConn, 3)   // rejects with UnsupportedOperationError
 */
export class UnsupportedOperationError extends OperationError {
  override readonly code: string = 'CHAINSTORE_UNSUPPORTED';
}

/** A server session that held the writer lease when a {@link LeaseError} was made. */
export interface LeaseHolder {
  /** The server process of the session (what `pg_terminate_backend` takes). */
  pid: number;
  /** `application_name`, client address and port, start and state of the session, as the server shows them. */
  application: string | null;
  client: string | null;
  since: string | null;
  state: string | null;
  /** `ExclusiveLock` (a recovery) or `ShareLock` (a process using the database). */
  mode: string;
}

/**
 * The writer lease could not be had within `leaseTimeout` (PostgreSQL): `recover()` found
 * sessions of another process still using the database, or a write found another process
 * recovering it. `holders` lists the sessions that held it; the message names them too.
 *
 * @example
 * try { await recover(conn) } catch (e) {
 *   if (e instanceof LeaseError) console.error('still in use by', e.holders.map((h) => h.client))
 * }
 */
export class LeaseError extends OperationError {
  override readonly code: string = 'CHAINSTORE_LEASE';
  readonly holders: readonly LeaseHolder[];

  constructor(backend: string, message: string, holders: readonly LeaseHolder[] = [], options: ChainstoreErrorOptions = {}) {
    super(backend, message, options);
    this.holders = Object.freeze([...holders]);
  }
}

/**
 * Bad configuration: unknown backend, malformed URL, bad option, missing driver package.
 *
 * @example
 * await connect({ backend: 'oracle' })   // ConfigurationError listing the known backends
 */
export class ConfigurationError extends ChainstoreError {
  override readonly code: string = 'CHAINSTORE_CONFIGURATION';
}

/**
 * A record (or argument) does not have the shape of docs/design.md section 3.
 * `path` points at the first bad field, e.g. `[2].outputs[0].amount`.
 *
 * @example
 * try { await query.storeBlock(conn, { height: -1, app_hash: '', transactions: [] }) }
 * catch (e) { if (e instanceof ValidationError) console.log(e.path) }   // 'height'
 */
export class ValidationError extends ChainstoreError {
  override readonly code: string = 'CHAINSTORE_VALIDATION';
  /** Path of the first bad field; `''` means the value itself. */
  readonly path: string;

  constructor(message: string, path: string, options: ChainstoreErrorOptions = {}) {
    super(message, options);
    this.path = path;
  }
}

/**
 * A handler was registered wrongly (unknown generic name, not a function, not a class).
 *
 * @example
 * registerHandlers(MyConn, query, { writeTransactionz: fn })   // throws RegistrationError
 */
export class RegistrationError extends ChainstoreError {
  override readonly code: string = 'CHAINSTORE_REGISTRATION';
}

/**
 * No handler is registered for the connection's class (or any parent class).
 *
 * @example
 * await query.getBlock(new BareConnection(), 1)   // rejects with NotImplementedError
 */
export class NotImplementedError extends ChainstoreError {
  override readonly code: string = 'CHAINSTORE_NOT_IMPLEMENTED';
}

/**
 * `recover()` found a state it must not repair by itself.
 *
 * @example
 * try { await recover(conn) } catch (e) { if (e instanceof RecoveryError) page(oncall) }
 */
export class RecoveryError extends ChainstoreError {
  override readonly code: string = 'CHAINSTORE_RECOVERY';
}

/**
 * A list of keys for a message: at most `max` of them, then how many more (a batch of
 * 100,000 duplicates must not make a message of megabytes; the error's `keys` has them all).
 *
 * @example
 * `duplicate keys ${describeKeys(ids)}`   // 'a, b, c and 99997 more'
 */
export function describeKeys(keys: readonly (string | number)[], max = 10): string {
  const shown = keys.slice(0, max).join(', ');
  return keys.length > max ? `${shown} and ${keys.length - max} more` : shown;
}

/**
 * The DuplicateKeyError for an ABCI chain id already stored at another height: chain ids are
 * unique, as in BigchainDB (a unique index on `chain_id`). Every backend reports it alike.
 *
 * @example
 * throw chainIdTaken('sqlite', 'chain-X', error);
 */
export function chainIdTaken(backend: string, chainId: string, cause?: unknown): DuplicateKeyError {
  return new DuplicateKeyError(backend, `store abci chain: chain id ${quoted(chainId)} is stored at another height`, [chainId], { cause });
}

/**
 * The DuplicateKeyError for a block height already stored, worded alike by every backend
 * and by both ways a block is stored (`storeBlock`, `commitBlock`).
 *
 * @example
 * throw heightExists('postgres', 'commit block', 7, error);   // '[postgres] commit block: height 7 exists'
 */
export function heightExists(backend: string, what: string, height: number, cause?: unknown): DuplicateKeyError {
  return new DuplicateKeyError(backend, `${what}: height ${height} exists`, [height], { cause });
}

/**
 * The DuplicateKeyError listing the keys a write found stored or repeated, worded alike by
 * every backend (the message names at most ten; `.keys` has them all).
 *
 * @example
 * throw duplicateKeys('sqlite', 'write transactions', [id]);   // '[sqlite] write transactions: duplicate key <id>'
 */
export function duplicateKeys(backend: string, what: string, keys: readonly (string | number)[], cause?: unknown): DuplicateKeyError {
  return new DuplicateKeyError(backend, `${what}: duplicate key${keys.length === 1 ? '' : 's'} ${describeKeys(keys)}`, keys, { cause });
}

/** Characters of a caller's value that a message quotes; the rest is counted, not repeated. */
export const QUOTED_LENGTH = 64;

/**
 * A caller's value as a message quotes it: JSON, cut to {@link QUOTED_LENGTH} characters,
 * so that a 10 MB argument makes a short message, not a 10 MB one.
 *
 * @example
 * quoted('klingon');            // '"klingon"'
 * quoted('x'.repeat(10_000));   // '"xxxx…" (10,002 characters)'
 */
export function quoted(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  if (text.length <= QUOTED_LENGTH) return text;
  const cut = Array.from(text.slice(0, QUOTED_LENGTH)).slice(0, -1).join('');
  return `${cut}…" (${text.length.toLocaleString('en')} characters)`;
}

/**
 * What a backend appends to the message of an error that says a table or column is missing:
 * the usual cause is a database nobody initialised, or one an earlier version made and
 * nobody upgraded, and this says how to fix it.
 *
 * @example
 * new OperationError('mydb', `get block failed: no table blocks${MISSING_SCHEMA_HINT}`);
 */
export const MISSING_SCHEMA_HINT = '; run schema.initDatabase(conn) (or `chainstore init`) first';

/**
 * Node's socket error codes that mean a server could not be reached or went away: a backend
 * over a network reports an error with one of these as `ConnectionError` (worth trying again),
 * not as a failed operation.
 *
 * @example
 * if (SOCKET_ERROR_CODES.has((error as NodeJS.ErrnoException).code ?? '')) return new ConnectionError('mydb', message, { cause: error });
 */
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Maps rethinkdb-ts errors to chainstore's, keeping the original as `cause`.
 *
 * The driver marks each error with a `type` (RethinkDBErrorType): connection-level ones mean
 * the server could not be reached or the socket went away; the others are the server
 * refusing or failing the query. A failed socket connect surfaces as a plain Node error
 * (`ECONNREFUSED`, ...), which counts as a connection failure too. The driver's own message
 * ends with the whole query pretty-printed; chainstore's messages use only its first line
 * (`msg`), so a failed 100,000-document insert does not make a message of megabytes.
 *
 * A third kind is neither: the server is reachable but a table is briefly unavailable, as
 * when it is resharded or reconfigured, or its primary replica is lost and a new one is being
 * elected. The server then fails the query with `Cannot perform read: ...` / `Cannot perform
 * write: ...` (ReqlOpFailedError: not performed; ReqlOpIndeterminateError: perhaps
 * performed) or aborts a changefeed (`Changefeed aborted (table unavailable)`). Those are
 * transient: every query this backend sends may be repeated (connection.ts), so they are
 * retried like a lost connection, and reported as ConnectionError when the retries run out.
 */
import { RethinkDBErrorType, isRethinkDBError } from 'rethinkdb-ts';
import { BackendError, ConnectionError, MISSING_SCHEMA_HINT, OperationError, SOCKET_ERROR_CODES } from '../../lib/errors';

const BACKEND = 'rethinkdb';


/** Driver error types that mean "no usable connection", not "the query failed". */
const CONNECTION_TYPES = new Set<RethinkDBErrorType>([
  RethinkDBErrorType.CONNECTION,
  RethinkDBErrorType.POOL_FAIL,
  RethinkDBErrorType.MASTER_POOL_FAIL,
  RethinkDBErrorType.TIMEOUT,
]);

/**
 * True if the error means the connection failed or was lost (worth another try), not that
 * the server refused the query. A refused login is not: trying again cannot fix a password.
 *
 * @example
 * isConnectionFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));   // true
 */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof ConnectionError) return true;
  if (error instanceof BackendError) return false;
  if (isRethinkDBError(error)) return CONNECTION_TYPES.has(error.type) || (error.type === RethinkDBErrorType.UNKNOWN && isConnectionFailure(error.cause));
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SOCKET_ERROR_CODES.has(code);
}

/**
 * What the server says when a table cannot serve a query for now. Sources: RethinkDB 2.4's
 * `real_table_t` ("Cannot perform read: %s", "Cannot perform write: %s", "System
 * configuration changed while performing read/write"), its query routing ("primary replica
 * for shard ... not available"), and its changefeeds ("Changefeed aborted (table
 * unavailable)", "Unable to retrieve the start stamps. Did you just reshard?"). A dropped
 * table also aborts feeds as "unavailable": reopening the feed then fails with "does not
 * exist", which is not transient.
 */
const UNAVAILABLE = [
  /^Cannot perform (read|write): /i,
  /primary replica/i,
  /^System configuration changed while performing/i,
  /^Changefeed aborted \((table )?unavailable\)/i,
  /Did you just reshard\?/i,
];

/** Server error types that may carry an availability failure. */
const UNAVAILABLE_TYPES = new Set<RethinkDBErrorType>([RethinkDBErrorType.OP_FAILED, RethinkDBErrorType.OP_INDETERMINATE, RethinkDBErrorType.UNKNOWN]);

/**
 * True if the server refused the query only because a table is unavailable for now (being
 * resharded, reconfigured, or electing a primary replica): worth another try.
 *
 * @example
 * isUnavailable(new RethinkDBError('Cannot perform read: primary replica for shard ["", +inf) not available', { responseErrorType: ErrorType.OP_FAILED }));   // true
 */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof BackendError) return error instanceof ConnectionError && error.cause !== undefined && isUnavailable(error.cause);
  if (!isRethinkDBError(error) || !UNAVAILABLE_TYPES.has(error.type)) return false;
  const text = serverMessage(error);
  return !/does not exist/i.test(text) && UNAVAILABLE.some((pattern) => pattern.test(text));
}

/**
 * True if another try may succeed: the connection failed or was lost, a query got no answer
 * in time, or a table was briefly unavailable.
 *
 * @example
 * if (isTransient(error)) await pause(pollInterval);
 */
export function isTransient(error: unknown): boolean {
  return isConnectionFailure(error) || isUnavailable(error);
}

/** The server's own message, without the query the driver prints after it. */
function serverMessage(error: Error): string {
  const msg = (error as { msg?: unknown }).msg;
  return typeof msg === 'string' && msg ? msg : error.message.split('\n')[0];
}

/**
 * The driver error's message without the query it prints after it, on one line.
 *
 * @example
 * shortMessage(error);   // 'Database `ledger` does not exist.'
 */
export function shortMessage(error: unknown): string {
  if (isRethinkDBError(error)) {
    const text = serverMessage(error);
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return oneLine(`${text.replace(/\s+in:?$/, '')}${cause}`);
  }
  return oneLine(error instanceof Error ? error.message : String(error));
}

/** A message on one line (a server's garbage reply may hold line breaks). */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The usual cause of a missing database or table is a database nobody initialised. */
function hint(message: string): string {
  return /(Database|Table) `[^`]*` does not exist/.test(message) ? MISSING_SCHEMA_HINT : '';
}

/**
 * Wraps a driver error; chainstore errors pass through unchanged. Connection failures and a
 * table unavailable for now become ConnectionError (callers treat both as "try again later"),
 * everything else OperationError; `what` names the operation.
 *
 * @example
 * try { ... } catch (e) { throw mapRethinkError(e, 'store block') }
 */
export function mapRethinkError(error: unknown, what: string): Error {
  if (error instanceof BackendError) return error;
  const message = shortMessage(error);
  const kind = isRethinkDBError(error) ? ` (${(error as Error).name})` : '';
  const text = `${what} failed: ${message}${kind}${hint(message)}`;
  if (isTransient(error) || (isRethinkDBError(error) && error.type === RethinkDBErrorType.AUTH)) {
    return new ConnectionError(BACKEND, text, { cause: error });
  }
  return new OperationError(BACKEND, text, { cause: error });
}

/**
 * The error for a write whose tries all ended without an answer: the server may or may not
 * have applied it. Every write of this backend may be repeated (changelog.ts), so the caller
 * can simply run it again.
 *
 * @example
 * throw indeterminateWrite('write transactions', 'after 3 tries', socketError);
 */
export function indeterminateWrite(what: string, tries: string, cause: unknown): ConnectionError {
  return new ConnectionError(
    BACKEND,
    `${what}: no answer ${tries} (${shortMessage(cause)}); the write may or may not have been applied, and repeating it is safe`,
    { cause },
  );
}

/**
 * Maps rethinkdb-ts errors to chainstore's, keeping the original as `cause`.
 *
 * The driver marks each error with a `type` (RethinkDBErrorType): connection-level ones mean
 * the server could not be reached or the socket went away; the others are the server
 * refusing or failing the query. A failed socket connect surfaces as a plain Node error
 * (`ECONNREFUSED`, ...), which counts as a connection failure too. The driver's own message
 * ends with the whole query pretty-printed; chainstore's messages use only its first line
 * (`msg`), so a failed 100,000-document insert does not make a message of megabytes.
 */
import { RethinkDBErrorType, isRethinkDBError } from 'rethinkdb-ts';
import { BackendError, ConnectionError, OperationError } from '../../lib/errors';

const BACKEND = 'rethinkdb';

/** Node socket errors that mean the server could not be reached or went away. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'ECONNABORTED']);

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
  return typeof code === 'string' && SOCKET_CODES.has(code);
}

/**
 * The driver error's message without the query it prints after it, on one line.
 *
 * @example
 * shortMessage(error);   // 'Database `ledger` does not exist.'
 */
export function shortMessage(error: unknown): string {
  if (isRethinkDBError(error)) {
    const msg = (error as { msg?: unknown }).msg;
    const text = typeof msg === 'string' && msg ? msg : error.message.split('\n')[0];
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return oneLine(`${text.replace(/\s+in:?$/, '')}${cause}`);
  }
  return oneLine(error instanceof Error ? error.message : String(error));
}

/** A message on one line (a server's garbage reply may hold line breaks). */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The usual cause of a missing database or table is a database nobody initialised. */
function hint(message: string): string {
  return /(Database|Table) `[^`]*` does not exist/.test(message) ? '; run schema.initDatabase(conn) (or `chainstore init`) first' : '';
}

/**
 * Wraps a driver error; chainstore errors pass through unchanged. Connection failures become
 * ConnectionError, everything else OperationError; `what` names the operation.
 *
 * @example
 * try { ... } catch (e) { throw mapRethinkError(e, 'store block') }
 */
export function mapRethinkError(error: unknown, what: string): Error {
  if (error instanceof BackendError) return error;
  const message = shortMessage(error);
  const kind = isRethinkDBError(error) ? ` (${(error as Error).name})` : '';
  const text = `${what} failed: ${message}${kind}${hint(message)}`;
  if (isConnectionFailure(error) || (isRethinkDBError(error) && error.type === RethinkDBErrorType.AUTH)) {
    return new ConnectionError(BACKEND, text, { cause: error });
  }
  return new OperationError(BACKEND, text, { cause: error });
}

/**
 * The error for a write whose connection was lost after the query was sent: the server may
 * or may not have applied it, so it is not retried (a retry could apply it twice).
 *
 * @example
 * throw indeterminateWrite('write transactions', socketError);
 */
export function indeterminateWrite(what: string, cause: unknown): ConnectionError {
  return new ConnectionError(
    BACKEND,
    `${what}: the connection was lost while the write ran; it may or may not have been applied (${shortMessage(cause)})`,
    { cause },
  );
}

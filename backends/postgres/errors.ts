/**
 * Maps pg errors to chainstore's, keeping the original as `cause`.
 */
import { BackendError, ConnectionError, DuplicateKeyError, MISSING_SCHEMA_HINT, OperationError, SOCKET_ERROR_CODES } from '../../lib/errors';

const BACKEND = 'postgres';


/** SQLSTATEs after which the same work may simply be tried again. */
const RETRY_STATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '57P01', // admin_shutdown (pg_terminate_backend, server stopping)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (server starting)
]);

const code = (error: unknown) => String((error as { code?: unknown } | null)?.code ?? '');

/**
 * pg's words for a connection that failed or went away. A server that accepts and never
 * answers is "timeout expired" from a Client of its own (createDatabase, dropDatabase and
 * other databases than the connection's are reached on one), "Connection terminated due to
 * connection timeout" or "timeout exceeded when trying to connect" from the pool.
 */
const CONNECTION_FAILURE_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|^timeout expired$|Client has encountered a connection error/i;

/**
 * True if the error means the connection failed or was lost (not that the statement was
 * refused): class 08 SQLSTATEs, shutdowns, socket errors and pg's connect timeouts.
 */
export function isConnectionFailure(error: unknown): boolean {
  const c = code(error);
  if (SOCKET_ERROR_CODES.has(c) || c.startsWith('08') || c.startsWith('57P')) return true;
  const message = error instanceof Error ? error.message : '';
  return CONNECTION_FAILURE_MESSAGES.test(message);
}

/** True if the failed work may be run again as a whole. */
export function isRetryable(error: unknown): boolean {
  return isConnectionFailure(error) || RETRY_STATES.has(code(error));
}

/** True for a violated unique or primary key constraint. */
export function isUniqueViolation(error: unknown): boolean {
  return code(error) === '23505';
}

/**
 * The key a unique violation names, from the server's detail ("Key (id)=(ab12) already
 * exists."); composite keys come back as their text.
 */
export function violatedKey(error: unknown): string | undefined {
  const detail = (error as { detail?: string } | null)?.detail ?? '';
  return /Key \((?:[^)]*)\)=\((.*)\) already exists/.exec(detail)?.[1];
}

/**
 * Wraps a driver error; chainstore errors pass through unchanged.
 *
 * @example
 * try { ... } catch (e) { throw mapPostgresError(e, 'store block') }
 */
export function mapPostgresError(error: unknown, what: string): Error {
  if (error instanceof BackendError) return error;
  // A missing table or column (42P01, 42703): a database nobody initialised, or one an earlier
  // version made and nobody upgraded.
  const hint = code(error) === '42P01' || code(error) === '42703' ? MISSING_SCHEMA_HINT : '';
  const message = `${what} failed: ${error instanceof Error ? error.message : String(error)}${code(error) ? ` (${code(error)})` : ''}${hint}`;
  if (isUniqueViolation(error)) {
    const key = violatedKey(error);
    return new DuplicateKeyError(BACKEND, message, key === undefined ? [] : [key], { cause: error });
  }
  if (isConnectionFailure(error)) return new ConnectionError(BACKEND, message, { cause: error });
  return new OperationError(BACKEND, message, { cause: error });
}

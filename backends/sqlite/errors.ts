/**
 * Maps better-sqlite3 errors to chainstore's, keeping the original as `cause`.
 */
import { BackendError, ConnectionError, DuplicateKeyError, MISSING_SCHEMA_HINT, OperationError } from '../../lib/errors';

const BACKEND = 'sqlite';

/** SQLite result codes that mean the file itself cannot be used. */
const CONNECTION_CODES = new Set(['SQLITE_CANTOPEN', 'SQLITE_NOTADB', 'SQLITE_PERM', 'SQLITE_READONLY', 'SQLITE_CORRUPT']);

/** True for a violated UNIQUE or PRIMARY KEY constraint. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Wraps an engine error; chainstore errors pass through unchanged.
 *
 * @example
 * try { ... } catch (e) { throw mapSqliteError(e, 'store block') }
 */
export function mapSqliteError(error: unknown, what: string, opening = false): Error {
  if (error instanceof BackendError) return error;
  if (!(error instanceof Error)) return new OperationError(BACKEND, `${what} failed: ${String(error)}`, { cause: error });
  const code = (error as { code?: string }).code ?? '';
  // The usual cause of a missing table or column is a database nobody initialised, or one an
  // earlier version made and nobody upgraded: say how to fix it.
  const hint = /no such table|no such column|has no column named/i.test(error.message) ? MISSING_SCHEMA_HINT : '';
  const message = `${what} failed: ${error.message}${code ? ` (${code})` : ''}${hint}`;
  if (isUniqueViolation(error)) return new DuplicateKeyError(BACKEND, message, [], { cause: error });
  if (opening || [...CONNECTION_CODES].some((c) => code.startsWith(c))) return new ConnectionError(BACKEND, message, { cause: error });
  return new OperationError(BACKEND, message, { cause: error });
}

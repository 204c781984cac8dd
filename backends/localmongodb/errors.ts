/**
 * Maps mongodb driver errors to chainstore's, keeping the original as `cause`: a duplicate
 * key becomes DuplicateKeyError with the keys, an unreachable or lost deployment
 * ConnectionError, anything else OperationError. Also the predicates that decide what is
 * worth another try.
 */
import { maskSecrets, secretForms } from '../../lib/redact';
import { ChainstoreError, ConnectionError, DuplicateKeyError, OperationError, SOCKET_ERROR_CODES, describeKeys } from '../../lib/errors';
import {
  MongoBulkWriteError,
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from './driver';

/**
 * The backend's registered name, which prefixes its error messages.
 *
 * @example
 * new OperationError(BACKEND, 'text search failed');   // '[localmongodb] text search failed'
 */
export const BACKEND = 'localmongodb';

/** Server codes of a violated unique index (11001 and 12582 are older servers' spellings). */
const DUPLICATE_KEY_CODES = new Set([11000, 11001, 12582]);

/**
 * Server codes meaning "this node cannot serve the operation right now" (no primary, a
 * failover or shutdown in progress): the same work succeeds once a primary is elected.
 */
const FAILOVER_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/**
 * Node's socket codes, and the DNS codes of an SRV lookup: the server (or, for mongodb+srv://,
 * its DNS records) could not be reached. The driver wraps most of them; SRV lookups reach us
 * as they are.
 */
const SYSTEM_CODES = new Set([...SOCKET_ERROR_CODES, 'ESERVFAIL', 'ETIMEOUT']);

/** Codes of a change stream that can no longer resume where it was (its oplog entries are gone). */
const HISTORY_LOST_CODES = new Set([
  136, // CappedPositionLost
  280, // ChangeStreamFatalError
  286, // ChangeStreamHistoryLost
]);

/**
 * True for a server code of a violated unique index.
 *
 * @example
 * writeErrorsOf(error).filter((e) => isDuplicateKeyCode(e.code));
 */
export function isDuplicateKeyCode(code: unknown): boolean {
  return DUPLICATE_KEY_CODES.has(code as number);
}

const codeOf = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

/**
 * The error a driver error stands for: a bulk write that failed on the way (the connection
 * dropped) wraps the driver's error in a MongoBulkWriteError, kept as its `errorResponse`.
 *
 * @example
 * rootError(bulkErrorWrappingANetworkError) instanceof MongoNetworkError;   // true
 */
export function rootError(error: unknown): unknown {
  if (error instanceof MongoBulkWriteError) {
    const wrapped = (error as { errorResponse?: unknown }).errorResponse;
    if (wrapped instanceof Error && wrapped !== error) return wrapped;
  }
  return error;
}

/**
 * The write errors of a bulk write error (the driver keeps one or several), else none.
 *
 * @example
 * writeErrorsOf(bulkError).map((e) => e.index);   // positions of the failed documents
 */
export function writeErrorsOf(error: unknown): { index: number; code: number; errmsg?: string }[] {
  if (!(error instanceof MongoBulkWriteError)) return [];
  const list = error.writeErrors as unknown;
  if (Array.isArray(list)) return list;
  return list ? [list as { index: number; code: number; errmsg?: string }] : [];
}

/**
 * True when a unique index refused a write (directly, or in every failed write of a bulk).
 *
 * @example
 * isDuplicateKeyError(new MongoServerError({ code: 11000, errmsg: 'E11000 ...' }));   // true
 */
export function isDuplicateKeyError(error: unknown): boolean {
  const writeErrors = writeErrorsOf(error);
  if (writeErrors.length) return writeErrors.every((e) => DUPLICATE_KEY_CODES.has(e.code));
  return error instanceof MongoError && DUPLICATE_KEY_CODES.has(codeOf(error) as number);
}

/**
 * True when the deployment could not be reached or the connection was lost (nothing says
 * the server refused the operation itself).
 *
 * @example
 * isConnectionFailure(new MongoNetworkError('connection reset'));   // true
 */
export function isConnectionFailure(error: unknown): boolean {
  const root = rootError(error);
  return (
    root instanceof MongoServerSelectionError ||
    root instanceof MongoNetworkError ||
    root instanceof MongoNotConnectedError ||
    root instanceof MongoTopologyClosedError ||
    root instanceof MongoClientClosedError ||
    (!(root instanceof MongoError) && SYSTEM_CODES.has(codeOf(root) as string))
  );
}

/**
 * True when the same work may simply be run again: the connection failed, or the replica
 * set is between primaries. (Writes stay safe to repeat: see writes.ts.)
 *
 * @example
 * isRetryable(new MongoServerError({ code: 10107, errmsg: 'not primary' }));   // true
 */
export function isRetryable(error: unknown): boolean {
  if (isConnectionFailure(error)) return true;
  const root = rootError(error);
  if (!(root instanceof MongoError)) return false;
  return FAILOVER_CODES.has(codeOf(root) as number) || root.hasErrorLabel('RetryableWriteError');
}

/**
 * True when a change stream may be opened again from its last position after this error.
 *
 * @example
 * isResumable(new MongoServerError({ code: 286, errmsg: 'history lost' }));   // false
 */
export function isResumable(error: unknown): boolean {
  const root = rootError(error);
  if (root instanceof MongoError && HISTORY_LOST_CODES.has(codeOf(root) as number)) return false;
  return isRetryable(error) || (root instanceof MongoError && root.hasErrorLabel('ResumableChangeStreamError'));
}

/**
 * True when a change stream lost its place for good (the oplog no longer holds it).
 *
 * @example
 * if (isHistoryLost(error)) throw mapMongoError(error, 'read changefeed');
 */
export function isHistoryLost(error: unknown): boolean {
  const root = rootError(error);
  return root instanceof MongoError && HISTORY_LOST_CODES.has(codeOf(root) as number);
}

/**
 * One refused write of a duplicate key: where (collection and index, from the server's
 * message) and which key, when the driver kept it.
 *
 * @example
 * const [{ collection, key }] = duplicateKeyDetails(error);   // 'blocks', 7
 */
export interface DuplicateKeyDetail {
  collection?: string;
  index?: string;
  key?: string | number;
  /** Position of the refused document in a bulk write. */
  position?: number;
}

/** `E11000 duplicate key error collection: <db>.<collection> index: <name> dup key: { <field>: <value> }` */
const DUPLICATE_MESSAGE = /collection: [^.\s]+\.(\S+) index: (\S+)(?: dup key: \{ ?([^:]+): (.*?) ?\})?\s*$/;

function keyOf(keyValue: unknown): string | number | undefined {
  if (keyValue === null || typeof keyValue !== 'object') return undefined;
  const values = Object.values(keyValue as Record<string, unknown>);
  if (values.length !== 1) return values.length ? values.map(String).join(':') : undefined;
  const [value] = values;
  return typeof value === 'string' || typeof value === 'number' ? value : String(value);
}

function keyOfMessage(text: string | undefined): string | number | undefined {
  if (text === undefined) return undefined;
  const quoted = /^"(.*)"$/.exec(text);
  if (quoted) return quoted[1];
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
}

function detailOf(message: string | undefined, keyValue?: unknown, position?: number): DuplicateKeyDetail {
  const match = message ? DUPLICATE_MESSAGE.exec(message) : null;
  const key = keyOf(keyValue) ?? keyOfMessage(match?.[4]);
  return {
    ...(match ? { collection: match[1], index: match[2] } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(position !== undefined ? { position } : {}),
  };
}

/**
 * What a duplicate-key error says about each refused write.
 *
 * @example
 * duplicateKeyDetails(new MongoServerError({ code: 11000, keyValue: { height: 7 }, errmsg: 'E11000 duplicate key error collection: ledger.blocks index: height_unique dup key: { height: 7 }' }));
 * // [{ collection: 'blocks', index: 'height_unique', key: 7 }]
 */
export function duplicateKeyDetails(error: unknown): DuplicateKeyDetail[] {
  const writeErrors = writeErrorsOf(error);
  if (writeErrors.length) {
    return writeErrors.filter((e) => DUPLICATE_KEY_CODES.has(e.code)).map((e) => detailOf(e.errmsg, undefined, e.index));
  }
  if (!isDuplicateKeyError(error)) return [];
  const { keyValue, errmsg, message } = error as { keyValue?: unknown; errmsg?: string; message?: string };
  return [detailOf(errmsg ?? message, keyValue)];
}

/**
 * Options of {@link mapMongoError}.
 *
 * @example
 * mapMongoError(error, 'get block', { secret: conn.config.password, tries: 3, target: conn.location });
 */
export interface MapOptions {
  /** A secret that must not appear in the message (the configured password). */
  secret?: string;
  /** Tries made before giving up, for the message. */
  tries?: number;
  /** What was being reached, for the message of a connection failure (never with a password). */
  target?: string;
}

function driverMessage(error: unknown): string {
  const root = rootError(error);
  const text = root instanceof Error ? root.message : String(root);
  const code = codeOf(root);
  return typeof code === 'number' || typeof code === 'string' ? `${text} (code ${code})` : text;
}

/**
 * Wraps a driver error; chainstore errors pass through unchanged.
 *
 * @example
 * try { ... } catch (e) { throw mapMongoError(e, 'store block') }
 */
export function mapMongoError(error: unknown, what: string, options: MapOptions = {}): Error {
  if (error instanceof ChainstoreError) return error;
  const reason = maskSecrets(driverMessage(error), secretForms(options.secret));
  if (isDuplicateKeyError(error)) {
    const keys = duplicateKeyDetails(error)
      .map((detail) => detail.key)
      .filter((key): key is string | number => key !== undefined);
    const listed = keys.length ? `: duplicate key${keys.length === 1 ? '' : 's'} ${describeKeys(keys)}` : '';
    return new DuplicateKeyError(BACKEND, `${what} failed${listed} (${reason})`, keys, { cause: error });
  }
  if (isRetryable(error)) {
    const where = options.target ? ` ${options.target}` : '';
    const tries = options.tries ? ` after ${options.tries} ${options.tries === 1 ? 'try' : 'tries'}` : '';
    return new ConnectionError(BACKEND, `${what} failed: could not reach${where}${tries}: ${reason}`, { cause: error });
  }
  return new OperationError(BACKEND, `${what} failed: ${reason}`, { cause: error });
}

/**
 * chainstore's errors as fp-ts code wants them: one union, discriminated by `code`, so that a
 * `switch (error.code)` narrows to the class and its fields (`keys`, `path`, `holders`).
 *
 * The classes declare `code` as `string` (a subclass could not otherwise override its
 * parent's literal), so the literal each one carries is stated here, in one table; a spec
 * checks the table against the classes of lib/errors.ts, both ways.
 */
import * as errors from '../errors';

/**
 * Every error class of chainstore, by its stable `code`.
 *
 * @example
 * const Cls = ERROR_CLASSES.CHAINSTORE_DUPLICATE_KEY;   // DuplicateKeyError
 */
export const ERROR_CLASSES = Object.freeze({
  CHAINSTORE_ERROR: errors.ChainstoreError,
  CHAINSTORE_BACKEND: errors.BackendError,
  CHAINSTORE_CONNECTION: errors.ConnectionError,
  CHAINSTORE_OPERATION: errors.OperationError,
  CHAINSTORE_DUPLICATE_KEY: errors.DuplicateKeyError,
  CHAINSTORE_UNSUPPORTED: errors.UnsupportedOperationError,
  CHAINSTORE_LEASE: errors.LeaseError,
  CHAINSTORE_CONFIGURATION: errors.ConfigurationError,
  CHAINSTORE_VALIDATION: errors.ValidationError,
  CHAINSTORE_REGISTRATION: errors.RegistrationError,
  CHAINSTORE_NOT_IMPLEMENTED: errors.NotImplementedError,
  CHAINSTORE_RECOVERY: errors.RecoveryError,
});

/**
 * The stable code of a chainstore error.
 *
 * @example
 * const code: ErrorCode = 'CHAINSTORE_VALIDATION';
 */
export type ErrorCode = keyof typeof ERROR_CLASSES;

/**
 * The error of code `C`: its class, with `code` narrowed to the literal.
 *
 * @example
 * const onDuplicate = (e: ErrorOf<'CHAINSTORE_DUPLICATE_KEY'>) => console.log(e.keys);
 */
export type ErrorOf<C extends ErrorCode> = InstanceType<(typeof ERROR_CLASSES)[C]> & { readonly code: C };

/**
 * Every error a chainstore function of `chainstore/fp-ts` gives as `Left`: a union of the
 * error classes, discriminated by `code`. (Not to be confused with the base class of the same
 * name exported by `chainstore`: every member of this union is an instance of that class.)
 *
 * @example
 * const describe = (error: ChainstoreError): string => {
 *   switch (error.code) {
 *     case 'CHAINSTORE_DUPLICATE_KEY': return `already stored: ${error.keys.join(', ')}`;
 *     case 'CHAINSTORE_VALIDATION': return `bad field ${error.path}`;
 *     default: return error.message;
 *   }
 * };
 */
export type ChainstoreError = { [C in ErrorCode]: ErrorOf<C> }[ErrorCode];

const classByCode = new Map<string, abstract new (...args: never[]) => errors.ChainstoreError>(Object.entries(ERROR_CLASSES));

/**
 * True if `value` is a member of {@link ChainstoreError}: an instance of the class its code
 * names. A subclass of a user's that keeps its parent's code is one; one that brings a code of
 * its own is not (the union could not describe it).
 *
 * @example
 * if (isChainstoreError(reason) && reason.code === 'CHAINSTORE_VALIDATION') console.log(reason.path);
 */
export function isChainstoreError(value: unknown): value is ChainstoreError {
  if (!(value instanceof errors.ChainstoreError)) return false;
  const cls = classByCode.get(value.code);
  return cls !== undefined && value instanceof cls;
}

/**
 * `reason` as a member of {@link ChainstoreError}: itself if it is one, else wrapped in a base
 * `ChainstoreError` (code `'CHAINSTORE_ERROR'`) that keeps it as `cause`. The generics map
 * every failure to a chainstore error already; this keeps the `Left` type true when something
 * else escapes anyway (a bug, or an error of another copy of the package).
 *
 * @example
 * const safeRead = TE.tryCatch(() => readFile(path), (reason) => toChainstoreError(reason, 'read ledger file'));
 */
export function toChainstoreError(reason: unknown, operation = 'chainstore'): ChainstoreError {
  if (isChainstoreError(reason)) return reason;
  const what = reason instanceof Error ? `${reason.name}: ${reason.message}` : errors.quoted(reason);
  return new errors.ChainstoreError(`${operation} failed with an error that is not chainstore's (${what})`, { cause: reason }) as ErrorOf<'CHAINSTORE_ERROR'>;
}

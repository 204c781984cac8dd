/**
 * Assertions the topics share: how a generic must fail, and how result lists compare.
 */
import { expect } from './expect';
import { DuplicateKeyError, ValidationError } from '../../lib';
import type { ConformanceContext } from './context';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ErrorClass<E> = abstract new (...args: any[]) => E;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Calls `call` and returns the error its promise rejects with. Fails if the call throws
 * synchronously (every generic must reject instead), returns no promise, or resolves.
 */
export async function rejection<E extends Error>(call: () => unknown, type: ErrorClass<E>): Promise<E> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    expect.fail(`threw synchronously instead of returning a rejected promise: ${String(error)}`);
  }
  if (!isThenable(result)) expect.fail(`returned ${typeof result} instead of a promise`);
  let failure: unknown;
  let rejected = false;
  try {
    await result;
  } catch (error) {
    failure = error;
    rejected = true;
  }
  if (!rejected) expect.fail(`resolved; expected a rejection with ${type.name}`);
  expect(failure, String(failure)).to.be.an.instanceOf(type);
  return failure as E;
}

/** Expects a rejection with `ValidationError`, whose `.path` starts with `pathPrefix` when given. */
export async function expectValidationError(call: () => unknown, pathPrefix?: string): Promise<ValidationError> {
  const error = await rejection(call, ValidationError);
  expect(error.code).to.equal('CHAINSTORE_VALIDATION');
  if (pathPrefix !== undefined) expect(error.path, `path of "${error.message}"`).to.satisfy((p: string) => p.startsWith(pathPrefix));
  return error;
}

/**
 * Expects a rejection with `DuplicateKeyError` from this backend. Its `.keys` must list
 * exactly `keys` (in any order) when `exact`, and at least include them otherwise.
 */
export async function expectDuplicateKeyError(
  ctx: ConformanceContext,
  call: () => unknown,
  keys: readonly (string | number)[],
  { exact = false } = {},
): Promise<DuplicateKeyError> {
  const error = await rejection(call, DuplicateKeyError);
  expect(error.code).to.equal('CHAINSTORE_DUPLICATE_KEY');
  expect(error.backend, 'DuplicateKeyError.backend').to.equal(ctx.factory.name);
  if (exact) expect([...new Set(error.keys)], 'DuplicateKeyError.keys').to.have.members([...keys]);
  else expect(error.keys, 'DuplicateKeyError.keys').to.include.members([...keys]);
  return error;
}

/** The ids of records, in the order given. */
export function idsOf(records: readonly { id: string }[]): string[] {
  return records.map((record) => record.id);
}

/** Expects records with exactly these ids, in any order, each once. */
export function expectSameIds(records: readonly { id: string }[], ids: readonly string[]): void {
  expect(idsOf(records)).to.have.members([...ids]);
}

/** Resolves like `promise`, or rejects after `ms` with a message saying what was awaited. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

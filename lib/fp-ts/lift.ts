/**
 * Lifting promise-returning functions into TaskEither, and whole interface modules at once:
 * the types are mapped over the module's type and the values over its members, so a generic
 * added to a module appears in `chainstore/fp-ts` with no line written for it.
 */
import type { TaskEither } from 'fp-ts/TaskEither';
import { type Generic, type GenericSignature, type InterfaceModule, isGeneric } from '../dispatch';
import { type ChainstoreError, toChainstoreError } from './errors';
import { TE } from './peer';

/**
 * `F` with its result as a lazy `TaskEither`: the same parameters, and the value the promise
 * (or thenable) `F` returns on the right.
 *
 * @example
 * type GetBlock = Lifted<typeof query.getBlock>;   // (conn: Connection, height: number) => TaskEither<ChainstoreError, Block | null>
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Lifted<F extends (...args: any[]) => unknown> = (...args: Parameters<F>) => TaskEither<ChainstoreError, Awaited<ReturnType<F>>>;

/**
 * The fp-ts face of an interface module: each of its generics, lifted; its other members
 * (types, helpers for backends) left out.
 *
 * @example
 * type FpQuery = FpInterface<typeof query>;   // { getBlock: (conn, height) => TaskEither<ChainstoreError, Block | null>, ... }
 */
export type FpInterface<M> = {
  readonly [K in keyof M as M[K] extends Generic<GenericSignature> ? K : never]: M[K] extends Generic<infer F> ? Lifted<F> : never;
};

/**
 * `fn` as a function returning a `TaskEither`. Nothing runs until the task is run; each run
 * calls `fn` anew. A rejection, or a synchronous throw, becomes `Left` with a
 * {@link ChainstoreError} (`operation` names the call in the message of a wrapped one).
 *
 * @example
 * const countRows = generic<(conn: Connection) => Promise<number>>('app.countRows', { failure: rejectAsync });
 * const countRowsTE = lift(countRows);   // (conn) => TaskEither<ChainstoreError, number>
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function lift<F extends (...args: any[]) => unknown>(fn: F, operation: string = nameOf(fn)): Lifted<F> {
  return (...args) => {
    // An async function turns a synchronous throw into a rejection, and adopts a thenable
    // result, so a changefeed resolves once it listens.
    const run = (async () => fn(...args)) as () => Promise<Awaited<ReturnType<F>>>;
    return TE.tryCatch(run, (reason) => toChainstoreError(reason, operation));
  };
}

function nameOf(fn: (...args: never[]) => unknown): string {
  return isGeneric(fn) ? fn.genericName : fn.name || 'chainstore';
}

/**
 * Every generic of `module`, lifted with {@link lift}, in a frozen object of the same names.
 *
 * @example
 * const fpQuery = liftInterface(query);
 * await fpQuery.getBlock(conn, 1)();   // { _tag: 'Right', right: { height: 1, ... } }
 */
export function liftInterface<M extends InterfaceModule>(module: M): FpInterface<M> {
  const lifted: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(module)) {
    if (isGeneric(member)) lifted[name] = lift(member);
  }
  return Object.freeze(lifted) as FpInterface<M>;
}

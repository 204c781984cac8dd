/**
 * `chainstore/fp-ts`: chainstore for fp-ts code. Every generic of `query`, `schema`,
 * `changefeed` and `admin` returns a lazy `TaskEither<ChainstoreError, A>` instead of a
 * promise, with the same arguments; failures are `Left`s of one union discriminated by `code`.
 * The namespaces are derived from the interface modules, so they always have every generic.
 * Needs the `fp-ts` package (an optional peer dependency).
 *
 * @example
 * import { pipe } from 'fp-ts/function';
 * import * as TE from 'fp-ts/TaskEither';
 * import { connect, query, schema } from 'chainstore/fp-ts';
 *
 * const latest = pipe(
 *   connect({ backend: 'sqlite', name: ':memory:' }),
 *   TE.flatMap((conn) => pipe(schema.initDatabase(conn), TE.flatMap(() => query.getLatestBlock(conn)))),
 * );
 * await latest();   // { _tag: 'Right', right: null }: no block yet
 *
 * @module chainstore/fp-ts
 */
// First, so that a missing fp-ts is reported before anything else is loaded.
import { E } from './peer';
import type { Either } from 'fp-ts/Either';
import * as core from '../index';
import { type ChainstoreError, toChainstoreError } from './errors';
import { type FpInterface, type Lifted, lift, liftInterface } from './lift';

export { ERROR_CLASSES, isChainstoreError, toChainstoreError } from './errors';
export type { ChainstoreError, ErrorCode, ErrorOf } from './errors';
export { lift, liftInterface } from './lift';
export type { FpInterface, Lifted } from './lift';

/**
 * The generics of `query`, each returning a `TaskEither`.
 *
 * @example
 * const read = query.getTransaction(conn, id);   // TaskEither<ChainstoreError, Transaction | null>
 * const found = await read();                    // { _tag: 'Right', right: { id, ... } } or { _tag: 'Left', left: error }
 */
export const query: FpInterface<typeof core.query> = liftInterface(core.query);

/**
 * The generics of `schema`, each returning a `TaskEither`, and `initDatabase` (built on them).
 *
 * @example
 * await pipe(schema.initDatabase(conn), TE.flatMap(() => schema.isInitialized(conn)))();   // { _tag: 'Right', right: true }
 */
export const schema: FpInterface<typeof core.schema> & { readonly initDatabase: Lifted<typeof core.schema.initDatabase> } = Object.freeze({
  ...liftInterface(core.schema),
  // Not a generic, but the one call every program makes first: it belongs beside them.
  initDatabase: lift(core.schema.initDatabase, 'schema.initDatabase'),
});

/**
 * The generics of `changefeed`, each returning a `TaskEither`. `getChangefeed` gives the feed
 * once it listens, or `Left` if it could not start; later failures arrive while iterating.
 *
 * @example
 * const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT)();   // Right(feed) once it listens
 */
export const changefeed: FpInterface<typeof core.changefeed> = liftInterface(core.changefeed);

/**
 * The generics of `admin`, each returning a `TaskEither`.
 *
 * @example
 * await admin.setShards(sqliteConn, 3)();   // { _tag: 'Left', left: UnsupportedOperationError }
 */
export const admin: FpInterface<typeof core.admin> = liftInterface(core.admin);

/**
 * `connect()` as a `TaskEither`: a bad or unknown backend, a bad option or a missing driver is
 * a `Left` (`CHAINSTORE_CONFIGURATION`).
 *
 * @example
 * const conn = connect({ backend: 'sqlite', name: ':memory:' });   // TaskEither<ChainstoreError, Connection>
 */
export const connect: Lifted<typeof core.connect> = lift(core.connect, 'connect');

/**
 * `conn.close()` as a `TaskEither`, the release step of `TE.bracket`.
 *
 * @example
 * TE.bracket(connect(), (conn) => query.getLatestBlock(conn), (conn) => close(conn));
 */
export const close: (conn: core.Connection) => ReturnType<Lifted<() => Promise<void>>> = lift((conn: core.Connection) => conn.close(), 'close');

/**
 * `recover()` as a `TaskEither`: the report on the right, a `RecoveryError` (a state that
 * needs a human) or a backend's failure on the left.
 *
 * @example
 * await recover(conn)();   // { _tag: 'Right', right: { action: 'none', height: -1, transactions: [] } }
 */
export const recover: Lifted<typeof core.recover> = lift(core.recover, 'recover');

/**
 * `capabilities()` as an `Either`: it is synchronous and touches no engine, so there is no
 * task to run. A first argument that is no connection is a `Left` (`CHAINSTORE_NOT_IMPLEMENTED`).
 *
 * @example
 * pipe(capabilities(conn), E.map((caps) => caps.changefeed));   // Right(true) on sqlite
 */
export function capabilities(...args: Parameters<typeof core.capabilities>): Either<ChainstoreError, core.Capabilities> {
  return E.tryCatch(
    () => core.capabilities(...args),
    (reason) => toChainstoreError(reason, 'capabilities'),
  );
}

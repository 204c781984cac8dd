/**
 * The compile-time side of `chainstore/fp-ts`: each lifted function has exactly its generic's
 * parameters, and exactly `TaskEither<ChainstoreError, A>` for the `A` the generic resolves to.
 *
 * How this spec fails: the file is type-checked every time it is loaded. Each `Equals` check
 * is assigned `true`, which compiles only if the two types are the same; each ill-typed line
 * carries `// @ts-expect-error`, which fails type-checking if the line compiles after all.
 * The ill-typed calls sit in a function that is never called.
 */
import { expect } from 'chai';
import type { Either } from 'fp-ts/Either';
import type { TaskEither } from 'fp-ts/TaskEither';
import type * as core from '../lib';
import * as fp from '../lib/fp-ts';

/** True only if A and B are the same type (not merely assignable). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

type Result<F extends (...args: never[]) => unknown> = ReturnType<F>;
type E = fp.ChainstoreError;

// Results: exact, whatever the generic resolves to.
const results: [
  Equals<Result<typeof fp.query.getTransaction>, TaskEither<E, core.Transaction | null>>,
  Equals<Result<typeof fp.query.getTransactions>, TaskEither<E, core.Transaction[]>>,
  Equals<Result<typeof fp.query.writeTransaction>, TaskEither<E, void>>,
  Equals<Result<typeof fp.query.getTxidsFiltered>, TaskEither<E, string[]>>,
  Equals<Result<typeof fp.query.getLatestBlock>, TaskEither<E, core.Block | null>>,
  Equals<Result<typeof fp.schema.isInitialized>, TaskEither<E, boolean>>,
  Equals<Result<typeof fp.schema.initDatabase>, TaskEither<E, void>>,
  // A feed is a thenable: the task gives what awaiting it gives, the listening feed.
  Equals<Result<typeof fp.changefeed.getChangefeed>, TaskEither<E, core.ListeningFeed>>,
  Equals<Result<typeof fp.admin.countRecords>, TaskEither<E, Record<core.TableName, number>>>,
  Equals<Result<typeof fp.connect>, TaskEither<E, core.Connection>>,
  Equals<Result<typeof fp.close>, TaskEither<E, void>>,
  Equals<Result<typeof fp.recover>, TaskEither<E, core.RecoveryReport>>,
  Equals<Result<typeof fp.capabilities>, Either<E, core.Capabilities>>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true];

// Parameters: the generic's own, names and optionality included.
const parameters: [
  Equals<Parameters<typeof fp.query.getTransaction>, [conn: core.Connection, id: string]>,
  Equals<Parameters<typeof fp.query.getTxidsFiltered>, [conn: core.Connection, assetId: string, filter?: core.TxidsFilter]>,
  Equals<Parameters<typeof fp.query.storeAbciChain>, [conn: core.Connection, height: number, chainId: string, isSynced?: boolean]>,
  Equals<Parameters<typeof fp.changefeed.getChangefeed>, Parameters<typeof core.changefeed.getChangefeed>>,
  Equals<Parameters<typeof fp.admin.reconfigure>, [conn: core.Connection, options: core.ReconfigureOptions]>,
  Equals<Parameters<typeof fp.connect>, Parameters<typeof core.connect>>,
] = [true, true, true, true, true, true];

// Every generic of a module is there, and nothing that is not a generic.
type GenericNames<M> = { [K in keyof M]: M[K] extends core.Generic<core.GenericSignature> ? K : never }[keyof M];
const names: [
  Equals<keyof typeof fp.query, GenericNames<typeof core.query>>,
  Equals<keyof typeof fp.admin, GenericNames<typeof core.admin>>,
  Equals<keyof typeof fp.changefeed, GenericNames<typeof core.changefeed>>,
  Equals<keyof typeof fp.schema, GenericNames<typeof core.schema> | 'initDatabase'>,
] = [true, true, true, true];

// The union is discriminated by code: checking it narrows to the class.
function explain(error: fp.ChainstoreError): string {
  switch (error.code) {
    case 'CHAINSTORE_DUPLICATE_KEY': {
      const exact: Equals<typeof error.keys, readonly (string | number)[]> = true;
      return exact ? error.keys.join() : '';
    }
    case 'CHAINSTORE_VALIDATION':
      return error.path;
    case 'CHAINSTORE_LEASE':
      return error.holders.map((holder) => holder.pid).join();
    default:
      return error.message;
  }
}

/** Ill-typed: never called. Each marked line must fail to compile. */
function illTyped(conn: core.Connection, error: fp.ChainstoreError): void {
  // @ts-expect-error -- getTransaction's id is a string
  fp.query.getTransaction(conn, 42);
  // @ts-expect-error -- getBlock takes a height
  fp.query.getBlock(conn);
  // @ts-expect-error -- the first argument is a connection
  fp.query.getLatestBlock({ backend: 'sqlite' });
  // @ts-expect-error -- a table name is one of TABLES
  fp.changefeed.getChangefeed(conn, 'nope', 1);
  // @ts-expect-error -- the result is Transaction | null, not Transaction
  const tx: TaskEither<E, core.Transaction> = fp.query.getTransaction(conn, 'id');
  // @ts-expect-error -- the left's code is one of chainstore's, not any code
  const left: TaskEither<Error & { code: 'ENOENT' }, core.Block | null> = fp.query.getLatestBlock(conn);
  // @ts-expect-error -- a lifted function is a task, not a promise
  void fp.query.getLatestBlock(conn).then;
  // @ts-expect-error -- keys exist only once the code says DuplicateKeyError
  void error.keys;
  // @ts-expect-error -- not a code of the union
  if (error.code === 'CHAINSTORE_DUPLICATE') return;
  // @ts-expect-error -- query has no getBlok
  void fp.query.getBlok;
  // @ts-expect-error -- helpers for backends are not generics, so they are not lifted
  void fp.admin.unsupported;
  void [tx, left];
}

describe('chainstore/fp-ts types', () => {
  it('are exact (checked when this file compiles)', () => {
    expect([...results, ...parameters, ...names].every(Boolean)).to.equal(true);
    expect(illTyped).to.be.a('function');
  });

  it('narrow a Left by its code at run time as at compile time', () => {
    expect(explain(new (fp.ERROR_CLASSES.CHAINSTORE_VALIDATION)('bad', 'outputs[0]') as fp.ChainstoreError)).to.equal('outputs[0]');
  });
});

/**
 * The conformance suite: one set of mocha tests, written against the contract, that every
 * backend runs unchanged. Published as `chainstore/testing`, so a third-party backend can
 * prove itself with the same tests (see the example below).
 *
 * Tests that need what a backend does not declare in `capabilities(conn)` are reported as
 * pending, with the reason in their title. The suite needs mocha (an optional peer
 * dependency of chainstore) and no assertion library.
 *
 * @example
 * // spec/my-backend.spec.ts
 * import { connect } from 'chainstore';
 * import { runConformance, resetByDropAndInit } from 'chainstore/testing';
 *
 * runConformance({
 *   name: 'mybackend',
 *   connect: () => connect({ backend: 'mybackend', url: process.env.MY_URL }),
 *   reset: resetByDropAndInit,
 * });
 *
 * @module chainstore/testing
 */
import { describeAssets } from './assets';
import { describeBackend } from './backend';
import { describeBigchainDbParity } from './bigchaindb';
import { describeBlocks } from './blocks';
import { describeChangefeed } from './changefeed';
import { describeCommit } from './commit';
import { type ConformanceFactory, useBackend } from './context';
import { describeInjection } from './injection';
import { describeLookups } from './lookups';
import { requireMochaInstalled, requireMochaRunning } from './mocha';
import { describePages } from './pages';
import { describeSearch } from './search';
import { describeState } from './state';
import { describeTransactions } from './transactions';
import { describeUtxos } from './utxos';
import { describeValidation } from './validation';

export { type ConformanceContext, type ConformanceFactory, type OtherDatabase, resetByDropAndInit } from './context';

requireMochaInstalled();

/**
 * Registers the whole suite for one backend, in a `describe` named after it. Call it at the
 * top level of a spec file (or inside a `describe` that prepares what `connect` needs).
 */
export function runConformance(factory: ConformanceFactory): void {
  requireMochaRunning('runConformance()');
  describe(`conformance: ${factory.name}`, function () {
    const ctx = useBackend(factory);
    describeBackend(ctx);
    describeTransactions(ctx);
    describeLookups(ctx);
    describeAssets(ctx);
    describeSearch(ctx);
    describeBlocks(ctx);
    describeUtxos(ctx);
    describeState(ctx);
    describePages(ctx);
    describeCommit(ctx);
    describeChangefeed(ctx);
    describeValidation(ctx);
    describeInjection(ctx);
    describeBigchainDbParity(ctx);
  });
}

/**
 * Bad arguments: every generic that takes arguments rejects them with ValidationError
 * naming the argument, as a rejected promise (never a synchronous throw), before the
 * engine is touched.
 */
import { expect } from './expect';
import { type Connection, admin, coverage, query, schema } from '../../lib';
import { expectValidationError } from './assertions';
import type { ConformanceContext } from './context';
import { block, createTx, freshId, utxosOf } from './fixtures';

/** One bad call: the generic's full name, the call, and the expected start of `.path`. */
interface BadCall {
  generic: string;
  call: (conn: Connection) => unknown;
  path: string;
}

/** Generics whose only argument is the connection: nothing to get wrong. */
const WITHOUT_ARGUMENTS = new Set([
  'query.getLatestBlock',
  'query.getPreCommitState',
  'query.getLatestAbciChain',
  'admin.getConfig',
  'admin.countRecords',
  'capabilities',
]);

/** Bad arguments are typed `never`: the point is to get past the compiler to the checks. */
const bad = (value: unknown) => value as never;

function badCalls(): BadCall[] {
  const id = freshId();
  const tx = createTx();
  const cases: [string, (conn: Connection) => unknown, string][] = [
    ['query.writeTransaction', (c) => query.writeTransaction(c, bad({ ...tx, id: 'not-hex' })), 'id'],
    ['query.writeTransactions', (c) => query.writeTransactions(c, bad(tx)), ''],
    ['query.getTransaction', (c) => query.getTransaction(c, bad(42)), 'id'],
    ['query.getTransactions', (c) => query.getTransactions(c, bad([id, 1])), 'ids'],
    ['query.deleteTransactions', (c) => query.deleteTransactions(c, bad(null)), 'ids'],
    ['query.getTxidsFiltered', (c) => query.getTxidsFiltered(c, bad(1)), 'assetId'],
    ['query.getTxidsFiltered', (c) => query.getTxidsFiltered(c, id, bad('CREATE')), 'filter'],
    ['query.getTxidsFiltered', (c) => query.getTxidsFiltered(c, id, bad({ operation: 5 })), 'filter.operation'],
    ['query.getSpent', (c) => query.getSpent(c, bad(undefined), 0), 'txid'],
    ['query.getSpent', (c) => query.getSpent(c, id, -1), 'outputIndex'],
    ['query.getSpendingTransactions', (c) => query.getSpendingTransactions(c, bad([{ transaction_id: 'x', output_index: 0 }])), '[0].transaction_id'],
    ['query.getOwnedIds', (c) => query.getOwnedIds(c, bad({ $ne: null })), 'publicKey'],
    ['query.getAssetTokensForPublicKey', (c) => query.getAssetTokensForPublicKey(c, id, bad(7)), 'publicKey'],
    ['query.getAssetTokensForPublicKey', (c) => query.getAssetTokensForPublicKey(c, bad(null), 'key'), 'assetId'],
    ['query.storeAsset', (c) => query.storeAsset(c, bad({ id: 'ab', data: {} })), 'id'],
    ['query.storeAssets', (c) => query.storeAssets(c, bad([{ id }, { id, data: 1 }])), '[0].data'],
    ['query.getAsset', (c) => query.getAsset(c, bad({})), 'id'],
    ['query.getAssets', (c) => query.getAssets(c, bad(id)), 'ids'],
    ['query.storeMetadatas', (c) => query.storeMetadatas(c, bad({ id, metadata: {} })), ''],
    ['query.getMetadata', (c) => query.getMetadata(c, bad([null])), 'ids'],
    ['query.textSearch', (c) => query.textSearch(c, bad(3)), 'search'],
    ['query.textSearch', (c) => query.textSearch(c, 'x', bad({ table: 'blocks' })), 'options.table'],
    ['query.textSearch', (c) => query.textSearch(c, 'x', { limit: 0 }), 'options.limit'],
    ['query.textSearch', (c) => query.textSearch(c, 'x', bad({ caseSensitive: 'yes' })), 'options.caseSensitive'],
    ['query.textSearch', (c) => query.textSearch(c, 'x', bad({ language: 1 })), 'options.language'],
    ['query.storeBlock', (c) => query.storeBlock(c, bad({ ...block(1), transactions: ['x'] })), 'transactions[0]'],
    ['query.getBlock', (c) => query.getBlock(c, 1.5), 'height'],
    ['query.listRecords', (c) => query.listRecords(c, bad('changes')), 'table'],
    ['query.listRecords', (c) => query.listRecords(c, 'blocks', bad({ limit: 0 })), 'options.limit'],
    ['query.listRecords', (c) => query.listRecords(c, 'blocks', bad({ after: 'x' })), 'options.after'],
    ['query.getBlockWithTransaction', (c) => query.getBlockWithTransaction(c, bad([id])), 'txid'],
    ['query.storeUnspentOutputs', (c) => query.storeUnspentOutputs(c, [{ ...utxosOf(tx)[0], amount: '-1' }]), '[0].amount'],
    ['query.deleteUnspentOutputs', (c) => query.deleteUnspentOutputs(c, [{ transaction_id: id, output_index: -1 }]), '[0].output_index'],
    ['query.getUnspentOutputs', (c) => query.getUnspentOutputs(c, bad([])), 'filter'],
    ['query.getUnspentOutputs', (c) => query.getUnspentOutputs(c, bad({ public_key: 1 })), 'filter.public_key'],
    ['query.storePreCommitState', (c) => query.storePreCommitState(c, bad({ height: 1 })), 'transactions'],
    ['query.storeValidatorSet', (c) => query.storeValidatorSet(c, bad({ height: 1, validators: {} })), 'validators'],
    ['query.deleteValidatorSet', (c) => query.deleteValidatorSet(c, bad('1')), 'height'],
    ['query.getValidatorSet', (c) => query.getValidatorSet(c, -5), 'height'],
    ['query.storeElection', (c) => query.storeElection(c, '', 1, false), 'election_id'],
    ['query.storeElection', (c) => query.storeElection(c, id, 1, bad('no')), 'is_concluded'],
    ['query.storeElections', (c) => query.storeElections(c, bad([{ election_id: id, height: 1 }])), '[0].is_concluded'],
    ['query.deleteElections', (c) => query.deleteElections(c, NaN), 'height'],
    ['query.getElection', (c) => query.getElection(c, bad(1)), 'electionId'],
    ['query.storeAbciChain', (c) => query.storeAbciChain(c, 1, ''), 'chain_id'],
    ['query.storeAbciChain', (c) => query.storeAbciChain(c, -1, 'chain'), 'height'],
    ['query.deleteAbciChain', (c) => query.deleteAbciChain(c, bad(null)), 'height'],
    ['query.commitBlock', (c) => query.commitBlock(c, block(1), bad('txs')), ''],
    ['query.commitBlock', (c) => query.commitBlock(c, bad({ ...block(1), height: 'one' }), []), 'height'],
    ['schema.createDatabase', (c) => schema.createDatabase(c, ''), 'name'],
    ['schema.createTables', (c) => schema.createTables(c, bad(5)), 'name'],
    ['schema.dropDatabase', (c) => schema.dropDatabase(c, ''), 'name'],
    ['schema.isInitialized', (c) => schema.isInitialized(c, bad({})), 'name'],
    ['admin.reconfigure', (c) => admin.reconfigure(c, { shards: 0, replicas: 1 }), 'options.shards'],
    ['admin.reconfigure', (c) => admin.reconfigure(c, bad(null)), 'options'],
    ['admin.setShards', (c) => admin.setShards(c, 0), 'shards'],
    ['admin.setReplicas', (c) => admin.setReplicas(c, -1), 'replicas'],
    ['admin.addReplicas', (c) => admin.addReplicas(c, []), 'hosts'],
    ['admin.removeReplicas', (c) => admin.removeReplicas(c, ['']), 'hosts'],
    // changefeed.getChangefeed: see the changefeed topic (its failure arrives when awaited).
  ];
  return cases.map(([generic, call, path]) => ({ generic, call, path }));
}

export function describeValidation(ctx: ConformanceContext): void {
  describe('bad arguments', function () {
    it('have a case for every generic that takes arguments', function () {
      const covered = new Set(badCalls().map((c) => c.generic));
      covered.add('changefeed.getChangefeed');
      const generics = Object.keys(coverage(ctx.conn.constructor as typeof Connection));
      expect(generics.filter((name) => !covered.has(name) && !WITHOUT_ARGUMENTS.has(name)), 'generics without a bad-argument case').to.deep.equal([]);
    });

    for (const { generic, call, path } of badCalls()) {
      it(`${generic} rejects with ValidationError at '${path}'`, async function () {
        await expectValidationError(() => call(ctx.conn), path);
      });
    }

    it('leave the database usable and unchanged', async function () {
      const tx = createTx();
      await query.writeTransaction(ctx.conn, tx);
      for (const { call } of badCalls()) await expectValidationError(() => call(ctx.conn));
      expect(await query.getTransaction(ctx.conn, tx.id)).to.deep.equal(tx);
      expect(await schema.isInitialized(ctx.conn)).to.equal(true);
    });
  });
}

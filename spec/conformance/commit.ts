/**
 * The commit protocol (commitBlock) and crash recovery (recover), as docs/design.md section 6
 * defines them, on top of this backend's generics.
 */
import { expect } from './expect';
import { RecoveryError, type Transaction, query, recover } from '../../lib';
import { expectDuplicateKeyError, expectValidationError, rejection } from './assertions';
import { type ConformanceContext, requireFeature } from './context';
import { block, createTx, output, publicKey, spend, transferTx, utxosOf } from './fixtures';

const alice = publicKey('alice');
const bob = publicKey('bob');

/** Block 1: a CREATE with two outputs, committed. */
async function genesis(ctx: ConformanceContext): Promise<{ create: Transaction }> {
  const create = createTx({ owner: alice, outputs: [output([alice], '3'), output([alice], '4')], metadata: { genesis: true } });
  await query.commitBlock(ctx.conn, block(1, [create]), [create]);
  return { create };
}

/** Everything a commit touches, to compare before and after a failure or a recovery. */
async function snapshot(ctx: ConformanceContext, txs: readonly Transaction[]) {
  const ids = txs.map((tx) => tx.id);
  return {
    preCommit: await query.getPreCommitState(ctx.conn),
    latest: await query.getLatestBlock(ctx.conn),
    transactions: await query.getTransactions(ctx.conn, ids),
    metadata: await query.getMetadata(ctx.conn, ids),
    utxos: (await query.getUnspentOutputs(ctx.conn)).sort((a, b) => `${a.transaction_id}${a.output_index}`.localeCompare(`${b.transaction_id}${b.output_index}`)),
  };
}

export function describeCommit(ctx: ConformanceContext): void {
  describe('commitBlock', function () {
    it('stores the pre-commit record, the transactions, the UTXO changes and the block', async function () {
      const { create } = await genesis(ctx);
      const move = transferTx([spend(create, 0)], { outputs: [output([bob], '1'), output([alice], '2')], metadata: { step: 2 } });
      const fresh = createTx({ owner: bob });
      const second = block(2, [move, fresh]);
      await query.commitBlock(ctx.conn, second, [move, fresh]);

      expect(await query.getPreCommitState(ctx.conn)).to.deep.equal({ height: 2, transactions: [move.id, fresh.id] });
      expect(await query.getTransactions(ctx.conn, [create.id, move.id, fresh.id])).to.deep.equal([create, move, fresh]);
      expect(await query.getMetadata(ctx.conn, [move.id])).to.deep.equal([{ id: move.id, metadata: { step: 2 } }]);
      expect(await query.getUnspentOutputs(ctx.conn), 'spent output removed, created outputs added').to.have.deep.members([
        utxosOf(create)[1],
        ...utxosOf(move),
        ...utxosOf(fresh),
      ]);
      expect(await query.getBlock(ctx.conn, 2)).to.deep.equal(second);
      expect(await query.getLatestBlock(ctx.conn)).to.deep.equal(second);
    });

    it('leaves no UTXO for an output created and spent within the same block', async function () {
      const { create } = await genesis(ctx);
      const hop = transferTx([spend(create, 1)], { outputs: [output([bob], '4')] });
      const back = transferTx([spend(hop)], { outputs: [output([alice], '4')] });
      await query.commitBlock(ctx.conn, block(2, [hop, back]), [hop, back]);
      expect(await query.getUnspentOutputs(ctx.conn)).to.have.deep.members([utxosOf(create)[0], ...utxosOf(back)]);
    });

    it('rejects a transaction the block does not list with ValidationError, and writes nothing', async function () {
      await genesis(ctx);
      const listed = createTx();
      const stray = createTx();
      const before = await snapshot(ctx, [listed, stray]);
      await expectValidationError(() => query.commitBlock(ctx.conn, block(2, [listed]), [listed, stray]));
      expect(await snapshot(ctx, [listed, stray])).to.deep.equal(before);
    });

    it('does not store the block when a transaction is a duplicate', async function () {
      const { create } = await genesis(ctx);
      await expectDuplicateKeyError(ctx, () => query.commitBlock(ctx.conn, block(2, [create]), [create]), [create.id]);
      expect(await query.getBlock(ctx.conn, 2)).to.equal(null);
      expect((await query.getLatestBlock(ctx.conn))?.height).to.equal(1);
    });

    it('rejects a height already committed with DuplicateKeyError naming it, keeping the first block', async function () {
      await genesis(ctx);
      const first = await query.getBlock(ctx.conn, 1);
      const late = createTx();
      await expectDuplicateKeyError(ctx, () => query.commitBlock(ctx.conn, block(1, [late]), [late]), [1]);
      expect(await query.getBlock(ctx.conn, 1)).to.deep.equal(first);
    });

    it('writes nothing of a block whose height is already committed, where commits are atomic', async function () {
      requireFeature(this, ctx, 'atomicCommit');
      const { create } = await genesis(ctx);
      const move = transferTx([spend(create, 0)]);
      const before = await snapshot(ctx, [move]);
      await expectDuplicateKeyError(ctx, () => query.commitBlock(ctx.conn, block(1, [move]), [move]), [1]);
      expect(await snapshot(ctx, [move])).to.deep.equal(before);
    });

    it('changes nothing at all when a transaction is a duplicate, where commits are atomic', async function () {
      requireFeature(this, ctx, 'atomicCommit');
      const { create } = await genesis(ctx);
      const fresh = createTx();
      const move = transferTx([spend(create, 0)]);
      const before = await snapshot(ctx, [fresh, move]);
      const commit = () => query.commitBlock(ctx.conn, block(2, [fresh, move, create]), [fresh, move, create]);
      await expectDuplicateKeyError(ctx, commit, [create.id]);
      expect(await snapshot(ctx, [fresh, move])).to.deep.equal(before);
    });
  });

  describe('recover', function () {
    /** Block 2 half-committed: every step of the protocol but the block row. */
    async function crashDuringBlock2(ctx: ConformanceContext, create: Transaction) {
      const move = transferTx([spend(create, 0)], { outputs: [output([bob], '3')], metadata: { lost: true } });
      const orphan = createTx({ owner: bob });
      await query.storePreCommitState(ctx.conn, { height: 2, transactions: [move.id, orphan.id] });
      await query.writeTransactions(ctx.conn, [move, orphan]);
      await query.deleteUnspentOutputs(ctx.conn, [{ transaction_id: create.id, output_index: 0 }]);
      await query.storeUnspentOutputs(ctx.conn, [...utxosOf(move), ...utxosOf(orphan)]);
      await query.storeElection(ctx.conn, move.id, 2, false);
      await query.storeValidatorSet(ctx.conn, { height: 2, validators: [{ power: 1 }] });
      await query.storeAbciChain(ctx.conn, 2, 'chain-next');
      return { move, orphan };
    }

    it('does nothing after a complete commit', async function () {
      await genesis(ctx);
      expect(await recover(ctx.conn)).to.deep.equal({ action: 'none', height: 1, transactions: [] });
    });

    it('rolls back a commit that crashed before its block was stored, and is idempotent', async function () {
      const { create } = await genesis(ctx);
      await query.storeAbciChain(ctx.conn, 1, 'chain-genesis');
      const committed = await snapshot(ctx, [create]);
      const { move, orphan } = await crashDuringBlock2(ctx, create);

      const report = await recover(ctx.conn);
      expect(report.action).to.equal('rolled-back');
      expect(report.height, 'the height rolled back').to.equal(2);
      expect(report.transactions).to.deep.equal([move.id, orphan.id]);

      expect(await query.getTransactions(ctx.conn, [move.id, orphan.id])).to.deep.equal([]);
      expect(await query.getMetadata(ctx.conn, [move.id])).to.deep.equal([]);
      expect(await snapshot(ctx, [create]), 'pre-commit record, block and UTXOs as after block 1').to.deep.equal(committed);
      expect(await query.getElection(ctx.conn, move.id)).to.equal(null);
      expect(await query.getValidatorSet(ctx.conn, 2)).to.equal(null);
      expect(await query.getLatestAbciChain(ctx.conn)).to.deep.equal({ height: 1, chain_id: 'chain-genesis', is_synced: true });

      expect(await recover(ctx.conn)).to.deep.equal({ action: 'none', height: 1, transactions: [] });
    });

    it('rejects a gap of more than one block with RecoveryError and changes nothing', async function () {
      const { create } = await genesis(ctx);
      await query.storePreCommitState(ctx.conn, { height: 5, transactions: [] });
      const before = await snapshot(ctx, [create]);
      await rejection(() => recover(ctx.conn), RecoveryError);
      expect(await snapshot(ctx, [create])).to.deep.equal(before);
    });
  });
}

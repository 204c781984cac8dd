/**
 * Reading transactions by what they touch: getTxidsFiltered (by asset), getSpent and
 * getSpendingTransactions (by spent output), getOwnedIds and getAssetTokensForPublicKey
 * (by owner).
 */
import { expect } from './expect';
import { type Transaction, query } from '../../lib';
import { expectSameIds, idsOf } from './assertions';
import type { ConformanceContext } from './context';
import { createTx, freshId, output, publicKey, ref, spend, transferTx } from './fixtures';

const alice = publicKey('alice');
const bob = publicKey('bob');
const carol = publicKey('carol');

/** Writes `txs` one call each, so "most recently written" follows the array. */
async function writeInOrder(ctx: ConformanceContext, txs: readonly Transaction[]): Promise<void> {
  for (const tx of txs) await query.writeTransaction(ctx.conn, tx);
}

/**
 * A CREATE with two outputs and a TRANSFER of each, in the order to write them: the one to
 * write last has the smaller id, so that ordering by id instead of write order is caught.
 */
function createAndTwoTransfers(): [Transaction, Transaction, Transaction] {
  const create = createTx({ outputs: [output([alice]), output([alice])] });
  const [first, last] = [transferTx([spend(create, 0)]), transferTx([spend(create, 1)])].sort((a, b) => (a.id > b.id ? -1 : 1));
  return [create, first, last];
}

/** An asset's history written one call at a time, interleaved with an unrelated asset's. */
async function assetHistory(ctx: ConformanceContext) {
  const [create, first, last] = createAndTwoTransfers();
  const other = createTx();
  await writeInOrder(ctx, [create, other, first, transferTx([spend(other)]), last]);
  return { create, first, last };
}

export function describeLookups(ctx: ConformanceContext): void {
  describe('getTxidsFiltered', function () {
    it('returns the CREATE and the TRANSFERs of the asset, in write order', async function () {
      const { create, first, last } = await assetHistory(ctx);
      expect(await query.getTxidsFiltered(ctx.conn, create.id)).to.deep.equal([create.id, first.id, last.id]);
    });

    it('narrows by operation', async function () {
      const { create, first, last } = await assetHistory(ctx);
      expect(await query.getTxidsFiltered(ctx.conn, create.id, { operation: 'CREATE' })).to.deep.equal([create.id]);
      expect(await query.getTxidsFiltered(ctx.conn, create.id, { operation: 'TRANSFER' })).to.deep.equal([first.id, last.id]);
    });

    it('returns only the most recently written one with lastTx', async function () {
      const { create, last } = await assetHistory(ctx);
      expect(await query.getTxidsFiltered(ctx.conn, create.id, { lastTx: true })).to.deep.equal([last.id]);
      expect(await query.getTxidsFiltered(ctx.conn, create.id, { operation: 'CREATE', lastTx: true })).to.deep.equal([create.id]);
    });

    it('follows the order of a batch: its last transaction is the most recently written', async function () {
      const [create, first, last] = createAndTwoTransfers();
      await query.writeTransactions(ctx.conn, [create, first, last]);
      expect(await query.getTxidsFiltered(ctx.conn, create.id)).to.deep.equal([create.id, first.id, last.id]);
      expect(await query.getTxidsFiltered(ctx.conn, create.id, { lastTx: true })).to.deep.equal([last.id]);
    });

    it('returns [] for an unknown asset', async function () {
      await assetHistory(ctx);
      expect(await query.getTxidsFiltered(ctx.conn, freshId())).to.deep.equal([]);
      expect(await query.getTxidsFiltered(ctx.conn, freshId(), { lastTx: true })).to.deep.equal([]);
    });
  });

  describe('getSpent', function () {
    it('returns the transactions spending exactly that output', async function () {
      const create = createTx({ outputs: [output([alice]), output([alice]), output([alice])] });
      const spendsFirst = transferTx([spend(create, 0)]);
      const spendsSecond = transferTx([spend(create, 1)]);
      await query.writeTransactions(ctx.conn, [create, spendsFirst, spendsSecond]);
      expect(await query.getSpent(ctx.conn, create.id, 0)).to.deep.equal([spendsFirst]);
      expect(await query.getSpent(ctx.conn, create.id, 1)).to.deep.equal([spendsSecond]);
      expect(await query.getSpent(ctx.conn, create.id, 2), 'an unspent output').to.deep.equal([]);
      expect(await query.getSpent(ctx.conn, spendsFirst.id, 0), 'an output nobody spent').to.deep.equal([]);
    });

    it('finds a transaction spending several outputs by any of its inputs', async function () {
      const a = createTx();
      const b = createTx();
      const merge = transferTx([spend(a), spend(b)]);
      await query.writeTransactions(ctx.conn, [a, b, merge]);
      expect(await query.getSpent(ctx.conn, b.id, 0)).to.deep.equal([merge]);
    });
  });

  describe('getSpendingTransactions', function () {
    it('matches exact (transaction_id, output_index) pairs, never their cross product', async function () {
      const x = createTx({ outputs: [output([alice]), output([alice])] });
      const y = createTx({ outputs: [output([alice]), output([alice])] });
      const [x0, x1, y0, y1] = [spend(x, 0), spend(x, 1), spend(y, 0), spend(y, 1)].map((s) => transferTx([s]));
      await query.writeTransactions(ctx.conn, [x, y, x0, x1, y0, y1]);
      const found = await query.getSpendingTransactions(ctx.conn, [ref(x, 0), ref(y, 1)]);
      expectSameIds(found, [x0.id, y1.id]);
      expect(found.find((tx) => tx.id === x0.id)).to.deep.equal(x0);
    });

    it('handles 1,500 refs in one call', async function () {
      const source = createTx({ outputs: Array.from({ length: 1500 }, () => output([alice])) });
      const spenders = source.outputs.filter((_, i) => i % 2 === 0).map((_, k) => transferTx([spend(source, 2 * k)]));
      await query.writeTransactions(ctx.conn, [source, ...spenders]);
      const refs = source.outputs.map((_, i) => ref(source, i));
      expectSameIds(await query.getSpendingTransactions(ctx.conn, refs), idsOf(spenders));
    });

    it('returns a transaction spending several of the refs once', async function () {
      const x = createTx({ outputs: [output([alice]), output([alice])] });
      const merge = transferTx([spend(x, 0), spend(x, 1)]);
      await query.writeTransactions(ctx.conn, [x, merge]);
      expect(await query.getSpendingTransactions(ctx.conn, [ref(x, 0), ref(x, 1)])).to.deep.equal([merge]);
    });

    it('returns [] for no refs and for unspent outputs', async function () {
      const x = createTx();
      await query.writeTransactions(ctx.conn, [x, transferTx([spend(x)])]);
      expect(await query.getSpendingTransactions(ctx.conn, [])).to.deep.equal([]);
      expect(await query.getSpendingTransactions(ctx.conn, [ref(x, 1), { transaction_id: freshId(), output_index: 0 }])).to.deep.equal([]);
    });
  });

  describe('getOwnedIds', function () {
    it('returns the transactions with an output listing the key, alone or with others', async function () {
      const sole = createTx({ owner: carol });
      const shared = createTx({ outputs: [output([bob]), output([alice, carol])] });
      const signedOnly = transferTx([spend(createTx({ owner: carol }))], { outputs: [output([bob])] });
      const lookalike = createTx({ owner: `${carol}x` });
      await query.writeTransactions(ctx.conn, [sole, shared, signedOnly, lookalike]);
      const owned = await query.getOwnedIds(ctx.conn, carol);
      expectSameIds(owned, [sole.id, shared.id]);
      expect(owned.find((tx) => tx.id === shared.id)).to.deep.equal(shared);
    });

    it('returns a transaction with several outputs listing the key once', async function () {
      const twice = createTx({ outputs: [output([carol], '1'), output([carol, bob], '2'), output([carol], '3')] });
      await query.writeTransaction(ctx.conn, twice);
      expect(await query.getOwnedIds(ctx.conn, carol)).to.deep.equal([twice]);
    });

    it('returns [] for a key that owns nothing', async function () {
      await query.writeTransaction(ctx.conn, createTx({ owner: alice }));
      expect(await query.getOwnedIds(ctx.conn, publicKey('nobody'))).to.deep.equal([]);
    });
  });

  describe('getAssetTokensForPublicKey', function () {
    it('returns the transactions of the asset with an output owned by exactly that key', async function () {
      const create = createTx({ owner: alice, outputs: [output([alice], '5')] });
      const toAliceAndBob = transferTx([spend(create)], { outputs: [output([alice, bob], '5')] });
      const splitToAlice = transferTx([spend(toAliceAndBob)], { outputs: [output([bob], '2'), output([alice], '3')] });
      const toBob = transferTx([spend(splitToAlice, 1)], { outputs: [output([bob], '3')] });
      const otherAsset = createTx({ owner: alice });
      await query.writeTransactions(ctx.conn, [create, toAliceAndBob, splitToAlice, toBob, otherAsset]);
      const tokens = await query.getAssetTokensForPublicKey(ctx.conn, create.id, alice);
      expectSameIds(tokens, [create.id, splitToAlice.id]);
      expect(tokens.find((tx) => tx.id === splitToAlice.id)).to.deep.equal(splitToAlice);
      expectSameIds(await query.getAssetTokensForPublicKey(ctx.conn, create.id, bob), [splitToAlice.id, toBob.id]);
    });

    it('returns a transaction with several outputs owned by exactly the key once', async function () {
      const create = createTx({ owner: alice, outputs: [output([alice], '1'), output([alice], '2')] });
      await query.writeTransaction(ctx.conn, create);
      expect(await query.getAssetTokensForPublicKey(ctx.conn, create.id, alice)).to.deep.equal([create]);
    });

    it('returns [] for an unknown asset or a key owning none of it', async function () {
      const create = createTx({ owner: alice });
      await query.writeTransaction(ctx.conn, create);
      expect(await query.getAssetTokensForPublicKey(ctx.conn, freshId(), alice)).to.deep.equal([]);
      expect(await query.getAssetTokensForPublicKey(ctx.conn, create.id, carol)).to.deep.equal([]);
    });
  });
}

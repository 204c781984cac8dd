/**
 * Storing, reading and deleting whole transactions: writeTransaction, writeTransactions,
 * getTransaction, getTransactions, deleteTransactions.
 */
import { expect } from './expect';
import { DuplicateKeyError, MAX_BATCH, type Transaction, query } from '../../lib';
import { expectDuplicateKeyError, expectValidationError, idsOf } from './assertions';
import { type ConformanceContext, requireFeature } from './context';
import { assetData, createTx, freshId, output, publicKey, spend, transferTx } from './fixtures';

/** A CREATE whose fields exercise what a backend must keep exactly: nesting, unicode, big amounts. */
function richCreate(): Transaction {
  const alice = publicKey('alice');
  return createTx({
    data: { name: 'Ünïcødé ☕ "quoted" \\ back\nslash', nested: { list: [1, 2.5, -3, true, null, { deep: 'x' }] }, empty: {}, none: [] },
    metadata: { note: 'first', tags: ['a', 'b'], count: 0, ratio: 0.125 },
    outputs: [output([alice], '1000000000000000000000'), output([publicKey('bob'), publicKey('carol')], '7')],
  });
}

/** Expects none of `txs` to be stored, nor their asset data nor metadata. */
async function expectNoneStored(ctx: ConformanceContext, txs: readonly Transaction[]): Promise<void> {
  const ids = idsOf(txs);
  expect(idsOf(await query.getTransactions(ctx.conn, ids)), 'transactions').to.deep.equal([]);
  expect(await query.getAssets(ctx.conn, ids), 'asset data').to.deep.equal([]);
  expect(await query.getMetadata(ctx.conn, ids), 'metadata').to.deep.equal([]);
}

export function describeTransactions(ctx: ConformanceContext): void {
  describe('writeTransaction / getTransaction', function () {
    it('returns the whole transaction deep-equal to what was written', async function () {
      const tx = richCreate();
      await query.writeTransaction(ctx.conn, structuredClone(tx));
      expect(await query.getTransaction(ctx.conn, tx.id)).to.deep.equal(tx);
    });

    it('round-trips a TRANSFER, a string, an object and a null fulfillment, and null asset data', async function () {
      const create = createTx({ data: null });
      const transfer = transferTx([spend(create)], { metadata: { reason: 'sale' } });
      transfer.inputs[0].fulfillment = { type: 'ed25519-sha-256', signature: 'abc' };
      const vote: Transaction = { ...transferTx([spend(create)]), operation: 'VOTE' };
      vote.inputs[0].fulfillment = null;
      for (const tx of [create, transfer, vote]) await query.writeTransaction(ctx.conn, structuredClone(tx));
      for (const tx of [create, transfer, vote]) expect(await query.getTransaction(ctx.conn, tx.id)).to.deep.equal(tx);
    });

    it('stores the asset data of a CREATE and the metadata of any transaction with it', async function () {
      const create = createTx({ data: { serial: 'S-1' }, metadata: { step: 1 } });
      const transfer = transferTx([spend(create)], { metadata: { step: 2 } });
      await query.writeTransaction(ctx.conn, create);
      await query.writeTransaction(ctx.conn, transfer);
      expect(await query.getAsset(ctx.conn, create.id)).to.deep.equal({ id: create.id, data: { serial: 'S-1' } });
      expect(await query.getAsset(ctx.conn, transfer.id), 'a TRANSFER makes no asset').to.equal(null);
      expect(await query.getMetadata(ctx.conn, [create.id, transfer.id])).to.deep.equal([
        { id: create.id, metadata: { step: 1 } },
        { id: transfer.id, metadata: { step: 2 } },
      ]);
    });

    it('round-trips strings with NUL, emoji, right-to-left and combining characters, and top-level scalar metadata', async function () {
      const strings = ['nul\u0000inside', 'emoji 🧾💸', 'עברית مرحبا', 'e\u0301 combining', '\u2028 line separator'];
      const txs = [createTx({ data: { strings }, metadata: strings }), createTx({ data: 'plain string', metadata: 42 }), createTx({ metadata: 'note' })];
      await query.writeTransactions(ctx.conn, structuredClone(txs));
      expect(await query.getTransactions(ctx.conn, idsOf(txs))).to.deep.equal(txs);
    });

    it('returns null for an unknown id', async function () {
      expect(await query.getTransaction(ctx.conn, freshId())).to.equal(null);
    });

    it('rejects an id already stored with DuplicateKeyError naming it, and keeps the first', async function () {
      const tx = createTx({ data: { version: 'first' } });
      await query.writeTransaction(ctx.conn, tx);
      const again = { ...createTx({ data: { version: 'second' } }), id: tx.id };
      await expectDuplicateKeyError(ctx, () => query.writeTransaction(ctx.conn, again), [tx.id]);
      expect(await query.getTransaction(ctx.conn, tx.id)).to.deep.equal(tx);
    });

    it('rejects a malformed transaction with ValidationError naming the field, and writes nothing', async function () {
      const tx = createTx();
      const bad = { ...tx, outputs: [{ ...tx.outputs[0], amount: 1 }] };
      await expectValidationError(() => query.writeTransaction(ctx.conn, bad as never), 'outputs[0].amount');
      await expectNoneStored(ctx, [tx]);
    });
  });

  describe('writeTransactions', function () {
    it('stores every transaction of a batch', async function () {
      const create = createTx({ metadata: { n: 1 } });
      const txs = [create, transferTx([spend(create)], { metadata: { n: 2 } }), createTx()];
      await query.writeTransactions(ctx.conn, txs);
      expect(await query.getTransactions(ctx.conn, idsOf(txs))).to.deep.equal(txs);
    });

    it('accepts an empty batch as a no-op', async function () {
      const stored = createTx();
      await query.writeTransaction(ctx.conn, stored);
      await query.writeTransactions(ctx.conn, []);
      expect(await query.getTransactions(ctx.conn, [stored.id])).to.deep.equal([stored]);
    });

    it('stores a batch of 3,000 and reads it back in one call', async function () {
      const txs = Array.from({ length: 3000 }, () => createTx());
      await query.writeTransactions(ctx.conn, txs);
      const read = await query.getTransactions(ctx.conn, idsOf(txs));
      expect(idsOf(read)).to.deep.equal(idsOf(txs));
      expect(read[2999]).to.deep.equal(txs[2999]);
    });

    it(`rejects more than ${MAX_BATCH.toLocaleString('en')} transactions with ValidationError`, async function () {
      const tx = createTx();
      await expectValidationError(() => query.writeTransactions(ctx.conn, new Array<Transaction>(MAX_BATCH + 1).fill(tx)));
      await expectNoneStored(ctx, [tx]);
    });

    it('lands every one of many concurrent calls on one connection', async function () {
      const txs = Array.from({ length: 40 }, () => createTx());
      await Promise.all(txs.map((tx, i) => (i % 2 ? query.writeTransaction(ctx.conn, tx) : query.writeTransactions(ctx.conn, [tx]))));
      expect(await query.getTransactions(ctx.conn, idsOf(txs))).to.deep.equal(txs);
    });

    it('lets exactly one of two concurrent writes of the same id win', async function () {
      const tx = createTx();
      const outcomes = await Promise.allSettled([query.writeTransaction(ctx.conn, tx), query.writeTransactions(ctx.conn, [{ ...tx }, createTx()])]);
      const rejected = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      expect(rejected, 'rejected writes').to.have.length(1);
      expect(rejected[0].reason).to.be.an.instanceOf(DuplicateKeyError);
      expect(await query.getTransaction(ctx.conn, tx.id)).to.deep.equal(tx);
    });

    describe('with an id already stored', function () {
      function batchAround(stored: Transaction): Transaction[] {
        return [createTx({ metadata: { n: 1 } }), { ...stored }, createTx({ metadata: { n: 3 } })];
      }

      it('rejects with DuplicateKeyError listing exactly the duplicate ids', async function () {
        const stored = createTx();
        await query.writeTransaction(ctx.conn, stored);
        await expectDuplicateKeyError(ctx, () => query.writeTransactions(ctx.conn, batchAround(stored)), [stored.id], { exact: true });
      });

      it('writes nothing of the batch', async function () {
        requireFeature(this, ctx, 'atomicBulkWrite');
        const stored = createTx();
        await query.writeTransaction(ctx.conn, stored);
        const batch = batchAround(stored);
        await expectDuplicateKeyError(ctx, () => query.writeTransactions(ctx.conn, batch), [stored.id]);
        await expectNoneStored(ctx, [batch[0], batch[2]]);
        expect(await query.getTransaction(ctx.conn, stored.id), 'the stored one is untouched').to.deep.equal(stored);
      });
    });

    describe('with an id repeated within the batch', function () {
      it('rejects with DuplicateKeyError listing the repeated id', async function () {
        const twice = createTx();
        const batch = [twice, createTx(), { ...twice }];
        await expectDuplicateKeyError(ctx, () => query.writeTransactions(ctx.conn, batch), [twice.id], { exact: true });
      });

      it('writes nothing of the batch', async function () {
        requireFeature(this, ctx, 'atomicBulkWrite');
        const twice = createTx({ metadata: { n: 1 } });
        const batch = [createTx(), twice, { ...twice }];
        await expectDuplicateKeyError(ctx, () => query.writeTransactions(ctx.conn, batch), [twice.id]);
        await expectNoneStored(ctx, batch);
      });
    });

    it('rejects a batch with one malformed record with ValidationError at its index, and writes nothing', async function () {
      const good = [createTx(), createTx()];
      const bad = { ...createTx(), inputs: 'none' } as never;
      const error = await expectValidationError(() => query.writeTransactions(ctx.conn, [good[0], bad, good[1]]), '[1]');
      expect(error.path).to.equal('[1].inputs');
      await expectNoneStored(ctx, good);
    });
  });

  describe('getTransactions', function () {
    it('returns the stored ones in the order of the ids, skipping unknown ids', async function () {
      const [a, b, c] = [createTx(), createTx(), createTx()];
      await query.writeTransactions(ctx.conn, [a, b, c]);
      const read = await query.getTransactions(ctx.conn, [c.id, freshId(), a.id, b.id]);
      expect(read).to.deep.equal([c, a, b]);
    });

    it('returns [] for no ids', async function () {
      await query.writeTransaction(ctx.conn, createTx());
      expect(await query.getTransactions(ctx.conn, [])).to.deep.equal([]);
    });
  });

  describe('deleteTransactions', function () {
    it('removes the transactions with their asset data and metadata, and nothing else', async function () {
      const doomed = createTx({ metadata: { doomed: true } });
      const kept = createTx({ metadata: { kept: true } });
      await query.writeTransactions(ctx.conn, [doomed, kept]);
      await query.deleteTransactions(ctx.conn, [doomed.id, freshId()]);
      await expectNoneStored(ctx, [doomed]);
      expect(await query.getTransaction(ctx.conn, kept.id)).to.deep.equal(kept);
      expect(await query.getAsset(ctx.conn, kept.id)).to.deep.equal({ id: kept.id, data: assetData(kept) });
      expect(await query.getMetadata(ctx.conn, [kept.id])).to.deep.equal([{ id: kept.id, metadata: kept.metadata }]);
    });

    it('deleting a TRANSFER keeps the asset data of the CREATE it moves', async function () {
      const create = createTx({ data: { serial: 'KEEP' } });
      const transfer = transferTx([spend(create)], { metadata: { doomed: true } });
      await query.writeTransactions(ctx.conn, [create, transfer]);
      await query.deleteTransactions(ctx.conn, [transfer.id]);
      await expectNoneStored(ctx, [transfer]);
      expect(await query.getAsset(ctx.conn, create.id)).to.deep.equal({ id: create.id, data: { serial: 'KEEP' } });
      expect(await query.getTransaction(ctx.conn, create.id)).to.deep.equal(create);
    });

    it('lets a deleted id be written again', async function () {
      const tx = createTx();
      await query.writeTransaction(ctx.conn, tx);
      await query.deleteTransactions(ctx.conn, [tx.id]);
      await query.writeTransaction(ctx.conn, tx);
      expect(await query.getTransaction(ctx.conn, tx.id)).to.deep.equal(tx);
    });

    it('accepts an empty list as a no-op', async function () {
      const tx = createTx();
      await query.writeTransaction(ctx.conn, tx);
      await query.deleteTransactions(ctx.conn, []);
      expect(await query.getTransaction(ctx.conn, tx.id)).to.deep.equal(tx);
    });
  });
}

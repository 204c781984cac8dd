/**
 * The UTXO set: storeUnspentOutputs, deleteUnspentOutputs, getUnspentOutputs and its filters.
 */
import { expect } from './expect';
import { type Utxo, query } from '../../lib';
import type { ConformanceContext } from './context';
import { createTx, freshId, output, publicKey, ref, spend, transferTx, utxoRef, utxosOf } from './fixtures';

const alice = publicKey('alice');
const bob = publicKey('bob');
const carol = publicKey('carol');

/** Compares UTXO lists as sets: the order of getUnspentOutputs is not part of the contract. */
function expectUtxos(actual: readonly Utxo[], expected: readonly Utxo[]): void {
  expect(actual).to.have.deep.members([...expected]);
}

/** Two assets, their transactions stored and all their outputs unspent. */
async function ledgerWithOutputs(ctx: ConformanceContext) {
  const first = createTx({ owner: alice, outputs: [output([alice], '2'), output([bob, carol], '3')] });
  const moved = transferTx([spend(first, 0)], { outputs: [output([carol], '2')] });
  const second = createTx({ owner: bob, outputs: [output([bob], '9')] });
  const txs = [first, moved, second];
  await query.writeTransactions(ctx.conn, txs);
  await query.storeUnspentOutputs(ctx.conn, txs.flatMap(utxosOf));
  return { first, moved, second };
}

export function describeUtxos(ctx: ConformanceContext): void {
  describe('storeUnspentOutputs / getUnspentOutputs', function () {
    it('returns every stored output without a filter', async function () {
      const { first, moved, second } = await ledgerWithOutputs(ctx);
      expectUtxos(await query.getUnspentOutputs(ctx.conn), [...utxosOf(first), ...utxosOf(moved), ...utxosOf(second)]);
      expectUtxos(await query.getUnspentOutputs(ctx.conn, {}), [...utxosOf(first), ...utxosOf(moved), ...utxosOf(second)]);
    });

    it('filters by transaction_id', async function () {
      const { first } = await ledgerWithOutputs(ctx);
      expectUtxos(await query.getUnspentOutputs(ctx.conn, { transaction_id: first.id }), utxosOf(first));
    });

    it('filters by asset_id', async function () {
      const { first, moved, second } = await ledgerWithOutputs(ctx);
      expectUtxos(await query.getUnspentOutputs(ctx.conn, { asset_id: first.id }), [...utxosOf(first), ...utxosOf(moved)]);
      expectUtxos(await query.getUnspentOutputs(ctx.conn, { asset_id: second.id }), utxosOf(second));
    });

    it('filters by public_key: outputs whose transaction output lists the key', async function () {
      const { first, moved, second } = await ledgerWithOutputs(ctx);
      expectUtxos(await query.getUnspentOutputs(ctx.conn, { public_key: carol }), [utxosOf(first)[1], ...utxosOf(moved)]);
      expectUtxos(await query.getUnspentOutputs(ctx.conn, { public_key: bob }), [utxosOf(first)[1], ...utxosOf(second)]);
      expectUtxos(await query.getUnspentOutputs(ctx.conn, { public_key: alice }), [utxosOf(first)[0]]);
    });

    it('applies every given filter field together', async function () {
      const { first, second } = await ledgerWithOutputs(ctx);
      expectUtxos(await query.getUnspentOutputs(ctx.conn, { transaction_id: first.id, public_key: bob }), [utxosOf(first)[1]]);
      expectUtxos(await query.getUnspentOutputs(ctx.conn, { asset_id: second.id, public_key: carol }), []);
      expectUtxos(await query.getUnspentOutputs(ctx.conn, { transaction_id: second.id, asset_id: first.id }), []);
    });

    it('returns [] for filters that match nothing', async function () {
      await ledgerWithOutputs(ctx);
      expect(await query.getUnspentOutputs(ctx.conn, { transaction_id: freshId() })).to.deep.equal([]);
      expect(await query.getUnspentOutputs(ctx.conn, { asset_id: freshId() })).to.deep.equal([]);
      expect(await query.getUnspentOutputs(ctx.conn, { public_key: publicKey('nobody') })).to.deep.equal([]);
    });

    it('replaces an output stored again under the same reference', async function () {
      const tx = createTx();
      const [utxo] = utxosOf(tx);
      await query.storeUnspentOutputs(ctx.conn, [utxo]);
      await query.storeUnspentOutputs(ctx.conn, [{ ...utxo, amount: '42' }]);
      expectUtxos(await query.getUnspentOutputs(ctx.conn), [{ ...utxo, amount: '42' }]);
    });

    it('accepts an empty list as a no-op', async function () {
      const { first } = await ledgerWithOutputs(ctx);
      await query.storeUnspentOutputs(ctx.conn, []);
      expectUtxos(await query.getUnspentOutputs(ctx.conn, { transaction_id: first.id }), utxosOf(first));
    });
  });

  describe('deleteUnspentOutputs', function () {
    it('removes exactly the referenced outputs, never their cross product', async function () {
      const x = createTx({ outputs: [output([alice]), output([alice])] });
      const y = createTx({ outputs: [output([alice]), output([alice])] });
      await query.storeUnspentOutputs(ctx.conn, [...utxosOf(x), ...utxosOf(y)]);
      await query.deleteUnspentOutputs(ctx.conn, [ref(x, 0), ref(y, 1)]);
      expectUtxos(await query.getUnspentOutputs(ctx.conn), [utxosOf(x)[1], utxosOf(y)[0]]);
    });

    it('handles 1,500 outputs in one call each way', async function () {
      const big = createTx({ outputs: Array.from({ length: 1500 }, (_, i) => output([i % 2 ? alice : bob], String(i + 1))) });
      await query.storeUnspentOutputs(ctx.conn, utxosOf(big));
      expect(await query.getUnspentOutputs(ctx.conn, { transaction_id: big.id })).to.have.length(1500);
      await query.deleteUnspentOutputs(ctx.conn, utxosOf(big).filter((u) => u.output_index % 3 !== 0).map(utxoRef));
      expectUtxos(await query.getUnspentOutputs(ctx.conn), utxosOf(big).filter((u) => u.output_index % 3 === 0));
    });

    it('ignores references to outputs not in the set', async function () {
      const x = createTx();
      await query.storeUnspentOutputs(ctx.conn, utxosOf(x));
      await query.deleteUnspentOutputs(ctx.conn, [ref(x, 1), { transaction_id: freshId(), output_index: 0 }]);
      expectUtxos(await query.getUnspentOutputs(ctx.conn), utxosOf(x));
    });

    it('accepts an empty list as a no-op', async function () {
      const x = createTx();
      await query.storeUnspentOutputs(ctx.conn, utxosOf(x));
      await query.deleteUnspentOutputs(ctx.conn, []);
      expectUtxos(await query.getUnspentOutputs(ctx.conn), utxosOf(x));
      await query.deleteUnspentOutputs(ctx.conn, utxosOf(x).map(utxoRef));
      expectUtxos(await query.getUnspentOutputs(ctx.conn), []);
    });
  });
}

/**
 * Strings shaped like SQL, MongoDB operators, ReQL, LIKE patterns or regular expressions
 * are data: reads find nothing with them (not everything), writes store them verbatim,
 * and every table still works afterwards.
 */
import { expect } from './expect';
import { query } from '../../lib';
import { expectSameIds } from './assertions';
import type { ConformanceContext } from './context';
import { block, createTx, output, publicKey, spend, transferTx, utxosOf } from './fixtures';

const INJECTIONS = [
  "'; DROP TABLE transactions; --",
  "' OR '1'='1",
  '" OR ""="',
  '{"$gt": ""}',
  '{"$ne": null}',
  "r.db('x')",
  "r.table('transactions').delete()",
  '%',
  '_',
  '.*',
  '\\',
  '*',
];

/** A small ledger the injections must not disturb: what a read of everything would return. */
async function seedLedger(ctx: ConformanceContext) {
  const alice = publicKey('alice');
  const create = createTx({ owner: alice, metadata: { note: 'seed' } });
  const move = transferTx([spend(create)], { outputs: [output([alice])] });
  await query.commitBlock(ctx.conn, block(1, [create, move]), [create, move]);
  await query.storeElection(ctx.conn, create.id, 1, false);
  return { create, move };
}

type Ledger = Awaited<ReturnType<typeof seedLedger>>;

async function expectLedgerIntact(ctx: ConformanceContext, { create, move }: Ledger): Promise<void> {
  expect(await query.getTransactions(ctx.conn, [create.id, move.id])).to.deep.equal([create, move]);
  expect((await query.getLatestBlock(ctx.conn))?.height).to.equal(1);
  expect(await query.getUnspentOutputs(ctx.conn), 'the outputs of the TRANSFER').to.have.deep.members(utxosOf(move));
  expect(await query.getElection(ctx.conn, create.id)).to.deep.equal({ election_id: create.id, height: 1, is_concluded: false });
}

export function describeInjection(ctx: ConformanceContext): void {
  describe('injection-shaped strings', function () {
    it('in reads by id, key or filter find nothing, and change nothing', async function () {
      const ledger = await seedLedger(ctx);
      const { create } = ledger;
      for (const s of INJECTIONS) {
        const label = JSON.stringify(s);
        expect(await query.getTransaction(ctx.conn, s), `getTransaction(${label})`).to.equal(null);
        expect(await query.getTransactions(ctx.conn, [s]), `getTransactions([${label}])`).to.deep.equal([]);
        expect(await query.getTxidsFiltered(ctx.conn, s), `getTxidsFiltered(${label})`).to.deep.equal([]);
        expect(await query.getTxidsFiltered(ctx.conn, create.id, { operation: s as never }), `getTxidsFiltered(operation: ${label})`).to.deep.equal([]);
        expect(await query.getSpent(ctx.conn, s, 0), `getSpent(${label})`).to.deep.equal([]);
        expect(await query.getOwnedIds(ctx.conn, s), `getOwnedIds(${label})`).to.deep.equal([]);
        expect(await query.getAssetTokensForPublicKey(ctx.conn, create.id, s), `getAssetTokensForPublicKey(key ${label})`).to.deep.equal([]);
        expect(await query.getAssetTokensForPublicKey(ctx.conn, s, s), `getAssetTokensForPublicKey(${label})`).to.deep.equal([]);
        expect(await query.getAsset(ctx.conn, s), `getAsset(${label})`).to.equal(null);
        expect(await query.getAssets(ctx.conn, [s]), `getAssets([${label}])`).to.deep.equal([]);
        expect(await query.getMetadata(ctx.conn, [s]), `getMetadata([${label}])`).to.deep.equal([]);
        expect(await query.getBlockWithTransaction(ctx.conn, s), `getBlockWithTransaction(${label})`).to.deep.equal([]);
        for (const field of ['transaction_id', 'public_key', 'asset_id'] as const) {
          expect(await query.getUnspentOutputs(ctx.conn, { [field]: s }), `getUnspentOutputs(${field}: ${label})`).to.deep.equal([]);
        }
        expect(await query.getElection(ctx.conn, s), `getElection(${label})`).to.equal(null);
        await query.deleteTransactions(ctx.conn, [s]);
      }
      await expectLedgerIntact(ctx, ledger);
    });

    it('in written records are stored verbatim and matched exactly', async function () {
      const ledger = await seedLedger(ctx);
      for (const s of INJECTIONS) {
        const label = JSON.stringify(s);
        const owned = createTx({ owner: s, data: { text: s }, metadata: { text: s } });
        await query.writeTransaction(ctx.conn, owned);
        expect(await query.getTransaction(ctx.conn, owned.id), `transaction holding ${label}`).to.deep.equal(owned);
        expectSameIds(await query.getOwnedIds(ctx.conn, s), [owned.id]);
        await query.storeElection(ctx.conn, s, 7, true);
        expect(await query.getElection(ctx.conn, s), `election ${label}`).to.deep.equal({ election_id: s, height: 7, is_concluded: true });
        await query.storeAbciChain(ctx.conn, 7, s);
        expect(await query.getLatestAbciChain(ctx.conn), `abci chain ${label}`).to.deep.equal({ height: 7, chain_id: s, is_synced: true });
        await query.deleteTransactions(ctx.conn, [owned.id]);
      }
      await expectLedgerIntact(ctx, ledger);
    });
  });
}

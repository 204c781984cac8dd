/**
 * What BigchainDB's own backend tests and transactions built by its official driver need
 * of every backend: a metadata record for every transaction, outputs that name no key,
 * unique ABCI chain ids, and the same answer on every engine for fields that would not
 * survive storage (unknown fields, half a surrogate pair).
 */
import { expect } from './expect';
import { type Transaction, type TransactionOutput, query, recover, utxosOf } from '../../lib';
import { expectDuplicateKeyError, expectValidationError, idsOf } from './assertions';
import type { ConformanceContext } from './context';
import { block, createTx, freshId, output, publicKey, spend, transferTx } from './fixtures';

const alice = publicKey('alice');
const bob = publicKey('bob');

/** An output whose condition names no key, as the driver makes for a preimage condition. */
function keylessOutput(publicKeys: [] | null, amount = '1'): TransactionOutput {
  return {
    public_keys: publicKeys,
    amount,
    condition: { details: { type: 'preimage-sha-256', preimage: 'c2VjcmV0' }, uri: 'ni:///sha-256;K2Ck6dJ8pnyrqEBBo2kTdjRLtWIAxYcjXrSsvbr1vQw?fpt=preimage-sha-256&cost=6' },
  };
}

/** What {@link ledgerState} reads on an empty database. */
const EMPTY_LEDGER = { transactions: [], metadata: [], block: null, utxos: [], validators: null, chain: null, preCommit: null };

/** Everything a refused write could have touched, to compare with {@link EMPTY_LEDGER}. */
async function ledgerState(ctx: ConformanceContext, txids: string[]) {
  return {
    transactions: await query.getTransactions(ctx.conn, txids),
    metadata: await query.getMetadata(ctx.conn, txids),
    block: await query.getLatestBlock(ctx.conn),
    utxos: await query.getUnspentOutputs(ctx.conn),
    validators: await query.getValidatorSet(ctx.conn),
    chain: await query.getLatestAbciChain(ctx.conn),
    preCommit: await query.getPreCommitState(ctx.conn),
  };
}

export function describeBigchainDbParity(ctx: ConformanceContext): void {
  describe('BigchainDB parity', function () {
    describe('a metadata record for every transaction', function () {
      it('keeps { id, metadata: null } for a transaction written without metadata, by every write path', async function () {
        const one = createTx();
        const many = [createTx(), createTx({ metadata: { note: 'kept' } })];
        const committed = createTx({ owner: bob });
        await query.writeTransaction(ctx.conn, one);
        await query.writeTransactions(ctx.conn, many);
        await query.commitBlock(ctx.conn, block(1, [committed]), [committed]);
        expect(await query.getMetadata(ctx.conn, [one.id, ...idsOf(many), committed.id])).to.deep.equal([
          { id: one.id, metadata: null },
          { id: many[0].id, metadata: null },
          { id: many[1].id, metadata: { note: 'kept' } },
          { id: committed.id, metadata: null },
        ]);
      });

      it('agrees with storeMetadatas, which keeps a null metadata record too', async function () {
        const tx = createTx();
        const id = freshId();
        await query.writeTransaction(ctx.conn, tx);
        await query.storeMetadatas(ctx.conn, [{ id, metadata: null }]);
        expect(await query.getMetadata(ctx.conn, [tx.id, id])).to.deep.equal([
          { id: tx.id, metadata: null },
          { id, metadata: null },
        ]);
      });

      it('deletes it with the transaction', async function () {
        const tx = createTx();
        await query.writeTransaction(ctx.conn, tx);
        await query.deleteTransactions(ctx.conn, [tx.id]);
        expect(await query.getMetadata(ctx.conn, [tx.id])).to.deep.equal([]);
      });

      it('deletes it when recover() rolls back a half-committed block', async function () {
        const genesis = createTx();
        await query.commitBlock(ctx.conn, block(1, [genesis]), [genesis]);
        const lost = transferTx([spend(genesis)]);
        await query.storePreCommitState(ctx.conn, { height: 2, transactions: [lost.id] });
        await query.writeTransactions(ctx.conn, [lost]);
        expect(await query.getMetadata(ctx.conn, [lost.id]), 'written by the half commit').to.deep.equal([{ id: lost.id, metadata: null }]);
        expect((await recover(ctx.conn)).action).to.equal('rolled-back');
        expect(await query.getMetadata(ctx.conn, [lost.id])).to.deep.equal([]);
        expect(await query.getMetadata(ctx.conn, [genesis.id]), 'the committed one stays').to.deep.equal([{ id: genesis.id, metadata: null }]);
      });
    });

    describe('outputs whose condition names no key (public_keys [] or null)', function () {
      it('stores and returns them as written, and key lookups never match them', async function () {
        const tx = createTx({ outputs: [keylessOutput([]), keylessOutput(null, '2'), output([alice], '3')] });
        await query.writeTransaction(ctx.conn, tx);
        expect(await query.getTransaction(ctx.conn, tx.id)).to.deep.equal(tx);
        expect(idsOf(await query.getOwnedIds(ctx.conn, alice)), 'the keyed output still matches').to.deep.equal([tx.id]);
        expect(await query.getOwnedIds(ctx.conn, '')).to.deep.equal([]);
        expect(idsOf(await query.getAssetTokensForPublicKey(ctx.conn, tx.id, alice))).to.deep.equal([tx.id]);
        await query.deleteTransactions(ctx.conn, [tx.id]);
        expect(await query.getTransaction(ctx.conn, tx.id)).to.equal(null);
        expect(await query.getOwnedIds(ctx.conn, alice)).to.deep.equal([]);
      });

      it('commits them into the UTXO set, and a TRANSFER spends one', async function () {
        const create = createTx({ outputs: [keylessOutput(null), keylessOutput([])] });
        await query.commitBlock(ctx.conn, block(1, [create]), [create]);
        expect(await query.getUnspentOutputs(ctx.conn, { transaction_id: create.id })).to.deep.equal(utxosOf(create));
        expect(await query.getUnspentOutputs(ctx.conn, { public_key: alice }), 'no key, no owner').to.deep.equal([]);
        const move = transferTx([spend(create, 1)], { outputs: [output([bob])] });
        await query.commitBlock(ctx.conn, block(2, [move]), [move]);
        expect(await query.getUnspentOutputs(ctx.conn, { transaction_id: create.id })).to.deep.equal([utxosOf(create)[0]]);
        expect(idsOf(await query.getSpent(ctx.conn, create.id, 1))).to.deep.equal([move.id]);
      });
    });

    describe('ABCI chain ids are unique', function () {
      it('refuses a chain id stored at another height with DuplicateKeyError, and changes nothing', async function () {
        await query.storeAbciChain(ctx.conn, 1, 'chain-A');
        const error = await expectDuplicateKeyError(ctx, () => query.storeAbciChain(ctx.conn, 2, 'chain-A'), ['chain-A'], { exact: true });
        expect(error.message).to.include('chain-A');
        expect(await query.getLatestAbciChain(ctx.conn)).to.deep.equal({ height: 1, chain_id: 'chain-A', is_synced: true });
      });

      it('still upserts by height: the same chain at its own height, or a new chain id there', async function () {
        await query.storeAbciChain(ctx.conn, 1, 'chain-A', false);
        await query.storeAbciChain(ctx.conn, 1, 'chain-A', true);
        expect(await query.getLatestAbciChain(ctx.conn)).to.deep.equal({ height: 1, chain_id: 'chain-A', is_synced: true });
        await query.storeAbciChain(ctx.conn, 1, 'chain-B');
        await query.storeAbciChain(ctx.conn, 2, 'chain-A');
        expect(await query.getLatestAbciChain(ctx.conn), 'chain-A was free again once height 1 moved on').to.deep.equal({ height: 2, chain_id: 'chain-A', is_synced: true });
        await query.deleteAbciChain(ctx.conn, 2);
        await query.storeAbciChain(ctx.conn, 3, 'chain-A');
        expect(await query.getLatestAbciChain(ctx.conn)).to.deep.equal({ height: 3, chain_id: 'chain-A', is_synced: true });
      });
    });

    describe('unknown fields are refused, never dropped', function () {
      const withExtra = <T extends object>(record: T, extra: Record<string, unknown>) => ({ ...record, ...extra }) as never;

      it('refuses a field a record type does not define, names it, and writes nothing', async function () {
        const create = createTx();
        const utxo = utxosOf(create)[0];
        const refused: [() => Promise<unknown>, string][] = [
          [() => query.storeValidatorSet(ctx.conn, withExtra({ height: 3, validators: [] }, { election_id: freshId() })), 'election_id'],
          [() => query.storeBlock(ctx.conn, withExtra(block(1, [create]), { proposer: alice })), 'proposer'],
          [() => query.storeUnspentOutputs(ctx.conn, [withExtra(utxo, { public_keys: [alice] })]), '[0].public_keys'],
          [() => query.storePreCommitState(ctx.conn, withExtra({ height: 1, transactions: [] }, { note: 'x' })), 'note'],
          [() => query.storeElections(ctx.conn, [withExtra({ election_id: freshId(), height: 1, is_concluded: false }, { votes: 2 })]), '[0].votes'],
          [() => query.storeAssets(ctx.conn, [withExtra({ id: create.id, data: {} }, { owner: alice })]), '[0].owner'],
          [() => query.storeMetadatas(ctx.conn, [withExtra({ id: create.id, metadata: null }, { data: {} })]), '[0].data'],
          [() => query.writeTransaction(ctx.conn, withExtra(create, { signature: 'x' })), 'signature'],
          [() => query.commitBlock(ctx.conn, withExtra(block(1, [create]), { proposer: alice }), [create]), 'proposer'],
        ];
        for (const [write, path] of refused) {
          const error = await expectValidationError(write);
          expect(error.path).to.equal(path);
          expect(error.message).to.include('not a field');
        }
        expect(await ledgerState(ctx, [create.id])).to.deep.equal(EMPTY_LEDGER);
        expect(await query.getAsset(ctx.conn, create.id)).to.equal(null);
      });
    });

    describe('strings that no engine could store as written', function () {
      const loneHigh = 'elect\uD800';
      const loneLow = 'elect\uDC01';

      it('refuses half a surrogate pair in every string field with ValidationError naming it, before anything is written', async function () {
        const tx = (change: (t: Transaction) => void) => {
          const t = createTx();
          change(t);
          return t;
        };
        const refused: [() => Promise<unknown>, string][] = [
          [() => query.storeElection(ctx.conn, loneHigh, 7, false), 'election_id'],
          [() => query.storeElection(ctx.conn, loneLow, 7, true), 'election_id'],
          [() => query.storeAbciChain(ctx.conn, 1, 'chain\uDFFF'), 'chain_id'],
          [() => query.storeBlock(ctx.conn, { height: 1, app_hash: '\uD83D', transactions: [] }), 'app_hash'],
          [() => query.storeUnspentOutputs(ctx.conn, [{ ...utxosOf(createTx())[0], condition_uri: 'ni:///\uD800' }]), '[0].condition_uri'],
          [() => query.writeTransaction(ctx.conn, tx((t) => (t.metadata = { note: 'half \uDBFF pair' }))), 'metadata.note'],
          [() => query.writeTransactions(ctx.conn, [tx((t) => (t.asset = { data: { ['key\uD800']: 1 } }))]), '[0].asset.data.key\uD800'],
          [() => query.storeValidatorSet(ctx.conn, { height: 1, validators: [{ name: '\uDC00' }] }), 'validators[0].name'],
        ];
        for (const [write, path] of refused) {
          const error = await expectValidationError(write);
          expect(error.path).to.equal(path);
          expect(error.message).to.include('surrogate');
        }
        expect(await query.getElection(ctx.conn, 'elect\uFFFD'), 'no key was rewritten and stored').to.equal(null);
        expect(await ledgerState(ctx, [])).to.deep.equal(EMPTY_LEDGER);
        await expectValidationError(() => query.getElection(ctx.conn, loneHigh), 'electionId');
        await expectValidationError(() => query.getTransactions(ctx.conn, [loneLow]), 'ids[0]');
      });

      it('stores NUL, U+FFFD and whole surrogate pairs exactly, in text columns and in JSON', async function () {
        const tricky = 'a\u0000b\uFFFD\uD83D\uDE00';
        const electionId = `election-${tricky}`;
        await query.storeElection(ctx.conn, electionId, 7, false);
        await query.storeElection(ctx.conn, 'election-a\u0000b\uFFFD', 7, true);
        expect(await query.getElection(ctx.conn, electionId)).to.deep.equal({ election_id: electionId, height: 7, is_concluded: false });
        await query.storeAbciChain(ctx.conn, 1, `chain-${tricky}`);
        expect(await query.getLatestAbciChain(ctx.conn)).to.deep.equal({ height: 1, chain_id: `chain-${tricky}`, is_synced: true });
        const tx = createTx({ metadata: { [tricky]: tricky } });
        await query.commitBlock(ctx.conn, { ...block(1, [tx]), app_hash: tricky }, [tx]);
        expect(await query.getTransaction(ctx.conn, tx.id)).to.deep.equal(tx);
        expect(await query.getMetadata(ctx.conn, [tx.id])).to.deep.equal([{ id: tx.id, metadata: { [tricky]: tricky } }]);
        expect((await query.getBlock(ctx.conn, 1))?.app_hash).to.equal(tricky);
      });
    });
  });
}

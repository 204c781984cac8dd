/**
 * The node's chain state: the pre-commit record, validator sets, elections and ABCI chains.
 */
import { expect } from './expect';
import { type ValidatorSet, query } from '../../lib';
import type { ConformanceContext } from './context';
import { createTx, freshId, publicKey } from './fixtures';

function validatorSet(height: number, ...names: string[]): ValidatorSet {
  return { height, validators: names.map((name) => ({ public_key: { type: 'ed25519-base64', value: publicKey(name) }, power: 10 })) };
}

export function describeState(ctx: ConformanceContext): void {
  describe('storePreCommitState / getPreCommitState', function () {
    it('returns null before any record is stored', async function () {
      expect(await query.getPreCommitState(ctx.conn)).to.equal(null);
    });

    it('keeps a single record, replaced on every store', async function () {
      const first = { height: 4, transactions: [createTx().id, createTx().id] };
      const second = { height: 5, transactions: [] };
      await query.storePreCommitState(ctx.conn, first);
      expect(await query.getPreCommitState(ctx.conn)).to.deep.equal(first);
      await query.storePreCommitState(ctx.conn, second);
      expect(await query.getPreCommitState(ctx.conn)).to.deep.equal(second);
      const lower = { height: 3, transactions: [createTx().id] };
      await query.storePreCommitState(ctx.conn, lower);
      expect(await query.getPreCommitState(ctx.conn), 'replaced even by a lower height').to.deep.equal(lower);
    });
  });

  describe('validator sets', function () {
    async function storeSets(...sets: ValidatorSet[]): Promise<void> {
      for (const set of sets) await query.storeValidatorSet(ctx.conn, set);
    }

    it('returns null when no set is stored', async function () {
      expect(await query.getValidatorSet(ctx.conn)).to.equal(null);
      expect(await query.getValidatorSet(ctx.conn, 5)).to.equal(null);
    });

    it('returns the latest set overall without a height, compared as numbers', async function () {
      await storeSets(validatorSet(9, 'a'), validatorSet(10, 'b'), validatorSet(1, 'c'));
      expect(await query.getValidatorSet(ctx.conn)).to.deep.equal(validatorSet(10, 'b'));
    });

    it('returns the latest set at or below a height', async function () {
      await storeSets(validatorSet(1, 'a'), validatorSet(5, 'b'), validatorSet(10, 'c'));
      expect(await query.getValidatorSet(ctx.conn, 7)).to.deep.equal(validatorSet(5, 'b'));
      expect(await query.getValidatorSet(ctx.conn, 5)).to.deep.equal(validatorSet(5, 'b'));
      expect(await query.getValidatorSet(ctx.conn, 1000)).to.deep.equal(validatorSet(10, 'c'));
      expect(await query.getValidatorSet(ctx.conn, 1)).to.deep.equal(validatorSet(1, 'a'));
      await query.deleteValidatorSet(ctx.conn, 1);
      expect(await query.getValidatorSet(ctx.conn, 4), 'nothing at or below').to.equal(null);
    });

    it('upserts by height', async function () {
      await storeSets(validatorSet(5, 'a'), validatorSet(5, 'b', 'c'));
      expect(await query.getValidatorSet(ctx.conn, 5)).to.deep.equal(validatorSet(5, 'b', 'c'));
    });

    it('deletes the set of exactly one height', async function () {
      await storeSets(validatorSet(5, 'a'), validatorSet(10, 'b'));
      await query.deleteValidatorSet(ctx.conn, 10);
      await query.deleteValidatorSet(ctx.conn, 7);
      expect(await query.getValidatorSet(ctx.conn)).to.deep.equal(validatorSet(5, 'a'));
    });
  });

  describe('elections', function () {
    it('returns null for an unknown election', async function () {
      await query.storeElection(ctx.conn, freshId(), 1, false);
      expect(await query.getElection(ctx.conn, freshId())).to.equal(null);
    });

    it('returns the record with the highest height, compared as numbers', async function () {
      const id = freshId('election');
      await query.storeElection(ctx.conn, id, 10, true);
      await query.storeElection(ctx.conn, id, 9, false);
      expect(await query.getElection(ctx.conn, id)).to.deep.equal({ election_id: id, height: 10, is_concluded: true });
    });

    it('upserts by (election id, height)', async function () {
      const [id, other] = [freshId('election'), freshId('election')];
      await query.storeElection(ctx.conn, id, 5, false);
      await query.storeElection(ctx.conn, other, 5, false);
      await query.storeElection(ctx.conn, id, 5, true);
      expect(await query.getElection(ctx.conn, id)).to.deep.equal({ election_id: id, height: 5, is_concluded: true });
      expect(await query.getElection(ctx.conn, other)).to.deep.equal({ election_id: other, height: 5, is_concluded: false });
    });

    it('stores many with storeElections, upserting the same way', async function () {
      const [a, b] = [freshId('election'), freshId('election')];
      await query.storeElections(ctx.conn, [
        { election_id: a, height: 3, is_concluded: false },
        { election_id: b, height: 4, is_concluded: false },
      ]);
      await query.storeElections(ctx.conn, [{ election_id: b, height: 4, is_concluded: true }]);
      await query.storeElections(ctx.conn, []);
      expect(await query.getElection(ctx.conn, a)).to.deep.equal({ election_id: a, height: 3, is_concluded: false });
      expect(await query.getElection(ctx.conn, b)).to.deep.equal({ election_id: b, height: 4, is_concluded: true });
    });

    it('deleteElections removes every record at that height and nothing else', async function () {
      const [a, b] = [freshId('election'), freshId('election')];
      await query.storeElection(ctx.conn, a, 3, false);
      await query.storeElection(ctx.conn, a, 5, true);
      await query.storeElection(ctx.conn, b, 5, false);
      await query.deleteElections(ctx.conn, 5);
      expect(await query.getElection(ctx.conn, a)).to.deep.equal({ election_id: a, height: 3, is_concluded: false });
      expect(await query.getElection(ctx.conn, b)).to.equal(null);
    });
  });

  describe('ABCI chains', function () {
    it('returns null when no chain is stored', async function () {
      expect(await query.getLatestAbciChain(ctx.conn)).to.equal(null);
    });

    it('defaults isSynced to true', async function () {
      await query.storeAbciChain(ctx.conn, 1, 'chain-A');
      expect(await query.getLatestAbciChain(ctx.conn)).to.deep.equal({ height: 1, chain_id: 'chain-A', is_synced: true });
    });

    it('returns the chain with the highest height, compared as numbers', async function () {
      await query.storeAbciChain(ctx.conn, 10, 'chain-B', false);
      await query.storeAbciChain(ctx.conn, 9, 'chain-A');
      expect(await query.getLatestAbciChain(ctx.conn)).to.deep.equal({ height: 10, chain_id: 'chain-B', is_synced: false });
    });

    it('upserts by height', async function () {
      await query.storeAbciChain(ctx.conn, 4, 'chain-A', false);
      await query.storeAbciChain(ctx.conn, 4, 'chain-A-migrated', true);
      expect(await query.getLatestAbciChain(ctx.conn)).to.deep.equal({ height: 4, chain_id: 'chain-A-migrated', is_synced: true });
    });

    it('deleteAbciChain removes the chain of exactly one height', async function () {
      await query.storeAbciChain(ctx.conn, 1, 'chain-A');
      await query.storeAbciChain(ctx.conn, 10, 'chain-B', false);
      await query.deleteAbciChain(ctx.conn, 10);
      await query.deleteAbciChain(ctx.conn, 5);
      expect(await query.getLatestAbciChain(ctx.conn)).to.deep.equal({ height: 1, chain_id: 'chain-A', is_synced: true });
    });
  });
}

/**
 * Blocks: storeBlock, getBlock, getLatestBlock, getBlockWithTransaction.
 */
import { expect } from './expect';
import { type Block, query } from '../../lib';
import { expectDuplicateKeyError, expectValidationError } from './assertions';
import type { ConformanceContext } from './context';
import { block, createTx, freshId } from './fixtures';

async function storeBlocks(ctx: ConformanceContext, blocks: readonly Block[]): Promise<void> {
  for (const b of blocks) await query.storeBlock(ctx.conn, b);
}

export function describeBlocks(ctx: ConformanceContext): void {
  describe('storeBlock / getBlock', function () {
    it('returns the block as stored, at height 0 and with no transactions too', async function () {
      const blocks = [block(0), block(1, [createTx(), createTx()]), block(2 ** 40, [createTx()])];
      await storeBlocks(ctx, blocks);
      for (const b of blocks) expect(await query.getBlock(ctx.conn, b.height)).to.deep.equal(b);
    });

    it('returns null for a height with no block', async function () {
      await storeBlocks(ctx, [block(1)]);
      expect(await query.getBlock(ctx.conn, 2)).to.equal(null);
    });

    it('rejects a height already stored with DuplicateKeyError naming it, and keeps the first', async function () {
      const first = block(7, [createTx()]);
      await query.storeBlock(ctx.conn, first);
      await expectDuplicateKeyError(ctx, () => query.storeBlock(ctx.conn, block(7, [createTx()])), [7], { exact: true });
      expect(await query.getBlock(ctx.conn, 7)).to.deep.equal(first);
    });

    it('rejects a negative height with ValidationError', async function () {
      await expectValidationError(() => query.storeBlock(ctx.conn, { ...block(1), height: -1 }), 'height');
      await expectValidationError(() => query.getBlock(ctx.conn, -1), 'height');
    });
  });

  describe('getLatestBlock', function () {
    it('returns null when there is no block', async function () {
      expect(await query.getLatestBlock(ctx.conn)).to.equal(null);
    });

    it('returns the block with the highest height, compared as numbers', async function () {
      const highest = block(100, [createTx()]);
      await storeBlocks(ctx, [block(9), highest, block(10), block(2)]);
      expect(await query.getLatestBlock(ctx.conn)).to.deep.equal(highest);
    });
  });

  describe('getBlockWithTransaction', function () {
    it('returns the heights of the blocks listing the transaction, ascending', async function () {
      const [listed, other] = [createTx(), createTx()];
      await storeBlocks(ctx, [block(10, [other, listed]), block(3, [other]), block(2, [listed])]);
      expect(await query.getBlockWithTransaction(ctx.conn, listed.id)).to.deep.equal([2, 10]);
      expect(await query.getBlockWithTransaction(ctx.conn, other.id)).to.deep.equal([3, 10]);
    });

    it('returns [] for a transaction in no block', async function () {
      await storeBlocks(ctx, [block(1, [createTx()])]);
      expect(await query.getBlockWithTransaction(ctx.conn, freshId())).to.deep.equal([]);
    });
  });
}

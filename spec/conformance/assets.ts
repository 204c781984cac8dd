/**
 * Asset data and metadata stored on their own: storeAsset, storeAssets, getAsset, getAssets,
 * storeMetadatas, getMetadata.
 */
import { expect } from './expect';
import { type Asset, type Metadata, query } from '../../lib';
import { expectDuplicateKeyError, expectValidationError } from './assertions';
import type { ConformanceContext } from './context';
import { assetData, createTx, freshId } from './fixtures';

function asset(data: Asset['data'] = { serial: freshId('serial').slice(0, 8) }): Asset {
  return { id: freshId('asset'), data };
}

function metadata(value: Metadata['metadata'] = { note: freshId('note').slice(0, 8) }): Metadata {
  return { id: freshId('metadata'), metadata: value };
}

export function describeAssets(ctx: ConformanceContext): void {
  describe('storeAsset / getAsset', function () {
    it('returns the asset as stored, including null and nested data', async function () {
      const records = [asset({ name: 'mug', sizes: [1, 2], spec: { color: 'blue', glazed: true } }), asset(null), asset('a bare string')];
      for (const record of records) await query.storeAsset(ctx.conn, record);
      for (const record of records) expect(await query.getAsset(ctx.conn, record.id)).to.deep.equal(record);
    });

    it('returns null for an unknown id', async function () {
      await query.storeAsset(ctx.conn, asset());
      expect(await query.getAsset(ctx.conn, freshId())).to.equal(null);
    });

    it('rejects an id already stored with DuplicateKeyError naming it, and keeps the first', async function () {
      const first = asset({ v: 1 });
      await query.storeAsset(ctx.conn, first);
      await expectDuplicateKeyError(ctx, () => query.storeAsset(ctx.conn, { id: first.id, data: { v: 2 } }), [first.id]);
      expect(await query.getAsset(ctx.conn, first.id)).to.deep.equal(first);
    });

    it('rejects the id of a CREATE already written, whose asset data is stored with it', async function () {
      const create = createTx();
      await query.writeTransaction(ctx.conn, create);
      await expectDuplicateKeyError(ctx, () => query.storeAsset(ctx.conn, { id: create.id, data: { other: true } }), [create.id]);
      expect(await query.getAsset(ctx.conn, create.id)).to.deep.equal({ id: create.id, data: assetData(create) });
    });

    it('rejects an asset whose id is not 64 lowercase hex characters with ValidationError', async function () {
      const bad = { id: freshId().toUpperCase(), data: {} };
      await expectValidationError(() => query.storeAsset(ctx.conn, bad), 'id');
      expect(await query.getAsset(ctx.conn, bad.id)).to.equal(null);
    });
  });

  describe('storeAssets / getAssets', function () {
    it('stores a batch and returns the stored ones in the order of the ids, skipping unknown ids', async function () {
      const [a, b, c] = [asset(), asset(), asset()];
      await query.storeAssets(ctx.conn, [a, b, c]);
      expect(await query.getAssets(ctx.conn, [c.id, freshId(), a.id, b.id])).to.deep.equal([c, a, b]);
      expect(await query.getAssets(ctx.conn, [])).to.deep.equal([]);
    });

    it('accepts an empty batch as a no-op', async function () {
      await query.storeAssets(ctx.conn, []);
      expect(await query.getAssets(ctx.conn, [freshId()])).to.deep.equal([]);
    });

    it('rejects an id already stored with DuplicateKeyError listing exactly it', async function () {
      const stored = asset();
      await query.storeAsset(ctx.conn, stored);
      await expectDuplicateKeyError(ctx, () => query.storeAssets(ctx.conn, [asset(), { ...stored }]), [stored.id], { exact: true });
    });

    it('rejects an id repeated within the batch with DuplicateKeyError', async function () {
      const twice = asset();
      await expectDuplicateKeyError(ctx, () => query.storeAssets(ctx.conn, [twice, asset(), { ...twice }]), [twice.id], { exact: true });
    });
  });

  describe('storeMetadatas / getMetadata', function () {
    it('returns the stored records in the order of the ids, skipping unknown ids', async function () {
      const [a, b, c] = [metadata({ tags: ['x'], n: 1 }), metadata('plain'), metadata({ nested: { deep: [null, false] } })];
      await query.storeMetadatas(ctx.conn, [a, b, c]);
      expect(await query.getMetadata(ctx.conn, [b.id, freshId(), c.id, a.id])).to.deep.equal([b, c, a]);
      expect(await query.getMetadata(ctx.conn, [])).to.deep.equal([]);
    });

    it('accepts an empty batch as a no-op', async function () {
      await query.storeMetadatas(ctx.conn, []);
      expect(await query.getMetadata(ctx.conn, [freshId()])).to.deep.equal([]);
    });

    it('rejects an id already stored with DuplicateKeyError naming it', async function () {
      const stored = metadata();
      await query.storeMetadatas(ctx.conn, [stored]);
      await expectDuplicateKeyError(ctx, () => query.storeMetadatas(ctx.conn, [metadata(), { ...stored }]), [stored.id], { exact: true });
    });

    it('rejects a batch with one malformed record with ValidationError at its index', async function () {
      const good = metadata();
      await expectValidationError(() => query.storeMetadatas(ctx.conn, [good, { id: freshId() } as never]), '[1].metadata');
      expect(await query.getMetadata(ctx.conn, [good.id])).to.deep.equal([]);
    });
  });
}

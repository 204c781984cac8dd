/**
 * The conformance suite on MongoDB, against the server CHAINSTORE_TEST_MONGODB_URL names
 * (skipped, with one line saying so, when it is not set), and what is MongoDB's own: how work
 * larger than one transaction is written, change events of updates made by another writer,
 * and words with a separator in text search.
 */
import { expect } from 'chai';
import { ChangeFeed, type Connection, DuplicateKeyError, capabilities, changefeed, query, recover } from '../../lib';
import type { MongoConnection } from '../../backends/localmongodb';
import type { MongoCapabilities } from '../../backends/localmongodb/admin';
import { MAX_TRANSACTION_DOCUMENTS } from '../../backends/localmongodb/budget';
import { runConformance } from '../conformance';
import { block, createTx, freshId } from '../conformance/fixtures';
import { connectMongo, emptyDatabase, otherMongo, skipWithoutMongo } from '../support/mongodb';

describe('localmongodb backend', function () {
  before(skipWithoutMongo);

  runConformance({
    name: 'localmongodb',
    connect: () => connectMongo(),
    reset: emptyDatabase,
    otherDatabase: () => otherMongo('second'),
  });

  describe('localmongodb: beyond the conformance suite', function () {
    this.timeout(120_000);
    let conn: Connection;
    /** More CREATEs (each with asset data and metadata: three documents) than one transaction holds. */
    const overCap = () => Array.from({ length: MAX_TRANSACTION_DOCUMENTS }, () => createTx({ metadata: { n: 1 } }));

    before(async function () {
      conn = await connectMongo();
    });
    beforeEach(async function () {
      await emptyDatabase(conn);
    });
    after(async function () {
      await conn?.close();
    });

    async function requireTransactions(context: Mocha.Context): Promise<void> {
      if (!(await (conn as MongoConnection).serverInfo()).transactions) context.skip();
    }

    it('reports up to what size writes are all or nothing', async function () {
      await requireTransactions(this);
      const declared = capabilities(conn) as MongoCapabilities;
      expect(declared.atomicUpTo).to.deep.include({ documents: MAX_TRANSACTION_DOCUMENTS });
      expect([declared.atomicCommit, declared.atomicBulkWrite]).to.deep.equal([false, false]);
    });

    it('writes nothing of a batch within one transaction when one id is stored', async function () {
      await requireTransactions(this);
      const stored = createTx();
      await query.writeTransaction(conn, stored);
      const batch = [createTx({ metadata: { n: 1 } }), { ...stored }, createTx()];
      const error = await query.writeTransactions(conn, batch).then(
        () => expect.fail('resolved'),
        (e: unknown) => e as DuplicateKeyError,
      );
      expect(error).to.be.an.instanceOf(DuplicateKeyError);
      expect(error.keys).to.deep.equal([stored.id]);
      expect(await query.getTransactions(conn, [batch[0].id, batch[2].id])).to.deep.equal([]);
    });

    it('refuses a batch larger than one transaction holding stored ids, listing exactly them, writing nothing', async function () {
      const batch = overCap();
      const stored = [batch[5], batch[batch.length - 3]];
      await query.writeTransactions(conn, stored);
      const error = await query.writeTransactions(conn, batch).then(
        () => expect.fail('resolved'),
        (e: unknown) => e as DuplicateKeyError,
      );
      expect(error).to.be.an.instanceOf(DuplicateKeyError);
      expect(error.keys).to.have.members(stored.map((tx) => tx.id));
      expect(error.keys).to.have.length(2);
      const others = batch.filter((tx) => !stored.includes(tx)).map((tx) => tx.id);
      expect(await query.getTransactions(conn, others)).to.deep.equal([]);
      expect(await query.getMetadata(conn, others)).to.deep.equal([]);
    });

    it('writes a batch larger than one transaction whole, with its asset data and metadata', async function () {
      const batch = overCap();
      await query.writeTransactions(conn, batch);
      const ids = batch.map((tx) => tx.id);
      expect(await query.getTransactions(conn, ids)).to.deep.equal(batch);
      expect(await query.getAssets(conn, ids)).to.have.length(batch.length);
      expect(await query.getMetadata(conn, ids)).to.have.length(batch.length);
      await query.deleteTransactions(conn, ids);
      expect(await query.getTransactions(conn, ids)).to.deep.equal([]);
      expect(await query.getAssets(conn, ids)).to.deep.equal([]);
      expect(await query.getMetadata(conn, ids)).to.deep.equal([]);
    });

    it('commits a block larger than one transaction step by step, ending at the block', async function () {
      const txs = overCap();
      await query.commitBlock(conn, block(1, txs), txs);
      expect(await query.getBlock(conn, 1)).to.deep.equal(block(1, txs));
      expect(await query.getPreCommitState(conn)).to.deep.equal({ height: 1, transactions: txs.map((tx) => tx.id) });
      expect(await query.getUnspentOutputs(conn)).to.have.length(txs.length);
      expect(await recover(conn)).to.deep.include({ action: 'none', height: 1 });
    });

    it('leaves no pre-commit record for a large block holding a stored transaction (recover() would delete it)', async function () {
      const stored = createTx();
      await query.commitBlock(conn, block(1, [stored]), [stored]);
      const txs = [...overCap(), stored];
      const error = await query.commitBlock(conn, block(2, txs), txs).then(
        () => expect.fail('resolved'),
        (e: unknown) => e as DuplicateKeyError,
      );
      expect(error).to.be.an.instanceOf(DuplicateKeyError);
      expect(error.keys).to.deep.equal([stored.id]);
      expect(await query.getPreCommitState(conn)).to.deep.equal({ height: 1, transactions: [stored.id] });
      expect(await recover(conn)).to.deep.include({ action: 'none' });
      expect(await query.getTransaction(conn, stored.id)).to.deep.equal(stored);
    });

    it('delivers the record of an update made by another writer', async function () {
      if (!(await (conn as MongoConnection).serverInfo()).changeStreams) this.skip();
      await query.storeValidatorSet(conn, { height: 4, validators: [] });
      const feed = await changefeed.getChangefeed(conn, 'validators', ChangeFeed.UPDATE);
      try {
        await (conn as MongoConnection).attempt('update', (db) => db.collection('validators').updateOne({ height: 4 }, { $set: { validators: [{ power: 1 }] } }));
        const next = await feed.next();
        expect(next.value).to.deep.equal({ operation: ChangeFeed.UPDATE, table: 'validators', record: { height: 4, validators: [{ power: 1 }] } });
      } finally {
        await feed.close();
      }
    });

    it('searches a hyphenated word as its pieces together, and excludes it as such', async function () {
      const [both, market, pre] = [freshId(), freshId(), freshId()];
      await query.storeAssets(conn, [
        { id: both, data: { note: 'pre-market coffee' } },
        { id: market, data: { note: 'market coffee' } },
        { id: pre, data: { note: 'pre coffee' } },
      ]);
      const ids = async (search: string) => (await query.textSearch(conn, search)).map((hit) => hit.id);
      expect(await ids('pre-market')).to.deep.equal([both]);
      expect(await ids('coffee -pre-market')).to.have.members([market, pre]);
    });
  });
});

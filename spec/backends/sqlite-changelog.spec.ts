/**
 * The sqlite change log's own cases (backends/sqlite/changelog.ts): bulk inserts are logged
 * as one entry per range of rows and resolved by the feed. What the conformance suite cannot
 * see is how a range is resolved when its rows changed after the write: these cases read a
 * feed only after the rows were replaced, deleted and their rowids reused, and upgrade a
 * log written by an earlier version in the middle of a feed.
 */
import { expect } from 'chai';
import { ChangeFeed, type ChangeEvent, OperationError, changefeed, connect, query, schema } from '../../lib';
import type { SqliteConnection } from '../../backends/sqlite';
import { block, createTx, freshId } from '../conformance/fixtures';

const ALL = ChangeFeed.INSERT | ChangeFeed.DELETE | ChangeFeed.UPDATE;

/** The next `count` events of `feed` (which stays open: no `for await`, whose break closes it). */
async function take(feed: AsyncIterator<ChangeEvent>, count: number): Promise<ChangeEvent[]> {
  const events: ChangeEvent[] = [];
  while (events.length < count) {
    const { value, done } = await feed.next();
    if (done) break;
    events.push(value);
  }
  return events;
}

const summary = (events: readonly ChangeEvent[]) => events.map((e) => [e.operation, (e.record as { id: string }).id]);

describe('sqlite change log by range', function () {
  let conn: SqliteConnection;

  beforeEach(async function () {
    conn = (await connect({ backend: 'sqlite', name: ':memory:' })) as SqliteConnection;
    await schema.initDatabase(conn);
  });

  afterEach(async function () {
    await conn.close();
  });

  it('logs a bulk write as one entry per table, not one per row', async function () {
    const before = conn.db.prepare('SELECT COUNT(*) FROM changes').pluck().get() as number;
    await query.writeTransactions(conn, Array.from({ length: 50 }, () => createTx({ metadata: { n: 1 } })));
    const after = conn.db.prepare('SELECT COUNT(*) FROM changes').pluck().get() as number;
    expect(after - before).to.equal(3); // transactions, assets, metadata
  });

  it('delivers each row of a range as it was inserted, though it was since replaced, deleted and its rowid reused', async function () {
    const [a, b, c, d] = [freshId('a'), freshId('b'), freshId('c'), freshId('d')];
    const feed = await changefeed.getChangefeed(conn, 'metadata', ALL);
    try {
      await query.storeMetadatas(conn, [
        { id: a, metadata: { v: 'a1' } },
        { id: b, metadata: { v: 'b1' } },
        { id: c, metadata: { v: 'c1' } },
      ]);
      // A transaction replaces the metadata stored under its id; deleting one removes it.
      await query.writeTransaction(conn, createTx({ id: b, metadata: { v: 'b2' } }));
      const rowidOfC = conn.db.prepare('SELECT seq FROM metadata WHERE id = ?').pluck().get(c);
      await query.deleteTransactions(conn, [c]);
      await query.storeMetadatas(conn, [{ id: d, metadata: { v: 'd1' } }]);
      // SQLite hands the highest rowid out again once its row is gone.
      expect(conn.db.prepare('SELECT seq FROM metadata WHERE id = ?').pluck().get(d)).to.equal(rowidOfC);

      const events = await take(feed, 6);
      expect(events.map((e) => [e.operation, e.record])).to.deep.equal([
        [ChangeFeed.INSERT, { id: a, metadata: { v: 'a1' } }],
        [ChangeFeed.INSERT, { id: b, metadata: { v: 'b1' } }],
        [ChangeFeed.INSERT, { id: c, metadata: { v: 'c1' } }],
        [ChangeFeed.UPDATE, { id: b, metadata: { v: 'b2' } }],
        [ChangeFeed.DELETE, { id: c, metadata: { v: 'c1' } }],
        [ChangeFeed.INSERT, { id: d, metadata: { v: 'd1' } }],
      ]);
    } finally {
      await feed.close();
    }
  });

  it('keeps the order of inserts and updates within one write', async function () {
    const [a, b, c] = [freshId('a'), freshId('b'), freshId('c')];
    await query.storeMetadatas(conn, [{ id: b, metadata: { v: 'b1' } }]);
    const feed = await changefeed.getChangefeed(conn, 'metadata', ALL);
    try {
      // a is new, b is replaced, c is new: three metadata changes in this order.
      await query.writeTransactions(conn, [createTx({ id: a, metadata: { v: 'a' } }), createTx({ id: b, metadata: { v: 'b2' } }), createTx({ id: c, metadata: { v: 'c' } })]);
      expect(summary(await take(feed, 3))).to.deep.equal([
        [ChangeFeed.INSERT, a],
        [ChangeFeed.UPDATE, b],
        [ChangeFeed.INSERT, c],
      ]);
    } finally {
      await feed.close();
    }
  });

  it('delivers a range larger than one read in pages, without gap or repeat, before what followed it', async function () {
    this.timeout(60_000);
    const txs = Array.from({ length: 2_500 }, () => createTx());
    const feed = await changefeed.getChangefeed(conn, 'transactions', ChangeFeed.INSERT);
    const blocks = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT);
    try {
      await query.commitBlock(conn, block(1, txs), txs);
      const tail = createTx();
      await query.writeTransaction(conn, tail);
      const events = await take(feed, txs.length + 1);
      expect(events.map((e) => (e.record as { id: string }).id)).to.deep.equal([...txs, tail].map((tx) => tx.id));
      expect(events[0].record).to.deep.equal(txs[0]);
      expect((await take(blocks, 1))[0].record).to.deep.equal(block(1, txs));
    } finally {
      await feed.close();
      await blocks.close();
    }
  });

  it('fails loudly when the range it is reading was pruned, rather than skip its rows', async function () {
    const pruning = (await connect({ backend: 'sqlite', name: ':memory:', changeLogRetention: 1 })) as SqliteConnection;
    try {
      await schema.initDatabase(pruning);
      const feed = await changefeed.getChangefeed(pruning, 'transactions', ChangeFeed.INSERT);
      await query.writeTransactions(pruning, Array.from({ length: 1_500 }, () => createTx()));
      expect(await take(feed, 1_000)).to.have.length(1_000);
      await query.storeBlock(pruning, block(1));
      pruning.pruneChangeLog();
      let error: unknown;
      try {
        await take(feed, 1);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.an.instanceOf(OperationError);
      expect((error as Error).message).to.match(/^\[sqlite\] changefeed fell behind/);
    } finally {
      await pruning.close();
    }
  });

  it('fails loudly when entries it had not read yet were pruned', async function () {
    const pruning = (await connect({ backend: 'sqlite', name: ':memory:', changeLogRetention: 1 })) as SqliteConnection;
    try {
      await schema.initDatabase(pruning);
      await query.storeBlock(pruning, block(100));
      const feed = await changefeed.getChangefeed(pruning, 'blocks', ChangeFeed.INSERT);
      for (const height of [1, 2, 3]) await query.storeBlock(pruning, block(height));
      pruning.pruneChangeLog();
      const error = await take(feed, 1).then(() => undefined, (e: unknown) => e);
      expect(error).to.be.an.instanceOf(OperationError);
      expect((error as Error).message).to.match(/fell behind: events after \d+ and before \d+ were pruned/);
    } finally {
      await pruning.close();
    }
  });

  it("fails loudly, rather than read another database's rows, when the database is dropped under it", async function () {
    const feed = await changefeed.getChangefeed(conn, 'transactions', ChangeFeed.INSERT);
    try {
      await query.writeTransactions(conn, Array.from({ length: 1_500 }, () => createTx()));
      expect(await take(feed, 1_000)).to.have.length(1_000);
      await schema.dropDatabase(conn);
      await schema.initDatabase(conn);
      await query.writeTransactions(conn, Array.from({ length: 1_500 }, () => createTx()));
      const error = await take(feed, 1).then(() => undefined, (e: unknown) => e);
      expect(error).to.be.an.instanceOf(OperationError);
      expect((error as Error).message).to.match(/fell behind: the change log it was reading was dropped/);
    } finally {
      await feed.close();
    }
  });

  it('fails loudly when idle on a log that was dropped and begun again', async function () {
    const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT);
    try {
      for (const height of [1, 2, 3]) await query.storeBlock(conn, block(height));
      expect(await take(feed, 3)).to.have.length(3);
      await schema.dropDatabase(conn);
      await schema.initDatabase(conn);
      const error = await take(feed, 1).then(() => undefined, (e: unknown) => e);
      expect(error).to.be.an.instanceOf(OperationError);
      expect((error as Error).message).to.match(/fell behind: the change log it was reading was dropped/);
    } finally {
      await feed.close();
    }
  });

  it('reads on across an upgrade of a log written by an earlier version, one row per insert', async function () {
    // The earlier layout: no range columns, and an insert trigger logging each row.
    conn.db.exec(`
      DROP INDEX changes_ref;
      DROP TRIGGER transactions_log_delete; DROP TRIGGER transactions_log_update;
      ALTER TABLE changes DROP COLUMN ref; ALTER TABLE changes DROP COLUMN ref_to; ALTER TABLE changes DROP COLUMN prior;
      DROP TRIGGER transactions_log_insert;
      CREATE TRIGGER transactions_log_insert AFTER INSERT ON transactions BEGIN
        INSERT INTO changes (tbl, op, record) VALUES ('transactions', 1, NEW.body);
      END;`);
    const feed = await changefeed.getChangefeed(conn, 'transactions', ChangeFeed.INSERT);
    try {
      const early = createTx();
      conn.db
        .prepare('INSERT INTO transactions (id, operation, asset_id, body) VALUES (?, ?, ?, ?)')
        .run(early.id, early.operation, early.id, JSON.stringify(early));
      await schema.initDatabase(conn);
      const triggers = conn.db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'transactions' ORDER BY name").pluck().all();
      expect(triggers).to.deep.equal(['transactions_log_delete', 'transactions_log_update']);
      const later = [createTx(), createTx()];
      await query.writeTransactions(conn, later);
      expect((await take(feed, 3)).map((e) => e.record)).to.deep.equal([early, ...later]);
    } finally {
      await feed.close();
    }
  });
});

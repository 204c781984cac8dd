/**
 * The conformance suite on RethinkDB, when CHAINSTORE_TEST_RETHINKDB_URL points at a server
 * (skipped with one line saying how to start one otherwise). The database named in the URL
 * (`chainstore_test` when it names none) is emptied before every test.
 *
 * Then what is RethinkDB's own, on the same server: the change log after writes cut short
 * (left in the state a cut leaves, by running the steps of a logged write by hand), a write
 * query sent twice, pruning past a feed, and user JSON that looks like RethinkDB's
 * pseudo-types.
 */
import { expect } from 'chai';
import { r } from 'rethinkdb-ts';
import { type ChangeEvent, ChangeFeed, OperationError, changefeed, query } from '../../lib';
import type { RethinkConnection } from '../../backends/rethinkdb';
import { counterId, pruneEntries, takeNumber } from '../../backends/rethinkdb/changelog';
import { blockDoc } from '../../backends/rethinkdb/documents';
import { CHANGES_TABLE, table } from '../../backends/rethinkdb/tables';
import { storeBlockTerm } from '../../backends/rethinkdb/terms';
import { runConformance } from '../conformance';
import { within } from '../conformance/assertions';
import { block, createTx } from '../conformance/fixtures';
import { connectRethink, emptyRethink, otherRethink, skipWithoutRethink } from '../support/rethinkdb';

describe('rethinkdb backend', function () {
  // Creating a RethinkDB table takes a second or so: the first reset, and the test that drops
  // and re-creates the database, create ten of them.
  this.timeout(120_000);
  before(skipWithoutRethink);

  runConformance({
    name: 'rethinkdb',
    connect: () => connectRethink(),
    reset: emptyRethink,
    otherDatabase: () => otherRethink('second'),
  });

  describe('its change log, with writes cut short', function () {
    /** Short enough for a test; pendingTimeout must exceed queryTimeout. */
    const PENDING_MS = 1500;
    let conn: RethinkConnection;
    const feeds: { close(): Promise<void> }[] = [];

    before(async function () {
      conn = (await connectRethink({ queryTimeout: 1000, pendingTimeout: PENDING_MS, heartbeatInterval: 500, pollInterval: 50 })) as RethinkConnection;
    });

    beforeEach(async function () {
      await emptyRethink(conn);
    });

    afterEach(async function () {
      await Promise.all(feeds.splice(0).map((feed) => feed.close()));
    });

    after(async function () {
      await conn?.close();
    });

    async function open(operations = ChangeFeed.ALL) {
      const feed = await changefeed.getChangefeed(conn, 'blocks', operations);
      feeds.push(feed);
      return feed;
    }

    async function take(feed: AsyncIterator<ChangeEvent>, count: number, ms = 3000): Promise<ChangeEvent[]> {
      const events: ChangeEvent[] = [];
      while (events.length < count) {
        const next = await within(ms, `event ${events.length + 1} of ${count}`, feed.next());
        if (next.done) expect.fail('the feed ended');
        events.push(next.value);
      }
      return events;
    }

    const inserted = (record: unknown): ChangeEvent => ({ operation: ChangeFeed.INSERT, table: 'blocks', record });

    it('delivers a write cut after its change and before its completion, once pendingTimeout has passed', async function () {
      const feed = await open();
      const cut = block(7);
      // Steps A and B of a logged write, then nothing: what a connection lost mid-query leaves.
      const seq = await conn.run('take a number', takeNumber(conn.db, 'blocks'), { write: true });
      await conn.run(
        'pending entry',
        table(conn.db, CHANGES_TABLE).insert({ id: 'cut:1:blocks', tbl: 'blocks', seq, kind: 'new', state: 'pending', keys: [7], at: r.now() }),
        { write: true },
      );
      await conn.run('the change', table(conn.db, 'blocks').insert({ ...blockDoc(cut, 0), seq: [seq, 0] }), { write: true });
      const after = block(8);
      await query.storeBlock(conn, after);
      const started = Date.now();
      expect(await take(feed, 2, 3 * PENDING_MS)).to.deep.equal([inserted(cut), inserted(after)]);
      expect(Date.now() - started, 'the write was waited for first').to.be.at.least(PENDING_MS - 500);
    });

    it('does not hold a feed up for a number taken by a write cut before it wrote its entry', async function () {
      const feed = await open();
      await conn.run('take a number', takeNumber(conn.db, 'blocks'), { write: true });
      const stored = block(3);
      await query.storeBlock(conn, stored);
      expect(await take(feed, 1, PENDING_MS - 200)).to.deep.equal([inserted(stored)]);
    });

    it('changes nothing and delivers nothing more when the same write query is sent again (a retry)', async function () {
      const feed = await open();
      const stored = block(4);
      const term = storeBlockTerm(conn.db, stored, conn.writer);
      expect(await conn.run('store block', term, { write: true })).to.deep.equal({ rejected: [], first_error: null });
      expect((await conn.run('store block again', term, { write: true })).rejected, 'its own document is not a duplicate').to.deep.equal([]);
      const marker = block(5);
      await query.storeBlock(conn, marker);
      expect(await take(feed, 2)).to.deep.equal([inserted(stored), inserted(marker)]);
      const counter = await conn.run('read counter', table(conn.db, CHANGES_TABLE).get(counterId('blocks'))('value'));
      expect(counter, 'the retry reused its number').to.equal(2);
    });

    it('records how far the log was pruned, and a feed that had not read the pruned entries fails loudly', async function () {
      const feed = await open();
      await query.storeBlock(conn, block(1));
      // A negative retention prunes everything up to now and a minute ahead.
      await conn.run('prune change log', pruneEntries(conn.db, -60_000), { write: true });
      await expect(within(3000, 'the failure', feed.next())).to.be.rejectedWith(OperationError, /fell behind/);
    });

    it('stores and gives back user JSON whose keys look like RethinkDB pseudo-types, as written', async function () {
      const data = { $reql_type$: 'TIME', epoch_time: 1, timezone: '+00:00', nested: [{ $reql_type$: 'BINARY', data: 'AA==' }], '~$reql_type$': 'tilde' };
      const metadata = { $reql_type$: 'GEOMETRY', type: 'Point', coordinates: [1, 2] };
      const tx = createTx({ data, metadata });
      await query.writeTransaction(conn, tx);
      expect(await query.getTransaction(conn, tx.id)).to.deep.equal(tx);
      expect(await query.getAsset(conn, tx.id)).to.deep.equal({ id: tx.id, data });
      expect(await query.getMetadata(conn, [tx.id])).to.deep.equal([{ id: tx.id, metadata }]);
      await query.storeValidatorSet(conn, { height: 1, validators: [data] });
      expect(await query.getValidatorSet(conn, 1)).to.deep.equal({ height: 1, validators: [data] });
    });
  });
});

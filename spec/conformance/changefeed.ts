/**
 * Changefeeds: events in write order, the operation mask, prefeed, and the three ways a
 * feed ends (close(), an AbortSignal, leaving a `for await`).
 *
 * To prove that an event did NOT arrive without sleeping, a test writes a marker after the
 * action and expects the marker to be the very next event.
 */
import { expect } from './expect';
import { type ChangeEvent, ChangeFeed, type ChangefeedOptions, type TableName, changefeed, query, schema } from '../../lib';
import { expectDuplicateKeyError, expectValidationError, within } from './assertions';
import { type ConformanceContext, requireFeature } from './context';
import { block, createTx, output, publicKey, spend, transferTx, utxoRef, utxosOf } from './fixtures';

/** How long a test waits for an event that should come. */
const EVENT_WAIT_MS = 3000;

type Feed = AsyncIterableIterator<ChangeEvent> & { close(): Promise<void>; readonly closed: boolean };

/** The next `count` events of `feed`, failing if they do not come in time or the feed ends. */
async function take(feed: Feed, count: number): Promise<ChangeEvent[]> {
  const events: ChangeEvent[] = [];
  while (events.length < count) {
    const next = await within(EVENT_WAIT_MS, `event ${events.length + 1} of ${count}`, feed.next());
    if (next.done) expect.fail(`the feed ended after ${events.length} of ${count} events`);
    events.push(next.value);
  }
  return events;
}

/** Reads `feed` with `for await` in the background, collecting what it yields. */
function drain(feed: Feed): { seen: ChangeEvent[]; ended: Promise<void> } {
  const seen: ChangeEvent[] = [];
  const ended = (async () => {
    for await (const event of feed) seen.push(event);
  })();
  return { seen, ended };
}

/** Polls `condition` until it holds, failing after the usual wait. */
async function waitUntil(what: string, condition: () => boolean): Promise<void> {
  await within(EVENT_WAIT_MS, what, (async () => {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
  })());
}

const insert = (table: TableName, record: unknown): ChangeEvent => ({ operation: ChangeFeed.INSERT, table, record });
const removal = (table: TableName, record: unknown): ChangeEvent => ({ operation: ChangeFeed.DELETE, table, record });
const update = (table: TableName, record: unknown): ChangeEvent => ({ operation: ChangeFeed.UPDATE, table, record });

export function describeChangefeed(ctx: ConformanceContext): void {
  describe('changefeed.getChangefeed', function () {
    it('rejects a bad table name or operation mask with ValidationError when awaited', async function () {
      await expectValidationError(() => changefeed.getChangefeed(ctx.conn, 'no_such_table' as TableName, ChangeFeed.INSERT), 'table');
      await expectValidationError(() => changefeed.getChangefeed(ctx.conn, 'transactions', 0), 'operations');
      await expectValidationError(() => changefeed.getChangefeed(ctx.conn, 'transactions', 8), 'operations');
    });

    describeEvents(ctx);
  });
}

function describeEvents(ctx: ConformanceContext): void {
  describe('events', function () {
    const opened: Feed[] = [];

    /** Opens a feed and waits until it listens; it is closed after the test. */
    async function open(table: TableName, operations: number, options?: ChangefeedOptions): Promise<Feed> {
      const feed = await changefeed.getChangefeed(ctx.conn, table, operations, options);
      opened.push(feed);
      return feed;
    }

    beforeEach(function () {
      requireFeature(this, ctx, 'changefeed');
    });

    afterEach(async function () {
      await Promise.all(opened.splice(0).map((feed) => feed.close()));
    });

    it('delivers inserted transactions, whole, in write order', async function () {
      const feed = await open('transactions', ChangeFeed.INSERT);
      const [a, b, c] = [createTx({ metadata: { n: 1 } }), createTx(), createTx()];
      await query.writeTransaction(ctx.conn, a);
      await query.writeTransactions(ctx.conn, [b, c]);
      expect(await take(feed, 3)).to.deep.equal([a, b, c].map((tx) => insert('transactions', tx)));
    });

    it('starts when awaited: changes made before are not delivered', async function () {
      const before = createTx();
      await query.writeTransaction(ctx.conn, before);
      const feed = await open('transactions', ChangeFeed.INSERT);
      const after = createTx();
      await query.writeTransaction(ctx.conn, after);
      expect(await take(feed, 1)).to.deep.equal([insert('transactions', after)]);
    });

    it('delivers every event of a large batch, in order', async function () {
      const feed = await open('transactions', ChangeFeed.INSERT);
      const txs = Array.from({ length: 1200 }, () => createTx());
      await query.writeTransactions(ctx.conn, txs);
      const events = await take(feed, txs.length);
      expect(events.map((event) => (event.record as { id: string }).id)).to.deep.equal(txs.map((tx) => tx.id));
    });

    it('delivers stored blocks, and only the changes of its own table', async function () {
      const feed = await open('blocks', ChangeFeed.ALL);
      await query.writeTransaction(ctx.conn, createTx());
      const stored = block(1, [createTx()]);
      await query.storeBlock(ctx.conn, stored);
      expect(await take(feed, 1)).to.deep.equal([insert('blocks', stored)]);
    });

    it('delivers the asset data and metadata a transaction brings, in their public shape', async function () {
      const assets = await open('assets', ChangeFeed.INSERT);
      const metadata = await open('metadata', ChangeFeed.INSERT);
      const tx = createTx({ data: { serial: 'F-1' }, metadata: { note: 'fed' } });
      await query.writeTransaction(ctx.conn, tx);
      expect(await take(assets, 1)).to.deep.equal([insert('assets', { id: tx.id, data: { serial: 'F-1' } })]);
      expect(await take(metadata, 1)).to.deep.equal([insert('metadata', { id: tx.id, metadata: { note: 'fed' } })]);
    });

    it('delivers a store that replaces a record as an UPDATE with the record as it is now', async function () {
      const feed = await open('pre_commit', ChangeFeed.ALL);
      const [first, second] = [{ height: 1, transactions: [createTx().id] }, { height: 2, transactions: [] }];
      await query.storePreCommitState(ctx.conn, first);
      await query.storePreCommitState(ctx.conn, second);
      expect(await take(feed, 2)).to.deep.equal([insert('pre_commit', first), update('pre_commit', second)]);
    });

    it('delivers UTXO removals as DELETE with the output as it was', async function () {
      const feed = await open('utxos', ChangeFeed.DELETE);
      const [spent, marker] = utxosOf(createTx({ outputs: [output([publicKey('alice')]), output([publicKey('bob')])] }));
      await query.storeUnspentOutputs(ctx.conn, [spent, marker]);
      await query.deleteUnspentOutputs(ctx.conn, [utxoRef(spent)]);
      await query.deleteUnspentOutputs(ctx.conn, [utxoRef(marker)]);
      expect(await take(feed, 2)).to.deep.equal([removal('utxos', spent), removal('utxos', marker)]);
    });

    it('delivers what commitBlock writes: the transactions in block order, then the block', async function () {
      const transactions = await open('transactions', ChangeFeed.INSERT);
      const blocks = await open('blocks', ChangeFeed.INSERT);
      const create = createTx();
      const txs = [create, transferTx([spend(create)]), createTx()];
      const committed = block(1, txs);
      await query.commitBlock(ctx.conn, committed, txs);
      expect(await take(transactions, 3)).to.deep.equal(txs.map((tx) => insert('transactions', tx)));
      expect(await take(blocks, 1)).to.deep.equal([insert('blocks', committed)]);
    });

    it('yields prefeed items first, as given', async function () {
      const remembered = insert('transactions', { id: 'from before the feed' });
      const feed = await open('transactions', ChangeFeed.INSERT, { prefeed: [remembered] });
      const tx = createTx();
      await query.writeTransaction(ctx.conn, tx);
      expect(await take(feed, 2)).to.deep.equal([remembered, insert('transactions', tx)]);
    });

    it('delivers deletions, and only the operations of its mask', async function () {
      const deletions = await open('transactions', ChangeFeed.DELETE);
      const inserts = await open('transactions', ChangeFeed.INSERT);
      const [doomed, marker] = [createTx(), createTx()];
      await query.writeTransaction(ctx.conn, doomed);
      await query.deleteTransactions(ctx.conn, [doomed.id]);
      await query.writeTransaction(ctx.conn, marker);
      await query.deleteTransactions(ctx.conn, [marker.id]);
      expect(await take(deletions, 2)).to.deep.equal([removal('transactions', doomed), removal('transactions', marker)]);
      expect(await take(inserts, 2)).to.deep.equal([insert('transactions', doomed), insert('transactions', marker)]);
    });

    it('delivers nothing of a batch rejected as a whole', async function () {
      requireFeature(this, ctx, 'atomicBulkWrite');
      const feed = await open('transactions', ChangeFeed.INSERT);
      const [stored, rejected, marker] = [createTx(), createTx(), createTx()];
      await query.writeTransaction(ctx.conn, stored);
      await expectDuplicateKeyError(ctx, () => query.writeTransactions(ctx.conn, [rejected, stored]), [stored.id]);
      await query.writeTransaction(ctx.conn, marker);
      expect(await take(feed, 2)).to.deep.equal([insert('transactions', stored), insert('transactions', marker)]);
    });

    it('close() ends a for await loop, after the events already delivered', async function () {
      const feed = await open('transactions', ChangeFeed.INSERT);
      const { seen, ended } = drain(feed);
      const tx = createTx();
      await query.writeTransaction(ctx.conn, tx);
      await waitUntil('the first event', () => seen.length === 1);
      await feed.close();
      await within(EVENT_WAIT_MS, 'the for await loop to end after close()', ended);
      expect(seen).to.deep.equal([insert('transactions', tx)]);
      expect(feed.closed).to.equal(true);
    });

    it('aborting its signal closes the feed', async function () {
      const controller = new AbortController();
      const feed = await open('transactions', ChangeFeed.INSERT, { signal: controller.signal });
      const { ended } = drain(feed);
      controller.abort();
      await within(EVENT_WAIT_MS, 'the for await loop to end after abort()', ended);
      expect(feed.closed).to.equal(true);
    });

    it('yields nothing when its signal is already aborted', async function () {
      const feed = await open('transactions', ChangeFeed.INSERT, { signal: AbortSignal.abort() });
      const { seen, ended } = drain(feed);
      await query.writeTransaction(ctx.conn, createTx());
      await within(EVENT_WAIT_MS, 'the for await loop to end', ended);
      expect(seen).to.deep.equal([]);
    });

    it('ends (or fails) when its connection is closed, instead of hanging', async function () {
      const other = await ctx.factory.connect();
      try {
        await schema.initDatabase(other); // additive: the database the suite uses is left as it is
        const feed = await changefeed.getChangefeed(other, 'transactions', ChangeFeed.INSERT);
        const { ended } = drain(feed);
        await other.close();
        await within(EVENT_WAIT_MS, 'the for await loop to end after conn.close()', ended.catch(() => undefined));
      } finally {
        await other.close();
      }
    });

    it('leaving a for await loop closes the feed', async function () {
      const feed = await open('transactions', ChangeFeed.INSERT);
      await query.writeTransactions(ctx.conn, [createTx(), createTx()]);
      await within(EVENT_WAIT_MS, 'the first event', (async () => {
        for await (const event of feed) {
          expect(event.operation).to.equal(ChangeFeed.INSERT);
          break;
        }
      })());
      expect(feed.closed).to.equal(true);
    });
  });
}

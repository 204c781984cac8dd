/**
 * The sqlite backend's commit thread (docs/backends/sqlite.md): a file database commits
 * blocks on a worker thread of the process. What it must keep: the commit is seen at once by
 * the connection, a duplicate is the same typed error with the engine's error as cause,
 * close waits for a commit in flight, changefeeds wake, and the calling thread runs meanwhile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { ChangeFeed, ConfigurationError, type Connection, DuplicateKeyError, admin, changefeed, connect, query, schema } from '../../lib';
import { block, createTx, spend, transferTx } from '../conformance/fixtures';

interface SqliteConfig {
  commitThread?: boolean;
  walAutocheckpoint: number;
}

describe('sqlite commit thread', function () {
  let dir: string;
  const opened: Connection[] = [];

  async function open(name: string, options: Record<string, unknown> = {}): Promise<Connection> {
    const conn = await connect({ backend: 'sqlite', name: join(dir, name), ...options } as never);
    opened.push(conn);
    await schema.initDatabase(conn);
    return conn;
  }

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'chainstore-commit-thread-'))));
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((conn) => conn.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('is on for a file, and a committed block is read back by the connection at once', async function () {
    const conn = await open('a.db');
    expect(((await admin.getConfig(conn)) as unknown as SqliteConfig).commitThread).to.equal(true);
    const create = createTx();
    const move = transferTx([spend(create)]);
    await query.commitBlock(conn, block(1, [create, move]), [create, move]);
    expect(await query.getBlock(conn, 1)).to.deep.equal(block(1, [create, move]));
    expect(await query.getTransaction(conn, move.id)).to.deep.equal(move);
    expect((await query.getUnspentOutputs(conn)).map((utxo) => utxo.transaction_id)).to.deep.equal([move.id]);
    expect(await query.getPreCommitState(conn)).to.deep.include({ height: 1 });
  });

  it('stores exactly what a commit on the calling thread stores', async function () {
    const threaded = await open('threaded.db');
    const inline = await open('inline.db', { commitThread: false });
    expect(((await admin.getConfig(inline)) as unknown as SqliteConfig).commitThread).to.equal(false);
    const create = createTx({ metadata: { note: 'wombat' } });
    const move = transferTx([spend(create)], { metadata: { note: 'numbat' } });
    for (const conn of [threaded, inline]) {
      await query.commitBlock(conn, block(1, [create]), [create]);
      await query.commitBlock(conn, block(2, [move]), [move]);
    }
    for (const table of ['transactions', 'blocks', 'utxos', 'assets', 'metadata'] as const) {
      const [a, b] = await Promise.all([threaded, inline].map((conn) => query.listRecords(conn, table, { limit: 100 })));
      expect(a.records, table).to.deep.equal(b.records);
    }
    expect((await query.textSearch(threaded, 'numbat', { table: 'metadata' })).map((hit) => hit.id)).to.deep.equal([move.id]);
  });

  it('refuses a stored height and a stored transaction with DuplicateKeyError, the engine error as cause, changing nothing', async function () {
    const conn = await open('dup.db');
    const first = createTx();
    await query.commitBlock(conn, block(1, [first]), [first]);
    const other = createTx();
    const height = await query.commitBlock(conn, block(1, [other]), [other]).then(() => null, (error: unknown) => error);
    expect(height).to.be.instanceOf(DuplicateKeyError).with.property('message').that.matches(/^\[sqlite\] commit block: height 1 exists/);
    expect((height as Error).cause).to.be.instanceOf(Database.SqliteError).with.property('code').that.matches(/^SQLITE_CONSTRAINT/);
    expect(await query.getTransaction(conn, other.id)).to.equal(null);

    const again = await query.commitBlock(conn, block(2, [first]), [first]).then(() => null, (error: unknown) => error);
    expect(again).to.be.instanceOf(DuplicateKeyError).with.property('message').that.matches(/^\[sqlite\] /);
    expect((again as DuplicateKeyError).keys).to.deep.equal([first.id]);
    expect(await query.getBlock(conn, 2)).to.equal(null);
    expect((await query.getLatestBlock(conn))?.height).to.equal(1);
  });

  it('leaves the calling thread free while a block commits', async function () {
    this.timeout(60_000);
    const ticksDuring = async (conn: Connection, height: number) => {
      const txs = Array.from({ length: 3000 }, () => createTx({ metadata: { note: 'a longer note to index' } }));
      let ticks = 0;
      let done = false;
      const tick = () => {
        ticks += 1;
        if (!done) setImmediate(tick);
      };
      setImmediate(tick);
      await query.commitBlock(conn, block(height, txs), txs);
      done = true;
      return ticks;
    };
    const threaded = await ticksDuring(await open('free.db'), 1);
    const inline = await ticksDuring(await open('busy.db', { commitThread: false }), 1);
    // On the calling thread the commit is one synchronous call: the loop turns only around it.
    expect(inline).to.be.below(5);
    expect(threaded).to.be.above(inline + 20);
  });

  it('lets close wait for a commit in flight, which is then stored', async function () {
    const name = join(dir, 'close.db');
    const conn = await connect({ backend: 'sqlite', name });
    await schema.initDatabase(conn);
    const txs = Array.from({ length: 500 }, () => createTx());
    const commit = query.commitBlock(conn, block(1, txs), txs);
    await conn.close();
    await commit;
    const reopened = await open('close.db');
    expect((await query.getBlock(reopened, 1))?.transactions).to.have.length(500);
  });

  it('wakes a changefeed of the same file at once, without waiting for a poll', async function () {
    const conn = await open('feed.db', { pollInterval: 600_000 });
    const feed = await changefeed.getChangefeed(conn, 'blocks', ChangeFeed.INSERT);
    try {
      const next = feed[Symbol.asyncIterator]().next();
      await new Promise((resolve) => setTimeout(resolve, 50)); // the feed is idle, waiting
      const tx = createTx();
      await query.commitBlock(conn, block(3, [tx]), [tx]);
      const { value } = await next;
      expect(value.record).to.deep.equal(block(3, [tx]));
    } finally {
      await feed.close();
    }
  });

  it('keeps working after the connection re-creates the tables under it (dropDatabase, initDatabase)', async function () {
    const conn = await open('again.db');
    const tx = createTx();
    await query.commitBlock(conn, block(1, [tx]), [tx]);
    await schema.dropDatabase(conn);
    await schema.initDatabase(conn);
    expect(await query.getBlock(conn, 1)).to.equal(null);
    await query.commitBlock(conn, block(1, [tx]), [tx]);
    expect(await query.getBlock(conn, 1)).to.deep.equal(block(1, [tx]));
  });
});

describe('sqlite commit options', function () {
  it("refuses commitThread with ':memory:', and values that are not booleans", async function () {
    await expect(connect({ backend: 'sqlite', name: ':memory:', commitThread: true } as never)).to.be.rejectedWith(ConfigurationError, /\[sqlite\] option commitThread is invalid for ':memory:'/);
    await expect(connect({ backend: 'sqlite', name: ':memory:', commitThread: 'yes' } as never)).to.be.rejectedWith(ConfigurationError, /\[sqlite\] option commitThread is invalid: "yes"/);
    const memory = await connect({ backend: 'sqlite', name: ':memory:' });
    try {
      expect(((await admin.getConfig(memory)) as unknown as SqliteConfig).commitThread).to.equal(false);
    } finally {
      await memory.close();
    }
  });

  it('sets wal_autocheckpoint to walAutocheckpoint (default 10000), and refuses what is not a positive integer', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'chainstore-checkpoint-'));
    const byDefault = await connect({ backend: 'sqlite', name: join(dir, 'a.db') });
    const chosen = await connect({ backend: 'sqlite', name: join(dir, 'b.db'), walAutocheckpoint: 500 } as never);
    try {
      expect(((await admin.getConfig(byDefault)) as unknown as SqliteConfig).walAutocheckpoint).to.equal(10_000);
      expect(((await admin.getConfig(chosen)) as unknown as SqliteConfig).walAutocheckpoint).to.equal(500);
      for (const walAutocheckpoint of [0, -1, 2.5, '1000']) {
        const attempt = connect({ backend: 'sqlite', name: join(dir, 'c.db'), walAutocheckpoint } as never);
        await expect(attempt).to.be.rejectedWith(ConfigurationError, /\[sqlite\] option walAutocheckpoint is invalid/);
      }
    } finally {
      await Promise.all([byDefault.close(), chosen.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * What is SQLite's own beyond the conformance suite: schema upgrades (initDatabase on a
 * database an earlier version made keeps its data and leaves one index entry per document;
 * earlier versions indexed search text with triggers, this one from JavaScript) and the
 * in-process wake-up of changefeeds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ChangeFeed, ConfigurationError, admin, changefeed, connect, query, schema } from '../../lib';
import type { SqliteConnection } from '../../backends/sqlite';
import { createTx, output, publicKey, ref, spend, transferTx } from '../conformance/fixtures';

/** The triggers an earlier version created to index search text in SQL. */
const EARLIER_INDEX_TRIGGERS = ['assets', 'metadata']
  .map(
    (table) => `
    CREATE TRIGGER ${table}_fts_insert AFTER INSERT ON ${table} BEGIN
      INSERT INTO ${table}_fts (rowid, text) VALUES (NEW.seq, 'old');
    END;
    CREATE TRIGGER ${table}_fts_update AFTER UPDATE OF ${table === 'assets' ? 'data' : 'metadata'} ON ${table} BEGIN
      DELETE FROM ${table}_fts WHERE rowid = OLD.seq;
      INSERT INTO ${table}_fts (rowid, text) VALUES (NEW.seq, 'old');
    END;`,
  )
  .join('\n');

describe('sqlite schema upgrade', function () {
  it('drops the search-indexing triggers of an earlier version, keeping the data', async function () {
    const conn = (await connect({ backend: 'sqlite', name: ':memory:' })) as SqliteConnection;
    try {
      await schema.initDatabase(conn);
      await query.storeAsset(conn, { id: 'a'.repeat(64), data: { title: 'kept quokka' } });
      // An earlier database: its triggers, under names this version keeps taken.
      conn.db.exec(`DROP TRIGGER assets_fts_insert; DROP TRIGGER assets_fts_update; DROP TRIGGER metadata_fts_insert; DROP TRIGGER metadata_fts_update; ${EARLIER_INDEX_TRIGGERS}`);
      await schema.initDatabase(conn);
      await query.storeAsset(conn, { id: 'b'.repeat(64), data: { title: 'new quokka' } });
      await query.storeMetadatas(conn, [{ id: 'c'.repeat(64), metadata: { note: 'quokka' } }]);
      const triggers = conn.db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_fts_%' AND tbl_name IN ('assets', 'metadata') ORDER BY name")
        .pluck()
        .all();
      expect(triggers).to.deep.equal(['assets_fts_delete', 'metadata_fts_delete']);
      expect((await query.textSearch(conn, 'quokka')).map((hit) => hit.id).sort()).to.deep.equal(['a'.repeat(64), 'b'.repeat(64)]);
      expect(await query.textSearch(conn, 'old')).to.deep.equal([]);
      expect(await query.textSearch(conn, 'quokka', { table: 'metadata' })).to.have.length(1);
    } finally {
      await conn.close();
    }
  });

  it("leaves an earlier version's initDatabase, run after the upgrade, without effect", async function () {
    const conn = (await connect({ backend: 'sqlite', name: ':memory:' })) as SqliteConnection;
    try {
      await schema.initDatabase(conn);
      // What the earlier version's schema runs: its triggers, IF NOT EXISTS.
      conn.db.exec(EARLIER_INDEX_TRIGGERS.replace(/CREATE TRIGGER/g, 'CREATE TRIGGER IF NOT EXISTS'));
      conn.db.exec(`CREATE TRIGGER IF NOT EXISTS transactions_log_insert AFTER INSERT ON transactions BEGIN
        INSERT INTO changes (tbl, op, record) VALUES ('transactions', 1, NEW.body); END;`);
      const onTables = conn.db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('transactions', 'assets', 'metadata') ORDER BY name").pluck().all();
      expect(onTables).to.deep.equal([
        'assets_fts_delete', 'assets_log_delete', 'assets_log_update',
        'metadata_fts_delete', 'metadata_log_delete', 'metadata_log_update',
        'transactions_log_delete', 'transactions_log_update',
      ]);
      const feed = await changefeed.getChangefeed(conn, 'transactions', ChangeFeed.INSERT);
      const base = { version: '2.0', inputs: [{ owners_before: ['k'], fulfills: null, fulfillment: null }], outputs: [], metadata: null } as const;
      const txs = ['e', 'f'].map((c) => ({ ...base, id: c.repeat(64), operation: 'CREATE', asset: { data: { title: 'kept quokka' } } }) as never);
      await query.writeTransactions(conn, txs);
      await query.storeBlock(conn, { height: 1, app_hash: 'ab', transactions: [] });
      const iterator = feed[Symbol.asyncIterator]();
      const events = [(await iterator.next()).value, (await iterator.next()).value];
      expect(events.map((e) => e.record)).to.deep.equal(txs);
      // Nothing else for this table: the block's event comes next on the log, not a repeat.
      expect((conn.db.prepare("SELECT COUNT(*) FROM changes WHERE tbl = 'transactions'").pluck().get())).to.equal(1);
      expect(await query.textSearch(conn, 'quokka')).to.have.length(2);
      await feed.close();
    } finally {
      await conn.close();
    }
  });

  it("gives an earlier version's outputs and spends their row numbers, so its transactions are still found", async function () {
    const conn = (await connect({ backend: 'sqlite', name: ':memory:' })) as SqliteConnection;
    try {
      await schema.initDatabase(conn);
      const dora = publicKey('dora');
      const create = createTx({ owner: dora, outputs: [output([dora])] });
      const transfer = transferTx([spend(create)], { outputs: [output([dora])] });
      await query.writeTransactions(conn, [create, transfer]);
      // The earlier layout: side tables without tx_seq, holding the same rows.
      for (const [table, columns, key] of [
        ['outputs', 'public_key, transaction_id, output_index, sole', 'public_key, transaction_id, output_index'],
        ['spends', 'fulfills_txid, fulfills_index, transaction_id', 'fulfills_txid, fulfills_index, transaction_id'],
      ]) {
        conn.db.exec(`CREATE TABLE old_${table} AS SELECT ${columns} FROM ${table}; DROP TABLE ${table};
          CREATE TABLE ${table} (${columns.split(', ').map((c) => `${c} NOT NULL`).join(', ')}, PRIMARY KEY (${key})) WITHOUT ROWID;
          INSERT INTO ${table} SELECT * FROM old_${table}; DROP TABLE old_${table};`);
      }
      conn.forgetStatements();
      await schema.initDatabase(conn);
      const unnamed = conn.db.prepare('SELECT (SELECT count(*) FROM outputs WHERE tx_seq IS NULL) + (SELECT count(*) FROM spends WHERE tx_seq IS NULL)').pluck().get();
      expect(unnamed, 'side rows left without a row number').to.equal(0);
      const ids = (txs: { id: string }[]) => txs.map((tx) => tx.id);
      expect(ids(await query.getOwnedIds(conn, dora))).to.deep.equal([create.id, transfer.id]);
      expect(ids(await query.getSpent(conn, create.id, 0))).to.deep.equal([transfer.id]);
      expect(ids(await query.getSpendingTransactions(conn, [ref(create)]))).to.deep.equal([transfer.id]);
      expect(ids(await query.getAssetTokensForPublicKey(conn, create.id, dora))).to.deep.equal([create.id, transfer.id]);

      // A process still on the earlier version writes side rows without tx_seq: still found.
      const late = transferTx([spend(transfer)], { outputs: [output([dora])] });
      conn.db.prepare('INSERT INTO transactions (id, operation, asset_id, body) VALUES (?, ?, ?, ?)').run(late.id, late.operation, create.id, JSON.stringify(late));
      conn.db.prepare('INSERT INTO outputs (public_key, transaction_id, output_index, sole) VALUES (?, ?, 0, 1)').run(dora, late.id);
      conn.db.prepare('INSERT INTO spends (fulfills_txid, fulfills_index, transaction_id) VALUES (?, 0, ?)').run(transfer.id, late.id);
      expect(ids(await query.getOwnedIds(conn, dora))).to.deep.equal([create.id, transfer.id, late.id]);
      expect(ids(await query.getSpent(conn, transfer.id, 0))).to.deep.equal([late.id]);
    } finally {
      await conn.close();
    }
  });

  it('re-indexes a document replaced under its id, and forgets it when deleted', async function () {
    const conn = await connect({ backend: 'sqlite', name: ':memory:' });
    try {
      await schema.initDatabase(conn);
      const base = { version: '2.0', inputs: [{ owners_before: ['k'], fulfills: null, fulfillment: null }], outputs: [] } as const;
      const id = 'd'.repeat(64);
      await query.storeMetadatas(conn, [{ id, metadata: { note: 'walrus' } }]);
      // writeTransaction replaces the metadata stored under its id.
      await query.writeTransaction(conn, { ...base, id, operation: 'CREATE', asset: { data: { title: 'otter' } }, metadata: { note: 'narwhal' } } as never);
      expect(await query.textSearch(conn, 'walrus', { table: 'metadata' })).to.deep.equal([]);
      expect((await query.textSearch(conn, 'narwhal', { table: 'metadata' })).map((hit) => hit.id)).to.deep.equal([id]);
      await query.deleteTransactions(conn, [id]);
      expect(await query.textSearch(conn, 'narwhal', { table: 'metadata' })).to.deep.equal([]);
      expect(await query.textSearch(conn, 'otter')).to.deep.equal([]);
    } finally {
      await conn.close();
    }
  });
});

describe('sqlite options', function () {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'chainstore-options-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the file through a memory map by default, up to mmapSize MiB, and not at all with 0', async function () {
    const mapped = await connect({ backend: 'sqlite', name: join(dir, 'a.db') });
    const small = await connect({ backend: 'sqlite', name: join(dir, 'b.db'), mmapSize: 1 } as never);
    const off = await connect({ backend: 'sqlite', name: join(dir, 'c.db'), mmapSize: 0 } as never);
    try {
      const bytes = async (conn: typeof mapped) => ((await admin.getConfig(conn)) as { mmapBytes: number }).mmapBytes;
      expect(await bytes(mapped)).to.be.above(1024 * 1024 * 1024);
      expect(await bytes(small)).to.equal(1024 * 1024);
      expect(await bytes(off)).to.equal(0);
    } finally {
      await Promise.all([mapped.close(), small.close(), off.close()]);
    }
  });

  it('passes a very large mmapSize to SQLite as the integer it is (SQLite caps it)', async function () {
    const huge = await connect({ backend: 'sqlite', name: join(dir, 'e.db'), mmapSize: 2 ** 50 } as never);
    try {
      expect(((await admin.getConfig(huge)) as { mmapBytes: number }).mmapBytes).to.be.above(1024 * 1024 * 1024);
    } finally {
      await huge.close();
    }
  });

  it('refuses an mmapSize that is not a whole number of MiB, naming the option', async function () {
    for (const mmapSize of [-1, 1.5, '64']) {
      const attempt = connect({ backend: 'sqlite', name: join(dir, 'd.db'), mmapSize } as never);
      await expect(attempt).to.be.rejectedWith(ConfigurationError, /\[sqlite\] option mmapSize is invalid/);
    }
  });
});

describe('sqlite changefeed wake-up in the writing process', function () {
  // With a poll interval of ten minutes, only the in-process wake-up can deliver in time.
  const POLL_NEVER = 600_000;

  it('delivers a write made through another connection to the same file without waiting for a poll', async function () {
    this.timeout(20_000);
    const dir = mkdtempSync(join(tmpdir(), 'chainstore-wakeup-'));
    const file = join(dir, 'wake.db');
    const listener = await connect({ backend: 'sqlite', name: file, pollInterval: POLL_NEVER });
    const writer = await connect({ backend: 'sqlite', name: file });
    try {
      await schema.initDatabase(listener);
      const feed = await changefeed.getChangefeed(listener, 'blocks', ChangeFeed.INSERT);
      const next = feed[Symbol.asyncIterator]().next();
      await new Promise((resolve) => setTimeout(resolve, 50)); // the feed is idle, waiting
      await query.storeBlock(writer, { height: 7, app_hash: 'ab', transactions: [] });
      const { value } = await next;
      expect(value.record).to.deep.equal({ height: 7, app_hash: 'ab', transactions: [] });
      await feed.close();
    } finally {
      await writer.close();
      await listener.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

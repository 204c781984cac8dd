/**
 * The best hand-written SQLite equivalent of what the layer stores for the query contract,
 * the baseline the layer is measured against: the transaction (JSON), its owner and spend
 * lookups and asset id, and asset data and metadata with FTS5 indexes. Written the way a
 * careful engineer would without a library: prepared statements, one transaction per batch,
 * the search text computed in JavaScript and inserted straight into the index. Same
 * settings as the layer (WAL, synchronous FULL, 64 MiB page cache, reads through a memory
 * map). No change log (nothing reads one).
 */
import Database from 'better-sqlite3';
import type { Transaction } from '../../lib';
import { searchableText } from '../../lib/search';

const SCHEMA = `
  CREATE TABLE transactions (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, operation TEXT NOT NULL, asset_id TEXT NOT NULL, body TEXT NOT NULL);
  CREATE INDEX transactions_asset ON transactions (asset_id, operation);
  CREATE TABLE outputs (public_key TEXT NOT NULL, transaction_id TEXT NOT NULL, output_index INTEGER NOT NULL,
    PRIMARY KEY (public_key, transaction_id, output_index)) WITHOUT ROWID;
  CREATE TABLE spends (fulfills_txid TEXT NOT NULL, fulfills_index INTEGER NOT NULL, transaction_id TEXT NOT NULL,
    PRIMARY KEY (fulfills_txid, fulfills_index, transaction_id)) WITHOUT ROWID;
  CREATE TABLE assets (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, data TEXT);
  CREATE VIRTUAL TABLE assets_fts USING fts5(text, content = '', tokenize = 'porter unicode61 remove_diacritics 2');
  CREATE TABLE metadata (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, metadata TEXT);
  CREATE VIRTUAL TABLE metadata_fts USING fts5(text, content = '', tokenize = 'porter unicode61 remove_diacritics 2');
`;

/** Hand-written storage of transactions on one SQLite file. */
export class HandWrittenSqlite {
  readonly db: Database.Database;
  private readonly insertTx: Database.Statement;
  private readonly insertOutput: Database.Statement;
  private readonly insertSpend: Database.Statement;
  private readonly insertAsset: Database.Statement;
  private readonly insertAssetText: Database.Statement;
  private readonly insertMetadata: Database.Statement;
  private readonly insertMetadataText: Database.Statement;
  private readonly selectTx: Database.Statement;
  private readonly writeAll: (txs: readonly Transaction[]) => void;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('cache_size = -65536');
    this.db.pragma('mmap_size = 2147483648');
    this.db.exec(SCHEMA);
    this.insertTx = this.db.prepare('INSERT INTO transactions (id, operation, asset_id, body) VALUES (?, ?, ?, ?)');
    this.insertOutput = this.db.prepare('INSERT OR IGNORE INTO outputs (public_key, transaction_id, output_index) VALUES (?, ?, ?)');
    this.insertSpend = this.db.prepare('INSERT OR IGNORE INTO spends (fulfills_txid, fulfills_index, transaction_id) VALUES (?, ?, ?)');
    this.insertAsset = this.db.prepare('INSERT INTO assets (id, data) VALUES (?, ?)');
    this.insertAssetText = this.db.prepare('INSERT INTO assets_fts (rowid, text) VALUES (?, ?)');
    this.insertMetadata = this.db.prepare('INSERT INTO metadata (id, metadata) VALUES (?, ?)');
    this.insertMetadataText = this.db.prepare('INSERT INTO metadata_fts (rowid, text) VALUES (?, ?)');
    this.selectTx = this.db.prepare('SELECT body FROM transactions WHERE id = ?').pluck();
    this.writeAll = this.db.transaction((txs: readonly Transaction[]) => {
      for (const tx of txs) this.insertOne(tx);
    });
  }

  private insertOne(tx: Transaction): void {
    const assetId = 'id' in tx.asset ? tx.asset.id : tx.id;
    this.insertTx.run(tx.id, tx.operation, assetId, JSON.stringify(tx));
    tx.outputs.forEach((output, index) => {
      for (const key of output.public_keys ?? []) this.insertOutput.run(key, tx.id, index);
    });
    for (const input of tx.inputs) {
      if (input.fulfills) this.insertSpend.run(input.fulfills.transaction_id, input.fulfills.output_index, tx.id);
    }
    if ('data' in tx.asset) {
      const { lastInsertRowid } = this.insertAsset.run(tx.id, JSON.stringify(tx.asset.data));
      this.insertAssetText.run(lastInsertRowid, searchableText(tx.asset.data));
    }
    // Every transaction has a metadata record (null too), as in the layer and BigchainDB;
    // only one with text has an index entry.
    const { lastInsertRowid } = this.insertMetadata.run(tx.id, JSON.stringify(tx.metadata));
    if (tx.metadata !== null) this.insertMetadataText.run(lastInsertRowid, searchableText(tx.metadata));
  }

  /** Stores `txs` in one transaction. */
  writeTransactions(txs: readonly Transaction[]): void {
    this.writeAll(txs);
  }

  /** The transaction with `id`, or null. */
  getTransaction(id: string): Transaction | null {
    const body = this.selectTx.get(id) as string | undefined;
    return body === undefined ? null : (JSON.parse(body) as Transaction);
  }

  close(): void {
    this.db.close();
  }
}

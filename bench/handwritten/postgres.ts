/**
 * The best hand-written PostgreSQL equivalent of what the layer stores for the query
 * contract, the baseline the layer is measured against: transactions as jsonb with their
 * owner and spend lookups and asset id, asset data and metadata with GIN-indexed tsvectors.
 * Bulk writes are one transaction of one INSERT ... SELECT FROM unnest(...) per table (arrays
 * as parameters: set-based, no per-row round trip); the search text is computed in
 * JavaScript, accents and combining marks folded as the layer folds them (there with
 * unaccent, here by decomposing and dropping the marks). Reads are named (prepared)
 * statements on a pool. No change log.
 */
import pg from 'pg';
import type { Transaction } from '../../lib';
import { searchableText } from '../../lib/search';

/** Text without accents or combining marks. */
const folded = (text: string) => text.normalize('NFD').replace(/\p{M}/gu, '');

const SCHEMA = `
  CREATE TABLE transactions (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, operation TEXT NOT NULL, asset_id TEXT NOT NULL, body JSONB NOT NULL);
  CREATE INDEX transactions_asset ON transactions (asset_id, operation, seq);
  CREATE TABLE outputs (public_key TEXT NOT NULL, transaction_id TEXT NOT NULL, output_index INTEGER NOT NULL,
    PRIMARY KEY (public_key, transaction_id, output_index));
  CREATE TABLE spends (fulfills_txid TEXT NOT NULL, fulfills_index INTEGER NOT NULL, transaction_id TEXT NOT NULL,
    PRIMARY KEY (fulfills_txid, fulfills_index, transaction_id));
  CREATE TABLE assets (id TEXT PRIMARY KEY, data JSONB, search TSVECTOR NOT NULL);
  CREATE INDEX assets_search ON assets USING GIN (search);
  CREATE TABLE metadata (id TEXT PRIMARY KEY, metadata JSONB, search TSVECTOR NOT NULL);
  CREATE INDEX metadata_search ON metadata USING GIN (search);
`;

/** Hand-written storage of transactions on one PostgreSQL database. */
export class HandWrittenPostgres {
  private constructor(readonly pool: pg.Pool) {}

  /** Connects to `url` (an empty database) and creates the tables. */
  static async open(url: string): Promise<HandWrittenPostgres> {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle client's error (its session ended by the server) must not crash the run.
    pool.on('error', () => undefined);
    await pool.query(SCHEMA);
    return new HandWrittenPostgres(pool);
  }

  /** Stores `txs` in one transaction, one set-based INSERT per table. */
  async writeTransactions(txs: readonly Transaction[]): Promise<void> {
    const tx = { id: [] as string[], operation: [] as string[], asset: [] as string[], body: [] as string[] };
    const out = { key: [] as string[], txid: [] as string[], index: [] as number[] };
    const spend = { txid: [] as string[], index: [] as number[], by: [] as string[] };
    const asset = { id: [] as string[], data: [] as string[], text: [] as string[] };
    const meta = { id: [] as string[], data: [] as string[], text: [] as string[] };
    for (const t of txs) {
      tx.id.push(t.id);
      tx.operation.push(t.operation);
      tx.asset.push('id' in t.asset ? t.asset.id : t.id);
      tx.body.push(JSON.stringify(t));
      t.outputs.forEach((o, index) => {
        for (const key of o.public_keys ?? []) {
          out.key.push(key);
          out.txid.push(t.id);
          out.index.push(index);
        }
      });
      for (const input of t.inputs) {
        if (!input.fulfills) continue;
        spend.txid.push(input.fulfills.transaction_id);
        spend.index.push(input.fulfills.output_index);
        spend.by.push(t.id);
      }
      if ('data' in t.asset) {
        asset.id.push(t.id);
        asset.data.push(JSON.stringify(t.asset.data));
        asset.text.push(folded(searchableText(t.asset.data)));
      }
      // Every transaction has a metadata record (null too), as in the layer and BigchainDB.
      meta.id.push(t.id);
      meta.data.push(JSON.stringify(t.metadata));
      meta.text.push(folded(searchableText(t.metadata)));
    }
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        'INSERT INTO transactions (id, operation, asset_id, body) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])',
        [tx.id, tx.operation, tx.asset, tx.body],
      );
      await client.query(
        'INSERT INTO outputs SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) ON CONFLICT DO NOTHING',
        [out.key, out.txid, out.index],
      );
      await client.query(
        'INSERT INTO spends SELECT * FROM unnest($1::text[], $2::int[], $3::text[]) ON CONFLICT DO NOTHING',
        [spend.txid, spend.index, spend.by],
      );
      for (const [table, rows] of [['assets', asset], ['metadata', meta]] as const) {
        await client.query(
          `INSERT INTO ${table} SELECT id, doc, to_tsvector('english', text) FROM unnest($1::text[], $2::jsonb[], $3::text[]) AS u(id, doc, text)`,
          [rows.id, rows.data, rows.text],
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** The transaction with `id`, or null. */
  async getTransaction(id: string): Promise<Transaction | null> {
    const { rows } = await this.pool.query({ name: 'hand-get-transaction', text: 'SELECT body FROM transactions WHERE id = $1', values: [id] });
    return rows.length ? (rows[0].body as Transaction) : null;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

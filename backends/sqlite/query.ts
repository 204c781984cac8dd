/**
 * The query handlers of the sqlite backend that differ from the SQL family's: bulk writes,
 * run as prepared statements inside one IMMEDIATE transaction (synchronous, so nothing can
 * interleave), key-pair lookups, text search, and the atomic commit.
 */
import type { HandlerMap } from '../../lib/dispatch';
import { type Json, type Transaction, ownersOf } from '../../lib/model';
import type * as query from '../../lib/query';
import { UPSERT_ELECTION } from '../sql/statements';
import { InsertLog } from './changelog';
import type { SqliteConnection } from './connection';
import { writeUnique } from '../sql/unique';
import { type SearchableTable, insertDocument } from './documents';
import { textSearch } from './search';
import { deleteUtxos, insertTransactions, upsertUtxos } from './writes';

type Row = Record<string, unknown>;

const parseBody = (row: unknown) => JSON.parse((row as { body: string }).body) as Transaction;

/** Rows of `sql` for a list of keys passed as one JSON array. */
function allFor(conn: SqliteConnection, sql: string, keys: readonly unknown[], ...params: unknown[]): Row[] {
  return conn.statement(sql).all(JSON.stringify(keys), ...params) as Row[];
}

// ---------------------------------------------------------------------------
// Writing transactions
// ---------------------------------------------------------------------------

const GET_TRANSACTION = 'SELECT body FROM transactions WHERE id = ?';

/** Stores documents under new ids, and logs them; must run inside a write transaction. */
function insertDocuments(conn: SqliteConnection, table: SearchableTable, docs: readonly { id: string; doc: Json | null }[]): void {
  const log = new InsertLog(conn);
  for (const { id, doc } of docs) insertDocument(conn, log, table, id, doc);
  log.flush();
}

const ids = (records: readonly { id: string }[]) => records.map((record) => record.id);

function deleteTransactionRows(conn: SqliteConnection, ids: readonly string[]): void {
  const rows = allFor(conn, 'SELECT body FROM transactions WHERE id IN (SELECT value FROM json_each(?))', ids);
  const deleteOutput = conn.statement('DELETE FROM outputs WHERE public_key = ? AND transaction_id = ? AND output_index = ?');
  const deleteSpend = conn.statement('DELETE FROM spends WHERE fulfills_txid = ? AND fulfills_index = ? AND transaction_id = ?');
  for (const row of rows) {
    const tx = parseBody(row);
    tx.outputs.forEach((output, index) => {
      for (const key of ownersOf(output)) deleteOutput.run(key, tx.id, index);
    });
    for (const input of tx.inputs) {
      if (input.fulfills) deleteSpend.run(input.fulfills.transaction_id, input.fulfills.output_index, tx.id);
    }
  }
  const list = JSON.stringify(ids);
  for (const table of ['transactions', 'assets', 'metadata']) {
    conn.statement(`DELETE FROM ${table} WHERE id IN (SELECT value FROM json_each(?))`).run(list);
  }
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

/** The sqlite backend's own query handlers, registered by its index over the family's. */
export const queryHandlers: HandlerMap<typeof query, typeof SqliteConnection> = {
  async writeTransaction(conn, tx) {
    await writeUnique(conn, 'write transaction', 'transactions', [tx.id], () => conn.write('write transaction', () => insertTransactions(conn, [tx])));
  },

  async writeTransactions(conn, txs) {
    if (txs.length === 0) return;
    await writeUnique(conn, 'write transactions', 'transactions', ids(txs), () => conn.write('write transactions', () => insertTransactions(conn, txs)));
  },

  // The family's reads go through rows() (all()); the point read that matters most steps once.
  async getTransaction(conn, id) {
    const row = conn.read('get transaction', () => conn.statement(GET_TRANSACTION).get(id));
    return row === undefined ? null : parseBody(row);
  },

  async deleteTransactions(conn, ids) {
    if (ids.length === 0) return;
    conn.write('delete transactions', () => deleteTransactionRows(conn, ids));
  },

  async getSpendingTransactions(conn, refs) {
    if (refs.length === 0) return [];
    const rows = conn.read('get spending transactions', () =>
      allFor(
        conn,
        `SELECT body FROM transactions WHERE seq IN (
           SELECT s.tx_seq FROM json_each(?) r JOIN spends s
             ON s.fulfills_txid = json_extract(r.value, '$.transaction_id')
            AND s.fulfills_index = json_extract(r.value, '$.output_index'))
         ORDER BY seq`,
        refs.map(({ transaction_id, output_index }) => ({ transaction_id, output_index })),
      ),
    );
    return rows.map(parseBody);
  },

  async storeAsset(conn, asset) {
    await writeUnique(conn, 'store asset', 'assets', [asset.id], () =>
      conn.write('store asset', () => insertDocuments(conn, 'assets', [{ id: asset.id, doc: asset.data }])),
    );
  },

  async storeAssets(conn, assets) {
    if (assets.length === 0) return;
    await writeUnique(conn, 'store assets', 'assets', ids(assets), () =>
      conn.write('store assets', () => insertDocuments(conn, 'assets', assets.map((a) => ({ id: a.id, doc: a.data })))),
    );
  },

  async storeMetadatas(conn, metadatas) {
    if (metadatas.length === 0) return;
    await writeUnique(conn, 'store metadata', 'metadata', ids(metadatas), () =>
      conn.write('store metadata', () => insertDocuments(conn, 'metadata', metadatas.map((m) => ({ id: m.id, doc: m.metadata })))),
    );
  },

  textSearch,

  async storeUnspentOutputs(conn, utxos) {
    if (utxos.length) conn.write('store unspent outputs', () => upsertUtxos(conn, utxos));
  },

  async deleteUnspentOutputs(conn, refs) {
    if (refs.length) conn.write('delete unspent outputs', () => deleteUtxos(conn, refs));
  },

  async storeElections(conn, elections) {
    // Overrides the family's one-by-one upserts: in one transaction, all or nothing.
    if (elections.length === 0) return;
    conn.write('store elections', () => {
      for (const e of elections) conn.statement(UPSERT_ELECTION).run(e.election_id, e.height, e.is_concluded ? 1 : 0);
    });
  },

  // All four steps of the protocol in one transaction: a crash leaves all or nothing. A file
  // database commits on its commit thread (commit-thread.ts), so that the caller's thread
  // goes on working while SQLite writes and syncs; in memory, on the connection itself.
  async commitBlock(conn, block, txs) {
    await writeUnique(conn, 'commit block', 'transactions', ids(txs), () => conn.commitBlock(block, txs));
  },
};

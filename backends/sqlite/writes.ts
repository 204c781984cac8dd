/**
 * The sqlite backend's writes of transactions, UTXOs and blocks, as prepared statements run
 * inside the caller's write transaction. One place for both writers: the query handlers on
 * the connection's own thread, and the commit thread (commit-thread.ts), which runs
 * {@link commitBlockRows} on a database handle of its own.
 */
import { heightExists } from '../../lib/errors';
import { utxoChanges } from '../../lib/ledger';
import { type Block, type OutputRef, type Transaction, type Utxo, assetIdOf, ownersOf } from '../../lib/model';
import { DELETE_UTXO, INSERT_BLOCK, UPSERT_PRE_COMMIT, UPSERT_UTXO } from '../sql/statements';
import { InsertLog } from './changelog';
import type { SqliteConnection } from './connection';
import { upsertDocument } from './documents';
import { isUniqueViolation } from './errors';

const INSERT_TRANSACTION = 'INSERT INTO transactions (id, operation, asset_id, body) VALUES (?, ?, ?, ?)';
const INSERT_OUTPUT = 'INSERT OR IGNORE INTO outputs (public_key, transaction_id, output_index, sole, tx_seq) VALUES (?, ?, ?, ?, ?)';
const INSERT_SPEND = 'INSERT OR IGNORE INTO spends (fulfills_txid, fulfills_index, transaction_id, tx_seq) VALUES (?, ?, ?, ?)';

/**
 * Stores transactions with their side rows, and logs them; must run inside a write transaction.
 *
 * @example
 * conn.write('write transactions', () => insertTransactions(conn, txs));
 */
export function insertTransactions(conn: SqliteConnection, txs: readonly Transaction[]): void {
  const log = new InsertLog(conn);
  const insertTx = conn.statement(INSERT_TRANSACTION);
  const insertOutput = conn.statement(INSERT_OUTPUT);
  const insertSpend = conn.statement(INSERT_SPEND);
  for (const tx of txs) {
    const seq = insertTx.run(tx.id, tx.operation, assetIdOf(tx), JSON.stringify(tx)).lastInsertRowid;
    log.inserted('transactions', seq);
    tx.outputs.forEach((output, index) => {
      const owners = ownersOf(output);
      const sole = owners.length === 1 ? 1 : 0;
      for (const key of owners) insertOutput.run(key, tx.id, index, sole, seq);
    });
    for (const input of tx.inputs) {
      if (input.fulfills) insertSpend.run(input.fulfills.transaction_id, input.fulfills.output_index, tx.id, seq);
    }
    // A transaction's asset data and metadata replace whatever was stored under its id before.
    if ('data' in tx.asset) upsertDocument(conn, log, 'assets', tx.id, tx.asset.data);
    // Null metadata too, as BigchainDB keeps it: getMetadata answers for every transaction.
    upsertDocument(conn, log, 'metadata', tx.id, tx.metadata);
  }
  log.flush();
}

/**
 * Stores (or replaces) unspent outputs; must run inside a write transaction.
 *
 * @example
 * conn.write('store unspent outputs', () => upsertUtxos(conn, utxos));
 */
export function upsertUtxos(conn: SqliteConnection, utxos: readonly Utxo[]): void {
  const upsert = conn.statement(UPSERT_UTXO);
  for (const u of utxos) upsert.run(u.transaction_id, u.output_index, u.amount, u.asset_id, u.condition_uri);
}

/**
 * Deletes unspent outputs by reference; must run inside a write transaction.
 *
 * @example
 * conn.write('delete unspent outputs', () => deleteUtxos(conn, [{ transaction_id: id, output_index: 0 }]));
 */
export function deleteUtxos(conn: SqliteConnection, refs: readonly OutputRef[]): void {
  const remove = conn.statement(DELETE_UTXO);
  for (const ref of refs) remove.run(ref.transaction_id, ref.output_index);
}

/** Stores a block; a stored height is a DuplicateKeyError saying so. */
function insertBlock(conn: SqliteConnection, block: Block, what: string): void {
  try {
    conn.statement(INSERT_BLOCK).run(block.height, block.app_hash, JSON.stringify(block.transactions));
  } catch (error) {
    if (isUniqueViolation(error)) throw heightExists(conn.backend, what, block.height, error);
    throw error;
  }
}

/**
 * All four steps of the commit protocol (pre-commit record, transactions, UTXOs, block) in
 * ONE write transaction of `conn`: a crash leaves all or nothing.
 *
 * @example
 * commitBlockRows(conn, { height: 1, app_hash: 'ab', transactions: [tx.id] }, [tx]);
 */
export function commitBlockRows(conn: SqliteConnection, block: Block, txs: readonly Transaction[]): void {
  conn.write('commit block', () => {
    conn.statement(UPSERT_PRE_COMMIT).run(block.height, JSON.stringify(block.transactions));
    insertTransactions(conn, txs);
    const { spent, created } = utxoChanges(txs);
    deleteUtxos(conn, spent);
    upsertUtxos(conn, created);
    insertBlock(conn, block, 'commit block');
  });
}

/**
 * The query handlers of the postgres backend that differ from the SQL family's. Batches are
 * set-based: a whole batch travels as one jsonb (or array) parameter and is written by one
 * statement, whatever its size; never one INSERT per row.
 */
import type { HandlerMap } from '../../lib/dispatch';
import { heightExists } from '../../lib/errors';
import { utxoChanges } from '../../lib/ledger';
import type { Block, OutputRef, Transaction, Utxo } from '../../lib/model';
import type * as query from '../../lib/query';
import { writeUnique } from '../sql/unique';
import type { PostgresConnection, TransactionClient } from './connection';

import { jsonbText } from './nul';
import { textSearch } from './search';

/** What runs a statement: the pool (autocommit, retried) or a client inside a transaction. */
type Run = (text: string, values: unknown[]) => Promise<unknown>;

const ids = (records: readonly { id: string }[]) => records.map((record) => record.id);

/** The keys an output names, as a jsonb array: `[]` where `public_keys` is null (model.ts, ownersOf). */
const owners = (output: string) => `CASE jsonb_typeof(${output} -> 'public_keys') WHEN 'array' THEN ${output} -> 'public_keys' ELSE '[]' END`;

/**
 * Stores transactions with their side rows: outputs by owner, spends, asset data and
 * metadata (null metadata too, as BigchainDB keeps it; both replace whatever was stored
 * under the same id), in one statement.
 */
const INSERT_TRANSACTIONS = `
WITH input AS (
  SELECT value AS tx, ordinality AS n FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY
), new_transactions AS (
  INSERT INTO transactions (id, operation, asset_id, body)
  SELECT tx ->> 'id', tx ->> 'operation', COALESCE(tx -> 'asset' ->> 'id', tx ->> 'id'), tx FROM input ORDER BY n
), new_outputs AS (
  INSERT INTO outputs (public_key, transaction_id, output_index, sole)
  SELECT key, tx ->> 'id', o.i - 1, jsonb_array_length(${owners('o.output')}) = 1
  FROM input, jsonb_array_elements(tx -> 'outputs') WITH ORDINALITY AS o(output, i), jsonb_array_elements_text(${owners('o.output')}) AS key
  ON CONFLICT DO NOTHING
), new_spends AS (
  INSERT INTO spends (fulfills_txid, fulfills_index, transaction_id)
  SELECT i.input -> 'fulfills' ->> 'transaction_id', (i.input -> 'fulfills' ->> 'output_index')::integer, tx ->> 'id'
  FROM input, jsonb_array_elements(tx -> 'inputs') AS i(input)
  WHERE jsonb_typeof(i.input -> 'fulfills') = 'object'
  ON CONFLICT DO NOTHING
), new_assets AS (
  INSERT INTO assets (id, data) SELECT tx ->> 'id', tx -> 'asset' -> 'data' FROM input WHERE tx -> 'asset' ? 'data' ORDER BY n
  ON CONFLICT (id) DO UPDATE SET data = excluded.data
)
INSERT INTO metadata (id, metadata) SELECT tx ->> 'id', tx -> 'metadata' FROM input ORDER BY n
ON CONFLICT (id) DO UPDATE SET metadata = excluded.metadata`;

/** Deletes transactions with their side rows, asset data and metadata. */
const DELETE_TRANSACTIONS = `
WITH gone AS (
  DELETE FROM transactions WHERE id = ANY($1) RETURNING id, body
), gone_outputs AS (
  DELETE FROM outputs o USING gone g, jsonb_array_elements(g.body -> 'outputs') WITH ORDINALITY AS x(output, i),
    jsonb_array_elements_text(${owners('x.output')}) AS key
  WHERE o.public_key = key AND o.transaction_id = g.id AND o.output_index = x.i - 1
), gone_spends AS (
  DELETE FROM spends s USING gone g, jsonb_array_elements(g.body -> 'inputs') AS i(input)
  WHERE jsonb_typeof(i.input -> 'fulfills') = 'object' AND s.transaction_id = g.id
    AND s.fulfills_txid = i.input -> 'fulfills' ->> 'transaction_id' AND s.fulfills_index = (i.input -> 'fulfills' ->> 'output_index')::integer
), gone_assets AS (
  DELETE FROM assets WHERE id = ANY($1)
)
DELETE FROM metadata WHERE id = ANY($1)`;

const INSERT_DOCUMENTS = (table: 'assets' | 'metadata', column: 'data' | 'metadata') =>
  `INSERT INTO ${table} (id, ${column}) SELECT e ->> 'id', e -> '${column}' FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(e, n) ORDER BY n`;

const UPSERT_UTXOS = `
INSERT INTO utxos (transaction_id, output_index, amount, asset_id, condition_uri)
SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::text[])
ON CONFLICT (transaction_id, output_index) DO UPDATE
  SET amount = excluded.amount, asset_id = excluded.asset_id, condition_uri = excluded.condition_uri`;

const DELETE_UTXOS = `
DELETE FROM utxos u USING unnest($1::text[], $2::integer[]) AS r(transaction_id, output_index)
WHERE u.transaction_id = r.transaction_id AND u.output_index = r.output_index`;

const UPSERT_PRE_COMMIT = `
INSERT INTO pre_commit (id, height, transactions) VALUES (1, $1, $2)
ON CONFLICT (id) DO UPDATE SET height = excluded.height, transactions = excluded.transactions`;

const INSERT_BLOCK = 'INSERT INTO blocks (height, app_hash, transactions) VALUES ($1, $2, $3)';

function upsertUtxos(run: Run, utxos: readonly Utxo[]): Promise<unknown> {
  // One row per output: in one statement, a later duplicate replaces an earlier one.
  const unique = [...new Map(utxos.map((u) => [`${u.transaction_id}:${u.output_index}`, u])).values()];
  return run(UPSERT_UTXOS, [
    unique.map((u) => u.transaction_id),
    unique.map((u) => u.output_index),
    unique.map((u) => u.amount),
    unique.map((u) => u.asset_id),
    unique.map((u) => u.condition_uri),
  ]);
}

function deleteUtxos(run: Run, refs: readonly OutputRef[]): Promise<unknown> {
  return run(DELETE_UTXOS, [refs.map((r) => r.transaction_id), refs.map((r) => r.output_index)]);
}

const onPool = (conn: PostgresConnection, what: string): Run => (text, values) => conn.query(what, text, values);
const onClient = (client: TransactionClient): Run => (text, values) => client.query(text, values);

async function insertBlock(conn: PostgresConnection, run: Run, block: Block, what: string): Promise<void> {
  try {
    await run(INSERT_BLOCK, [block.height, block.app_hash, jsonbText(block.transactions)]);
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    throw heightExists(conn.backend, what, block.height, error);
  }
}

/**
 * Inserts documents in a transaction of their own: a lost answer to its COMMIT is then
 * resolved (connection.ts), where a retried single statement would hit its own rows.
 */
function insertDocuments(conn: PostgresConnection, what: string, table: 'assets' | 'metadata', docs: readonly unknown[]): Promise<unknown> {
  const column = table === 'assets' ? 'data' : 'metadata';
  return conn.transaction(what, (client) => client.query(INSERT_DOCUMENTS(table, column), [jsonbText(docs)]));
}

/** The postgres backend's own query handlers, registered by its index over the family's. */
export const queryHandlers: HandlerMap<typeof query, typeof PostgresConnection> = {
  async writeTransaction(conn, tx) {
    await writeUnique(conn, 'write transaction', 'transactions', [tx.id], () =>
      conn.transaction('write transaction', (client) => client.query(INSERT_TRANSACTIONS, [jsonbText([tx])])),
    );
  },

  async writeTransactions(conn, txs) {
    if (txs.length === 0) return;
    await writeUnique(conn, 'write transactions', 'transactions', ids(txs), () =>
      conn.transaction('write transactions', (client) => client.query(INSERT_TRANSACTIONS, [jsonbText(txs)])),
    );
  },

  async deleteTransactions(conn, txids) {
    if (txids.length === 0) return;
    await conn.transaction('delete transactions', (client) => client.query(DELETE_TRANSACTIONS, [txids]));
  },

  async getSpendingTransactions(conn, refs) {
    if (refs.length === 0) return [];
    const rows = await conn.query<{ body: Transaction }>(
      'get spending transactions',
      `SELECT body FROM transactions WHERE id IN (
         SELECT s.transaction_id FROM unnest($1::text[], $2::integer[]) AS r(txid, idx)
         JOIN spends s ON s.fulfills_txid = r.txid AND s.fulfills_index = r.idx)
       ORDER BY seq`,
      [refs.map((r) => r.transaction_id), refs.map((r) => r.output_index)],
    );
    return rows.map((row) => row.body);
  },

  async storeAsset(conn, asset) {
    await writeUnique(conn, 'store asset', 'assets', [asset.id], () =>
      insertDocuments(conn, 'store asset', 'assets', [asset]),
    );
  },

  async storeAssets(conn, assets) {
    if (assets.length === 0) return;
    await writeUnique(conn, 'store assets', 'assets', ids(assets), () =>
      insertDocuments(conn, 'store assets', 'assets', assets),
    );
  },

  async storeMetadatas(conn, metadatas) {
    if (metadatas.length === 0) return;
    await writeUnique(conn, 'store metadata', 'metadata', ids(metadatas), () =>
      insertDocuments(conn, 'store metadata', 'metadata', metadatas),
    );
  },

  textSearch,

  // In a transaction, for the same reason as insertDocuments.
  async storeBlock(conn, block) {
    await conn.transaction('store block', (client) => insertBlock(conn, onClient(client), block, 'store block'));
  },

  async storeUnspentOutputs(conn, utxos) {
    if (utxos.length) await upsertUtxos(onPool(conn, 'store unspent outputs'), utxos);
  },

  async deleteUnspentOutputs(conn, refs) {
    if (refs.length) await deleteUtxos(onPool(conn, 'delete unspent outputs'), refs);
  },

  // All four steps of the protocol in one transaction: a crash leaves all or nothing.
  async commitBlock(conn, block, txs) {
    await writeUnique(conn, 'commit block', 'transactions', ids(txs), () =>
      conn.transaction('commit block', async (client) => {
        const run = onClient(client);
        await run(UPSERT_PRE_COMMIT, [block.height, jsonbText(block.transactions)]);
        if (txs.length) await run(INSERT_TRANSACTIONS, [jsonbText(txs)]);
        const { spent, created } = utxoChanges(txs);
        if (spent.length) await deleteUtxos(run, spent);
        if (created.length) await upsertUtxos(run, created);
        await insertBlock(conn, run, block, 'commit block');
      }),
    );
  },
};

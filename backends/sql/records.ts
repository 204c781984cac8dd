/**
 * A row of each family table as its public record: one mapper a table, shared by the point
 * reads (query.ts) and the whole-table reads (pages.ts), so a record reads the same whichever
 * generic returns it.
 */
import type { AbciChain, Asset, Block, Election, Metadata, PreCommitState, Transaction, Utxo, ValidatorSet } from '../../lib/model';
import { type Row, type SqlConnection, bool } from './connection';

/**
 * The columns each mapper reads, by table, for a SELECT list.
 *
 * @example
 * `SELECT ${RECORD_COLUMNS.blocks} FROM blocks WHERE height = ?`;
 */
export const RECORD_COLUMNS = {
  transactions: 'body',
  assets: 'id, data',
  metadata: 'id, metadata',
  blocks: 'height, app_hash, transactions',
  utxos: 'transaction_id, output_index, amount, asset_id, condition_uri',
  pre_commit: 'height, transactions',
  validators: 'height, validators',
  elections: 'election_id, height, is_concluded',
  abci_chains: 'height, chain_id, is_synced',
} as const;

/**
 * Row mappers, by table.
 *
 * @example
 * const block = toRecord.blocks(conn, row);   // { height: 1, app_hash: 'ab', transactions: [] }
 */
export const toRecord = {
  transactions: (conn: SqlConnection, row: Row): Transaction => conn.fromJson(row.body) as Transaction,
  assets: (conn: SqlConnection, row: Row): Asset => ({ id: row.id as string, data: conn.fromJson(row.data) as never }),
  metadata: (conn: SqlConnection, row: Row): Metadata => ({ id: row.id as string, metadata: conn.fromJson(row.metadata) as never }),
  blocks: (conn: SqlConnection, row: Row): Block => ({
    height: Number(row.height),
    app_hash: row.app_hash as string,
    transactions: conn.fromJson(row.transactions) as string[],
  }),
  utxos: (_conn: SqlConnection, row: Row): Utxo => ({
    transaction_id: row.transaction_id as string,
    output_index: Number(row.output_index),
    amount: row.amount as string,
    asset_id: row.asset_id as string,
    condition_uri: row.condition_uri as string,
  }),
  pre_commit: (conn: SqlConnection, row: Row): PreCommitState => ({ height: Number(row.height), transactions: conn.fromJson(row.transactions) as string[] }),
  validators: (conn: SqlConnection, row: Row): ValidatorSet => ({ height: Number(row.height), validators: conn.fromJson(row.validators) as never[] }),
  elections: (_conn: SqlConnection, row: Row): Election => ({
    election_id: row.election_id as string,
    height: Number(row.height),
    is_concluded: bool(row.is_concluded),
  }),
  abci_chains: (_conn: SqlConnection, row: Row): AbciChain => ({ height: Number(row.height), chain_id: row.chain_id as string, is_synced: bool(row.is_synced) }),
};

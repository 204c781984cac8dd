/**
 * The query handlers every SQL engine shares: reads, and the writes of single small
 * records. Each engine adds what its driver does differently (bulk writes, key pairs, text
 * search, transactions) and overrides these where it can do better.
 */
import type { HandlerMap } from '../../lib/dispatch';
import { DuplicateKeyError, chainIdTaken, heightExists } from '../../lib/errors';
import { type Block, type Transaction, inOrderOf } from '../../lib/model';
import type * as query from '../../lib/query';
import type { Row, SqlConnection } from './connection';
import { toRecord } from './records';
import {
  INSERT_BLOCK,
  UPSERT_ABCI_CHAIN,
  UPSERT_ELECTION,
  UPSERT_PRE_COMMIT,
  UPSERT_VALIDATOR_SET,
  UTXO_COLUMNS,
} from './statements';

const bodies = (conn: SqlConnection, rows: Row[]) => rows.map((row) => toRecord.transactions(conn, row));

async function transactionsWhere(conn: SqlConnection, what: string, condition: string, params: unknown[]): Promise<Transaction[]> {
  return bodies(conn, await conn.rows(what, `SELECT body FROM transactions WHERE ${condition} ORDER BY seq`, params));
}

/** A condition on `transactions`: the row is named by a row of side table `table` that matches `where`. */
function namedBy(conn: SqlConnection, table: 'outputs' | 'spends', where: string): string {
  const { column, side } = conn.transactionLink;
  return `${column} IN (SELECT ${side} FROM ${table} WHERE ${where})`;
}

function toBlock(conn: SqlConnection, row: Row | undefined): Block | null {
  return row ? toRecord.blocks(conn, row) : null;
}

/** The family's query handlers, registered for SqlConnection. */
export const sqlQueryHandlers: HandlerMap<typeof query, typeof SqlConnection> = {
  async getTransaction(conn, id) {
    const [row] = await conn.rows('get transaction', 'SELECT body FROM transactions WHERE id = ?', [id]);
    return row ? toRecord.transactions(conn, row) : null;
  },

  async getTransactions(conn, ids) {
    if (ids.length === 0) return [];
    const rows = await conn.rows('get transactions', `SELECT body FROM transactions WHERE ${conn.inList('id')}`, [conn.listParam(ids)]);
    return inOrderOf(ids, new Map(bodies(conn, rows).map((tx) => [tx.id, tx])));
  },

  async getTxidsFiltered(conn, assetId, filter = {}) {
    const operation = filter.operation === undefined ? '' : ' AND operation = ?';
    const order = filter.lastTx ? ' ORDER BY seq DESC LIMIT 1' : ' ORDER BY seq';
    const params = filter.operation === undefined ? [assetId] : [assetId, filter.operation];
    const rows = await conn.rows('get txids', `SELECT id FROM transactions WHERE asset_id = ?${operation}${order}`, params);
    return rows.map((row) => row.id as string);
  },

  async getSpent(conn, txid, outputIndex) {
    return transactionsWhere(
      conn,
      'get spent',
      namedBy(conn, 'spends', 'fulfills_txid = ? AND fulfills_index = ?'),
      [txid, outputIndex],
    );
  },

  async getOwnedIds(conn, publicKey) {
    return transactionsWhere(conn, 'get owned transactions', namedBy(conn, 'outputs', 'public_key = ?'), [publicKey]);
  },

  async getAssetTokensForPublicKey(conn, assetId, publicKey) {
    return transactionsWhere(
      conn,
      'get asset tokens',
      // `sole`: the output names that key and no other.
      `${namedBy(conn, 'outputs', 'public_key = ? AND sole = ?')} AND asset_id = ?`,
      [publicKey, 1, assetId],
    );
  },

  async getAsset(conn, id) {
    const [row] = await conn.rows('get asset', 'SELECT id, data FROM assets WHERE id = ?', [id]);
    return row ? toRecord.assets(conn, row) : null;
  },

  async getAssets(conn, ids) {
    if (ids.length === 0) return [];
    const rows = await conn.rows('get assets', `SELECT id, data FROM assets WHERE ${conn.inList('id')}`, [conn.listParam(ids)]);
    return inOrderOf(ids, new Map(rows.map((r) => [r.id as string, toRecord.assets(conn, r)])));
  },

  async getMetadata(conn, ids) {
    if (ids.length === 0) return [];
    const rows = await conn.rows('get metadata', `SELECT id, metadata FROM metadata WHERE ${conn.inList('id')}`, [conn.listParam(ids)]);
    return inOrderOf(ids, new Map(rows.map((r) => [r.id as string, toRecord.metadata(conn, r)])));
  },

  async storeBlock(conn, block) {
    try {
      await conn.run('store block', INSERT_BLOCK, [block.height, block.app_hash, conn.toJson(block.transactions)]);
    } catch (error) {
      // The engine knows a unique key was hit; the caller wants to know which one.
      if (error instanceof DuplicateKeyError) throw heightExists(conn.backend, 'store block', block.height, error.cause);
      throw error;
    }
  },

  async getBlock(conn, height) {
    const [row] = await conn.rows('get block', 'SELECT height, app_hash, transactions FROM blocks WHERE height = ?', [height]);
    return toBlock(conn, row);
  },

  async getLatestBlock(conn) {
    const [row] = await conn.rows('get latest block', 'SELECT height, app_hash, transactions FROM blocks ORDER BY height DESC LIMIT 1');
    return toBlock(conn, row);
  },

  async getBlockWithTransaction(conn, txid) {
    const rows = await conn.rows('get block with transaction', 'SELECT height FROM block_transactions WHERE transaction_id = ? ORDER BY height', [txid]);
    return rows.map((row) => Number(row.height));
  },

  async getUnspentOutputs(conn, filter = {}) {
    const conditions: [string, unknown][] = [];
    if (filter.transaction_id !== undefined) conditions.push(['u.transaction_id = ?', filter.transaction_id]);
    if (filter.asset_id !== undefined) conditions.push(['u.asset_id = ?', filter.asset_id]);
    if (filter.public_key !== undefined) {
      conditions.push([
        'EXISTS (SELECT 1 FROM outputs o WHERE o.public_key = ? AND o.transaction_id = u.transaction_id AND o.output_index = u.output_index)',
        filter.public_key,
      ]);
    }
    const where = conditions.length ? ` WHERE ${conditions.map(([condition]) => condition).join(' AND ')}` : '';
    const rows = await conn.rows(
      'get unspent outputs',
      `SELECT ${UTXO_COLUMNS} FROM utxos u${where} ORDER BY u.transaction_id, u.output_index`,
      conditions.map(([, param]) => param),
    );
    return rows.map((r) => toRecord.utxos(conn, r));
  },

  async storePreCommitState(conn, state) {
    await conn.run('store pre-commit state', UPSERT_PRE_COMMIT, [state.height, conn.toJson(state.transactions)]);
  },

  async getPreCommitState(conn) {
    const [row] = await conn.rows('get pre-commit state', 'SELECT height, transactions FROM pre_commit WHERE id = 1');
    return row ? toRecord.pre_commit(conn, row) : null;
  },

  async storeValidatorSet(conn, set) {
    await conn.run('store validator set', UPSERT_VALIDATOR_SET, [set.height, conn.toJson(set.validators)]);
  },

  async deleteValidatorSet(conn, height) {
    await conn.run('delete validator set', 'DELETE FROM validators WHERE height = ?', [height]);
  },

  async getValidatorSet(conn, height) {
    const [row] =
      height === undefined
        ? await conn.rows('get validator set', 'SELECT height, validators FROM validators ORDER BY height DESC LIMIT 1')
        : await conn.rows('get validator set', 'SELECT height, validators FROM validators WHERE height <= ? ORDER BY height DESC LIMIT 1', [height]);
    return row ? toRecord.validators(conn, row) : null;
  },

  async storeElection(conn, electionId, height, isConcluded) {
    await conn.run('store election', UPSERT_ELECTION, [electionId, height, isConcluded ? 1 : 0]);
  },

  async storeElections(conn, elections) {
    for (const e of elections) await conn.run('store elections', UPSERT_ELECTION, [e.election_id, e.height, e.is_concluded ? 1 : 0]);
  },

  async deleteElections(conn, height) {
    await conn.run('delete elections', 'DELETE FROM elections WHERE height = ?', [height]);
  },

  async getElection(conn, electionId) {
    const [row] = await conn.rows(
      'get election',
      'SELECT election_id, height, is_concluded FROM elections WHERE election_id = ? ORDER BY height DESC LIMIT 1',
      [electionId],
    );
    return row ? toRecord.elections(conn, row) : null;
  },

  async storeAbciChain(conn, height, chainId, isSynced = true) {
    try {
      await conn.run('store abci chain', UPSERT_ABCI_CHAIN, [height, chainId, isSynced ? 1 : 0]);
    } catch (error) {
      // The height is upserted, so the only unique key left to hit is the chain id's.
      if (error instanceof DuplicateKeyError) throw chainIdTaken(conn.backend, chainId, error.cause);
      throw error;
    }
  },

  async deleteAbciChain(conn, height) {
    await conn.run('delete abci chain', 'DELETE FROM abci_chains WHERE height = ?', [height]);
  },

  async getLatestAbciChain(conn) {
    const [row] = await conn.rows('get latest abci chain', 'SELECT height, chain_id, is_synced FROM abci_chains ORDER BY height DESC LIMIT 1');
    return row ? toRecord.abci_chains(conn, row) : null;
  },
};

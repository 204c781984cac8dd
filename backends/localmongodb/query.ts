/**
 * The query handlers of the localmongodb backend. Filters come from filters.ts, the document
 * layout from records.ts, keyed inserts from writes.ts, the size of a transaction from
 * budget.ts. Lists of keys are sent in chunks, so no command outgrows MongoDB's 16 MiB
 * document limit whatever the list's length; work that runs in transactions is cut to what
 * one transaction may hold.
 */
import { Connection } from '../../lib/connection';
import type { HandlerMap } from '../../lib/dispatch';
import { DuplicateKeyError, NotImplementedError, chainIdTaken, heightExists } from '../../lib/errors';
import { utxoChanges } from '../../lib/ledger';
import type { Block, OutputRef, PreCommitState, Transaction, Utxo } from '../../lib/model';
import * as query from '../../lib/query';
import type { TableName } from '../../lib/tables';
import { inOrderOf, sideRecordsOf } from '../../lib/model';
import type { MongoConnection } from './connection';
import { MAX_TRANSACTION_DOCUMENTS, TRANSACTION_LIMITS, TransactionBudget, type TransactionLimits, slices } from './budget';
import type { AnyBulkWriteOperation, ClientSession, Db, Document } from './driver';
import { BACKEND, isDuplicateKeyError, rootError } from './errors';
import {
  HIGHEST_FIRST,
  assetTokensFilter,
  keyIn,
  ownedFilter,
  ownedOutputs,
  ownerTransactionsFilter,
  spendingFilter,
  spentFilter,
  txidsFilter,
  utxoFilter,
  utxoRefsFilter,
  validatorSetFilter,
  writeOrder,
} from './filters';
import { PRE_COMMIT_ID, RECORD_PROJECTION, type TransactionDocument, assetDocument, blockDocument, metadataDocument, publicRecord, transactionDocument } from './records';
import { textSearch } from './search';
import { STORED_DEPTH, checkStorable, checkStorableBatch } from './storable';
import { type KeyedInsert, type KeyedWriteOptions, duplicates, keysTakenByOthers, landed, refuseRepeated, writeKeyed } from './writes';

/** What ownedOutputs reads of a transaction: its id and the keys of each output (not the whole body). */
const OWNERS_PROJECTION = { _id: 0, 'body.id': 1, 'body.outputs.public_keys': 1 };

/** Keys per command when a list is sent as `$in` (far below 16 MiB for any key chainstore stores). */
const CHUNK = 10_000;

const chunks = <T>(list: readonly T[], size = CHUNK): T[][] => slices(list, size);

/**
 * Transaction ids per deleting transaction: each id removes up to three documents (the
 * transaction, its asset data, its metadata), so a chunk stays within one transaction's
 * document limit.
 *
 * @example
 * DELETE_CHUNK;   // 333
 */
export const DELETE_CHUNK = Math.floor(MAX_TRANSACTION_DOCUMENTS / 3);

/** The public records of `table` matching `filter`, in `sort` order. */
async function records<R>(db: Db, table: TableName, filter: Document, sort?: Document, limit?: number): Promise<R[]> {
  const rows = await db.collection(table).find(filter, { projection: RECORD_PROJECTION[table], sort, limit }).toArray();
  return rows.map((row) => publicRecord(table, row) as R);
}

/** The public record of `table` matching `filter` (the first in `sort` order), or null. */
async function record<R>(db: Db, table: TableName, filter: Document, sort?: Document): Promise<R | null> {
  const row = await db.collection(table).findOne(filter, { projection: RECORD_PROJECTION[table], sort });
  return row ? (publicRecord(table, row) as R) : null;
}

/** Transactions matching `filter`, in write order. */
function transactionsWhere(conn: MongoConnection, what: string, filter: Document): Promise<Transaction[]> {
  return conn.attempt(what, (db) => records<Transaction>(db, 'transactions', filter, writeOrder()));
}

/** Transactions matching any of the filters (one per chunk of a long list), each once, in write order. */
async function transactionsWhereAny(conn: MongoConnection, what: string, filters: Document[]): Promise<Transaction[]> {
  const found = new Map<string, { order: string; body: Transaction }>();
  await conn.attempt(what, async (db) => {
    for (const filter of filters) {
      const rows = await db.collection('transactions').find(filter, { projection: { _id: 1, body: 1 } }).toArray();
      for (const row of rows) found.set((row.body as Transaction).id, { order: String(row._id), body: row.body as Transaction });
    }
  });
  return [...found.values()].sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0)).map((entry) => entry.body);
}

/** Records of `table` whose key is among `keys` (sent in chunks), in the order of `keys`. */
async function byKeys<R extends { id: string }>(conn: MongoConnection, what: string, table: 'transactions' | 'assets' | 'metadata', keys: readonly string[]): Promise<R[]> {
  if (keys.length === 0) return [];
  const found = new Map<string, R>();
  await conn.attempt(what, async (db) => {
    for (const chunk of chunks([...new Set(keys)])) {
      for (const item of await records<R>(db, table, keyIn('id', chunk))) found.set(item.id, item);
    }
  });
  return inOrderOf(keys, found);
}

// ---------------------------------------------------------------------------
// Writes shared by the handlers and the atomic commit
// ---------------------------------------------------------------------------

/** Upserts by `filter` of each record: a store that finds one replaces it (a `replace` event), else inserts. */
function upserts(rows: readonly Document[], filterOf: (row: Document) => Document): AnyBulkWriteOperation[] {
  return rows.map((replacement) => ({ replaceOne: { filter: filterOf(replacement), replacement, upsert: true } }));
}

/** The asset data and metadata transactions bring; they replace what was stored under the same ids. */
async function writeSideRecords(db: Db, txs: readonly Transaction[], session?: ClientSession): Promise<void> {
  const { assets, metadata } = sideRecordsOf(txs);
  if (assets.length) await db.collection('assets').bulkWrite(upserts(assets, (a) => ({ id: a.id })), { session, ordered: true });
  if (metadata.length) await db.collection('metadata').bulkWrite(upserts(metadata, (m) => ({ id: m.id })), { session, ordered: true });
}

/** The transactions' insert plan; their asset data and metadata are written with them. */
function transactionPlan(txs: readonly Transaction[]): KeyedInsert<TransactionDocument> {
  return { collection: { name: 'transactions', key: 'id' }, docs: txs.map(transactionDocument) };
}

/**
 * The asset data and metadata documents a stored transaction brings (what writeSideRecords
 * writes for it), to count them in a transaction's size.
 *
 * @example
 * sideDocuments(transactionDocument(create));   // [{ id, data }, { id, metadata }]
 */
export function sideDocuments(doc: TransactionDocument): Document[] {
  const { assets, metadata } = sideRecordsOf([doc.body]);
  return [...assets, ...metadata];
}

/** How transactions are written: with their asset data and metadata, in the same transaction. */
const WITH_SIDE_RECORDS: KeyedWriteOptions<TransactionDocument> = {
  companion: (inserted, db, session) => writeSideRecords(db, inserted.map((doc) => doc.body), session),
  companionDocuments: sideDocuments,
};

async function upsertUtxos(db: Db, utxos: readonly Utxo[], session?: ClientSession): Promise<void> {
  if (utxos.length === 0) return;
  // Ordered: a later store of the same output replaces an earlier one.
  const rows = utxos.map(({ transaction_id, output_index, amount, asset_id, condition_uri }) => ({ transaction_id, output_index, amount, asset_id, condition_uri }));
  await db.collection('utxos').bulkWrite(upserts(rows, (u) => ({ transaction_id: u.transaction_id, output_index: u.output_index })), { session, ordered: true });
}

async function deleteUtxos(db: Db, refs: readonly OutputRef[], session?: ClientSession): Promise<void> {
  for (const chunk of chunks(refs)) await db.collection('utxos').deleteMany(utxoRefsFilter(chunk), { session });
}

async function storePreCommit(db: Db, state: PreCommitState, session?: ClientSession): Promise<void> {
  await db.collection('pre_commit').replaceOne({ _id: PRE_COMMIT_ID } as Document, { height: state.height, transactions: state.transactions }, { upsert: true, session });
}

/**
 * True when commitBlock's whole work fits in one transaction (budget.ts): the pre-commit
 * record, the transactions with their asset data and metadata, the outputs deleted and
 * stored, and the block.
 *
 * @example
 * commitFitsOneTransaction(block, txs);   // false for a block of 100,000 transactions
 */
export function commitFitsOneTransaction(block: Block, txs: readonly Transaction[], limits: TransactionLimits = TRANSACTION_LIMITS): boolean {
  const budget = new TransactionBudget(limits);
  if (!budget.add([{ _id: PRE_COMMIT_ID, height: block.height, transactions: block.transactions }, blockDocument(block)])) return false;
  const { spent, created } = utxoChanges(txs);
  if (!budget.addCount(spent.length) || !budget.add(created)) return false;
  for (const tx of txs) {
    const doc = transactionDocument(tx);
    if (!budget.add([doc, ...sideDocuments(doc)])) return false;
  }
  return true;
}

/**
 * commitBlock in one transaction (replica sets, sharded clusters): all four steps of the
 * protocol, or none of them.
 */
async function commitAtomically(conn: MongoConnection, block: Block, txs: Transaction[]): Promise<void> {
  const what = 'commit block';
  const plan = transactionPlan(txs);
  const blockDoc = blockDocument(block);
  await refuseRepeated(conn, what, plan);
  try {
    await conn.transaction(what, async (session, db) => {
      await storePreCommit(db, { height: block.height, transactions: block.transactions }, session);
      if (plan.docs.length) {
        await db.collection('transactions').insertMany(plan.docs, { session, ordered: true });
        await writeSideRecords(db, txs, session);
      }
      const { spent, created } = utxoChanges(txs);
      await deleteUtxos(db, spent, session);
      await upsertUtxos(db, created, session);
      await db.collection('blocks').insertOne(blockDoc, { session });
    });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    if (!(error instanceof DuplicateKeyError) || !isDuplicateKeyError(rootError(cause))) throw error;
    // Our own earlier try committed (its reply was lost): the block is there under our _id.
    const blockPlan: KeyedInsert = { collection: { name: 'blocks', key: 'height' }, docs: [blockDoc] };
    if (await conn.attempt(what, (db) => landed(db, blockPlan))) return;
    const taken = plan.docs.length ? await conn.attempt(what, (db) => keysTakenByOthers(db, plan)) : [];
    if (taken.length) throw duplicates(what, taken, cause);
    if ((await conn.attempt(what, (db) => keysTakenByOthers(db, blockPlan))).length) throw heightExists(BACKEND, what, block.height, cause);
    throw error;
  }
}

/**
 * commitBlock step by step (the protocol of lib/ledger.ts: pre-commit record first, block
 * last, so recover() repairs a crash in between), for standalone servers and for blocks too
 * big for one transaction. The protocol itself refuses a commit that cannot succeed (a
 * stored or repeated transaction id, a committed height) before it writes anything.
 */
async function commitInSteps(conn: MongoConnection, block: Block, txs: Transaction[]): Promise<void> {
  const protocol = query.commitBlock.dispatch(Connection);
  if (!protocol) throw new NotImplementedError('query.commitBlock has no default handler for Connection (lib/ledger is not loaded)');
  await protocol(conn, block, txs);
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

/**
 * The query handlers of the localmongodb backend, registered by its index.
 *
 * @example
 * registerHandlers(MongoConnection, query, queryHandlers);
 */
export const queryHandlers: HandlerMap<typeof query, typeof MongoConnection> = {
  async writeTransaction(conn, tx) {
    checkStorable('transaction', tx, STORED_DEPTH.transaction);
    await writeKeyed(conn, 'write transaction', transactionPlan([tx]), WITH_SIDE_RECORDS);
  },

  async writeTransactions(conn, txs) {
    checkStorableBatch('transactions', txs, STORED_DEPTH.transaction);
    await writeKeyed(conn, 'write transactions', transactionPlan(txs), WITH_SIDE_RECORDS);
  },

  async getTransaction(conn, id) {
    return conn.attempt('get transaction', (db) => record<Transaction>(db, 'transactions', { id }));
  },

  getTransactions(conn, ids) {
    return byKeys<Transaction>(conn, 'get transactions', 'transactions', ids);
  },

  // A transaction and its asset data and metadata go together (one transaction per chunk of
  // DELETE_CHUNK ids); a crash between chunks leaves the later chunks, and deleting again
  // (recover() does) finishes the work.
  async deleteTransactions(conn, ids) {
    for (const chunk of chunks([...new Set(ids)], DELETE_CHUNK)) {
      await conn.atomically('delete transactions', async (db, session) => {
        for (const table of ['transactions', 'assets', 'metadata'] as const) await db.collection(table).deleteMany(keyIn('id', chunk), { session });
      });
    }
  },

  async getTxidsFiltered(conn, assetId, filter = {}) {
    const rows = await conn.attempt('get txids', (db) =>
      db
        .collection('transactions')
        .find(txidsFilter(assetId, filter.operation), { projection: { _id: 0, id: 1 }, sort: writeOrder(filter.lastTx), limit: filter.lastTx ? 1 : 0 })
        .toArray(),
    );
    return rows.map((row) => row.id as string);
  },

  getSpent(conn, txid, outputIndex) {
    return transactionsWhere(conn, 'get spent', spentFilter(txid, outputIndex));
  },

  async getSpendingTransactions(conn, refs) {
    if (refs.length === 0) return [];
    return transactionsWhereAny(conn, 'get spending transactions', chunks(refs).map(spendingFilter));
  },

  getOwnedIds(conn, publicKey) {
    return transactionsWhere(conn, 'get owned transactions', ownedFilter(publicKey));
  },

  getAssetTokensForPublicKey(conn, assetId, publicKey) {
    return transactionsWhere(conn, 'get asset tokens', assetTokensFilter(assetId, publicKey));
  },

  async storeAsset(conn, asset) {
    checkStorable('asset', asset, STORED_DEPTH.record);
    await writeKeyed(conn, 'store asset', { collection: { name: 'assets', key: 'id' }, docs: [assetDocument(asset)] });
  },

  async storeAssets(conn, assets) {
    checkStorableBatch('assets', assets, STORED_DEPTH.record);
    await writeKeyed(conn, 'store assets', { collection: { name: 'assets', key: 'id' }, docs: assets.map(assetDocument) });
  },

  async getAsset(conn, id) {
    return conn.attempt('get asset', (db) => record(db, 'assets', { id }));
  },

  getAssets(conn, ids) {
    return byKeys(conn, 'get assets', 'assets', ids);
  },

  async storeMetadatas(conn, metadatas) {
    checkStorableBatch('metadatas', metadatas, STORED_DEPTH.record);
    await writeKeyed(conn, 'store metadata', { collection: { name: 'metadata', key: 'id' }, docs: metadatas.map(metadataDocument) });
  },

  getMetadata(conn, ids) {
    return byKeys(conn, 'get metadata', 'metadata', ids);
  },

  textSearch,

  async storeBlock(conn, block) {
    try {
      await writeKeyed(conn, 'store block', { collection: { name: 'blocks', key: 'height' }, docs: [blockDocument(block)] });
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      throw heightExists(BACKEND, 'store block', block.height, error.cause);
    }
  },

  async getBlock(conn, height) {
    return conn.attempt('get block', (db) => record<Block>(db, 'blocks', { height }));
  },

  async getLatestBlock(conn) {
    return conn.attempt('get latest block', (db) => record<Block>(db, 'blocks', {}, HIGHEST_FIRST));
  },

  async getBlockWithTransaction(conn, txid) {
    const rows = await conn.attempt('get block with transaction', (db) =>
      db.collection('blocks').find({ transactions: txid }, { projection: { _id: 0, height: 1 }, sort: { height: 1 } }).toArray(),
    );
    return rows.map((row) => Number(row.height));
  },

  async storeUnspentOutputs(conn, utxos) {
    if (utxos.length) await conn.attempt('store unspent outputs', (db) => upsertUtxos(db, utxos));
  },

  async deleteUnspentOutputs(conn, refs) {
    if (refs.length) await conn.attempt('delete unspent outputs', (db) => deleteUtxos(db, refs));
  },

  async getUnspentOutputs(conn, filter = {}) {
    return conn.attempt('get unspent outputs', async (db) => {
      const sort = { transaction_id: 1, output_index: 1 };
      if (filter.public_key === undefined) return records<Utxo>(db, 'utxos', utxoFilter(filter), sort);
      // The key is found where it is indexed, in the outputs of the transactions that made the UTXOs.
      const owners = await db
        .collection('transactions')
        .find(ownerTransactionsFilter({ ...filter, public_key: filter.public_key }), { projection: OWNERS_PROJECTION })
        .toArray();
      const owned = ownedOutputs(owners.map((row) => row.body as Transaction), filter.public_key);
      const found: Utxo[] = [];
      for (const chunk of chunks(owned)) found.push(...(await records<Utxo>(db, 'utxos', utxoFilter(filter, chunk), sort)));
      return found;
    });
  },

  async storePreCommitState(conn, state) {
    await conn.attempt('store pre-commit state', (db) => storePreCommit(db, state));
  },

  async getPreCommitState(conn) {
    return conn.attempt('get pre-commit state', (db) => record<PreCommitState>(db, 'pre_commit', { _id: PRE_COMMIT_ID }));
  },

  async storeValidatorSet(conn, set) {
    checkStorable('validator set', set, STORED_DEPTH.record);
    await conn.attempt('store validator set', (db) =>
      db.collection('validators').replaceOne({ height: set.height }, { height: set.height, validators: set.validators }, { upsert: true }),
    );
  },

  async deleteValidatorSet(conn, height) {
    await conn.attempt('delete validator set', (db) => db.collection('validators').deleteOne({ height }));
  },

  async getValidatorSet(conn, height) {
    return conn.attempt('get validator set', (db) => record(db, 'validators', validatorSetFilter(height), HIGHEST_FIRST));
  },

  async storeElection(conn, electionId, height, isConcluded) {
    await conn.attempt('store election', (db) =>
      db
        .collection('elections')
        .replaceOne({ election_id: electionId, height }, { election_id: electionId, height, is_concluded: isConcluded }, { upsert: true }),
    );
  },

  async storeElections(conn, elections) {
    if (elections.length === 0) return;
    const rows = elections.map(({ election_id, height, is_concluded }) => ({ election_id, height, is_concluded }));
    // All or nothing up to one transaction's documents; a larger list in such chunks (upserts:
    // running it again after a crash between chunks converges).
    for (const chunk of chunks(rows, MAX_TRANSACTION_DOCUMENTS)) {
      await conn.atomically('store elections', (db, session) =>
        db.collection('elections').bulkWrite(upserts(chunk, (e) => ({ election_id: e.election_id, height: e.height })), { session, ordered: true }),
      );
    }
  },

  async deleteElections(conn, height) {
    await conn.attempt('delete elections', (db) => db.collection('elections').deleteMany({ height }));
  },

  async getElection(conn, electionId) {
    return conn.attempt('get election', (db) => record(db, 'elections', { election_id: electionId }, HIGHEST_FIRST));
  },

  async storeAbciChain(conn, height, chainId, isSynced = true) {
    try {
      await conn.attempt('store abci chain', (db) =>
        db.collection('abci_chains').replaceOne({ height }, { height, chain_id: chainId, is_synced: isSynced }, { upsert: true }),
      );
    } catch (error) {
      // The height is upserted, so the unique key hit is the chain id's (index chain_id_unique).
      if (error instanceof DuplicateKeyError) throw chainIdTaken('localmongodb', chainId, error.cause);
      throw error;
    }
  },

  async deleteAbciChain(conn, height) {
    await conn.attempt('delete abci chain', (db) => db.collection('abci_chains').deleteOne({ height }));
  },

  async getLatestAbciChain(conn) {
    return conn.attempt('get latest abci chain', (db) => record(db, 'abci_chains', {}, HIGHEST_FIRST));
  },

  // Atomic where the deployment has transactions and the block fits in one; elsewhere the
  // protocol step by step, which recover() repairs.
  async commitBlock(conn, block, txs) {
    checkStorableBatch('transactions', txs, STORED_DEPTH.transaction);
    if ((await conn.serverInfo()).transactions && commitFitsOneTransaction(block, txs)) return commitAtomically(conn, block, txs);
    return commitInSteps(conn, block, txs);
  },
};

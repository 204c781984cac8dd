/**
 * The query handlers of the rethinkdb backend: each runs the term terms.ts builds and turns
 * the result into the contract's.
 *
 * Duplicates: RethinkDB has no multi-document transactions, so a batch cannot be written
 * "all or nothing". Instead, keys repeated within a batch and keys already stored are found
 * before anything is written (the usual case writes nothing); a key stored by a concurrent
 * writer between that check and the insert is caught by the insert itself (conflict
 * `error`): the rest of the batch is then written, and the error lists exactly the keys that
 * were not.
 *
 * Batches. A batch is written as several queries, each within two limits: at most
 * ENTRY_SIZE records per table (one change-log entry each, changelog.ts) and at most
 * WRITE_BYTES of documents. RethinkDB refuses a query over its size limit (64 MB up to 2.3,
 * 128 MB in 2.4: `TOO_LARGE_QUERY_SIZE` in the server's protocols.cc) and an array over
 * 100,000 elements (the default `arrayLimit`); a change-log entry holds the events of its
 * query, and RethinkDB advises documents under 16 MB. Lookups pass at most KEYS_PER_LOOKUP
 * keys in one array.
 *
 * `commitBlock` is not overridden: the step-by-step protocol registered for the base
 * Connection serves this backend, and `recover()` repairs a crash between its steps.
 */
import type { RDatum } from 'rethinkdb-ts';
import type { HandlerMap } from '../../lib/dispatch';
import { DuplicateKeyError, OperationError, chainIdTaken, describeKeys, duplicateKeys, heightExists } from '../../lib/errors';
import { type Asset, type Metadata, type Transaction, repeatedKeys } from '../../lib/model';
import type * as query from '../../lib/query';
import { inOrderOf } from '../../lib/model';
import { ENTRY_SIZE, type Key, type WriteOutcome } from './changelog';
import type { RethinkConnection } from './connection';
import { planFor, textSearchTerm } from './search';
import {
  abciChainHeightsTerm,
  assetTokensTerm,
  blocksWithTransactionTerm,
  deleteAtHeightTerm,
  deleteElectionsTerm,
  deleteTransactionsTerm,
  deleteUtxosTerm,
  electionTerm,
  getPreCommitTerm,
  getRecordTerm,
  getTransactionTerm,
  getTransactionsTerm,
  getTxidsFilteredTerm,
  isStorableKey,
  latestTerm,
  ownedTerm,
  recordsTerm,
  sideRecordsTerm,
  spendingTerm,
  storeAbciChainTerm,
  storeAssetsTerm,
  storeBlockTerm,
  storeElectionsTerm,
  storeMetadatasTerm,
  storePreCommitTerm,
  storeUtxosTerm,
  storeValidatorSetTerm,
  storedIds,
  utxosTerm,
  validatorSetTerm,
  writeTransactionsTerm,
} from './terms';

/**
 * Bytes of documents per write query: far below the server's limit on a query, and so the
 * most one change-log entry holds.
 */
const WRITE_BYTES = 4 * 1024 * 1024;
/**
 * Transactions deleted per query: a delete first copies the records it deletes into its
 * pending change-log entry (changelog.ts), and their size is known only to the server.
 */
const DELETIONS_PER_QUERY = 100;
/** Keys per lookup: `getAll` takes them as one array, and server arrays hold at most 100,000. */
const KEYS_PER_LOOKUP = 50_000;
/** The scan of a text search sorts its matches in memory: let it sort more than 100,000. */
const SEARCH_RUN_OPTIONS = { arrayLimit: 1_000_000 };

/** Consecutive slices of at most `size` items. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The size of a value as JSON, in bytes: about what it adds to a query. */
const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '');

/**
 * Consecutive slices of at most `count` items and at most `bytes` of `size` (an item larger
 * than `bytes` goes alone: the server says whether it fits).
 *
 * @example
 * writeBatches(txs, (tx) => 3 * jsonBytes(tx));
 */
export function writeBatches<T>(items: readonly T[], size: (item: T) => number, count = ENTRY_SIZE, bytes = WRITE_BYTES): T[][] {
  const out: T[][] = [];
  let batch: T[] = [];
  let total = 0;
  for (const item of items) {
    const itemBytes = size(item);
    if (batch.length && (batch.length >= count || total + itemBytes > bytes)) {
      out.push(batch);
      batch = [];
      total = 0;
    }
    batch.push(item);
    total += itemBytes;
  }
  if (batch.length) out.push(batch);
  return out;
}

/**
 * What a transaction adds to its write: the transaction, and its asset data and metadata
 * again in their own documents, with their text.
 */
const transactionBytes = (tx: Transaction): number => 3 * jsonBytes(tx);

const ids = (records: readonly { id: string }[]) => records.map((record) => record.id);

/** Keeps the first record of each id, in order. */
function uniqueById<T extends { id: string }>(records: readonly T[]): T[] {
  const seen = new Set<string>();
  return records.filter((record) => !seen.has(record.id) && Boolean(seen.add(record.id)));
}

const duplicates = (what: string, keys: readonly (string | number)[]): DuplicateKeyError => duplicateKeys('rethinkdb', what, keys);

/**
 * Rejects a batch whose keys repeat or are already stored, before anything is written,
 * listing exactly those keys.
 */
async function refuseDuplicates(conn: RethinkConnection, what: string, table: 'transactions' | 'assets' | 'metadata', keys: readonly string[]): Promise<void> {
  const repeated = repeatedKeys(keys, (key) => key);
  const stored: string[] = [];
  for (const batch of chunks([...new Set(keys)], KEYS_PER_LOOKUP)) stored.push(...(await conn.run(what, storedIds(conn.db, table, batch))));
  const found = [...new Set([...repeated, ...stored])];
  if (found.length) throw duplicates(what, found);
}

/** The error for an insert that did not insert everything: duplicates, or what the server said. */
function insertFailure(what: string, outcome: WriteOutcome): Error {
  if (/Duplicate primary key/i.test(outcome.first_error ?? '')) return duplicates(what, outcome.rejected);
  return new OperationError('rethinkdb', `${what} failed for ${describeKeys(outcome.rejected)}: ${outcome.first_error ?? 'unknown error'}`);
}

/** Writes transactions with their asset data and metadata, refusing duplicates. */
async function writeTransactions(conn: RethinkConnection, what: string, txs: readonly Transaction[]): Promise<void> {
  await refuseDuplicates(conn, what, 'transactions', ids(txs));
  for (const batch of writeBatches(txs, transactionBytes)) {
    const outcome = await conn.run(what, writeTransactionsTerm(conn.db, batch, conn.writer), { write: true });
    if (outcome.rejected.length === 0) continue;
    // A concurrent writer stored some ids first: the transactions inserted still get theirs.
    const rejected = new Set<Key>(outcome.rejected);
    const sides = sideRecordsTerm(conn.db, batch.filter((tx) => !rejected.has(tx.id)), conn.writer);
    if (sides) await conn.run(what, sides, { write: true });
    throw insertFailure(what, outcome);
  }
}

/** Stores new asset data or metadata, refusing duplicates. */
async function storeNew<T extends Asset | Metadata>(
  conn: RethinkConnection,
  what: string,
  table: 'assets' | 'metadata',
  records: readonly T[],
  term: (db: string, batch: readonly T[]) => ReturnType<typeof storeAssetsTerm>,
): Promise<void> {
  if (records.length === 0) return;
  await refuseDuplicates(conn, what, table, ids(records));
  // The data, and its text again.
  for (const batch of writeBatches(records, (record) => 2 * jsonBytes(record))) {
    const outcome = await conn.run(what, term(conn.db, batch), { write: true });
    if (outcome.rejected.length) throw insertFailure(what, outcome);
  }
}

/** Looks records up by primary key, in batches, skipping keys no document can have. */
async function lookUp<T>(keys: readonly string[], read: (batch: string[]) => Promise<T[]>): Promise<T[]> {
  const found: T[] = [];
  for (const batch of chunks([...new Set(keys)].filter(isStorableKey), KEYS_PER_LOOKUP)) found.push(...(await read(batch)));
  return found;
}

/** Runs a write once per batch of `items` (see {@link writeBatches}). */
async function writeInBatches<T>(conn: RethinkConnection, what: string, items: readonly T[], term: (batch: T[]) => RDatum, count = ENTRY_SIZE): Promise<void> {
  for (const batch of writeBatches(items, jsonBytes, count)) await conn.run(what, term(batch), { write: true });
}

/**
 * The query handlers of the rethinkdb backend, registered by its index.
 *
 * @example
 * registerHandlers(RethinkConnection, query, queryHandlers);
 */
export const queryHandlers: HandlerMap<typeof query, typeof RethinkConnection> = {
  async writeTransaction(conn, tx) {
    await writeTransactions(conn, 'write transaction', [tx]);
  },

  async writeTransactions(conn, txs) {
    if (txs.length) await writeTransactions(conn, 'write transactions', txs);
  },

  async getTransaction(conn, id) {
    if (!isStorableKey(id)) return null;
    return conn.run('get transaction', getTransactionTerm(conn.db, id));
  },

  async getTransactions(conn, txids) {
    const found = await lookUp<Transaction>(txids, (batch) => conn.run('get transactions', getTransactionsTerm(conn.db, batch)));
    return inOrderOf(txids, new Map(found.map((tx) => [tx.id, tx])));
  },

  async deleteTransactions(conn, txids) {
    const keys = [...new Set(txids)].filter(isStorableKey);
    await writeInBatches(conn, 'delete transactions', keys, (batch) => deleteTransactionsTerm(conn.db, batch, conn.writer), DELETIONS_PER_QUERY);
  },

  async getTxidsFiltered(conn, assetId, filter) {
    return conn.run('get txids', getTxidsFilteredTerm(conn.db, assetId, filter));
  },

  async getSpent(conn, txid, outputIndex) {
    return uniqueById(await conn.run('get spent', spendingTerm(conn.db, [{ transaction_id: txid, output_index: outputIndex }])));
  },

  async getSpendingTransactions(conn, refs) {
    const unique = [...new Map(refs.map((ref) => [`${ref.transaction_id}:${ref.output_index}`, ref])).values()];
    const found: Transaction[] = [];
    for (const batch of chunks(unique, KEYS_PER_LOOKUP)) found.push(...(await conn.run('get spending transactions', spendingTerm(conn.db, batch))));
    return uniqueById(found);
  },

  async getOwnedIds(conn, publicKey) {
    return conn.run('get owned transactions', ownedTerm(conn.db, publicKey));
  },

  async getAssetTokensForPublicKey(conn, assetId, publicKey) {
    return conn.run('get asset tokens', assetTokensTerm(conn.db, assetId, publicKey));
  },

  async storeAsset(conn, asset) {
    await storeNew(conn, 'store asset', 'assets', [asset], (db, batch) => storeAssetsTerm(db, batch, conn.writer));
  },

  async storeAssets(conn, assets) {
    await storeNew(conn, 'store assets', 'assets', assets, (db, batch) => storeAssetsTerm(db, batch, conn.writer));
  },

  async getAsset(conn, id) {
    if (!isStorableKey(id)) return null;
    return conn.run('get asset', getRecordTerm(conn.db, 'assets', id));
  },

  async getAssets(conn, assetIds) {
    const found = await lookUp<Asset>(assetIds, (batch) => conn.run('get assets', recordsTerm(conn.db, 'assets', batch)));
    return inOrderOf(assetIds, new Map(found.map((asset) => [asset.id, asset])));
  },

  async storeMetadatas(conn, metadatas) {
    await storeNew(conn, 'store metadata', 'metadata', metadatas, (db, batch) => storeMetadatasTerm(db, batch, conn.writer));
  },

  async getMetadata(conn, txids) {
    const found = await lookUp<Metadata>(txids, (batch) => conn.run('get metadata', recordsTerm(conn.db, 'metadata', batch)));
    return inOrderOf(txids, new Map(found.map((record) => [record.id, record])));
  },

  async textSearch(conn, search, options) {
    const plan = planFor(search, options);
    if (!plan) return [];
    return conn.run('text search', textSearchTerm(conn.db, plan, options), { runOptions: SEARCH_RUN_OPTIONS });
  },

  async storeBlock(conn, block) {
    const outcome = await conn.run('store block', storeBlockTerm(conn.db, block, conn.writer), { write: true });
    if (outcome.rejected.length === 0) return;
    if (/Duplicate primary key/i.test(outcome.first_error ?? '')) {
      throw heightExists('rethinkdb', 'store block', block.height);
    }
    throw insertFailure('store block', outcome);
  },

  async getBlock(conn, height) {
    return conn.run('get block', getRecordTerm(conn.db, 'blocks', height));
  },

  async getLatestBlock(conn) {
    const [latest] = await conn.run('get latest block', latestTerm(conn.db, 'blocks'));
    return latest ?? null;
  },

  async getBlockWithTransaction(conn, txid) {
    const heights: number[] = await conn.run('get block with transaction', blocksWithTransactionTerm(conn.db, txid));
    return [...new Set(heights)].sort((a, b) => a - b);
  },

  async storeUnspentOutputs(conn, utxos) {
    await writeInBatches(conn, 'store unspent outputs', utxos, (batch) => storeUtxosTerm(conn.db, batch, conn.writer));
  },

  async deleteUnspentOutputs(conn, refs) {
    await writeInBatches(conn, 'delete unspent outputs', refs, (batch) => deleteUtxosTerm(conn.db, batch, conn.writer));
  },

  async getUnspentOutputs(conn, filter) {
    return conn.run('get unspent outputs', utxosTerm(conn.db, filter));
  },

  async storePreCommitState(conn, state) {
    await conn.run('store pre-commit state', storePreCommitTerm(conn.db, state, conn.writer), { write: true });
  },

  async getPreCommitState(conn) {
    return conn.run('get pre-commit state', getPreCommitTerm(conn.db));
  },

  async storeValidatorSet(conn, set) {
    await conn.run('store validator set', storeValidatorSetTerm(conn.db, set, conn.writer), { write: true });
  },

  async deleteValidatorSet(conn, height) {
    await conn.run('delete validator set', deleteAtHeightTerm(conn.db, 'validators', height, conn.writer), { write: true });
  },

  async getValidatorSet(conn, height) {
    const [set] = await conn.run('get validator set', validatorSetTerm(conn.db, height));
    return set ?? null;
  },

  async storeElection(conn, electionId, height, isConcluded) {
    const election = { election_id: electionId, height, is_concluded: isConcluded };
    await conn.run('store election', storeElectionsTerm(conn.db, [election], conn.writer), { write: true });
  },

  async storeElections(conn, elections) {
    await writeInBatches(conn, 'store elections', elections, (batch) => storeElectionsTerm(conn.db, batch, conn.writer));
  },

  async deleteElections(conn, height) {
    await conn.run('delete elections', deleteElectionsTerm(conn.db, height, conn.writer), { write: true });
  },

  async getElection(conn, electionId) {
    const [election] = await conn.run('get election', electionTerm(conn.db, electionId));
    return election ?? null;
  },

  async storeAbciChain(conn, height, chainId, isSynced = true) {
    // RethinkDB has no unique secondary index: the chain id is checked before the write
    // (a writer racing on the same id between the two could still store it twice).
    const heights = await conn.run('store abci chain', abciChainHeightsTerm(conn.db, chainId));
    if (heights.some((stored) => stored !== height)) throw chainIdTaken('rethinkdb', chainId);
    await conn.run('store abci chain', storeAbciChainTerm(conn.db, { height, chain_id: chainId, is_synced: isSynced }, conn.writer), { write: true });
  },

  async deleteAbciChain(conn, height) {
    await conn.run('delete abci chain', deleteAtHeightTerm(conn.db, 'abci_chains', height, conn.writer), { write: true });
  },

  async getLatestAbciChain(conn) {
    const [chain] = await conn.run('get latest abci chain', latestTerm(conn.db, 'abci_chains'));
    return chain ?? null;
  },
};

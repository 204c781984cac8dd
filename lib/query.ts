/**
 * `query`: the generic functions that read and write ledger records (docs/design.md section 4).
 *
 * Each generic is declared once, with its contract as JSDoc and its argument checks;
 * backends only register handlers. The checks run before any handler, so a backend
 * never sees a malformed record, and every failure arrives as a rejected promise.
 *
 * @module
 */
import type { Connection } from './connection';
import { type GenericSignature, defineInterface, generic, rejectAsync } from './dispatch';
import { ValidationError } from './errors';
import { type ListRecordsOptions, MAX_PAGE_SIZE, type RecordPage } from './pages';
import { TABLES, type TableName, isTableName } from './tables';
import {
  type AbciChain,
  type Asset,
  type Block,
  type Election,
  type Metadata,
  type OutputRef,
  type PreCommitState,
  type Transaction,
  type Utxo,
  type ValidatorSet,
  checkArgument,
  checkHeight,
  checkOutputIndex,
  checkKnownKeys,
  checkString,
  checkStrings,
  validate,
  validateBatch,
} from './model';

/**
 * Options of {@link getTxidsFiltered}.
 *
 * @example
 * const [latest] = await query.getTxidsFiltered(conn, assetId, { operation: 'TRANSFER', lastTx: true });
 */
export interface TxidsFilter {
  /** Only transactions of this operation (`'CREATE'` or `'TRANSFER'`, ...). */
  operation?: Transaction['operation'];
  /** Only the most recently written matching transaction. */
  lastTx?: boolean;
}

/**
 * Options of {@link textSearch}.
 *
 * @example
 * await query.textSearch(conn, 'Refund', { table: 'metadata', limit: 20, caseSensitive: true, language: 'none' });
 */
export interface TextSearchOptions {
  /** What to search: asset data (default) or metadata. */
  table?: 'assets' | 'metadata';
  /** Most results to return. Default: all. */
  limit?: number;
  /** Match case exactly. Default false. */
  caseSensitive?: boolean;
  /** Stemming language: `'english'` (default) or `'none'` for exact words. */
  language?: string;
}

/**
 * One text search result: `data` for assets, `metadata` for metadata; `score`, higher is better.
 *
 * @example
 * const [best] = await query.textSearch(conn, 'coffee');   // { id, data: { ... }, score }
 */
export interface TextSearchResult {
  id: string;
  data?: unknown;
  metadata?: unknown;
  score?: number;
}

/**
 * Filter of {@link getUnspentOutputs}; every given field must match.
 *
 * @example
 * const mine = await query.getUnspentOutputs(conn, { asset_id: assetId, public_key: alice });
 */
export interface UtxoFilter {
  transaction_id?: string;
  public_key?: string;
  asset_id?: string;
}

function declare<F extends GenericSignature>(name: string, check?: (...args: Parameters<F>) => void) {
  return generic<F>(`query.${name}`, { failure: rejectAsync, check });
}

function checkOptions(name: string, value: unknown): void {
  checkArgument(name, value === undefined || (value !== null && typeof value === 'object' && !Array.isArray(value)), value, 'an options object');
}

function checkRefs(name: string, refs: unknown): void {
  validateBatch('outputRef', refs, name, Number.MAX_SAFE_INTEGER);
}

// ---------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------

/**
 * Stores one transaction, with its asset data (CREATE) and metadata.
 * An existing id rejects with `DuplicateKeyError`.
 *
 * @example
 * await query.writeTransaction(conn, tx);
 */
export const writeTransaction = declare<(conn: Connection, tx: Transaction) => Promise<void>>('writeTransaction', (_c, tx) =>
  validate('transaction', tx),
);

/**
 * Stores 0 to 100,000 transactions in one call. Any duplicate (already stored, or twice in
 * the batch) rejects with `DuplicateKeyError` listing the ids, and nothing is written where
 * the engine can do it atomically.
 *
 * @example
 * await query.writeTransactions(conn, [tx1, tx2]);
 */
export const writeTransactions = declare<(conn: Connection, txs: Transaction[]) => Promise<void>>(
  'writeTransactions',
  (_c, txs) => validateBatch('transaction', txs, 'transactions'),
);

/**
 * The whole transaction, as written, or null.
 *
 * @example
 * const tx = await query.getTransaction(conn, id);
 */
export const getTransaction = declare<(conn: Connection, id: string) => Promise<Transaction | null>>('getTransaction', (_c, id) =>
  checkString('id', id),
);

/**
 * The transactions that exist among `ids`, in the order of `ids`.
 *
 * @example
 * const [a, b] = await query.getTransactions(conn, [idA, idB]);
 */
export const getTransactions = declare<(conn: Connection, ids: string[]) => Promise<Transaction[]>>('getTransactions', (_c, ids) =>
  checkStrings('ids', ids),
);

/**
 * Removes transactions with their asset data and metadata. Unknown ids are ignored.
 *
 * @example
 * await query.deleteTransactions(conn, [id]);
 */
export const deleteTransactions = declare<(conn: Connection, ids: string[]) => Promise<void>>('deleteTransactions', (_c, ids) =>
  checkStrings('ids', ids),
);

/**
 * Ids of the CREATE that made the asset and of the TRANSFERs of it, in write order.
 * `operation` narrows; `lastTx` returns only the most recently written one.
 *
 * @example
 * const transfers = await query.getTxidsFiltered(conn, assetId, { operation: 'TRANSFER' });
 */
export const getTxidsFiltered = declare<(conn: Connection, assetId: string, filter?: TxidsFilter) => Promise<string[]>>(
  'getTxidsFiltered',
  (_c, assetId, filter) => {
    checkString('assetId', assetId);
    checkOptions('filter', filter);
    checkKnownKeys('filter', filter, ['operation', 'lastTx']);
    if (filter?.operation !== undefined) checkString('filter.operation', filter.operation);
    if (filter?.lastTx !== undefined) checkArgument('filter.lastTx', typeof filter.lastTx === 'boolean', filter.lastTx, 'a boolean');
  },
);

/**
 * Transactions whose inputs fulfil output `outputIndex` of `txid`.
 *
 * @example
 * const spenders = await query.getSpent(conn, txid, 0);
 */
export const getSpent = declare<(conn: Connection, txid: string, outputIndex: number) => Promise<Transaction[]>>(
  'getSpent',
  (_c, txid, outputIndex) => {
    checkString('txid', txid);
    checkOutputIndex('outputIndex', outputIndex);
  },
);

/**
 * Transactions spending any of the exact (transaction_id, output_index) pairs.
 *
 * @example
 * const spenders = await query.getSpendingTransactions(conn, [{ transaction_id: a, output_index: 0 }]);
 */
export const getSpendingTransactions = declare<(conn: Connection, refs: OutputRef[]) => Promise<Transaction[]>>(
  'getSpendingTransactions',
  (_c, refs) => checkRefs('refs', refs),
);

/**
 * Transactions with an output whose public_keys include `publicKey`.
 *
 * @example
 * const owned = await query.getOwnedIds(conn, alicePublicKey);
 */
export const getOwnedIds = declare<(conn: Connection, publicKey: string) => Promise<Transaction[]>>('getOwnedIds', (_c, key) =>
  checkString('publicKey', key),
);

/**
 * Transactions of the asset with an output owned by exactly `publicKey` (and no one else).
 *
 * @example
 * const tokens = await query.getAssetTokensForPublicKey(conn, assetId, alicePublicKey);
 */
export const getAssetTokensForPublicKey = declare<(conn: Connection, assetId: string, publicKey: string) => Promise<Transaction[]>>(
  'getAssetTokensForPublicKey',
  (_c, assetId, key) => {
    checkString('assetId', assetId);
    checkString('publicKey', key);
  },
);

// ---------------------------------------------------------------------------
// Assets and metadata
// ---------------------------------------------------------------------------

/**
 * Stores asset data under the id of its CREATE. An existing id rejects with `DuplicateKeyError`.
 *
 * @example
 * await query.storeAsset(conn, { id: createTx.id, data: { serial: 'X-1' } });
 */
export const storeAsset = declare<(conn: Connection, asset: Asset) => Promise<void>>('storeAsset', (_c, asset) =>
  validate('asset', asset),
);

/**
 * Stores many assets; a duplicate rejects with `DuplicateKeyError` listing the ids.
 *
 * @example
 * await query.storeAssets(conn, [{ id: a, data: {} }, { id: b, data: {} }]);
 */
export const storeAssets = declare<(conn: Connection, assets: Asset[]) => Promise<void>>('storeAssets', (_c, assets) =>
  validateBatch('asset', assets, 'assets'),
);

/**
 * The asset `{ id, data }`, or null.
 *
 * @example
 * const asset = await query.getAsset(conn, assetId);
 */
export const getAsset = declare<(conn: Connection, id: string) => Promise<Asset | null>>('getAsset', (_c, id) => checkString('id', id));

/**
 * The assets that exist among `ids`, in the order of `ids`.
 *
 * @example
 * const assets = await query.getAssets(conn, [a, b]);
 */
export const getAssets = declare<(conn: Connection, ids: string[]) => Promise<Asset[]>>('getAssets', (_c, ids) =>
  checkStrings('ids', ids),
);

/**
 * Stores metadata records `{ id, metadata }`; a duplicate rejects with `DuplicateKeyError`.
 *
 * @example
 * await query.storeMetadatas(conn, [{ id: tx.id, metadata: { note: 'hi' } }]);
 */
export const storeMetadatas = declare<(conn: Connection, metadatas: Metadata[]) => Promise<void>>('storeMetadatas', (_c, m) =>
  validateBatch('metadata', m, 'metadatas'),
);

/**
 * The metadata records that exist among `ids`, in the order of `ids`.
 *
 * @example
 * const [m] = await query.getMetadata(conn, [tx.id]);
 */
export const getMetadata = declare<(conn: Connection, ids: string[]) => Promise<Metadata[]>>('getMetadata', (_c, ids) =>
  checkStrings('ids', ids),
);

/**
 * Full-text search over asset data (default) or metadata, best match first. Words are
 * alternatives; `"quoted phrases"` must all appear; `-word` excludes. A search is for
 * people: terms past the 64th, words past the 32nd of a phrase and characters past the 256th
 * of a word are ignored (lib/search.ts says why).
 *
 * @example
 * const hits = await query.textSearch(conn, 'coffee', { limit: 10 });
 * const notes = await query.textSearch(conn, 'refund', { table: 'metadata' });
 */
export const textSearch = declare<(conn: Connection, search: string, options?: TextSearchOptions) => Promise<TextSearchResult[]>>(
  'textSearch',
  (_c, search, options) => {
    checkString('search', search);
    checkOptions('options', options);
    checkKnownKeys('options', options, ['table', 'limit', 'caseSensitive', 'language']);
    if (!options) return;
    const { table, limit, caseSensitive, language } = options;
    checkArgument('options.table', table === undefined || table === 'assets' || table === 'metadata', table, "'assets' or 'metadata'");
    checkArgument('options.limit', limit === undefined || (Number.isSafeInteger(limit) && limit > 0), limit, 'a positive integer');
    checkArgument('options.caseSensitive', caseSensitive === undefined || typeof caseSensitive === 'boolean', caseSensitive, 'a boolean');
    checkArgument('options.language', language === undefined || typeof language === 'string', language, 'a string');
  },
);

// ---------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------

/**
 * Stores a block. An existing height rejects with `DuplicateKeyError`.
 *
 * @example
 * await query.storeBlock(conn, { height: 1, app_hash: 'ab12', transactions: [tx.id] });
 */
export const storeBlock = declare<(conn: Connection, block: Block) => Promise<void>>('storeBlock', (_c, block) =>
  validate('block', block),
);

/**
 * The block at `height`, or null.
 *
 * @example
 * const block = await query.getBlock(conn, 1);
 */
export const getBlock = declare<(conn: Connection, height: number) => Promise<Block | null>>('getBlock', (_c, height) =>
  checkHeight('height', height),
);

/**
 * The block with the highest height, or null.
 *
 * @example
 * const latest = await query.getLatestBlock(conn);
 */
export const getLatestBlock = declare<(conn: Connection) => Promise<Block | null>>('getLatestBlock');

/**
 * Heights of the blocks that list `txid`, ascending.
 *
 * @example
 * const [height] = await query.getBlockWithTransaction(conn, tx.id);
 */
export const getBlockWithTransaction = declare<(conn: Connection, txid: string) => Promise<number[]>>(
  'getBlockWithTransaction',
  (_c, txid) => checkString('txid', txid),
);

/**
 * Stores outputs in the UTXO set. Storing an output that is already there replaces it
 * (an output is identified by its reference); an empty list is a no-op.
 *
 * @example
 * await query.storeUnspentOutputs(conn, utxosOf(tx));
 */
export const storeUnspentOutputs = declare<(conn: Connection, utxos: Utxo[]) => Promise<void>>(
  'storeUnspentOutputs',
  (_c, utxos) => validateBatch('utxo', utxos, 'utxos', Number.MAX_SAFE_INTEGER),
);

/**
 * Removes outputs from the UTXO set by reference; an empty list is a no-op.
 *
 * @example
 * await query.deleteUnspentOutputs(conn, [{ transaction_id: a, output_index: 0 }]);
 */
export const deleteUnspentOutputs = declare<(conn: Connection, refs: OutputRef[]) => Promise<void>>(
  'deleteUnspentOutputs',
  (_c, refs) => checkRefs('refs', refs),
);

/**
 * The unspent outputs matching every field of `filter` (all of them without one).
 * `public_key` matches outputs whose transaction output lists that key.
 *
 * @example
 * const mine = await query.getUnspentOutputs(conn, { public_key: alice });
 */
export const getUnspentOutputs = declare<(conn: Connection, filter?: UtxoFilter) => Promise<Utxo[]>>(
  'getUnspentOutputs',
  (_c, filter) => {
    checkOptions('filter', filter);
    checkKnownKeys('filter', filter, ['transaction_id', 'public_key', 'asset_id']);
    for (const key of ['transaction_id', 'public_key', 'asset_id'] as const) {
      if (filter?.[key] !== undefined) checkString(`filter.${key}`, filter[key]);
    }
  },
);

// ---------------------------------------------------------------------------
// Commit state, validators, elections, ABCI chains
// ---------------------------------------------------------------------------

/**
 * Replaces the single pre-commit record.
 *
 * @example
 * await query.storePreCommitState(conn, { height: 5, transactions: ids });
 */
export const storePreCommitState = declare<(conn: Connection, state: PreCommitState) => Promise<void>>(
  'storePreCommitState',
  (_c, state) => validate('preCommitState', state),
);

/**
 * The pre-commit record, or null.
 *
 * @example
 * const state = await query.getPreCommitState(conn);
 */
export const getPreCommitState = declare<(conn: Connection) => Promise<PreCommitState | null>>('getPreCommitState');

/**
 * Stores the validator set of a height, replacing one stored for the same height.
 *
 * @example
 * await query.storeValidatorSet(conn, { height: 10, validators: [{ public_key: k, power: 10 }] });
 */
export const storeValidatorSet = declare<(conn: Connection, set: ValidatorSet) => Promise<void>>('storeValidatorSet', (_c, set) =>
  validate('validatorSet', set),
);

/**
 * Removes the validator set stored for exactly `height`.
 *
 * @example
 * await query.deleteValidatorSet(conn, 10);
 */
export const deleteValidatorSet = declare<(conn: Connection, height: number) => Promise<void>>('deleteValidatorSet', (_c, h) =>
  checkHeight('height', h),
);

/**
 * The latest validator set at or below `height` (the latest overall without one), or null.
 *
 * @example
 * const current = await query.getValidatorSet(conn);
 * const atTen = await query.getValidatorSet(conn, 10);
 */
export const getValidatorSet = declare<(conn: Connection, height?: number) => Promise<ValidatorSet | null>>(
  'getValidatorSet',
  (_c, height) => {
    if (height !== undefined) checkHeight('height', height);
  },
);

/**
 * Stores an election's state at a height, replacing the record for the same (id, height).
 *
 * @example
 * await query.storeElection(conn, electionId, 12, false);
 */
export const storeElection = declare<(conn: Connection, electionId: string, height: number, isConcluded: boolean) => Promise<void>>(
  'storeElection',
  (_c, electionId, height, isConcluded) =>
    validate('election', { election_id: electionId, height, is_concluded: isConcluded }, 'election'),
);

/**
 * Stores many election records (upsert by (election_id, height)).
 *
 * @example
 * await query.storeElections(conn, [{ election_id: e, height: 12, is_concluded: true }]);
 */
export const storeElections = declare<(conn: Connection, elections: Election[]) => Promise<void>>(
  'storeElections',
  (_c, elections) => validateBatch('election', elections, 'elections'),
);

/**
 * Removes the election records stored at `height`.
 *
 * @example
 * await query.deleteElections(conn, 12);
 */
export const deleteElections = declare<(conn: Connection, height: number) => Promise<void>>('deleteElections', (_c, h) =>
  checkHeight('height', h),
);

/**
 * The record of the election with the highest height, or null.
 *
 * @example
 * const election = await query.getElection(conn, electionId);
 */
export const getElection = declare<(conn: Connection, electionId: string) => Promise<Election | null>>('getElection', (_c, id) =>
  checkString('electionId', id),
);

/**
 * Stores the ABCI chain of a height (upsert by height). `isSynced` defaults to true.
 *
 * @example
 * await query.storeAbciChain(conn, 1, 'chain-X');
 */
export const storeAbciChain = declare<(conn: Connection, height: number, chainId: string, isSynced?: boolean) => Promise<void>>(
  'storeAbciChain',
  (_c, height, chainId, isSynced) =>
    validate('abciChain', { height, chain_id: chainId, is_synced: isSynced ?? true }, 'abci chain'),
);

/**
 * Removes the ABCI chain stored for exactly `height`.
 *
 * @example
 * await query.deleteAbciChain(conn, 1);
 */
export const deleteAbciChain = declare<(conn: Connection, height: number) => Promise<void>>('deleteAbciChain', (_c, h) =>
  checkHeight('height', h),
);

/**
 * The ABCI chain with the highest height, or null.
 *
 * @example
 * const chain = await query.getLatestAbciChain(conn);
 */
export const getLatestAbciChain = declare<(conn: Connection) => Promise<AbciChain | null>>('getLatestAbciChain');

/**
 * Commits a block with its transactions (docs/design.md section 6): pre-commit record, transactions,
 * UTXO set, then the block, last. The default handler (for the base `Connection`) follows
 * that protocol step by step, so `recover()` can repair a crash between steps; backends with
 * real transactions override it to do all of it atomically.
 *
 * @example
 * await query.commitBlock(conn, { height: 2, app_hash: 'cd34', transactions: [tx.id] }, [tx]);
 */
export const commitBlock = declare<(conn: Connection, block: Block, txs: Transaction[]) => Promise<void>>(
  'commitBlock',
  (_c, block, txs) => {
    validate('block', block);
    validateBatch('transaction', txs, 'transactions');
    const listed = new Set(block.transactions);
    const stray = txs.find((tx) => !listed.has(tx.id));
    if (stray) {
      throw new ValidationError(`invalid block: transaction ${stray.id} is not listed in block ${block.height}`, 'transactions');
    }
  },
);

// ---------------------------------------------------------------------------
// Whole tables
// ---------------------------------------------------------------------------

/**
 * One page of every record of `table`, for reading a whole ledger (export, migration, a
 * checksum). Transactions come in the order they were written (the order `getTxidsFiltered`
 * and `lastTx` follow); the other tables in an order the engine chooses (its key's, or write
 * order), the same from one page to the next. Pass the page's `next` as
 * `after` for the following page, until it is null. A page reflects the table when it is
 * read: records written meanwhile after the cursor's position show in later pages.
 *
 * @example
 * let after: string | null = null;
 * do {
 *   const page = await query.listRecords(conn, 'transactions', { after, limit: 1000 });
 *   for (const tx of page.records) console.log(tx.id);
 *   after = page.next;
 * } while (after);
 */
export const listRecords = declare<(conn: Connection, table: TableName, options?: ListRecordsOptions) => Promise<RecordPage>>(
  'listRecords',
  (_c, table, options) => {
    checkArgument('table', isTableName(table), table, `one of ${TABLES.join(', ')}`);
    checkOptions('options', options);
    checkKnownKeys('options', options, ['after', 'limit']);
    const after = options?.after;
    checkArgument('options.after', after === undefined || after === null || typeof after === 'string', after, "the 'next' cursor of a page, or null");
    const limit = options?.limit;
    checkArgument(
      'options.limit',
      limit === undefined || (Number.isSafeInteger(limit) && limit >= 1 && limit <= MAX_PAGE_SIZE),
      limit,
      `an integer from 1 to ${MAX_PAGE_SIZE}`,
    );
  },
);

defineInterface('query', {
  writeTransaction, writeTransactions, getTransaction, getTransactions, deleteTransactions,
  getTxidsFiltered, getSpent, getSpendingTransactions, getOwnedIds, getAssetTokensForPublicKey,
  storeAsset, storeAssets, getAsset, getAssets, storeMetadatas, getMetadata, textSearch,
  storeBlock, getBlock, getLatestBlock, getBlockWithTransaction,
  storeUnspentOutputs, deleteUnspentOutputs, getUnspentOutputs,
  storePreCommitState, getPreCommitState, storeValidatorSet, deleteValidatorSet, getValidatorSet,
  storeElection, storeElections, deleteElections, getElection,
  storeAbciChain, deleteAbciChain, getLatestAbciChain, commitBlock, listRecords,
});

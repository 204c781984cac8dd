/**
 * The ReQL each query generic sends, built by pure functions (a database name and the
 * generic's arguments in, a term out), so what reaches the server can be inspected and
 * tested without one: `r.serialize(term)` is the wire form (what the driver sends).
 *
 * Every write is a logged write (changelog.ts): its change-log entry is written first and
 * completed after the change, and the whole query may be sent again after a lost answer.
 * Each logged write takes a number from a {@link Writer} for its entry's id, so the id is
 * fixed when the term is built and the same on every try.
 *
 * A term placed inside a function is built inside it: the driver numbers a function's
 * variables from where it is built, and a term built outside and then nested would reuse the
 * enclosing function's numbers (the unit spec checks that no term shadows a variable).
 */
import { sideRecordsOf } from '../../lib/model';
import { type RDatum, type RStream, r } from 'rethinkdb-ts';
import type { Asset, Block, Election, Metadata, OutputRef, PreCommitState, Transaction, Utxo, ValidatorSet } from '../../lib/model';
import type { TxidsFilter, UtxoFilter } from '../../lib/query';
import { TABLES, type TableName } from '../../lib/tables';
import { type WriteOutcome, type WriteSpec, loggedWrite } from './changelog';
import { PRE_COMMIT_ID, abciChainDoc, assetDoc, blockDoc, electionDoc, electionKey, lastByKey, metadataDoc, preCommitDoc, transactionDoc, utxoDoc, utxoKey, validatorSetDoc } from './documents';
import { publicRecord, table } from './tables';

export { MAX_NESTING } from './changelog';

/**
 * Who writes, and their counter: `next()` gives a number never given before by this writer.
 *
 * @example
 * let n = 0;
 * const writer: Writer = { id: '6f1c0d2a9b3e4f50', next: () => ++n };
 */
export interface Writer {
  id: string;
  next(): number;
}

/**
 * The most primary-key bytes RethinkDB accepts; no stored key is longer (or holds U+0000),
 * so a lookup by such a key finds nothing and need not be sent.
 *
 * @example
 * isStorableKey('x'.repeat(200));   // false
 */
export const MAX_KEY_BYTES = 127;

/**
 * True if `key` could be a primary key: at most 127 bytes, no U+0000.
 *
 * @example
 * const ids = requested.filter(isStorableKey);
 */
export function isStorableKey(key: string): boolean {
  return Buffer.byteLength(key) <= MAX_KEY_BYTES && !key.includes('\u0000');
}

const body = (doc: RDatum) => doc('body');

/**
 * The id of the change-log entry of the next logged write of `writer` to `tbl`.
 *
 * @example
 * entryId({ id: '6f1c0d2a9b3e4f50', next: () => 41 }, 'blocks');   // '6f1c0d2a9b3e4f50:41:blocks'
 */
export function entryId(writer: Writer, tbl: TableName): string {
  return `${writer.id}:${writer.next()}:${tbl}`;
}

/**
 * One logged write of `writer`.
 *
 * @example
 * logged(db, { table: 'blocks', kind: 'new', docs: [blockDoc(block, 0)] }, writer);
 */
export function logged(db: string, spec: WriteSpec, writer: Writer): RDatum<WriteOutcome> {
  return loggedWrite(db, spec, entryId(writer, spec.table));
}

/**
 * Inserts documents that must be new (a stored key is an error) and gives a
 * {@link WriteOutcome} listing the keys not inserted.
 *
 * @example
 * insertNew(db, 'assets', assets, assetDoc, writer);
 */
export function insertNew<T>(db: string, name: TableName, records: readonly T[], toDoc: (record: T, seq: number) => object, writer: Writer): RDatum<WriteOutcome> {
  return logged(db, { table: name, kind: 'new', docs: records.map(toDoc) }, writer);
}

/**
 * Inserts or replaces documents (a stored document is replaced unless a later write stored it).
 *
 * @example
 * upsert(db, 'validators', [set], validatorSetDoc, writer);
 */
export function upsert<T>(db: string, name: TableName, records: readonly T[], toDoc: (record: T, seq: number) => object, writer: Writer): RDatum<WriteOutcome> {
  return logged(db, { table: name, kind: 'put', docs: records.map(toDoc) }, writer);
}

/**
 * Deletes the documents of a selection (built inside the query: hence a builder).
 *
 * @example
 * remove(db, 'abci_chains', () => table(db, 'abci_chains').getAll(4), writer);
 */
export function remove(db: string, name: TableName, selection: () => RStream, writer: Writer): RDatum<WriteOutcome> {
  return logged(db, { table: name, kind: 'del', selection }, writer);
}

// ---------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------

/**
 * Inserts transactions (a stored id is an error) and, when all of them were inserted, their
 * asset data and metadata (replacing any stored under the same id); gives the
 * {@link WriteOutcome} of the transactions. When some were not inserted, the side records
 * are left to the caller, who knows then which transactions were.
 *
 * @example
 * const outcome = await conn.run('write transactions', writeTransactionsTerm(db, txs, writer), { write: true });
 */
export function writeTransactionsTerm(db: string, txs: readonly Transaction[], writer: Writer): RDatum<WriteOutcome> {
  const { assets, metadata } = sideRecordsOf(txs);
  const written = insertNew(db, 'transactions', txs, transactionDoc, writer);
  if (!assets.length && !metadata.length) return written;
  return written.do((outcome: RDatum) =>
    r.branch(outcome('rejected').isEmpty(), sideRecordsTerm(db, txs, writer)!.do((_stored: RDatum) => outcome), outcome),
  ) as RDatum<WriteOutcome>;
}

/**
 * Stores the asset data and metadata `txs` bring (replacing any stored under the same ids);
 * undefined when they bring none.
 *
 * @example
 * const term = sideRecordsTerm(db, inserted, writer);
 * if (term) await conn.run('write transactions', term, { write: true });
 */
export function sideRecordsTerm(db: string, txs: readonly Transaction[], writer: Writer): RDatum | undefined {
  const { assets, metadata } = sideRecordsOf(txs);
  const writeAssets = () => upsert(db, 'assets', assets, assetDoc, writer);
  const writeMetadata = () => upsert(db, 'metadata', metadata, metadataDoc, writer);
  if (assets.length && metadata.length) {
    // Built inside the function it runs in, so its own functions take fresh variable numbers.
    return writeAssets().do((_assets: RDatum) => writeMetadata());
  }
  if (assets.length) return writeAssets();
  if (metadata.length) return writeMetadata();
  return undefined;
}

/**
 * The ids among `ids` that are stored.
 *
 * @example
 * storedIds(db, 'transactions', ids);
 */
export function storedIds(db: string, name: 'transactions' | 'assets' | 'metadata', ids: readonly string[]) {
  return table(db, name).getAll(r.args([...ids]))('id');
}

/**
 * The whole transaction, or null.
 *
 * @example
 * getTransactionTerm(db, id);
 */
export function getTransactionTerm(db: string, id: string) {
  return table(db, 'transactions').get(id).do((doc: RDatum) => r.branch(doc.eq(null), null, body(doc)));
}

/**
 * The stored transactions among `ids` (in no particular order).
 *
 * @example
 * getTransactionsTerm(db, [a, b]);
 */
export function getTransactionsTerm(db: string, ids: readonly string[]) {
  return table(db, 'transactions').getAll(r.args([...ids])).map(body);
}

/**
 * Deletes transactions with their asset data and metadata.
 *
 * @example
 * deleteTransactionsTerm(db, [id], writer);
 */
export function deleteTransactionsTerm(db: string, ids: readonly string[], writer: Writer): RDatum {
  const among = (name: 'transactions' | 'assets' | 'metadata') => () => table(db, name).getAll(r.args([...ids]));
  return remove(db, 'transactions', among('transactions'), writer)
    .do((_transactions: RDatum) => remove(db, 'assets', among('assets'), writer))
    .do((_assets: RDatum) => remove(db, 'metadata', among('metadata'), writer));
}

/**
 * Ids of an asset's transactions in write order: through the `asset_order` index, narrowed by
 * operation, only the most recent with `lastTx`.
 *
 * @example
 * getTxidsFilteredTerm(db, assetId, { operation: 'TRANSFER', lastTx: true });
 */
export function getTxidsFilteredTerm(db: string, assetId: string, filter: TxidsFilter = {}) {
  let selection = table(db, 'transactions')
    .between([assetId, r.minval], [assetId, r.maxval], { index: 'asset_order' })
    .orderBy({ index: filter.lastTx ? r.desc('asset_order') : 'asset_order' });
  const { operation } = filter;
  if (operation !== undefined) selection = selection.filter((doc: RDatum) => doc('operation').eq(operation));
  if (filter.lastTx) selection = selection.limit(1);
  return selection('id');
}

/**
 * Transactions spending any of the (transaction id, output index) pairs, in no particular
 * order (a transaction spending several of them comes once per pair: the caller keeps one).
 *
 * @example
 * spendingTerm(db, [{ transaction_id: a, output_index: 0 }]);
 */
export function spendingTerm(db: string, refs: readonly OutputRef[]) {
  const pairs = refs.map((ref) => [ref.transaction_id, ref.output_index]);
  return table(db, 'transactions').getAll(r.args(pairs), { index: 'spends' }).map(body);
}

/**
 * Transactions with an output listing `publicKey`, in no particular order (streamed: a key
 * may own any number of them).
 *
 * @example
 * ownedTerm(db, alice);
 */
export function ownedTerm(db: string, publicKey: string) {
  return table(db, 'transactions').getAll(publicKey, { index: 'owners' }).map(body);
}

/**
 * Transactions of an asset with an output owned by `publicKey` alone, in no particular order.
 *
 * @example
 * assetTokensTerm(db, assetId, alice);
 */
export function assetTokensTerm(db: string, assetId: string, publicKey: string) {
  return table(db, 'transactions').getAll([assetId, publicKey], { index: 'asset_owner' }).map(body);
}

// ---------------------------------------------------------------------------
// Assets and metadata
// ---------------------------------------------------------------------------

/**
 * Stores new asset data.
 *
 * @example
 * storeAssetsTerm(db, [{ id, data }], writer);
 */
export function storeAssetsTerm(db: string, assets: readonly Asset[], writer: Writer) {
  return insertNew(db, 'assets', assets, assetDoc, writer);
}

/**
 * Stores new metadata records.
 *
 * @example
 * storeMetadatasTerm(db, [{ id, metadata }], writer);
 */
export function storeMetadatasTerm(db: string, metadatas: readonly Metadata[], writer: Writer) {
  return insertNew(db, 'metadata', metadatas, metadataDoc, writer);
}

/**
 * The public records of `name` stored under `ids` (assets or metadata, in no particular order).
 *
 * @example
 * recordsTerm(db, 'metadata', [id]);
 */
export function recordsTerm(db: string, name: 'assets' | 'metadata', ids: readonly string[]) {
  return table(db, name).getAll(r.args([...ids])).map((doc: RDatum) => publicRecord(name, doc));
}

// ---------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------

/**
 * Stores a new block.
 *
 * @example
 * storeBlockTerm(db, { height: 1, app_hash: 'ab', transactions: [] }, writer);
 */
export function storeBlockTerm(db: string, block: Block, writer: Writer) {
  return insertNew(db, 'blocks', [block], blockDoc, writer);
}

/**
 * The public record stored under primary key `key` of `name`, or null.
 *
 * @example
 * getRecordTerm(db, 'blocks', 7);
 */
export function getRecordTerm(db: string, name: TableName, key: string | number) {
  return table(db, name).get(key).do((doc: RDatum) => r.branch(doc.eq(null), null, publicRecord(name, doc)));
}

/**
 * The record with the highest height of a table keyed by height (a list of at most one).
 *
 * @example
 * latestTerm(db, 'blocks');   // [block] or []
 */
export function latestTerm(db: string, name: 'blocks' | 'validators' | 'abci_chains') {
  return table(db, name).orderBy({ index: r.desc('height') }).limit(1).map((doc: RDatum) => publicRecord(name, doc));
}

/**
 * Heights of the blocks listing `txid` (unordered, possibly repeated).
 *
 * @example
 * blocksWithTransactionTerm(db, txid);
 */
export function blocksWithTransactionTerm(db: string, txid: string) {
  return table(db, 'blocks').getAll(txid, { index: 'transactions' })('height');
}

// ---------------------------------------------------------------------------
// UTXOs
// ---------------------------------------------------------------------------

/**
 * Stores outputs, replacing those stored under the same reference (the last of a batch wins).
 *
 * @example
 * storeUtxosTerm(db, utxos, writer);
 */
export function storeUtxosTerm(db: string, utxos: readonly Utxo[], writer: Writer) {
  return upsert(db, 'utxos', lastByKey(utxos, utxoKey), utxoDoc, writer);
}

/**
 * Deletes outputs by reference.
 *
 * @example
 * deleteUtxosTerm(db, [{ transaction_id: a, output_index: 0 }], writer);
 */
export function deleteUtxosTerm(db: string, refs: readonly OutputRef[], writer: Writer) {
  const keys = [...new Set(refs.map(utxoKey))];
  return remove(db, 'utxos', () => table(db, 'utxos').getAll(r.args(keys)), writer);
}

/**
 * The unspent outputs matching every field of `filter`. By `public_key`, the outputs are
 * found through the transactions that made them: the `owners` index gives the transactions
 * with an output listing the key, and each such output's UTXO is looked up by its key.
 *
 * @example
 * utxosTerm(db, { public_key: alice, asset_id: assetId });
 */
export function utxosTerm(db: string, filter: UtxoFilter = {}) {
  const { transaction_id, public_key, asset_id } = filter;
  const utxos = table(db, 'utxos');
  let selection;
  let byTransaction = transaction_id !== undefined;
  let byAsset = asset_id !== undefined;
  if (public_key !== undefined) {
    let makers = table(db, 'transactions').getAll(public_key, { index: 'owners' });
    if (transaction_id !== undefined) makers = makers.filter((tx: RDatum) => tx('id').eq(transaction_id));
    byTransaction = false;
    selection = makers
      .concatMap((tx: RDatum) =>
        tx('body')('outputs')
          // An output that names no key has [] or null; `default` reads null as [].
          .offsetsOf((output: RDatum) => output('public_keys').default([]).contains(public_key))
          .map((index: RDatum) => utxos.get(tx('id').add(':', index.coerceTo('string')))),
      )
      .filter((utxo: RDatum) => utxo.ne(null));
  } else if (transaction_id !== undefined) {
    selection = utxos.getAll(transaction_id, { index: 'transaction_id' });
    byTransaction = false;
  } else if (asset_id !== undefined) {
    selection = utxos.getAll(asset_id, { index: 'asset_id' });
    byAsset = false;
  } else {
    selection = utxos;
  }
  if (byTransaction) selection = selection.filter((utxo: RDatum) => utxo('transaction_id').eq(transaction_id!));
  if (byAsset) selection = selection.filter((utxo: RDatum) => utxo('asset_id').eq(asset_id!));
  return selection.map((doc: RDatum) => publicRecord('utxos', doc));
}

// ---------------------------------------------------------------------------
// Commit state, validators, elections, ABCI chains
// ---------------------------------------------------------------------------

/**
 * Replaces the pre-commit record.
 *
 * @example
 * storePreCommitTerm(db, { height: 5, transactions: [] }, writer);
 */
export function storePreCommitTerm(db: string, state: PreCommitState, writer: Writer) {
  return upsert(db, 'pre_commit', [state], preCommitDoc, writer);
}

/**
 * The pre-commit record, or null.
 *
 * @example
 * getPreCommitTerm(db);
 */
export function getPreCommitTerm(db: string) {
  return getRecordTerm(db, 'pre_commit', PRE_COMMIT_ID);
}

/**
 * Stores a validator set, replacing the one of the same height.
 *
 * @example
 * storeValidatorSetTerm(db, { height: 10, validators: [] }, writer);
 */
export function storeValidatorSetTerm(db: string, set: ValidatorSet, writer: Writer) {
  return upsert(db, 'validators', [set], validatorSetDoc, writer);
}

/**
 * Deletes the record stored under `height` of a table keyed by height.
 *
 * @example
 * deleteAtHeightTerm(db, 'validators', 10, writer);
 */
export function deleteAtHeightTerm(db: string, name: 'validators' | 'abci_chains', height: number, writer: Writer) {
  return remove(db, name, () => table(db, name).getAll(height), writer);
}

/**
 * The latest validator set at or below `height` (the latest overall without one), as a list
 * of at most one.
 *
 * @example
 * validatorSetTerm(db, 7);
 */
export function validatorSetTerm(db: string, height?: number) {
  if (height === undefined) return latestTerm(db, 'validators');
  return table(db, 'validators')
    .between(r.minval, height, { rightBound: 'closed' })
    .orderBy({ index: r.desc('height') })
    .limit(1)
    .map((doc: RDatum) => publicRecord('validators', doc));
}

/**
 * Stores election records, replacing those of the same (election id, height); the last of a
 * batch wins.
 *
 * @example
 * storeElectionsTerm(db, [{ election_id: e, height: 12, is_concluded: false }], writer);
 */
export function storeElectionsTerm(db: string, elections: readonly Election[], writer: Writer) {
  return upsert(db, 'elections', lastByKey(elections, (e) => electionKey(e.election_id, e.height)), electionDoc, writer);
}

/**
 * Deletes every election record at `height`.
 *
 * @example
 * deleteElectionsTerm(db, 12, writer);
 */
export function deleteElectionsTerm(db: string, height: number, writer: Writer) {
  return remove(db, 'elections', () => table(db, 'elections').getAll(height, { index: 'height' }), writer);
}

/**
 * The record of an election with the highest height, as a list of at most one.
 *
 * @example
 * electionTerm(db, electionId);
 */
export function electionTerm(db: string, electionId: string) {
  return table(db, 'elections')
    .between([electionId, r.minval], [electionId, r.maxval], { index: 'election_height' })
    .orderBy({ index: r.desc('election_height') })
    .limit(1)
    .map((doc: RDatum) => publicRecord('elections', doc));
}

/**
 * The heights at which `chainId` is stored (at most one: chain ids are unique).
 *
 * @example
 * abciChainHeightsTerm(db, 'chain-A');   // [1]
 */
export function abciChainHeightsTerm(db: string, chainId: string): RDatum<number[]> {
  return table(db, 'abci_chains').getAll(chainId, { index: 'chain_id' })('height').coerceTo('array') as RDatum;
}

/**
 * Stores an ABCI chain, replacing the one of the same height.
 *
 * @example
 * storeAbciChainTerm(db, { height: 1, chain_id: 'chain-A', is_synced: true }, writer);
 */
export function storeAbciChainTerm(db: string, chain: { height: number; chain_id: string; is_synced: boolean }, writer: Writer) {
  return upsert(db, 'abci_chains', [chain], abciChainDoc, writer);
}

/**
 * The number of records of every public table, in one query.
 *
 * @example
 * countRecordsTerm(db);   // { transactions: 2, assets: 2, ... }
 */
export function countRecordsTerm(db: string): RDatum<Record<TableName, number>> {
  return r.expr(Object.fromEntries(TABLES.map((name) => [name, table(db, name).count()]))) as RDatum;
}

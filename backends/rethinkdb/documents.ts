/**
 * The documents the rethinkdb backend stores, built from public records on the client.
 *
 * Each carries a `seq` stamp, `[r.now(), writer, n]`: the time the query reached the server
 * (one value for the whole query), the writing connection's random id, and that connection's
 * counter, which grows with every document it writes. Ordered by `seq`, documents come out in
 * the order their writes reached the server, and in batch order within one write; writes from
 * two connections in the same millisecond are ordered by writer id. Sequential writes
 * through one server are ordered by its clock; a server whose clock steps back orders by it.
 */
import { createHash } from 'node:crypto';
import { type RValue, r } from 'rethinkdb-ts';
import { type AbciChain, type Asset, type Block, type Election, type Metadata, type OutputRef, type PreCommitState, type Transaction, type Utxo, type ValidatorSet, assetIdOf, spentRefsOf } from '../../lib/model';
import { searchableText } from '../../lib/search';

/**
 * A `seq` stamp: `[r.now(), writer, n]` (a ReQL expression; the time is the server's).
 *
 * @example
 * stamp('6f1c0d2a9b3e4f50', 41);   // [r.now(), '6f1c0d2a9b3e4f50', 41]
 */
export function stamp(writer: string, n: number): RValue {
  return [r.now(), writer, n];
}

/**
 * The id of the single pre-commit document.
 *
 * @example
 * table(db, 'pre_commit').get(PRE_COMMIT_ID);
 */
export const PRE_COMMIT_ID = 'pre_commit';

/** Distinct values, in first-seen order (multi indexes list a document once per value). */
function distinct<T>(values: Iterable<T>, keyOf: (value: T) => string = String): T[] {
  const seen = new Map<string, T>();
  for (const value of values) if (!seen.has(keyOf(value))) seen.set(keyOf(value), value);
  return [...seen.values()];
}

/**
 * A transaction as stored: the whole transaction under `body`, and the fields its lookups are
 * indexed on (see tables.ts).
 *
 * @example
 * transactionDoc(transferTx, stamp(writer, 7)).spends;   // [[createTx.id, 0]]
 */
export function transactionDoc(tx: Transaction, seq: RValue) {
  const assetId = assetIdOf(tx);
  const owners = distinct(tx.outputs.flatMap((output) => output.public_keys));
  const soleOwners = distinct(tx.outputs.filter((output) => output.public_keys.length === 1).map((output) => output.public_keys[0]));
  const spends = distinct(
    spentRefsOf(tx).map((ref) => [ref.transaction_id, ref.output_index] as const),
    (pair) => `${pair[0]}:${pair[1]}`,
  );
  return {
    id: tx.id,
    operation: tx.operation,
    asset_id: assetId,
    owners,
    asset_owners: soleOwners.map((key) => [assetId, key]),
    spends: spends.map((pair) => [...pair]),
    seq,
    body: tx,
  };
}

/**
 * Asset data as stored, with the text the search scans (the string values of the data).
 *
 * @example
 * assetDoc({ id, data: { title: 'blue mug' } }, seq).text;   // 'blue mug'
 */
export function assetDoc(asset: Asset, seq: RValue) {
  return { id: asset.id, data: asset.data, text: searchableText(asset.data), seq };
}

/**
 * Metadata as stored, with the text the search scans.
 *
 * @example
 * metadataDoc({ id, metadata: { note: 'refund' } }, seq).text;   // 'refund'
 */
export function metadataDoc(metadata: Metadata, seq: RValue) {
  return { id: metadata.id, metadata: metadata.metadata, text: searchableText(metadata.metadata), seq };
}

/**
 * A block as stored.
 *
 * @example
 * blockDoc({ height: 1, app_hash: 'ab', transactions: [] }, seq);
 */
export function blockDoc(block: Block, seq: RValue) {
  return { height: block.height, app_hash: block.app_hash, transactions: block.transactions, seq };
}

/**
 * The primary key of a UTXO: `"<transaction_id>:<output_index>"`.
 *
 * @example
 * utxoKey({ transaction_id: 'ab…', output_index: 2 });   // 'ab…:2'
 */
export function utxoKey(ref: OutputRef): string {
  return `${ref.transaction_id}:${ref.output_index}`;
}

/**
 * A UTXO as stored.
 *
 * @example
 * utxoDoc(utxo, seq).id;   // utxoKey(utxo)
 */
export function utxoDoc(utxo: Utxo, seq: RValue) {
  const { transaction_id, output_index, amount, asset_id, condition_uri } = utxo;
  return { id: utxoKey(utxo), transaction_id, output_index, amount, asset_id, condition_uri, seq };
}

/**
 * The pre-commit record as stored (one document, always the same id).
 *
 * @example
 * preCommitDoc({ height: 5, transactions: [] }, seq).id;   // 'pre_commit'
 */
export function preCommitDoc(state: PreCommitState, seq: RValue) {
  return { id: PRE_COMMIT_ID, height: state.height, transactions: state.transactions, seq };
}

/**
 * A validator set as stored.
 *
 * @example
 * validatorSetDoc({ height: 10, validators: [] }, seq);
 */
export function validatorSetDoc(set: ValidatorSet, seq: RValue) {
  return { height: set.height, validators: set.validators, seq };
}

/**
 * The primary key of an election record: a digest of (election_id, height), since an election
 * id may be any string, of any length, and primary keys are limited to 127 characters.
 *
 * @example
 * electionKey('e1', 12) === electionKey('e1', 12);   // true; differs for another id or height
 */
export function electionKey(electionId: string, height: number): string {
  return createHash('sha256').update(JSON.stringify([electionId, height])).digest('hex');
}

/**
 * An election record as stored.
 *
 * @example
 * electionDoc({ election_id: 'e1', height: 12, is_concluded: false }, seq).id;   // electionKey('e1', 12)
 */
export function electionDoc(election: Election, seq: RValue) {
  const { election_id, height, is_concluded } = election;
  return { id: electionKey(election_id, height), election_id, height, is_concluded, seq };
}

/**
 * An ABCI chain as stored.
 *
 * @example
 * abciChainDoc({ height: 1, chain_id: 'chain-A', is_synced: true }, seq);
 */
export function abciChainDoc(chain: AbciChain, seq: RValue) {
  return { height: chain.height, chain_id: chain.chain_id, is_synced: chain.is_synced, seq };
}

/**
 * The last of each group of items sharing a key, in first-seen order of the keys: what one
 * upsert batch stores when it names the same key twice (the later record wins, as it would
 * written one by one).
 *
 * @example
 * lastByKey([{ k: 1, v: 'a' }, { k: 1, v: 'b' }], (x) => String(x.k));   // [{ k: 1, v: 'b' }]
 */
export function lastByKey<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) byKey.set(keyOf(item), item);
  return [...byKey.values()];
}

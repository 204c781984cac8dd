/**
 * The documents the rethinkdb backend stores, built from public records on the client.
 *
 * Each carries `seq`, given here as the document's index in its batch; the query that writes
 * it prefixes the number of its change-log entry (changelog.ts), making `[number, index]`:
 * documents sort in the order their writes took their numbers, then in batch order.
 *
 * User JSON and pseudo-types. The server reads any object with a `$reql_type$` key as one of
 * its own types (TIME, BINARY, GEOMETRY, ...): it refuses the document ("Unknown $reql_type$")
 * or stores something else than was written, and the driver converts such objects on the way
 * back. So every key of user JSON (asset data, metadata, a transaction, validators) made of
 * tildes and then `$reql_type$` gets one more tilde on the way in ({@link escapeKeys}) and
 * loses one on the way out ({@link unescapeKeys}): `$reql_type$` is stored as
 * `~$reql_type$`, `~$reql_type$` as `~~$reql_type$`, and so on, so every key comes back as
 * written. Keys of our own fields never have that form, and a pseudo-type the server sends
 * (`$reql_type$` itself, no tilde) is left alone, so unescaping may run over any result.
 */
import { createHash } from 'node:crypto';
import { type AbciChain, type Asset, type Block, type Election, type Metadata, type OutputRef, type PreCommitState, type Transaction, type Utxo, type ValidatorSet, assetIdOf, ownersOf, spentRefsOf } from '../../lib/model';
import { searchableText } from '../../lib/search';

/** A key the server would read as a pseudo-type, with any tildes an escape added before it. */
const RESERVED_KEY = /^~*\$reql_type\$$/;
/** A key as escaped: at least one tilde before `$reql_type$`. */
const ESCAPED_KEY = /^~+\$reql_type\$$/;

/**
 * Renames keys anywhere in `value`; copies only the objects and arrays that change, and
 * allocates nothing while nothing changes (it runs over every query result).
 */
function renameKeys<T>(value: T, rename: (key: string) => string | undefined): T {
  if (value === null || typeof value !== 'object' || value instanceof Date || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const renamed = renameKeys(value[i], rename);
      if (renamed !== value[i]) (copy ??= [...value])[i] = renamed;
    }
    return (copy ?? value) as T;
  }
  const source = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key in source) {
    if (!Object.prototype.hasOwnProperty.call(source, key)) continue;
    const item = source[key];
    const newKey = rename(key);
    const newItem = renameKeys(item, rename);
    if (!copy && (newKey !== undefined || newItem !== item)) {
      // The first change: copy what came before it, in order.
      copy = {};
      for (const earlier in source) {
        if (earlier === key) break;
        if (Object.prototype.hasOwnProperty.call(source, earlier)) put(copy, earlier, source[earlier]);
      }
    }
    if (copy) put(copy, newKey ?? key, newItem);
  }
  return (copy ?? value) as T;
}

/** Sets an own property, even one named `__proto__` (user JSON may have that key). */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * User JSON as stored: every key of the form `~…~$reql_type$` gets one more tilde, so the
 * server reads no pseudo-type in it. Returns `value` itself when no key needs it.
 *
 * @example
 * escapeKeys({ $reql_type$: 'TIME', note: { '~$reql_type$': 1 } });   // { '~$reql_type$': 'TIME', note: { '~~$reql_type$': 1 } }
 */
export function escapeKeys<T>(value: T): T {
  return renameKeys(value, (key) => (RESERVED_KEY.test(key) ? `~${key}` : undefined));
}

/**
 * JSON as written, from JSON as stored: undoes {@link escapeKeys}. Returns `value` itself
 * when no key needs it.
 *
 * @example
 * unescapeKeys({ '~$reql_type$': 'TIME' });   // { $reql_type$: 'TIME' }
 */
export function unescapeKeys<T>(value: T): T {
  return renameKeys(value, (key) => (ESCAPED_KEY.test(key) ? key.slice(1) : undefined));
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
 * A transaction as stored: the whole transaction under `body` (keys escaped), and the fields
 * its lookups are indexed on (see tables.ts). `seq` is its index in the batch.
 *
 * @example
 * transactionDoc(transferTx, 7).spends;   // [[createTx.id, 0]]
 */
export function transactionDoc(tx: Transaction, seq: number) {
  const assetId = assetIdOf(tx);
  const owners = distinct(tx.outputs.flatMap(ownersOf));
  const soleOwners = distinct(tx.outputs.map(ownersOf).filter((keys) => keys.length === 1).map(([key]) => key));
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
    body: escapeKeys(tx),
  };
}

/**
 * Asset data as stored, with the text the search scans (the string values of the data).
 *
 * @example
 * assetDoc({ id, data: { title: 'blue mug' } }, 0).text;   // 'blue mug'
 */
export function assetDoc(asset: Asset, seq: number) {
  return { id: asset.id, data: escapeKeys(asset.data), text: searchableText(asset.data), seq };
}

/**
 * Metadata as stored, with the text the search scans.
 *
 * @example
 * metadataDoc({ id, metadata: { note: 'refund' } }, 0).text;   // 'refund'
 */
export function metadataDoc(metadata: Metadata, seq: number) {
  return { id: metadata.id, metadata: escapeKeys(metadata.metadata), text: searchableText(metadata.metadata), seq };
}

/**
 * A block as stored.
 *
 * @example
 * blockDoc({ height: 1, app_hash: 'ab', transactions: [] }, 0);
 */
export function blockDoc(block: Block, seq: number) {
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
 * utxoDoc(utxo, 0).id;   // utxoKey(utxo)
 */
export function utxoDoc(utxo: Utxo, seq: number) {
  const { transaction_id, output_index, amount, asset_id, condition_uri } = utxo;
  return { id: utxoKey(utxo), transaction_id, output_index, amount, asset_id, condition_uri, seq };
}

/**
 * The pre-commit record as stored (one document, always the same id).
 *
 * @example
 * preCommitDoc({ height: 5, transactions: [] }, 0).id;   // 'pre_commit'
 */
export function preCommitDoc(state: PreCommitState, seq: number) {
  return { id: PRE_COMMIT_ID, height: state.height, transactions: state.transactions, seq };
}

/**
 * A validator set as stored.
 *
 * @example
 * validatorSetDoc({ height: 10, validators: [] }, 0);
 */
export function validatorSetDoc(set: ValidatorSet, seq: number) {
  return { height: set.height, validators: escapeKeys(set.validators), seq };
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
 * electionDoc({ election_id: 'e1', height: 12, is_concluded: false }, 0).id;   // electionKey('e1', 12)
 */
export function electionDoc(election: Election, seq: number) {
  const { election_id, height, is_concluded } = election;
  return { id: electionKey(election_id, height), election_id, height, is_concluded, seq };
}

/**
 * An ABCI chain as stored.
 *
 * @example
 * abciChainDoc({ height: 1, chain_id: 'chain-A', is_synced: true }, 0);
 */
export function abciChainDoc(chain: AbciChain, seq: number) {
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

/**
 * Deterministic builders of valid records. Ids are sha256 digests of a seed, so a run is
 * reproducible, and every builder call without an explicit id gets an id never used before.
 */
import { createHash } from 'node:crypto';
import { type Block, type Json, type OutputRef, type Transaction, type TransactionOutput, type Utxo, assetIdOf, ownersOf } from '../../lib';

export { assetIdOf, spentRefsOf, utxosOf } from '../../lib';

/** 64 lowercase hex characters derived from `seed`. */
export function hexId(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

let issued = 0;

/** An id no other builder call of this process has returned. */
export function freshId(label = 'record'): string {
  issued += 1;
  return hexId(`chainstore-conformance/${label}/${issued}`);
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** A public key of the shape a ledger uses (base58 of 32 bytes), stable for an owner's name. */
export function publicKey(owner: string): string {
  let n = BigInt(`0x${hexId(`public-key/${owner}`)}`);
  let text = '';
  while (n > 0n) {
    text = BASE58[Number(n % 58n)] + text;
    n /= 58n;
  }
  return text;
}

/** An output of `amount` owned by all of `owners` (a threshold condition when several). */
export function output(owners: readonly string[], amount = '1'): TransactionOutput {
  const ed25519 = (key: string) => ({ type: 'ed25519-sha-256', public_key: key });
  const details: Json =
    owners.length === 1 ? ed25519(owners[0]) : { type: 'threshold-sha-256', threshold: owners.length, subconditions: owners.map(ed25519) };
  const fingerprint = hexId(`condition/${owners.join(',')}`).slice(0, 43);
  return { public_keys: [...owners], amount, condition: { details, uri: `ni:///sha-256;${fingerprint}?fpt=ed25519-sha-256&cost=131072` } };
}

/** What a CREATE is built from; everything has a default. */
export interface CreateOptions {
  id?: string;
  /** Who signs the CREATE and, by default, owns its single output. */
  owner?: string;
  outputs?: TransactionOutput[];
  data?: Json | null;
  metadata?: Json | null;
}

/**
 * A CREATE transaction. By default: one output of amount 1 owned by alice, asset data that
 * names the transaction, no metadata.
 *
 * @example
 * const tx = createTx({ outputs: [output([alice], '3'), output([bob, carol])], metadata: { note: 'hi' } });
 */
export function createTx(options: CreateOptions = {}): Transaction {
  const id = options.id ?? freshId('create');
  const owner = options.owner ?? publicKey('alice');
  return {
    id,
    version: '2.0',
    operation: 'CREATE',
    asset: { data: 'data' in options ? (options.data as Json | null) : { serial: `asset-${id.slice(0, 12)}` } },
    metadata: options.metadata ?? null,
    inputs: [{ owners_before: [owner], fulfills: null, fulfillment: signature(id, owner) }],
    outputs: options.outputs ?? [output([owner])],
  };
}

/** One output to spend: output `index` of `tx`. */
export interface Spend {
  tx: Transaction;
  index: number;
}

/** Output `index` (default 0) of `tx`, to spend. */
export function spend(tx: Transaction, index = 0): Spend {
  return { tx, index };
}

/** What a TRANSFER is built from, besides what it spends. */
export interface TransferOptions {
  id?: string;
  /** Default: one output of amount 1 owned by bob. */
  outputs?: TransactionOutput[];
  metadata?: Json | null;
}

/**
 * A TRANSFER of the asset of the first spent output, signed by the owners of each output it spends.
 *
 * @example
 * const move = transferTx([spend(create, 0)], { outputs: [output([bob])] });
 */
export function transferTx(spends: readonly Spend[], options: TransferOptions = {}): Transaction {
  if (spends.length === 0) throw new Error('transferTx: a TRANSFER spends at least one output');
  const id = options.id ?? freshId('transfer');
  return {
    id,
    version: '2.0',
    operation: 'TRANSFER',
    asset: { id: assetIdOf(spends[0].tx) },
    metadata: options.metadata ?? null,
    inputs: spends.map(({ tx, index }) => {
      const owners = ownersOf(tx.outputs[index]);
      return { owners_before: [...owners], fulfills: ref(tx, index), fulfillment: signature(id, owners.join(',')) };
    }),
    outputs: options.outputs ?? [output([publicKey('bob')])],
  };
}

/** The asset data a CREATE carries (what `getAsset` returns as `data`). */
export function assetData(tx: Transaction): Json | null {
  if (!('data' in tx.asset)) throw new Error(`assetData: ${tx.operation} ${tx.id} carries no asset data`);
  return tx.asset.data;
}

/** The reference to output `index` of `tx`. */
export function ref(tx: Transaction, index = 0): OutputRef {
  return { transaction_id: tx.id, output_index: index };
}

/** The reference to an unspent output. */
export function utxoRef({ transaction_id, output_index }: Utxo): OutputRef {
  return { transaction_id, output_index };
}

/** A block at `height` listing `txs`, with an app hash derived from the height. */
export function block(height: number, txs: readonly Transaction[] = []): Block {
  return { height, app_hash: hexId(`app-hash/${height}`), transactions: txs.map((tx) => tx.id) };
}

/** A fulfillment-shaped string; the layer checks structure only, never signatures. */
function signature(txid: string, signers: string): string {
  return `pGSAI${hexId(`fulfillment/${txid}/${signers}`)}`;
}

/**
 * How BigchainDB names and signs a transaction: the canonical serialization, the sha3-256
 * id, the message each input signs, and the chained app hash of a block.
 *
 * The serializer is the package's `canonicalJson`, which writes byte for byte what the
 * driver's (`json-stable-stringify` with the driver's key comparator) writes, so what the node
 * hashes is what the driver hashed: spec/node/hashing.spec.ts compares the two on random JSON
 * values and on transactions the driver signed.
 */
import { createHash } from 'node:crypto';
import { type OutputRef, type Transaction, canonicalJson } from '../lib';

export { canonicalJson };

/**
 * sha3-256 of the UTF-8 bytes of `text`, in lower-case hex. Callers refuse strings with lone
 * surrogates first: for those, Node's UTF-8 encoder and the driver's js-sha3 disagree.
 *
 * @example
 * sha3Hex('');   // 'a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a'
 */
export function sha3Hex(text: string): string {
  return createHash('sha3-256').update(text, 'utf8').digest('hex');
}

/**
 * The id a transaction must carry: the hash of its canonical form with `id` set to null.
 *
 * @example
 * transactionId(tx) === tx.id;   // true for every transaction the driver signed
 */
export function transactionId(tx: object): string {
  return sha3Hex(canonicalJson({ ...tx, id: null }));
}

/**
 * The canonical form of the transaction as it was before anyone signed it: `id` null and
 * every input's fulfillment null. Each input's signed message starts with it.
 *
 * @example
 * const unsigned = unsignedForm(tx);
 * const message = inputMessage(unsigned, tx.inputs[0].fulfills);
 */
export function unsignedForm(tx: Transaction): string {
  return canonicalJson({ ...tx, id: null, inputs: tx.inputs.map((input) => ({ ...input, fulfillment: null })) });
}

/**
 * The 32 bytes an input's fulfillment signs: sha3-256 of the unsigned form followed by the
 * spent output's transaction id and index (nothing for a CREATE's input).
 *
 * @example
 * inputMessage(unsignedForm(transfer), { transaction_id: create.id, output_index: 0 });
 */
export function inputMessage(unsigned: string, fulfills: OutputRef | null): Buffer {
  const hash = createHash('sha3-256').update(unsigned, 'utf8');
  if (fulfills) hash.update(`${fulfills.transaction_id}${fulfills.output_index}`, 'utf8');
  return hash.digest();
}

/**
 * BigchainDB's `calculate_hash`: sha3-256 of the strings joined, or `''` for none.
 *
 * @example
 * listHash([]);   // ''
 */
export function listHash(parts: readonly string[]): string {
  return parts.length === 0 ? '' : sha3Hex(parts.join(''));
}

/**
 * The app hash of the block after one with `previous`: unchanged for an empty block, else
 * the hash of the previous app hash and the hash of the block's transaction ids.
 *
 * @example
 * nextAppHash('', [tx.id]);   // listHash(['', listHash([tx.id])])
 */
export function nextAppHash(previous: string, ids: readonly string[]): string {
  return ids.length === 0 ? previous : listHash([previous, listHash(ids)]);
}

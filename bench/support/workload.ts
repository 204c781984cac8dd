/**
 * The ledger the benchmarks write: deterministic, valid BigchainDB-shaped transactions. Half
 * are CREATEs with asset data and metadata (text for the search indexes), half TRANSFERs that
 * spend an earlier CREATE's output to another owner, so owner, spend and asset lookups all
 * have realistic fan-out. Generated fast enough for a million (keys and conditions are made
 * once per owner, not per transaction).
 */
import type { Block, Transaction, TransactionOutput } from '../../lib';
import { hexId, publicKey } from '../../spec/conformance/fixtures';

export { hexId };

const WORDS = ['coffee', 'tea', 'cocoa', 'mug', 'kettle', 'harbour', 'granite', 'willow', 'ledger', 'copper', 'amber', 'meadow'];

/** Owners a workload spreads outputs over. */
export const OWNERS = 1_000;

/** Public key of owner `n` (a base58 string of 32 bytes, as a ledger has). */
export const keyOf = (n: number): string => publicKey(`bench/owner/${n}`);

/** Public key of owner `n` of the shared pool of OWNERS (made once). */
export const ownerKey = (() => {
  const keys = Array.from({ length: OWNERS }, (_, n) => keyOf(n));
  return (n: number): string => keys[n % OWNERS];
})();

/**
 * How outputs are owned: 'pool' spreads them over OWNERS keys (realistic fan-out: an owner
 * has many transactions); 'unique' gives every CREATE's owner a key of their own, so that a
 * lookup by key returns the same few records however large the ledger grows (the scaling
 * benchmark measures the index, not the size of the answer).
 */
export type Owners = 'pool' | 'unique';

const keyFor = (owners: Owners, n: number): string => (owners === 'pool' ? ownerKey(n) : keyOf(n));

function outputOf(key: string, owner: number): TransactionOutput {
  return {
    public_keys: [key],
    amount: '1',
    condition: { details: { type: 'ed25519-sha-256', public_key: key }, uri: `ni:///sha-256;${hexId(`cond/${owner % OWNERS}`).slice(0, 43)}?fpt=ed25519-sha-256&cost=131072` },
  };
}

/** Transaction number `n` of the workload named `seed`: even numbers CREATE, odd ones TRANSFER the CREATE before them. */
export function transaction(seed: string, n: number, owners: Owners = 'pool'): Transaction {
  const id = hexId(`${seed}/${n}`);
  const owner = n % OWNERS;
  const fulfillment = 'pGSAIDE5i63cn4X8T8N1sZ2mGkJD5lNRnBM4PZgI_zvzbr-cgUCy4BR6gKaYT-tdyAGPPpknIqI4JlxvwIXqPcNJc7Ih6U2cjxIT3Fj5EJdmgKlG0hx7G9crQIC';
  if (n % 2 === 0) {
    const word = (k: number) => WORDS[(n * 7 + k) % WORDS.length];
    return {
      id,
      version: '2.0',
      operation: 'CREATE',
      asset: { data: { title: `${word(0)} ${word(1)} ${n}`, serial: `SN-${n}`, tags: [word(2), word(3)] } },
      metadata: { note: `${word(4)} batch ${n >> 10}`, seq: n },
      inputs: [{ owners_before: [keyFor(owners, n)], fulfills: null, fulfillment }],
      outputs: [outputOf(keyFor(owners, n), owner)],
    };
  }
  const created = hexId(`${seed}/${n - 1}`);
  return {
    id,
    version: '2.0',
    operation: 'TRANSFER',
    asset: { id: created },
    metadata: null,
    inputs: [{ owners_before: [keyFor(owners, n - 1)], fulfills: { transaction_id: created, output_index: 0 }, fulfillment }],
    outputs: [outputOf(keyFor(owners, n + 1), owner + 1)],
  };
}

/** Transactions `from` .. `from + count - 1` of workload `seed`. */
export function transactions(seed: string, count: number, from = 0, owners: Owners = 'pool'): Transaction[] {
  return Array.from({ length: count }, (_, i) => transaction(seed, from + i, owners));
}

/** A block listing `txs`. */
export const blockOf = (height: number, txs: readonly Transaction[]): Block => ({
  height,
  app_hash: hexId(`bench/block/${height}`),
  transactions: txs.map((tx) => tx.id),
});

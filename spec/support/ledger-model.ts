/**
 * A model ledger for crash and recovery tests: it makes blocks of new assets and transfers of
 * outputs still unspent, remembers what was committed, and checks a database against the
 * ledger invariants:
 *   - every committed block's transactions are present, as written;
 *   - nothing of an uncommitted block is present (transactions, asset data, metadata);
 *   - the UTXO set equals what the committed blocks imply;
 *   - the pre-commit record equals the latest block.
 */
import { expect } from 'chai';
import { type Block, type Connection, type Transaction, type Utxo, query, utxosOf, spentRefsOf } from '../../lib';
import { block, createTx, output, publicKey, spend, transferTx } from '../conformance/fixtures';

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed from its seed. */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OWNERS = ['alice', 'bob', 'carol', 'dave'].map(publicKey);
const key = (u: { transaction_id: string; output_index: number }) => `${u.transaction_id}:${u.output_index}`;

/** One block and the transactions it commits. */
export interface BlockEntry {
  block: Block;
  txs: Transaction[];
}

export class LedgerModel {
  readonly committed: BlockEntry[] = [];
  readonly rolledBack: Transaction[] = [];
  /** Transactions by id, committed ones only (the makers of spendable outputs). */
  private readonly byId = new Map<string, Transaction>();
  private readonly unspent = new Map<string, Utxo>();
  private readonly random: () => number;

  constructor(seed = 1, private readonly firstHeight = 1) {
    this.random = randomSource(seed);
  }

  get height(): number {
    return this.committed.length ? this.committed[this.committed.length - 1].block.height : this.firstHeight - 1;
  }

  /** The next block: a few new assets, and transfers of distinct outputs still unspent. */
  nextBlock(creates = 2, transfers = 2): BlockEntry {
    const txs: Transaction[] = [];
    for (let i = 0; i < creates; i++) {
      const owner = this.pick(OWNERS);
      txs.push(createTx({ owner, outputs: [output([owner], '2'), output([this.pick(OWNERS)], '1')], metadata: { n: i } }));
    }
    const candidates = [...this.unspent.values()];
    for (let i = 0; i < transfers && candidates.length; i++) {
      const utxo = candidates.splice(Math.floor(this.random() * candidates.length), 1)[0];
      const maker = this.byId.get(utxo.transaction_id)!;
      txs.push(transferTx([spend(maker, utxo.output_index)], { outputs: [output([this.pick(OWNERS)], utxo.amount)] }));
    }
    return { block: block(this.height + 1, txs), txs };
  }

  /** Records that `entry` is committed. */
  commit(entry: BlockEntry): void {
    this.committed.push(entry);
    for (const tx of entry.txs) {
      this.byId.set(tx.id, tx);
      for (const ref of spentRefsOf(tx)) this.unspent.delete(key(ref));
      for (const utxo of utxosOf(tx)) this.unspent.set(key(utxo), utxo);
    }
  }

  /** Records that `entry` was rolled back: none of it may be found. */
  rollBack(entry: BlockEntry): void {
    this.rolledBack.push(...entry.txs);
  }

  /** Asserts every ledger invariant against `conn`. */
  async check(conn: Connection): Promise<void> {
    const committedTxs = this.committed.flatMap((entry) => entry.txs);
    const stored = await query.getTransactions(conn, committedTxs.map((tx) => tx.id));
    expect(stored, 'every committed transaction is present, as written').to.deep.equal(committedTxs);

    for (const tx of this.rolledBack) {
      expect(await query.getTransaction(conn, tx.id), `rolled-back transaction ${tx.id}`).to.equal(null);
      expect(await query.getAsset(conn, tx.id), `asset of rolled-back transaction ${tx.id}`).to.equal(null);
      expect(await query.getMetadata(conn, [tx.id]), `metadata of rolled-back transaction ${tx.id}`).to.deep.equal([]);
    }

    const sort = (utxos: Utxo[]) => [...utxos].sort((a, b) => key(a).localeCompare(key(b)));
    expect(sort(await query.getUnspentOutputs(conn)), 'the UTXO set is what the committed blocks imply').to.deep.equal(
      sort([...this.unspent.values()]),
    );

    const latest = this.committed.at(-1)?.block ?? null;
    expect(await query.getLatestBlock(conn), 'the latest block').to.deep.equal(latest);
    const preCommit = await query.getPreCommitState(conn);
    if (latest) {
      expect(preCommit, 'the pre-commit record equals the latest block').to.deep.equal({
        height: latest.height,
        transactions: latest.transactions,
      });
    } else if (preCommit) {
      expect(preCommit.transactions, 'before the first block, the pre-commit record lists nothing').to.deep.equal([]);
    }
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }
}

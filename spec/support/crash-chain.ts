/**
 * The ledger the crash specs write. Block `h` is a pure function of (seed, h) and of the UTXO
 * set the blocks below it left, which is itself a function of (seed, blocks below). So:
 *   - a writer process that is killed loses nothing it needs: the next one rebuilds the
 *     UTXO set from the database (after recovery) and writes exactly the block the dead one
 *     was writing;
 *   - the process that killed it regenerates every block from the seed alone and knows
 *     exactly which transactions belong to which height.
 *
 * Blocks hold new assets (CREATE, one to three outputs, sometimes a shared output) and
 * TRANSFERs of outputs still unspent (one to three inputs of one asset, sometimes spending
 * an output made earlier in the same block). One block in ten is big (dozens of CREATEs), so
 * a kill often lands in the middle of a batch. Transfers merge outputs faster when the UTXO
 * set grows, so it stays near TARGET_UNSPENT however long a run lasts.
 */
import { type Connection, type Json, type Transaction, type TransactionOutput, type Utxo, query, spentRefsOf, utxosOf } from '../../lib';
import { type Spend, block, createTx, hexId, output, publicKey, spend, transferTx } from '../conformance/fixtures';
import { type BlockEntry, randomSource } from './ledger-model';

const OWNERS = ['alice', 'bob', 'carol', 'dave', 'erin'].map(publicKey);
const WORDS = ['ledger', 'harbor', 'quartz', 'willow', 'nimbus', 'ember', 'saffron', 'granite', 'meadow', 'lantern'];
const TARGET_UNSPENT = 120;

const keyOf = (ref: { transaction_id: string; output_index: number }) => `${ref.transaction_id}:${ref.output_index}`;

/** An output that a transfer of the block being made may spend. */
interface Spendable {
  key: string;
  utxo: Utxo;
  maker: Transaction;
}

/**
 * The chain's state at its latest block, and the generator of the next one.
 *
 * @example
 * const chain = await CrashChain.fromDatabase(conn, seed);   // after recover()
 * const entry = chain.next();
 * await query.commitBlock(conn, entry.block, entry.txs);
 * chain.apply(entry);
 */
export class CrashChain {
  /** Height of the latest block applied (0: none yet; the first block is at height 1). */
  height = 0;
  readonly unspent = new Map<string, Utxo>();
  /** Transactions that still have an unspent output (what a transfer needs to spend one). */
  private readonly makers = new Map<string, Transaction>();

  constructor(readonly seed: number) {}

  /**
   * The chain as a database holds it: latest block, UTXO set and the transactions that made
   * the unspent outputs. Nothing else is trusted, since the writer's memory died with it.
   */
  static async fromDatabase(conn: Connection, seed: number): Promise<CrashChain> {
    const chain = new CrashChain(seed);
    chain.height = (await query.getLatestBlock(conn))?.height ?? 0;
    const utxos = await query.getUnspentOutputs(conn);
    const makers = await query.getTransactions(conn, [...new Set(utxos.map((utxo) => utxo.transaction_id))]);
    for (const tx of makers) chain.makers.set(tx.id, tx);
    for (const utxo of utxos) {
      if (!chain.makers.has(utxo.transaction_id)) {
        throw new Error(`unspent output ${keyOf(utxo)} was made by a transaction the database does not have`);
      }
      chain.unspent.set(keyOf(utxo), utxo);
    }
    return chain;
  }

  /** The block at `height + 1`, without applying it. */
  next(): BlockEntry {
    const height = this.height + 1;
    const random = randomSource(Number.parseInt(hexId(`crash-chain/${this.seed}/${height}`).slice(0, 8), 16));
    const below = (n: number) => Math.floor(random() * n);
    const pick = <T>(items: readonly T[]): T => items[below(items.length)];
    const idOf = (what: string, i: number) => hexId(`crash-chain/${this.seed}/${height}/${what}/${i}`);
    const big = random() < 0.1;
    const txs: Transaction[] = [];
    // Sorted by output: the database returns the UTXO set in no particular order.
    const spendable: Spendable[] = [...this.unspent.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, utxo]) => ({ key, utxo, maker: this.makers.get(utxo.transaction_id)! }));
    const makeSpendable = (tx: Transaction) => {
      for (const utxo of utxosOf(tx)) spendable.push({ key: keyOf(utxo), utxo, maker: tx });
    };

    const creates = big ? 20 + below(40) : 1 + below(3);
    for (let i = 0; i < creates; i++) {
      const owner = pick(OWNERS);
      const outputs: TransactionOutput[] = Array.from({ length: 1 + below(3) }, () => output([pick(OWNERS)], String(1 + below(9))));
      if (random() < 0.15) outputs.push(output([OWNERS[0], OWNERS[1 + below(OWNERS.length - 1)]], String(1 + below(9))));
      const words = Array.from({ length: 1 + below(4) }, () => pick(WORDS)).join(' ');
      const tx = createTx({
        id: idOf('create', i),
        owner,
        outputs,
        data: { seed: this.seed, height, serial: i, words },
        metadata: random() < 0.3 ? null : { height, note: `${pick(WORDS)} ${pick(WORDS)}` },
      });
      txs.push(tx);
      if (random() < 0.2) makeSpendable(tx);
    }

    const excess = Math.max(0, spendable.length - TARGET_UNSPENT);
    const transfers = 1 + below(4) + Math.min(20, Math.ceil(excess / 3)) + (big ? 10 : 0);
    for (let t = 0; t < transfers && spendable.length > 0; t++) {
      const [first] = spendable.splice(below(spendable.length), 1);
      const inputs = [first];
      const wanted = below(excess > 0 ? 4 : 3);
      for (let i = 0; i < spendable.length && inputs.length <= wanted; i++) {
        if (spendable[i].utxo.asset_id === first.utxo.asset_id) inputs.push(...spendable.splice(i--, 1));
      }
      const total = inputs.reduce((sum, input) => sum + Number(input.utxo.amount), 0);
      const split = total > 1 && random() < 0.4 ? 1 + below(total - 1) : 0;
      const amounts = split ? [split, total - split] : [total];
      const spends: Spend[] = inputs.map((input) => spend(input.maker, input.utxo.output_index));
      const metadata: Json | null = random() < 0.5 ? null : { height, transfer: t };
      const tx = transferTx(spends, { id: idOf('transfer', t), outputs: amounts.map((a) => output([pick(OWNERS)], String(a))), metadata });
      txs.push(tx);
      if (random() < 0.2) makeSpendable(tx);
    }
    return { block: block(height, txs), txs };
  }

  /** Records that `entry` (the block at `height + 1`) is committed. */
  apply(entry: BlockEntry): void {
    if (entry.block.height !== this.height + 1) {
      throw new Error(`block ${entry.block.height} applied on a chain at height ${this.height}`);
    }
    const touched = new Set<string>();
    for (const tx of entry.txs) {
      for (const ref of spentRefsOf(tx)) {
        this.unspent.delete(keyOf(ref));
        touched.add(ref.transaction_id);
      }
      for (const utxo of utxosOf(tx)) this.unspent.set(keyOf(utxo), utxo);
      this.makers.set(tx.id, tx);
      touched.add(tx.id);
    }
    for (const id of touched) {
      const maker = this.makers.get(id);
      if (maker && !maker.outputs.some((_, index) => this.unspent.has(`${id}:${index}`))) this.makers.delete(id);
    }
    this.height = entry.block.height;
  }
}

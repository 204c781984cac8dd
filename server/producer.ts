/**
 * The block producer: one serialized loop that takes the pending transactions, re-validates
 * each against the ledger and the block so far (BigchainDB's `deliver_tx`), commits the
 * block with `query.commitBlock`, then settles every waiting post and publishes the block.
 *
 * Group commit: while a block commits, new transactions gather for the next one, so the
 * blocks grow with the load and the cost of a commit is shared by everything in it.
 */
import { type Block, type Connection, type Transaction, ValidationError, query } from '../lib';
import { nextAppHash } from './hashing';
import { Rejection } from './rejections';
import { type CheckedTransaction, checkAgainstLedger } from './validation';

/** What became of a submitted transaction. */
export type Outcome =
  | { readonly status: 'committed'; readonly height: number }
  /** Refused when its block was built (it lost a race with a conflicting transaction). */
  | { readonly status: 'dropped'; readonly rejection: Rejection }
  /** Its block could not be committed (the database failed); it is not stored. */
  | { readonly status: 'failed'; readonly error: unknown }
  /** The node shut down before its block was built; it is not stored. */
  | { readonly status: 'refused' };

/** Options of {@link BlockProducer}. */
export interface ProducerOptions {
  /** Most transactions in one block (default 2,000). */
  readonly maxBlockSize?: number;
  /** Called after each committed block, in height order, before the next block starts. */
  readonly onBlock?: (block: Block, txs: readonly Transaction[], milliseconds: number) => void;
  /** Called when a block could not be committed. */
  readonly onError?: (error: unknown, height: number) => void;
}

/** How many committed ids the cache keeps (Tendermint's mempool cache holds 10,000). */
const CACHE_SIZE = 10_000;

interface Waiting {
  readonly checked: CheckedTransaction;
  readonly settle: (outcome: Outcome) => void;
}

/**
 * Builds and commits blocks, one at a time, from the transactions submitted to it.
 *
 * @example
 * const producer = new BlockProducer(conn, { onBlock: (block) => console.log(block.height) });
 * await producer.start();
 * const outcome = await producer.submit(checkTransaction(tx));   // { status: 'committed', height: 1 }
 * await producer.close();
 */
export class BlockProducer {
  readonly #conn: Connection;
  readonly #maxBlockSize: number;
  readonly #onBlock: ProducerOptions['onBlock'];
  readonly #onError: ProducerOptions['onError'];
  /** Submitted and not yet settled, by id: the node's mempool. */
  readonly #pending = new Map<string, Waiting>();
  /** Ids of the latest committed transactions, oldest first, at most {@link CACHE_SIZE}. */
  readonly #recentlyCommitted = new Set<string>();
  #queue: Waiting[] = [];
  #latest: Block | null = null;
  #running: Promise<void> | null = null;
  #closing = false;

  constructor(conn: Connection, options: ProducerOptions = {}) {
    this.#conn = conn;
    this.#maxBlockSize = options.maxBlockSize ?? 2000;
    this.#onBlock = options.onBlock;
    this.#onError = options.onError;
  }

  /** Reads the latest block, committing the empty genesis block (height 0) on a new ledger. */
  async start(): Promise<void> {
    this.#latest = await query.getLatestBlock(this.#conn);
    if (!this.#latest) {
      // Like BigchainDB's InitChain: a height-0 block, so that heights start at 1.
      const genesis: Block = { height: 0, app_hash: '', transactions: [] };
      await query.commitBlock(this.#conn, genesis, []);
      this.#latest = genesis;
    }
  }

  /** The latest committed block (after {@link start}). */
  get latestBlock(): Block | null {
    return this.#latest;
  }

  /** Transactions submitted and not yet committed or dropped. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Whether a transaction with this id is pending or was committed recently: Tendermint's
   * mempool cache, whose answer BigchainDB passes on as "Tx already exists in cache". The
   * committed ones count too because a post's ledger check may have read the ledger just
   * before the same transaction, posted twice at once, was committed: without them the second
   * would pass and be dropped from its block (500) although the transaction is stored.
   */
  inCache(id: string): boolean {
    return this.#pending.has(id) || this.#recentlyCommitted.has(id);
  }

  /**
   * Queues a checked transaction for the next block; resolves once its block is committed
   * or it is dropped. Never rejects.
   */
  submit(checked: CheckedTransaction): Promise<Outcome> {
    if (this.#closing) return Promise.resolve({ status: 'refused' });
    return new Promise((settle) => {
      const waiting = { checked, settle };
      this.#pending.set(checked.tx.id, waiting);
      this.#queue.push(waiting);
      this.#running ??= this.#run();
    });
  }

  /**
   * Stops taking transactions, commits those already submitted (for at most `timeout` ms
   * after the block in flight), and refuses whatever is left. The connection stays open.
   */
  async close(timeout = 10_000): Promise<void> {
    this.#closing = true;
    if (!this.#running) return;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeout);
    });
    await Promise.race([this.#running, expired]);
    clearTimeout(timer);
    const left = this.#queue;
    this.#queue = [];
    for (const waiting of left) this.#settle(waiting, { status: 'refused' });
    await this.#running;
  }

  async #run(): Promise<void> {
    try {
      // Let the posts already read by the server join the first block: on an engine that
      // answers at once, the first post would otherwise make a block of its own. The blocks
      // after it take what gathered while the one before committed, at once: waiting here
      // too would let the server admit more posts first, while the database sits idle.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.#queue.length) {
        const batch = this.#queue.splice(0, this.#maxBlockSize);
        await this.#produce(batch);
      }
    } finally {
      this.#running = null;
    }
  }

  async #produce(batch: Waiting[]): Promise<void> {
    let verdicts: (Rejection | null)[];
    try {
      this.#latest ??= await query.getLatestBlock(this.#conn);
      verdicts = await checkAgainstLedger(this.#conn, batch.map((waiting) => waiting.checked), { signatures: false });
    } catch (error) {
      this.#fail(batch, error);
      return;
    }
    const accepted: Waiting[] = [];
    batch.forEach((waiting, index) => {
      const rejection = verdicts[index];
      if (rejection) this.#settle(waiting, { status: 'dropped', rejection });
      else accepted.push(waiting);
    });
    if (accepted.length) await this.#commit(accepted);
  }

  /**
   * Commits `accepted` as the next block. The node checks everything chainstore checks
   * before it accepts a transaction, so a ValidationError here means a rule the two disagree
   * on: rather than lose the whole block, the halves are committed as blocks of their own
   * until the one transaction at fault is found and dropped.
   */
  async #commit(accepted: Waiting[]): Promise<void> {
    const previous = this.#latest!;
    const txs = accepted.map((waiting) => waiting.checked.tx);
    const ids = txs.map((tx) => tx.id);
    const block: Block = { height: previous.height + 1, app_hash: nextAppHash(previous.app_hash, ids), transactions: ids };
    const started = performance.now();
    try {
      await query.commitBlock(this.#conn, block, txs);
    } catch (error) {
      if (error instanceof ValidationError && accepted.length > 1) {
        const half = Math.ceil(accepted.length / 2);
        await this.#commit(accepted.slice(0, half));
        await this.#commit(accepted.slice(half));
        return;
      }
      // The commit may have happened with only its answer lost (a dropped connection).
      if (!(await this.#committedAnyway(block))) {
        this.#latest = null;
        this.#onError?.(error, block.height);
        if (error instanceof ValidationError) {
          this.#settle(accepted[0], { status: 'dropped', rejection: asRejection(error) });
        } else {
          this.#fail(accepted, error);
        }
        return;
      }
    }
    this.#latest = block;
    for (const id of ids) this.#remember(id);
    for (const waiting of accepted) this.#settle(waiting, { status: 'committed', height: block.height });
    this.#onBlock?.(block, txs, performance.now() - started);
  }

  async #committedAnyway(block: Block): Promise<boolean> {
    try {
      const stored = await query.getBlock(this.#conn, block.height);
      return stored !== null && stored.app_hash === block.app_hash && stored.transactions.join() === block.transactions.join();
    } catch {
      return false;
    }
  }

  #remember(id: string): void {
    this.#recentlyCommitted.add(id);
    if (this.#recentlyCommitted.size > CACHE_SIZE) this.#recentlyCommitted.delete(this.#recentlyCommitted.values().next().value as string);
  }

  #fail(batch: readonly Waiting[], error: unknown): void {
    for (const waiting of batch) this.#settle(waiting, { status: 'failed', error });
  }

  #settle(waiting: Waiting, outcome: Outcome): void {
    this.#pending.delete(waiting.checked.tx.id);
    waiting.settle(outcome);
  }
}

/** A ValidationError of chainstore's, as the rejection the node reports for it. */
function asRejection(error: ValidationError): Rejection {
  return new Rejection('ValidationError', error.message);
}

/**
 * The commit protocol and crash recovery (docs/design.md section 6), built only on the generics,
 * so they serve every backend.
 *
 * The protocol writes a pre-commit record first and the block row last, so a crash
 * anywhere in between leaves a pre-commit record one height above the latest block:
 * exactly the state `recover()` knows how to roll back.
 */
import { Connection } from './connection';
import { RecoveryError, describeKeys, duplicateKeys, heightExists } from './errors';
import { type Block, type OutputRef, type PreCommitState, type Transaction, type Utxo, repeatedKeys, spentRefsOf, utxosOf } from './model';
import * as query from './query';
import * as schema from './schema';

/**
 * Refuses, before anything is written, a commit that cannot succeed: a transaction id that
 * repeats or is stored, or a height that is committed. Found only at its own step, it would
 * leave a pre-commit record listing transactions stored before, which recover() would then
 * roll back by deleting them.
 */
async function refuseImpossibleCommit(conn: Connection, block: Block, txs: readonly Transaction[]): Promise<void> {
  const ids = txs.map((tx) => tx.id);
  const stored = ids.length ? (await query.getTransactions(conn, ids)).map((tx) => tx.id) : [];
  const taken = [...new Set([...repeatedKeys(ids, (id) => id), ...stored])];
  if (taken.length) throw duplicateKeys(conn.backend, 'commit block', taken);
  if (await query.getBlock(conn, block.height)) throw heightExists(conn.backend, 'commit block', block.height);
}

/**
 * The default `commitBlock`, for every backend without real transactions: each step is
 * durable on its own, and the order makes every crash recoverable. A concurrent writer that
 * stores the same keys between the checks and the writes is still refused by the step that
 * hits them.
 */
async function commitBlockInSteps(conn: Connection, block: Block, txs: Transaction[]): Promise<void> {
  await refuseImpossibleCommit(conn, block, txs);
  await query.storePreCommitState(conn, { height: block.height, transactions: block.transactions });
  await query.writeTransactions(conn, txs);
  const { spent, created } = utxoChanges(txs);
  await query.deleteUnspentOutputs(conn, spent);
  await query.storeUnspentOutputs(conn, created);
  await query.storeBlock(conn, block);
}

query.commitBlock.register(Connection, commitBlockInSteps);

/**
 * How a list of transactions changes the UTXO set: every output they spend (deleting one
 * made within the list is a no-op) and the outputs they create that the list does not spend.
 *
 * @example
 * const { spent, created } = utxoChanges(txs);
 */
export function utxoChanges(txs: readonly Transaction[]): { spent: OutputRef[]; created: Utxo[] } {
  const key = (ref: OutputRef) => `${ref.transaction_id}:${ref.output_index}`;
  const spentKeys = new Set<string>();
  const spent: OutputRef[] = [];
  for (const tx of txs) {
    for (const ref of spentRefsOf(tx)) {
      spentKeys.add(key(ref));
      spent.push(ref);
    }
  }
  const created: Utxo[] = [];
  for (const tx of txs) for (const utxo of utxosOf(tx)) if (!spentKeys.has(key(utxo))) created.push(utxo);
  return { spent, created };
}

/**
 * What `recover()` did.
 *
 * @example
 * const { action, height, transactions } = await recover(conn);
 * // on a fresh database: { action: 'none', height: -1, transactions: [] }
 */
export interface RecoveryReport {
  action: 'none' | 'rolled-back';
  /**
   * The height the action concerns: the block rolled back, or, when there was nothing to do,
   * the latest block (-1 when there is none).
   */
  height: number;
  /** Ids of the transactions of the block rolled back (the pre-commit record's list). */
  transactions: string[];
}

/**
 * Repairs a database after a crash in the middle of a commit. Run it at startup.
 *
 * - no tables yet, no pre-commit record, or a pre-commit record at the latest block's
 *   height: nothing to do;
 * - a pre-commit record one height above the latest block: the uncommitted block is rolled
 *   back (its transactions with their asset data and metadata deleted, the outputs they spent
 *   restored, the outputs they created removed, elections, validator sets and ABCI chains
 *   above the latest height deleted, the pre-commit record reset to the latest block);
 * - anything else: {@link RecoveryError}, and nothing is changed. Its message says what was
 *   found (the pre-commit height and transactions, the latest block's height) and that
 *   `chainstore status` shows it.
 *
 * Idempotent; a crash during recovery is repaired by running it again. What it did is
 * reported on the connection's log (topic `recover`: a rollback at level warn).
 *
 * It runs through `conn.exclusively()`: on PostgreSQL it first waits, up to `leaseTimeout`,
 * until every session of a crashed process has ended (so that no statement such a process
 * sent before dying can land after the repair), and keeps other writers out while it works.
 *
 * @example
 * const conn = await connect();
 * const report = await recover(conn);
 * if (report.action === 'rolled-back') log(`rolled back ${report.transactions.length} transactions`);
 */
export async function recover(conn: Connection): Promise<RecoveryReport> {
  const report: RecoveryReport = (await schema.isInitialized(conn))
    ? await conn.exclusively(() => repair(conn))
    : { action: 'none', height: -1, transactions: [] };
  conn.log.recovered(report);
  return report;
}

/**
 * What a pre-commit record says of the last commit, given the latest block's height (null
 * with no block): `complete` (nothing to do), `unfinished` (the next block's commit was cut
 * short: recover() rolls it back) or `unrepairable` (any other gap: it needs a human). The
 * one statement of recover()'s rules, which `chainstore status` reports too.
 *
 * @example
 * judgePreCommit({ height: 8, transactions: [id] }, 7);   // 'unfinished'
 * judgePreCommit({ height: 9, transactions: [id] }, 7);   // 'unrepairable'
 */
export function judgePreCommit(preCommit: PreCommitState | null, latestHeight: number | null): 'complete' | 'unfinished' | 'unrepairable' {
  if (!preCommit || preCommit.height === latestHeight) return 'complete';
  // With no block at all, the pre-commit record belongs to the first commit, whatever its height.
  if (latestHeight === null) return preCommit.transactions.length === 0 ? 'complete' : 'unfinished';
  return preCommit.height === latestHeight + 1 ? 'unfinished' : 'unrepairable';
}

/** The work of {@link recover}, with the database to itself. */
async function repair(conn: Connection): Promise<RecoveryReport> {
  const [preCommit, latest] = await Promise.all([query.getPreCommitState(conn), query.getLatestBlock(conn)]);
  const latestHeight = latest ? latest.height : -1;
  const verdict = judgePreCommit(preCommit, latest ? latest.height : null);
  if (verdict === 'complete' || !preCommit) return { action: 'none', height: latestHeight, transactions: [] };
  if (verdict === 'unrepairable') throw await unrepairable(conn, preCommit, latestHeight);

  const written = await query.getTransactions(conn, preCommit.transactions);
  const rolledBack = new Set(written.map((tx) => tx.id));

  // UTXO set first, transactions last: while the transactions still exist, running this
  // again recomputes the same changes, so a crash here is repaired by the next run.
  const created = written.flatMap((tx) => utxosOf(tx).map(({ transaction_id, output_index }) => ({ transaction_id, output_index })));
  await query.deleteUnspentOutputs(conn, created);
  const spent = written.flatMap(spentRefsOf).filter((ref) => !rolledBack.has(ref.transaction_id));
  const restored = await outputsOf(conn, spent);
  await query.storeUnspentOutputs(conn, restored);

  // Before the first block, records below the pre-commit height (genesis) are kept.
  await deleteRecordsAbove(conn, latest ? latestHeight : preCommit.height - 1, preCommit.height);
  await query.deleteTransactions(conn, preCommit.transactions);
  await query.storePreCommitState(
    conn,
    latest ? { height: latest.height, transactions: latest.transactions } : { height: 0, transactions: [] },
  );
  return { action: 'rolled-back', height: preCommit.height, transactions: [...preCommit.transactions] };
}

/** Ids a RecoveryError quotes; `chainstore status --json` lists them all. */
const QUOTED_IDS = 3;

/**
 * The RecoveryError for a pre-commit record that is neither at the latest block's height nor
 * one above it: what was found (both heights, the transactions listed and how many of them
 * are stored), why it is not repaired, and where to look. Reading only: nothing is changed.
 */
async function unrepairable(conn: Connection, preCommit: PreCommitState, latestHeight: number): Promise<RecoveryError> {
  const ids = preCommit.transactions;
  const stored = ids.length ? (await query.getTransactions(conn, ids)).length : 0;
  const listed = ids.length
    ? `${ids.length} transaction${ids.length === 1 ? '' : 's'}: ${describeKeys(ids, QUOTED_IDS)}; ${stored} of them stored`
    : 'no transactions';
  const gap =
    preCommit.height > latestHeight
      ? `blocks ${latestHeight + 1} to ${preCommit.height - 1} are missing`
      : 'a commit older than the latest block was recorded last';
  return new RecoveryError(
    `recover found a state it must not repair by itself in ${conn.location}: the pre-commit record is at height ${preCommit.height} ` +
      `(${listed}) but the latest block is at height ${latestHeight}, so ${gap}. Only an unfinished commit of the next block ` +
      `(a pre-commit record at height ${latestHeight + 1}) is rolled back automatically; nothing was changed. ` +
      "Run 'chainstore status' on this database to see the pre-commit record and the latest block ('--json' lists every transaction id), " +
      'then decide by hand, or restore a backup',
  );
}

/** The UTXOs that `refs` point at, rebuilt from the committed transactions that made them. */
async function outputsOf(conn: Connection, refs: OutputRef[]): Promise<Utxo[]> {
  const ids = [...new Set(refs.map((ref) => ref.transaction_id))];
  const makers = new Map((await query.getTransactions(conn, ids)).map((tx) => [tx.id, tx]));
  const utxos: Utxo[] = [];
  for (const ref of refs) {
    const maker = makers.get(ref.transaction_id);
    const utxo = maker && utxosOf(maker)[ref.output_index];
    if (utxo) utxos.push(utxo);
  }
  return utxos;
}

/**
 * Deletes the elections, validator sets and ABCI chains recorded above `keptHeight` by the
 * block being rolled back. Validator sets and chains are found through their "latest"
 * getters, so one a block scheduled further ahead (BigchainDB stores a validator update at
 * height + 1) is found too; elections are recorded at the block's height, or the next.
 */
async function deleteRecordsAbove(conn: Connection, keptHeight: number, preCommitHeight: number): Promise<void> {
  for (let height = keptHeight + 1; height <= preCommitHeight + 1; height++) await query.deleteElections(conn, height);
  for (let set = await query.getValidatorSet(conn); set && set.height > keptHeight; set = await query.getValidatorSet(conn)) {
    await query.deleteValidatorSet(conn, set.height);
  }
  for (let chain = await query.getLatestAbciChain(conn); chain && chain.height > keptHeight; chain = await query.getLatestAbciChain(conn)) {
    await query.deleteAbciChain(conn, chain.height);
  }
}

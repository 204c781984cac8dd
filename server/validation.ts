/**
 * Whether the node accepts a transaction, decided as BigchainDB 2.2.2 decides it: first the
 * transaction on its own (`Transaction.from_dict`: id, schema, inputs and outputs), then
 * against the ledger (`Transaction.validate`), in BigchainDB's order and with its messages.
 */
import { type Connection, type OutputRef, type Transaction, type TransactionOutput, query, validateRecord } from '../lib';
import { parseFulfillment, type ParsedFulfillment } from './fulfillments';
import { inputMessage, transactionId, unsignedForm } from './hashing';
import { Rejection } from './rejections';
import { transactionSchemaError } from './schema';
import { pyRepr } from './pyrepr';

/** A transaction that passed the checks it can pass on its own, with what they parsed. */
export interface CheckedTransaction {
  readonly tx: Transaction;
  /** Each input's parsed fulfillment; null for one given as condition details (unsigned). */
  readonly fulfillments: readonly (ParsedFulfillment | null)[];
}

/** BigchainDB's largest amount of one output (`Output.MAX_AMOUNT`). */
export const MAX_AMOUNT = 9n * 10n ** 18n;

/** How deep BigchainDB lets threshold conditions nest before `ThresholdTooDeep`. */
const MAX_THRESHOLD_DEPTH = 100;

/**
 * The checks a transaction passes or fails on its own, in BigchainDB's order: its id, the
 * v2.0 schema, then each input's fulfillment and each output's amount and condition. Then
 * chainstore's own limits (what no engine could store as written), so that nothing the node
 * accepts can make a block fail to commit.
 *
 * @throws {Rejection} naming BigchainDB's exception, e.g. `InvalidHash`
 * @example
 * const checked = checkTransaction(JSON.parse(body));
 */
export function checkTransaction(body: unknown): CheckedTransaction {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Rejection('ValidationError', 'a transaction is a JSON object');
  }
  // Before hashing: for a string with half a surrogate pair, the driver's hash and any
  // UTF-8 hash differ, and no engine can store it as written.
  refuseLoneSurrogates(body);
  checkId(body as Record<string, unknown>);
  const schemaError = transactionSchemaError(body);
  if (schemaError !== null) throw new Rejection('SchemaValidationError', schemaError);
  const tx = body as Transaction;
  const fulfillments = tx.inputs.map((input) => readFulfillment(input.fulfillment));
  for (const output of tx.outputs) checkOutput(output);
  if (tx.operation !== 'CREATE' && tx.operation !== 'TRANSFER') {
    throw new Rejection('ValidationError', `this node accepts CREATE and TRANSFER transactions, not ${tx.operation} (it is a single validator, without elections)`);
  }
  try {
    validateRecord('transaction', tx);
  } catch (error) {
    throw new Rejection('ValidationError', `chainstore cannot store it as written: ${(error as Error).message}`);
  }
  return { tx, fulfillments };
}

function checkId(tx: Record<string, unknown>): void {
  if (!('id' in tx)) throw new Rejection('InvalidHash', 'No transaction id found!');
  if (tx.id !== transactionId(tx)) {
    const shown = typeof tx.id === 'string' ? tx.id : pyRepr(tx.id);
    throw new Rejection('InvalidHash', `The transaction's id '${shown}' isn't equal to the hash of its body, i.e. it's not valid.`);
  }
}

function readFulfillment(fulfillment: unknown): ParsedFulfillment | null {
  // Condition details in place of a fulfillment: BigchainDB reads them as an unsigned
  // fulfillment, which then fails the signature check.
  if (typeof fulfillment !== 'string') return null;
  const parsed = parseFulfillment(fulfillment);
  if (!parsed) throw new Rejection('InvalidSignature', "Fulfillment URI couldn't been parsed");
  return parsed;
}

function checkOutput(output: TransactionOutput): void {
  // The schema already holds the amount to 1 to 20 digits.
  const amount = BigInt(output.amount);
  if (amount < 1n) throw new Rejection('AmountError', '`amount` must be greater than 0');
  if (amount > MAX_AMOUNT) throw new Rejection('AmountError', `\`amount\` must be <= ${MAX_AMOUNT}`);
  checkThresholdDepth(output.condition.details);
}

/** BigchainDB's `_fulfillment_from_details` refuses condition details nested 100 deep. */
function checkThresholdDepth(details: unknown): void {
  const pending: [unknown, number][] = [[details, 0]];
  while (pending.length) {
    const [node, depth] = pending.pop()!;
    if (depth === MAX_THRESHOLD_DEPTH) throw new Rejection('ThresholdTooDeep', '');
    const subconditions = (node as { subconditions?: unknown[] }).subconditions;
    if (Array.isArray(subconditions)) for (const sub of subconditions) pending.push([sub, depth + 1]);
  }
}

function refuseLoneSurrogates(body: object): void {
  const pending: [unknown, string][] = [[body, '']];
  while (pending.length) {
    const [value, path] = pending.pop()!;
    if (typeof value === 'string') {
      if (!value.isWellFormed()) throw new Rejection('ValidationError', `${path || 'the transaction'} holds a lone UTF-16 surrogate (half of a pair), which has no UTF-8 form: its id cannot be computed`);
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => pending.push([item, `${path}[${index}]`]));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (!key.isWellFormed()) throw new Rejection('ValidationError', `a key in ${path || 'the transaction'} holds a lone UTF-16 surrogate (half of a pair), which has no UTF-8 form: its id cannot be computed`);
        pending.push([item, path ? `${path}.${key}` : key]);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Against the ledger
// ---------------------------------------------------------------------------

/** How {@link checkAgainstLedger} checks. */
export interface LedgerCheckOptions {
  /**
   * Verify each input's fulfillment. A signature depends only on the transaction and on the
   * spent output's condition, and every spent output was committed (immutable) when the web
   * layer verified it, so the producer's re-validation skips this step and loses nothing.
   */
  readonly signatures: boolean;
  /**
   * What each transaction is checked against. `'block'` (the default): the committed ledger
   * and the transactions before it in the list that passed, as BigchainDB's `deliver_tx`
   * checks a block being built. `'ledger'`: the committed ledger alone, each transaction on
   * its own, as BigchainDB's `check_tx` checks a post; the web layer checks the posts that
   * arrive together in one call this way.
   */
  readonly against?: 'block' | 'ledger';
}

const refKey = (ref: OutputRef) => `${ref.transaction_id}:${ref.output_index}`;

/**
 * Checks transactions against the ledger. Against a block (the default), each is also checked
 * against those before it in the list that passed (BigchainDB's `current_transactions`): of
 * two that spend the same output, the first passes and the second is refused. Reads the
 * ledger in two set-based queries, whatever the number of transactions; signatures are
 * verified off the event loop, all at once when checking against the ledger alone.
 *
 * @returns, for each transaction, null if it passed or the Rejection that refuses it
 * @example
 * const [verdict] = await checkAgainstLedger(conn, [checked], { signatures: true, against: 'ledger' });
 * if (verdict) throw verdict;
 */
export async function checkAgainstLedger(conn: Connection, checked: readonly CheckedTransaction[], options: LedgerCheckOptions): Promise<(Rejection | null)[]> {
  const { committed, committedSpenders } = await readLedger(conn, checked.map((item) => item.tx));
  const ledger: LedgerState = { committed, committedSpenders, current: new Map(), currentSpent: new Set() };
  if (options.against === 'ledger') return Promise.all(checked.map((item) => verdictOf(item, ledger, options)));
  const verdicts: (Rejection | null)[] = [];
  for (const item of checked) {
    const verdict = await verdictOf(item, ledger, options);
    if (verdict === null) {
      ledger.current.set(item.tx.id, item.tx);
      for (const input of item.tx.inputs) if (input.fulfills) ledger.currentSpent.add(refKey(input.fulfills));
    }
    verdicts.push(verdict);
  }
  return verdicts;
}

interface LedgerState {
  /** Committed transactions among those the batch names (its own ids and its inputs). */
  committed: Map<string, Transaction>;
  /** How many committed transactions spend each output the batch spends. */
  committedSpenders: Map<string, number>;
  /** Transactions accepted so far into the block being built, and the outputs they spend. */
  current: Map<string, Transaction>;
  currentSpent: Set<string>;
}

async function readLedger(conn: Connection, txs: readonly Transaction[]) {
  const ids = new Set<string>();
  const refs = new Map<string, OutputRef>();
  for (const tx of txs) {
    ids.add(tx.id);
    for (const input of tx.inputs) {
      if (!input.fulfills) continue;
      ids.add(input.fulfills.transaction_id);
      refs.set(refKey(input.fulfills), input.fulfills);
    }
  }
  const [found, spenders] = await Promise.all([
    query.getTransactions(conn, [...ids]),
    refs.size ? query.getSpendingTransactions(conn, [...refs.values()]) : Promise.resolve([]),
  ]);
  const committed = new Map(found.map((tx) => [tx.id, tx]));
  const committedSpenders = new Map<string, number>();
  for (const spender of spenders) {
    for (const input of spender.inputs) {
      if (!input.fulfills) continue;
      const key = refKey(input.fulfills);
      if (refs.has(key)) committedSpenders.set(key, (committedSpenders.get(key) ?? 0) + 1);
    }
  }
  return { committed, committedSpenders };
}

/** BigchainDB's order: the ledger checks of the operation, then the signatures, last. */
async function verdictOf(item: CheckedTransaction, ledger: LedgerState, options: LedgerCheckOptions): Promise<Rejection | null> {
  try {
    const conditionUris = item.tx.operation === 'CREATE' ? checkCreate(item.tx, ledger) : checkTransfer(item.tx, ledger);
    if (options.signatures && !(await signaturesValid(item.tx, item.fulfillments, conditionUris))) {
      throw new Rejection('InvalidSignature', 'Transaction signature is invalid.');
    }
    return null;
  } catch (error) {
    if (error instanceof Rejection) return error;
    throw error;
  }
}

/** @returns the condition URI each input's fulfillment must match: none for a CREATE */
function checkCreate(tx: Transaction, ledger: LedgerState): null[] {
  if (ledger.committed.has(tx.id) || ledger.current.has(tx.id)) {
    throw new Rejection('DuplicateTransaction', `transaction \`${tx.id}\` already exists`);
  }
  // A CREATE's output conditions are not compared: its inputs spend nothing.
  return tx.inputs.map(() => null);
}

/** @returns the condition URI each input's fulfillment must match: the spent output's */
function checkTransfer(tx: Transaction, ledger: LedgerState): string[] {
  const spentOutputs: TransactionOutput[] = [];
  const inputTxs: Transaction[] = [];
  for (const { fulfills } of tx.inputs) {
    // The TRANSFER schema makes every `fulfills` an object.
    const ref = fulfills!;
    const txid = ref.transaction_id;
    const inputTx = ledger.committed.get(txid) ?? ledger.current.get(txid);
    if (!inputTx) throw new Rejection('InputDoesNotExist', `input \`${txid}\` doesn't exist`);
    const committedSpenders = ledger.committedSpenders.get(refKey(ref)) ?? 0;
    const currentSpenders = ledger.currentSpent.has(refKey(ref)) ? 1 : 0;
    if (committedSpenders > 1) {
      throw new Rejection('CriticalDoubleSpend', `\`${txid}\` was spent more than once. There is a problem with the chain`, 500);
    }
    if (committedSpenders + currentSpenders > 1) throw new Rejection('DoubleSpend', `tx "${txid}" spends inputs twice`);
    if (committedSpenders + currentSpenders === 1) throw new Rejection('DoubleSpend', `input \`${txid}\` was already spent`);
    // BigchainDB fails here with an uncaught IndexError (a 500); the output does not exist.
    const output = inputTx.outputs[ref.output_index];
    if (!output) throw new Rejection('InputDoesNotExist', `input \`${txid}\` has no output ${ref.output_index}`);
    spentOutputs.push(output);
    inputTxs.push(inputTx);
  }
  const links = tx.inputs.map((input) => refKey(input.fulfills!));
  if (new Set(links).size !== links.length) throw new Rejection('DoubleSpend', `tx "${tx.id}" spends inputs twice`);
  const assetIds = new Set(inputTxs.map((input) => (input.operation === 'CREATE' ? input.id : (input.asset as { id: string }).id)));
  if (assetIds.size > 1) throw new Rejection('AssetIdMismatch', 'All inputs of all transactions passed need to have the same asset id');
  if ([...assetIds][0] !== (tx.asset as { id: string }).id) {
    throw new Rejection('AssetIdMismatch', 'The asset id of the input does not match the asset id of the transaction');
  }
  const inputAmount = sum(spentOutputs);
  const outputAmount = sum(tx.outputs);
  if (inputAmount !== outputAmount) {
    throw new Rejection('AmountError', `The amount used in the inputs \`${inputAmount}\` needs to be same as the amount used in the outputs \`${outputAmount}\``);
  }
  return spentOutputs.map((output) => output.condition.uri);
}

const sum = (outputs: readonly TransactionOutput[]) => outputs.reduce((total, output) => total + BigInt(output.amount), 0n);

/**
 * BigchainDB's `_input_valid` for every input: the fulfillment fulfils the spent output's
 * condition (when there is one to compare) and is valid for the input's message.
 */
async function signaturesValid(tx: Transaction, fulfillments: readonly (ParsedFulfillment | null)[], conditionUris: readonly (string | null)[]): Promise<boolean> {
  const matched = fulfillments.every((fulfillment, index) => fulfillment !== null && (conditionUris[index] === null || fulfillment.conditionUri === conditionUris[index]));
  if (!matched) return false;
  const unsigned = unsignedForm(tx);
  const verdicts = await Promise.all(tx.inputs.map((input, index) => fulfillments[index]!.valid(inputMessage(unsigned, input.fulfills))));
  return verdicts.every(Boolean);
}

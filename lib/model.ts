/**
 * The records chainstore stores (docs/design.md section 3), and the validation of everything
 * that enters a write. Schemas are compiled once, at load time; a batch is checked
 * whole before any backend is touched, so a batch with one bad record writes nothing.
 *
 * The layer checks structure only: signatures and id hashes are the ledger node's job.
 */
import { inspect } from 'node:util';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { QUOTED_LENGTH, ValidationError } from './errors';

/**
 * Any JSON value.
 *
 * @example
 * const data: Json = { serial: 'X-1', tags: ['coffee'], weight: 2.5, recalled: null };
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * The operations of a BigchainDB v2.0 transaction.
 *
 * @example
 * const operation: Operation = 'TRANSFER';
 * const transfers = await query.getTxidsFiltered(conn, assetId, { operation });
 */
export type Operation = 'CREATE' | 'TRANSFER' | 'VALIDATOR_ELECTION' | 'CHAIN_MIGRATION_ELECTION' | 'VOTE';

/**
 * A reference to one output of one transaction.
 *
 * @example
 * const ref: OutputRef = { transaction_id: createTx.id, output_index: 0 };
 * const spenders = await query.getSpendingTransactions(conn, [ref]);
 */
export interface OutputRef {
  transaction_id: string;
  output_index: number;
}

/**
 * One input of a transaction: `fulfills` is null for CREATE-like transactions.
 *
 * @example
 * const input: TransactionInput = {
 *   owners_before: [alice], fulfills: { transaction_id: createTx.id, output_index: 0 }, fulfillment: signed,
 * };
 */
export interface TransactionInput {
  owners_before: string[];
  fulfills: OutputRef | null;
  fulfillment: string | Json | null;
}

/**
 * One output of a transaction. `amount` is a decimal string.
 *
 * @example
 * const output: TransactionOutput = { public_keys: [bob], amount: '10', condition: { details: {}, uri: 'ni:///sha-256;...' } };
 * const preimage: TransactionOutput = { public_keys: [], amount: '1', condition: { details: { type: 'preimage-sha-256' }, uri: 'ni:///...' } };
 */
export interface TransactionOutput {
  /** The keys the condition names; `[]` or null for a condition that names none (a preimage). */
  public_keys: string[] | null;
  amount: string;
  condition: { details: Json; uri: string };
}

/**
 * A transaction in the BigchainDB v2.0 shape.
 *
 * @example
 * const tx: Transaction = {
 *   id: 'ab'.repeat(32), version: '2.0', operation: 'CREATE',
 *   asset: { data: { serial: 'X-1' } }, metadata: null,
 *   inputs: [{ owners_before: [alice], fulfills: null, fulfillment: null }],
 *   outputs: [{ public_keys: [alice], amount: '1', condition: { details: {}, uri: 'ni:///sha-256;...' } }],
 * };
 */
export interface Transaction {
  id: string;
  version: string;
  operation: Operation;
  asset: { data: Json | null } | { id: string };
  metadata: Json | null;
  inputs: TransactionInput[];
  outputs: TransactionOutput[];
}

/**
 * A committed block: its height, app hash and the ids of its transactions.
 *
 * @example
 * const block: Block = { height: 1, app_hash: 'ab12', transactions: [tx.id] };
 */
export interface Block {
  height: number;
  app_hash: string;
  transactions: string[];
}

/**
 * An unspent output, as kept in the UTXO set.
 *
 * @example
 * const mine: Utxo[] = await query.getUnspentOutputs(conn, { public_key: alice });
 * // [{ transaction_id, output_index: 0, amount: '1', asset_id, condition_uri }]
 */
export interface Utxo {
  transaction_id: string;
  output_index: number;
  amount: string;
  asset_id: string;
  condition_uri: string;
}

/**
 * The record written before a block's data: which block is being committed.
 *
 * @example
 * await query.storePreCommitState(conn, { height: block.height, transactions: block.transactions });
 */
export interface PreCommitState {
  height: number;
  transactions: string[];
}

/**
 * The validator set in force from `height` on.
 *
 * @example
 * const set: ValidatorSet = { height: 10, validators: [{ public_key: k, power: 10 }] };
 */
export interface ValidatorSet {
  height: number;
  validators: Json[];
}

/**
 * An election's state at a height.
 *
 * @example
 * await query.storeElections(conn, [{ election_id: e, height: 12, is_concluded: false }]);
 */
export interface Election {
  election_id: string;
  height: number;
  is_concluded: boolean;
}

/**
 * The ABCI chain in force from `height` on.
 *
 * @example
 * await query.storeAbciChain(conn, 1, 'chain-X');
 * await query.getLatestAbciChain(conn);   // { height: 1, chain_id: 'chain-X', is_synced: true }
 */
export interface AbciChain {
  height: number;
  chain_id: string;
  is_synced: boolean;
}

/**
 * Asset data, keyed by the id of the CREATE transaction that made the asset.
 *
 * @example
 * const asset: Asset = { id: createTx.id, data: { serial: 'X-1' } };
 */
export interface Asset {
  id: string;
  data: Json | null;
}

/**
 * Transaction metadata, keyed by transaction id.
 *
 * @example
 * const note: Metadata = { id: tx.id, metadata: { note: 'hi' } };
 */
export interface Metadata {
  id: string;
  metadata: Json | null;
}

/**
 * The largest batch one `writeTransactions` call accepts (100,000).
 *
 * @example
 * for (let i = 0; i < txs.length; i += MAX_BATCH) await query.writeTransactions(conn, txs.slice(i, i + MAX_BATCH));
 */
export const MAX_BATCH = 100_000;

/**
 * The id of the asset a transaction creates or moves.
 *
 * @example
 * assetIdOf(createTx);     // createTx.id
 * assetIdOf(transferTx);   // transferTx.asset.id
 */
export function assetIdOf(tx: Transaction): string {
  return 'id' in tx.asset ? tx.asset.id : tx.id;
}

/**
 * The UTXOs a transaction creates, one per output.
 *
 * @example
 * const [first] = utxosOf(tx);   // { transaction_id: tx.id, output_index: 0, amount, asset_id, condition_uri }
 */
export function utxosOf(tx: Transaction): Utxo[] {
  const assetId = assetIdOf(tx);
  return tx.outputs.map((output, index) => ({
    transaction_id: tx.id,
    output_index: index,
    amount: output.amount,
    asset_id: assetId,
    condition_uri: output.condition.uri,
  }));
}

/**
 * The keys an output names: none for a condition without keys (`public_keys` `[]` or null).
 *
 * @example
 * ownersOf({ public_keys: [alice], amount: '1', condition });   // [alice]
 * ownersOf({ public_keys: null, amount: '1', condition });      // []
 */
export function ownersOf(output: TransactionOutput): readonly string[] {
  return output.public_keys ?? [];
}

/**
 * The outputs a transaction spends.
 *
 * @example
 * spentRefsOf(createTx);     // []
 * spentRefsOf(transferTx);   // [{ transaction_id: createTx.id, output_index: 0 }]
 */
export function spentRefsOf(tx: Transaction): OutputRef[] {
  const refs: OutputRef[] = [];
  for (const input of tx.inputs) if (input.fulfills) refs.push(input.fulfills);
  return refs;
}

// ---------------------------------------------------------------------------
// JSON Schemas
// ---------------------------------------------------------------------------

const hexId = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
/** Heights stay exact in JavaScript numbers on every engine. */
export const MAX_HEIGHT = Number.MAX_SAFE_INTEGER;
/** Output indexes fit a 32-bit integer column on every engine. */
export const MAX_OUTPUT_INDEX = 2 ** 31 - 1;
/**
 * The longest key-like string (public key, election id, chain id): what every engine can put
 * in a unique index entry (PostgreSQL's btree entries hold about 2.7 kB; 4 bytes a character).
 */
export const MAX_KEY_LENGTH = 512;

const height = { type: 'integer', minimum: 0, maximum: MAX_HEIGHT } as const;
const outputIndex = { type: 'integer', minimum: 0, maximum: MAX_OUTPUT_INDEX } as const;
const amount = { type: 'string', pattern: '^[0-9]{1,30}$' } as const;
const nonEmptyString = { type: 'string', minLength: 1, maxLength: MAX_KEY_LENGTH } as const;
const anyJson = {} as const;
const outputRef = {
  type: 'object',
  required: ['transaction_id', 'output_index'],
  properties: { transaction_id: hexId, output_index: outputIndex },
} as const;
/**
 * Every stored record is closed: a field its type does not define is refused (see
 * `describeError`), because an engine that keeps records in columns would drop it silently.
 * An output reference passed to a read or a delete stays open (a whole UTXO may serve as one).
 */
const closed = { additionalProperties: false } as const;

const transactionSchema = {
  type: 'object',
  required: ['id', 'version', 'operation', 'asset', 'metadata', 'inputs', 'outputs'],
  properties: {
    id: hexId,
    version: { type: 'string', minLength: 1 },
    operation: { enum: ['CREATE', 'TRANSFER', 'VALIDATOR_ELECTION', 'CHAIN_MIGRATION_ELECTION', 'VOTE'] },
    asset: {
      type: 'object',
      properties: { id: hexId, data: anyJson },
      ...closed,
      // Exactly one of the two; field errors (a bad id) are reported before this one.
      oneOf: [{ required: ['data'] }, { required: ['id'] }],
    },
    metadata: anyJson,
    inputs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['owners_before', 'fulfills', 'fulfillment'],
        properties: {
          owners_before: { type: 'array', items: nonEmptyString },
          fulfills: { ...outputRef, ...closed, nullable: true },
          fulfillment: anyJson,
        },
        ...closed,
      },
    },
    outputs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['public_keys', 'amount', 'condition'],
        properties: {
          // As BigchainDB's schema: a condition that names no key (a preimage) has [] or null.
          public_keys: { type: 'array', items: nonEmptyString, nullable: true },
          amount,
          condition: {
            type: 'object',
            required: ['details', 'uri'],
            properties: { details: anyJson, uri: { type: 'string' } },
            ...closed,
          },
        },
        ...closed,
      },
    },
  },
  // CREATE carries asset data; TRANSFER points at the asset it moves.
  allOf: [
    {
      if: { type: 'object', required: ['operation'], properties: { operation: { const: 'CREATE' } } },
      then: { type: 'object', properties: { asset: { type: 'object', required: ['data'] } } },
    },
    {
      if: { type: 'object', required: ['operation'], properties: { operation: { const: 'TRANSFER' } } },
      then: { type: 'object', properties: { asset: { type: 'object', required: ['id'] } } },
    },
  ],
  ...closed,
} as const;

const schemas = {
  transaction: transactionSchema,
  txid: hexId,
  height,
  block: {
    type: 'object',
    required: ['height', 'app_hash', 'transactions'],
    properties: { height, app_hash: { type: 'string' }, transactions: { type: 'array', items: hexId } },
    ...closed,
  },
  utxo: {
    type: 'object',
    required: ['transaction_id', 'output_index', 'amount', 'asset_id', 'condition_uri'],
    properties: {
      transaction_id: hexId,
      output_index: outputIndex,
      amount,
      asset_id: hexId,
      condition_uri: { type: 'string' },
    },
    ...closed,
  },
  outputRef,
  preCommitState: {
    type: 'object',
    required: ['height', 'transactions'],
    properties: { height, transactions: { type: 'array', items: hexId } },
    ...closed,
  },
  validatorSet: {
    type: 'object',
    required: ['height', 'validators'],
    properties: { height, validators: { type: 'array' } },
    ...closed,
  },
  election: {
    type: 'object',
    required: ['election_id', 'height', 'is_concluded'],
    properties: { election_id: nonEmptyString, height, is_concluded: { type: 'boolean' } },
    ...closed,
  },
  abciChain: {
    type: 'object',
    required: ['height', 'chain_id', 'is_synced'],
    properties: { height, chain_id: nonEmptyString, is_synced: { type: 'boolean' } },
    ...closed,
  },
  asset: {
    type: 'object',
    required: ['id', 'data'],
    properties: { id: hexId, data: anyJson },
    ...closed,
  },
  metadata: {
    type: 'object',
    required: ['id', 'metadata'],
    properties: { id: hexId, metadata: anyJson },
    ...closed,
  },
} as const;

/**
 * What each validator checks, by record kind: `'transaction'`, `'txid'`, `'height'`,
 * `'block'`, `'utxo'`, `'outputRef'`, `'preCommitState'`, `'validatorSet'`, `'election'`,
 * `'abciChain'`, `'asset'` or `'metadata'`. (Named here because the type is derived from the
 * schemas, which are not exported, so the API reference cannot show the union.)
 *
 * @example
 * const kind: RecordKind = 'utxo';
 * validateBatch(kind, utxos, 'utxos');
 */
export type RecordKind = keyof typeof schemas;

const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, strictTuples: false, allowUnionTypes: true });
const validators = Object.fromEntries(
  Object.entries(schemas).map(([kind, schema]) => [kind, ajv.compile(schema)]),
) as Record<RecordKind, ValidateFunction>;

function formatPath(prefix: string, instancePath: string): string {
  let path = prefix;
  for (const part of instancePath.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(key) ? `[${key}]` : path ? `.${key}` : key;
  }
  return path;
}

function describeError(error: ErrorObject): { path: string; message: string } {
  // A missing property is reported on its parent; point at the property itself.
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return { path: `${error.instancePath}/${missing}`, message: 'is required' };
  }
  // An unknown field is reported at itself, so the caller sees which one.
  if (error.keyword === 'additionalProperties') {
    const unknown = (error.params as { additionalProperty: string }).additionalProperty;
    return { path: `${error.instancePath}/${unknown.replace(/~/g, '~0').replace(/\//g, '~1')}`, message: 'is not a field of this record (unknown fields are refused, never dropped)' };
  }
  if (error.keyword === 'oneOf' && error.instancePath === '/asset') {
    return { path: error.instancePath, message: 'must have exactly one of "data" (CREATE) or "id" (TRANSFER)' };
  }
  return { path: error.instancePath, message: error.message ?? 'is invalid' };
}

function fail(kind: RecordKind, validate: ValidateFunction, prefix: string, what: string): never {
  const first = validate.errors?.[0];
  if (!first) throw new ValidationError(`invalid ${what}`, prefix);
  const { path: instancePath, message } = describeError(first);
  const path = formatPath(prefix, instancePath);
  throw new ValidationError(`invalid ${what}: ${path || kind} ${message}`, path);
}

/**
 * Checks one record; throws {@link ValidationError} naming the first bad field.
 *
 * @example
 * validate('block', { height: 1, app_hash: '', transactions: [] });   // ok
 * validate('block', { height: -1, app_hash: '', transactions: [] });   // ValidationError, path 'height'
 */
export function validate(kind: RecordKind, value: unknown, what: string = kind): void {
  const check = validators[kind];
  if (!check(value)) fail(kind, check, '', what);
  checkJson(value, '', what);
}

/**
 * The deepest a value may sit in a record: at most this many keys and indexes below it (a
 * record's own fields are at depth 1). MongoDB stores documents nested at most 100 levels and
 * keeps a transaction one level down (under `body`), so 99 is the deepest that every backend
 * stores for every record type; SQLite's JSON functions stop at 1,000, PostgreSQL's jsonb
 * takes more. One limit, checked here before any engine is touched, gives every backend the
 * same answer.
 *
 * @example
 * MAX_NESTING;   // 99: { a: { b: ... } } with 99 keys on the way to the deepest value
 */
export const MAX_NESTING = 99;

/**
 * Refuses what JSON cannot carry (NaN, Infinity, -0, undefined, functions, symbols, BigInt,
 * Dates, Maps and other class instances, cycles), strings with half a surrogate pair, and
 * values nested deeper than {@link MAX_NESTING}: every engine stores JSON, and a value that
 * would silently change on the way, or that one engine could not store, must be refused,
 * not rewritten.
 */
function checkJson(value: unknown, prefix: string, what: string): void {
  if (isPlainJson(value, 0)) return;
  const bad = firstNonJson(value);
  if (bad) {
    const path = formatPath(prefix, bad.segments.map((key) => `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''));
    throw new ValidationError(`invalid ${what}: ${path || 'the value'} ${bad.reason}`, path);
  }
}

/**
 * Why a string with half a surrogate pair is refused: it is not Unicode, so it has no UTF-8
 * form. Engines that store UTF-8 turn it into U+FFFD (two such keys become one) or refuse
 * it (PostgreSQL's jsonb), so no engine could give it back as written.
 */
const LONE_SURROGATE = 'holds a lone UTF-16 surrogate (half of a pair), which no engine can store as written';

/** Nesting past which {@link isPlainJson} leaves the answer to {@link firstNonJson} (a cycle nests forever). */
const QUICK_DEPTH = 64;

/** A number JSON writes as it is: finite, and not -0 (which JSON writes as 0). */
const isJsonNumber = (value: number) => Number.isFinite(value) && !Object.is(value, -0);

/**
 * True if `value` is JSON nested at most {@link QUICK_DEPTH} deep: the common case, answered
 * without the ancestor set and the path that {@link firstNonJson} keeps, which cost half of
 * a transaction's validation (measured: 20 ms of 40 per 20,000 transactions, 5 ms this way).
 * False means "ask firstNonJson", which finds what is wrong, or accepts a value that is
 * merely deep. `for...in` may see more keys than Object.keys (inherited ones), never fewer:
 * it can only send more values to the exact check. Its recursion is bounded by QUICK_DEPTH.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed();
    case 'boolean':
      return true;
    case 'number':
      return isJsonNumber(value);
    case 'object': {
      if (value === null) return true;
      if (depth === QUICK_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i += 1) if (!isPlainJson(value[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        const item = (value as Record<string, unknown>)[key];
        if (item !== undefined && (!key.isWellFormed() || !isPlainJson(item, depth + 1))) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** What is wrong with one value itself (not with what it holds), or null. */
function problemOf(value: unknown): string | null {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed() ? null : LONE_SURROGATE;
    case 'boolean':
      return null;
    case 'number':
      if (Object.is(value, -0)) return 'is -0, which JSON writes as 0';
      return Number.isFinite(value) ? null : `is ${value}, which JSON cannot carry`;
    case 'object': {
      if (value === null || Array.isArray(value)) return null;
      const proto = Object.getPrototypeOf(value);
      return proto === Object.prototype || proto === null ? null : `is a ${(value as object).constructor?.name ?? 'class instance'}, not plain JSON`;
    }
    default:
      return `is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, which JSON cannot carry`;
  }
}

/** An object or array being walked by {@link firstNonJson}: its keys, and the next one to visit. */
interface Frame {
  readonly value: Record<string, unknown>;
  readonly keys: readonly string[];
  next: number;
}

/**
 * The first value JSON cannot carry, or that sits deeper than {@link MAX_NESTING}, with the
 * keys leading to it. It walks with a stack of its own, not by recursion, so no input can
 * overflow the call stack (a value nested 10,000 levels is refused like one nested 100). It
 * runs only when {@link isPlainJson} says no, so its bookkeeping costs the common case nothing.
 */
function firstNonJson(root: unknown): { segments: string[]; reason: string } | null {
  const rootProblem = problemOf(root);
  if (rootProblem) return { segments: [], reason: rootProblem };
  if (root === null || typeof root !== 'object') return null;
  const path: string[] = [];
  const ancestors = new Set<object>([root]);
  const frames: Frame[] = [frameOf(root)];
  while (frames.length > 0) {
    const frame = frames[frames.length - 1];
    if (frame.next === frame.keys.length) {
      frames.pop();
      ancestors.delete(frame.value);
      path.pop();
      continue;
    }
    const key = frame.keys[frame.next++];
    const item = frame.value[key];
    const isArray = Array.isArray(frame.value);
    // An undefined property is dropped by JSON, as by every driver: nothing is lost.
    if (item === undefined && !isArray) continue;
    if (!isArray && !key.isWellFormed()) return { segments: [...path, key], reason: `is a key that ${LONE_SURROGATE}` };
    const problem = problemOf(item);
    if (problem) return { segments: [...path, key], reason: problem };
    if (item === null || typeof item !== 'object') continue;
    if (path.length + 1 >= MAX_NESTING) {
      return { segments: [...path, key], reason: `nests deeper than ${MAX_NESTING} levels, the most every backend stores` };
    }
    if (ancestors.has(item)) return { segments: [...path, key], reason: 'refers to itself (a cycle)' };
    ancestors.add(item);
    path.push(key);
    frames.push(frameOf(item));
  }
  return null;
}

function frameOf(value: object): Frame {
  const keys = Array.isArray(value) ? Array.from({ length: value.length }, (_, i) => String(i)) : Object.keys(value);
  return { value: value as Record<string, unknown>, keys, next: 0 };
}

/**
 * Checks a batch: it must be an array of at most `max` records, each of `kind`.
 * The path of a bad record starts with its index, e.g. `[3].outputs[0].amount`.
 *
 * @example
 * validateBatch('utxo', utxos, 'utxos');
 */
export function validateBatch(kind: RecordKind, values: unknown, what: string, max = MAX_BATCH): void {
  if (!Array.isArray(values)) {
    throw new ValidationError(`invalid ${what}: expected an array, got ${describeArgument(values)}`, '');
  }
  if (values.length > max) {
    throw new ValidationError(`invalid ${what}: at most ${max} records per call, got ${values.length}`, '');
  }
  const check = validators[kind];
  for (let i = 0; i < values.length; i++) {
    if (!check(values[i])) fail(kind, check, `[${i}]`, what);
    checkJson(values[i], `[${i}]`, what);
  }
}

/**
 * An argument as an error message shows it: its kind, then the value itself, cut to about
 * {@link QUOTED_LENGTH} characters (a 10 MB string makes a short message), on one line,
 * without running any code of the value's own (no custom inspect, no getters), and never
 * throwing (a revoked Proxy is "a value that cannot be shown").
 *
 * @example
 * describeArgument(-1);              // 'number -1'
 * describeArgument('7');             // "string '7'"
 * describeArgument([1, 2]);          // 'array [ 1, 2 ]'
 * describeArgument(null);            // 'null'
 * describeArgument('x'.repeat(1e6)); // "string 'xxxx…' (1,000,000 characters)"
 */
export function describeArgument(value: unknown): string {
  try {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    if (value === null || value === undefined) return kind;
    if (typeof value === 'string') {
      // Cut by code points, never between the halves of a pair; the quotes and escapes are inspect's.
      const head = Array.from(value.slice(0, QUOTED_LENGTH * 2)).slice(0, QUOTED_LENGTH).join('');
      if (head.length === value.length) return `string ${inspect(value)}`;
      return `string ${inspect(head).replace(/(['"`])$/, '…$1')} (${value.length.toLocaleString('en')} characters)`;
    }
    const text = inspect(value, { depth: 1, maxArrayLength: 8, breakLength: Infinity, customInspect: false, getters: false }).replace(/\s*\n\s*/g, ' ');
    const chars = Array.from(text);
    return `${kind} ${chars.length > QUOTED_LENGTH ? `${chars.slice(0, QUOTED_LENGTH - 1).join('')}…` : text}`;
  } catch {
    return 'a value that cannot be shown';
  }
}

/**
 * Checks a plain argument of a read (a string id, a key, a height). The error shows the
 * value given (see {@link describeArgument}).
 *
 * @example
 * checkArgument('txid', typeof id === 'string', id);   // ValidationError: invalid txid: expected a string, got number 42
 */
export function checkArgument(name: string, ok: boolean, value: unknown, expected: string): void {
  if (!ok) throw new ValidationError(`invalid ${name}: expected ${expected}, got ${describeArgument(value)}`, name);
}

/**
 * Checks an argument that must be a string.
 *
 * @example
 * checkString('txid', 42);   // ValidationError: invalid txid: expected a string, got number 42
 */
export function checkString(name: string, value: unknown): asserts value is string {
  checkArgument(name, typeof value === 'string', value, 'a string');
  checkWellFormed(name, value as string);
}

/** A key with half a surrogate pair matches nothing stored (none can be): refused, as in writes. */
function checkWellFormed(name: string, value: string): void {
  if (!value.isWellFormed()) throw new ValidationError(`invalid ${name}: ${LONE_SURROGATE}`, name);
}

/**
 * Checks an argument that must be an array of strings.
 *
 * @example
 * checkStrings('ids', [idA, idB]);   // ok
 * checkStrings('ids', idA);          // ValidationError, path 'ids'
 */
export function checkStrings(name: string, value: unknown): asserts value is string[] {
  checkArgument(name, Array.isArray(value) && value.every((v) => typeof v === 'string'), value, 'an array of strings');
  (value as string[]).forEach((item, index) => checkWellFormed(`${name}[${index}]`, item));
}

/**
 * Checks an argument that must be a non-negative integer (a height, an index).
 *
 * @example
 * checkHeight('height', -1);   // ValidationError: invalid height: expected a non-negative integer, got number -1
 */
export function checkHeight(name: string, value: unknown): asserts value is number {
  checkArgument(name, Number.isSafeInteger(value) && (value as number) >= 0, value, 'a non-negative integer');
}

/**
 * Checks an argument that must be an output index (0 to 2^31 - 1).
 *
 * @example
 * checkOutputIndex('outputIndex', 0);
 */
export function checkOutputIndex(name: string, value: unknown): asserts value is number {
  checkArgument(name, Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_OUTPUT_INDEX, value, `an integer from 0 to ${MAX_OUTPUT_INDEX}`);
}

/**
 * The keys that appear more than once in one batch, in first-seen order.
 *
 * @example
 * repeatedKeys(['a', 'b', 'a', 'c', 'b'], (id) => id);   // ['a', 'b']
 * const twice = repeatedKeys(txs, (tx) => tx.id);
 */
export function repeatedKeys<T, K extends string | number>(items: readonly T[], keyOf: (item: T) => K): K[] {
  const seen = new Set<K>();
  const repeated = new Set<K>();
  for (const item of items) {
    const key = keyOf(item);
    if (seen.has(key)) repeated.add(key);
    else seen.add(key);
  }
  return [...repeated];
}

/**
 * Refuses unknown keys in an options object: a misspelt option must not silently widen a
 * query (`{ owner: k }` matching everything) or turn a dry run into a real one.
 *
 * @example
 * checkKnownKeys('filter', { owner: 'k' }, ['public_key']);   // ValidationError at 'filter.owner'
 */
export function checkKnownKeys(name: string, value: object | undefined, known: readonly string[]): void {
  const unknown = value ? Object.keys(value).filter((key) => !known.includes(key)) : [];
  if (unknown.length) {
    throw new ValidationError(`invalid ${name}: unknown key ${unknown.map((k) => `'${k}'`).join(', ')} (known: ${known.join(', ')})`, `${name}.${unknown[0]}`);
  }
}

/**
 * The items found for `keys`, in the order of `keys`, each key once (the order every
 * "get these ids" read promises).
 *
 * @example
 * inOrderOf(['b', 'a', 'x'], new Map([['a', 1], ['b', 2]]));   // [2, 1]
 */
export function inOrderOf<T>(keys: readonly string[], found: Map<string, T>): T[] {
  const out: T[] = [];
  const seen = new Set<string>();
  for (const key of keys) {
    const item = found.get(key);
    if (item !== undefined && !seen.has(key)) {
      seen.add(key);
      out.push(item);
    }
  }
  return out;
}

/**
 * The asset data (of each transaction that carries some) and metadata (of each that has
 * any) a batch of transactions brings, keyed by the transaction's id: what a backend stores
 * next to the transactions for `getAsset`, `getMetadata` and `textSearch`. Every transaction
 * has a metadata record, `{ id, metadata: null }` when it carries none.
 *
 * @example
 * const { assets, metadata } = sideRecordsOf([createTx, transferTx]);   // one asset, two metadata records
 */
export function sideRecordsOf(txs: readonly Transaction[]): { assets: Asset[]; metadata: Metadata[] } {
  const assets: Asset[] = [];
  const metadata: Metadata[] = [];
  for (const tx of txs) {
    if ('data' in tx.asset) assets.push({ id: tx.id, data: tx.asset.data });
    // Null metadata too, as BigchainDB keeps it: getMetadata answers for every transaction.
    metadata.push({ id: tx.id, metadata: tx.metadata });
  }
  return { assets, metadata };
}

/**
 * Malformed records for every write generic of `query`, by property: a valid record (or
 * argument list) is generated, then exactly one field of it is broken: given a value of the
 * wrong type, removed when required, given a badly formatted id, a negative or fractional
 * height, a malformed amount, an integer beyond the safe range, or a value JSON cannot carry.
 *
 * Each write generic is described once, by the shape docs/design.md section 3 gives its records and
 * how its arguments are made from a record; the mutations are derived from the shape. Every
 * mutation says where the ValidationError must point (`expectedPath`).
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import type { Block, Transaction } from '../../lib';

// ---------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------

/** What a scalar field must be. */
export type ScalarKind = 'hexId' | 'height' | 'string' | 'nonEmptyString' | 'boolean' | 'amount' | 'operation' | 'json';

/** The shape of a value, as far as mutations need it. */
export type Shape =
  | { kind: ScalarKind; optional?: boolean }
  | { kind: 'object'; fields: Record<string, Shape>; required: readonly string[]; nullable?: boolean; exactlyOne?: boolean }
  | { kind: 'array'; items: Shape; minItems?: number; nullable?: boolean };

const scalar = (kind: ScalarKind, optional = false): Shape => ({ kind, optional });
const object = (fields: Record<string, Shape>, options: { nullable?: boolean; exactlyOne?: boolean; optional?: string[] } = {}): Shape => ({
  kind: 'object',
  fields,
  required: options.exactlyOne ? [] : Object.keys(fields).filter((key) => !options.optional?.includes(key)),
  nullable: options.nullable,
  exactlyOne: options.exactlyOne,
});
const array = (items: Shape, minItems = 0, nullable = false): Shape => ({ kind: 'array', items, minItems, nullable });

const HEX = scalar('hexId');
const HEIGHT = scalar('height');
const JSON_VALUE = scalar('json');
const OUTPUT_REF = (nullable = false) => object({ transaction_id: HEX, output_index: HEIGHT }, { nullable });

/** docs/design.md section 3, field by field. */
export const SHAPES = {
  transaction: object({
    id: HEX,
    version: scalar('nonEmptyString'),
    operation: scalar('operation'),
    // CREATE carries data, the others an asset id: exactly one of the two.
    asset: object({ data: JSON_VALUE, id: HEX }, { exactlyOne: true }),
    metadata: JSON_VALUE,
    inputs: array(object({ owners_before: array(scalar('nonEmptyString')), fulfills: OUTPUT_REF(true), fulfillment: JSON_VALUE })),
    outputs: array(
      object({
        // BigchainDB's schema: [] or null for a condition that names no key.
        public_keys: array(scalar('nonEmptyString'), 0, true),
        amount: scalar('amount'),
        condition: object({ details: JSON_VALUE, uri: scalar('string') }),
      }),
    ),
  }),
  block: object({ height: HEIGHT, app_hash: scalar('string'), transactions: array(HEX) }),
  utxo: object({ transaction_id: HEX, output_index: HEIGHT, amount: scalar('amount'), asset_id: HEX, condition_uri: scalar('string') }),
  outputRef: OUTPUT_REF(),
  preCommitState: object({ height: HEIGHT, transactions: array(HEX) }),
  validatorSet: object({ height: HEIGHT, validators: array(JSON_VALUE) }),
  election: object({ election_id: scalar('nonEmptyString'), height: HEIGHT, is_concluded: scalar('boolean') }),
  asset: object({ id: HEX, data: JSON_VALUE }),
  metadata: object({ id: HEX, metadata: JSON_VALUE }),
} as const;

// ---------------------------------------------------------------------------
// Bad values
// ---------------------------------------------------------------------------

/** The kinds of breakage, each checked on its own so that one finding does not hide another. */
export type Category = 'structure' | 'range' | 'json';

export const CATEGORIES: Record<Category, string> = {
  structure: 'a field of the wrong type, a required field missing, a malformed id, a negative or fractional height, a malformed amount',
  range: 'a height or index beyond the safe integers (what reads refuse as a height)',
  json: 'a value JSON cannot carry (NaN, Infinity, BigInt, function, symbol, Date, Map, a cycle) in a JSON field',
};

const NOT_OBJECTS = ['text', 42, true, []];
const NOT_ARRAYS = [{}, 'text', 7, null, true];
const NOT_STRINGS = [42, null, true, [], {}];

const cycle = () => {
  const value: Record<string, unknown> = { name: 'cycle' };
  value.self = value;
  return value;
};

/** Values a field of each kind must refuse, by category. */
function badValues(shape: Shape, category: Category): unknown[] {
  switch (category) {
    case 'structure':
      switch (shape.kind) {
        case 'object':
          return shape.nullable ? NOT_OBJECTS : [null, ...NOT_OBJECTS];
        case 'array':
          return [...NOT_ARRAYS.filter((value) => !(shape.nullable && value === null)), ...(shape.minItems ? [[]] : [])];
        case 'hexId':
          return [
            'AB'.repeat(32), // upper case
            'ab'.repeat(31) + 'a', // 63 characters
            'ab'.repeat(32) + 'a', // 65 characters
            'gh'.repeat(32), // not hex
            ` ${'ab'.repeat(31)}a`,
            `${'ab'.repeat(32)}\n`,
            '',
            "' OR '1'='1",
            ...NOT_STRINGS,
          ];
        case 'height':
          return [-1, -42, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '1', null, true, [], {}];
        case 'string':
          return NOT_STRINGS;
        case 'nonEmptyString':
          return ['', ...NOT_STRINGS];
        case 'boolean':
          // null stands for "not given" where the argument is optional (`isSynced ?? true`).
          return shape.optional ? ['true', 1, 0, [], {}] : ['true', 'false', 1, 0, null, [], {}];
        case 'amount':
          return ['-1', '1.5', '', 'abc', '1e3', ' 1', '1 ', '0x1F', '1'.repeat(31), 1, null, []];
        case 'operation':
          return ['create', 'DELETE', '', 42, null];
        case 'json':
          return [];
      }
      break;
    case 'range':
      return shape.kind === 'height' ? [2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e300, Number.MAX_VALUE] : [];
    case 'json':
      if (shape.kind !== 'json') return [];
      return [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 10n, () => 1, Symbol('s'), new Date(0), new Map([['k', 1]]), cycle()];
  }
  return [];
}

/** How a bad value sits in a JSON field: as the field's value, or nested inside it. */
const NESTINGS = [(v: unknown) => v, (v: unknown) => ({ nested: v }), (v: unknown) => ['ok', v]];

// ---------------------------------------------------------------------------
// Locations and mutations
// ---------------------------------------------------------------------------

export type Path = readonly (string | number)[];

/** `inputs[0].fulfills`, `[3].amount`: the form of ValidationError.path. */
export function formatPath(path: Path): string {
  let text = '';
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text ? `.${part}` : part;
  return text;
}

/** The segments of a ValidationError path (`[2].outputs[0].amount` -> [2, 'outputs', 0, 'amount']). */
export function parsePath(text: string): Path {
  const parts: (string | number)[] = [];
  for (const match of text.matchAll(/\[(\d+)\]|([^.[\]]+)/g)) parts.push(match[1] !== undefined ? Number(match[1]) : match[2]);
  return parts;
}

/** True if `ancestor` is `path` or one of its ancestors. */
export function isAncestorOrSelf(ancestor: Path, path: Path): boolean {
  return ancestor.length <= path.length && ancestor.every((part, i) => part === path[i]);
}

interface Location {
  path: Path;
  shape: Shape;
  /** The key may be removed (a required field, or the one present of an exactly-one pair). */
  removable: boolean;
}

/** Every place of `value` a mutation may break, walking `value` along `shape`. */
function locations(value: unknown, shape: Shape, path: Path = [], removable = false, includeSelf = true): Location[] {
  const found: Location[] = includeSelf ? [{ path, shape, removable }] : [];
  if (shape.kind === 'object' && value !== null && typeof value === 'object') {
    for (const [key, fieldShape] of Object.entries(shape.fields)) {
      if (!(key in (value as object))) continue;
      const canRemove = shape.required.includes(key) || Boolean(shape.exactlyOne);
      found.push(...locations((value as Record<string, unknown>)[key], fieldShape, [...path, key], canRemove));
    }
  } else if (shape.kind === 'array' && Array.isArray(value)) {
    value.forEach((item, i) => found.push(...locations(item, shape.items, [...path, i])));
  }
  return found;
}

/** One way of breaking a record: what is done, and where the ValidationError must point. */
export interface Mutation {
  /** E.g. `outputs[0].amount := "1.5"` or `metadata removed`. */
  description: string;
  /** The broken record (a new copy; the valid record is left as it is). */
  build(): unknown;
  path: Path;
}

function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol' || typeof value === 'function') return String(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (value instanceof Date) return 'a Date';
  if (value instanceof Map) return 'a Map';
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 80)}...` : text;
  } catch {
    return 'a cyclic object';
  }
}

function setAt(record: unknown, path: Path, update: (parent: Record<string | number, unknown>, key: string | number) => void): unknown {
  if (path.length === 0) throw new Error('setAt: the root is replaced, not set');
  const copy = JSON.parse(JSON.stringify(record)) as unknown;
  let parent = copy as Record<string | number, unknown>;
  for (const part of path.slice(0, -1)) parent = parent[part] as Record<string | number, unknown>;
  update(parent, path[path.length - 1]);
  return copy;
}

/** Every way of breaking `record` in `category` (an empty list when the category does not apply). */
export function mutationsOf(record: unknown, shape: Shape, category: Category, options: { virtual?: boolean } = {}): Mutation[] {
  const found: Mutation[] = [];
  for (const location of locations(record, shape, [], false, !options.virtual)) {
    const where = formatPath(location.path) || 'the record';
    if (category === 'structure' && location.removable) {
      found.push({
        description: `${where} removed`,
        build: () => setAt(record, location.path, (parent, key) => delete parent[key]),
        path: location.path,
      });
    }
    for (const bad of badValues(location.shape, category)) {
      const nestings = category === 'json' ? NESTINGS : [NESTINGS[0]];
      nestings.forEach((nest, n) => {
        const label = `${where} := ${n === 0 ? describeValue(bad) : n === 1 ? `{ nested: ${describeValue(bad)} }` : `["ok", ${describeValue(bad)}]`}`;
        found.push({
          description: label,
          // Built on demand: most mutations listed are never built (one is picked).
          build: () => (location.path.length === 0 ? nest(bad) : setAt(record, location.path, (parent, key) => (parent[key] = nest(bad)))),
          path: location.path,
        });
      });
    }
  }
  return found;
}

/** True if some record of `shape` can be broken in `category`. */
export function applies(shape: Shape, category: Category): boolean {
  if (category === 'structure') return true;
  if (badValues(shape, category).length) return true;
  if (shape.kind === 'object') return Object.values(shape.fields).some((field) => applies(field, category));
  if (shape.kind === 'array') return applies(shape.items, category);
  return false;
}

// ---------------------------------------------------------------------------
// Valid records
// ---------------------------------------------------------------------------

const HEX_DIGIT = fc.constantFrom(...'0123456789abcdef');
/** A transaction id never stored before (64 lowercase hex characters). */
export const hexIdArb = fc.string({ unit: HEX_DIGIT, minLength: 64, maxLength: 64 });
const BASE58 = fc.constantFrom(...'123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz');
const publicKeyArb = fc.string({ unit: BASE58, minLength: 32, maxLength: 44 });
const jsonArb = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Transaction['metadata']>;
/** Heights far above what the specs store on purpose, so a valid record collides with nothing. */
const freshHeightArb = fc.integer({ min: 1_000_000, max: 2 ** 40 });
const smallIndexArb = fc.integer({ min: 0, max: 7 });
const outputRefArb = fc.record({ transaction_id: hexIdArb, output_index: smallIndexArb });

const outputArb = fc.record({
  public_keys: fc.array(publicKeyArb, { minLength: 1, maxLength: 2 }),
  amount: fc.integer({ min: 1, max: 1_000_000_000 }).map(String),
  condition: fc.record({ details: jsonArb, uri: fc.string({ maxLength: 30 }) }),
});

/** A valid CREATE or TRANSFER. */
export const transactionArb: fc.Arbitrary<Transaction> = fc.oneof(
  fc.record({
    id: hexIdArb,
    version: fc.constant('2.0'),
    operation: fc.constant('CREATE' as const),
    asset: fc.record({ data: jsonArb }),
    metadata: fc.option(jsonArb, { nil: null }),
    inputs: fc.array(fc.record({ owners_before: fc.array(publicKeyArb, { minLength: 1, maxLength: 2 }), fulfills: fc.constant(null), fulfillment: fc.oneof(fc.string(), jsonArb) }), {
      minLength: 1,
      maxLength: 2,
    }),
    outputs: fc.array(outputArb, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    id: hexIdArb,
    version: fc.constant('2.0'),
    operation: fc.constant('TRANSFER' as const),
    asset: fc.record({ id: hexIdArb }),
    metadata: fc.option(jsonArb, { nil: null }),
    inputs: fc.array(fc.record({ owners_before: fc.array(publicKeyArb, { minLength: 1, maxLength: 2 }), fulfills: outputRefArb, fulfillment: fc.oneof(fc.string(), jsonArb) }), {
      minLength: 1,
      maxLength: 2,
    }),
    outputs: fc.array(outputArb, { minLength: 1, maxLength: 3 }),
  }),
);

const transactionsArb = fc.uniqueArray(transactionArb, { selector: (tx) => tx.id, minLength: 1, maxLength: 3 });
const blockArb: fc.Arbitrary<Block> = fc.record({
  height: freshHeightArb,
  app_hash: hexIdArb,
  transactions: fc.array(hexIdArb, { maxLength: 3 }),
});
const utxoArb = fc.record({
  transaction_id: hexIdArb,
  output_index: smallIndexArb,
  amount: fc.integer({ min: 1, max: 1_000_000 }).map(String),
  asset_id: hexIdArb,
  condition_uri: fc.string({ maxLength: 30 }),
});
const electionArb = fc.record({ election_id: fc.string({ minLength: 1, maxLength: 20 }), height: freshHeightArb, is_concluded: fc.boolean() });

// ---------------------------------------------------------------------------
// The write generics
// ---------------------------------------------------------------------------

/** What the cases need to know of the database they break records against. */
export interface Seeded {
  transactionIds: readonly string[];
  outputRefs: readonly { transaction_id: string; output_index: number }[];
  heights: readonly number[];
}

/**
 * How one write generic is broken: a valid record, its shape, and how the generic's
 * arguments are made from the record. `virtual` records stand for positional arguments
 * (`storeElection(id, height, concluded)`), so the record itself is never replaced whole.
 */
export interface WriteCase {
  generic: string;
  shape: Shape;
  /**
   * Small valid records every mutation is tried on, every run (the random ones add variety):
   * the same shapes for every salt, with ids and heights of the salt's own.
   */
  canonical(salt: number): readonly unknown[];
  valid: fc.Arbitrary<unknown>;
  args(record: unknown): unknown[];
  virtual?: boolean;
  /** Where the ValidationError must point for a mutation at `path` of the record. */
  errorPath?(path: Path): Path;
  /** Mutations besides the derived ones (structure category). */
  extra?(record: unknown): Mutation[];
}

const single = (record: unknown) => [record];
type Rec = Record<string, unknown>;

const KEY = '3NjsKcTcfw1EVdYzXwjw7HKW5PgmScwLwNU9HbbhaKFD';

/**
 * The canonical records of a salt: the same shapes for every salt, with ids and heights of
 * their own, so that a broken record wrongly stored cannot make the next one fail for
 * another reason (a duplicate key).
 */
function canonicalRecords(salt: number) {
  const id = (what: string) => createHash('sha256').update(`canonical/${salt}/${what}`).digest('hex');
  const height = 1_000_000 + salt;
  /** A CREATE and a TRANSFER with one of everything: every field a mutation can reach. */
  const transactions: Transaction[] = [
    {
      id: id('create'),
      version: '2.0',
      operation: 'CREATE',
      asset: { data: { serial: 'X-1' } },
      metadata: { note: 'canonical' },
      inputs: [{ owners_before: [KEY], fulfills: null, fulfillment: 'pGSAIx' }],
      outputs: [{ public_keys: [KEY], amount: '1', condition: { details: { type: 'ed25519-sha-256', public_key: KEY }, uri: 'ni:///sha-256;x' } }],
    },
    {
      id: id('transfer'),
      version: '2.0',
      operation: 'TRANSFER',
      asset: { id: id('create') },
      metadata: null,
      inputs: [{ owners_before: [KEY], fulfills: { transaction_id: id('create'), output_index: 0 }, fulfillment: { type: 'ed25519-sha-256' } }],
      outputs: [{ public_keys: [KEY, KEY.toLowerCase()], amount: '10', condition: { details: [], uri: '' } }],
    },
  ];
  const block: Block = { height, app_hash: id('app-hash'), transactions: transactions.map((tx) => tx.id) };
  const utxo = { transaction_id: id('create'), output_index: 0, amount: '1', asset_id: id('create'), condition_uri: 'ni:///sha-256;x' };
  const election = { election_id: `election-${salt}`, height, is_concluded: false };
  return { id, height, transactions, block, utxo, election };
}

/** One case per write generic of `query`. */
export function writeCases(seeded: Seeded): WriteCase[] {
  const seededHeight = fc.constantFrom(...seeded.heights);
  return [
    { generic: 'writeTransaction', shape: SHAPES.transaction, canonical: (n) => canonicalRecords(n).transactions, valid: transactionArb, args: single },
    { generic: 'writeTransactions', shape: array(SHAPES.transaction), canonical: (n) => [canonicalRecords(n).transactions], valid: transactionsArb, args: single },
    { generic: 'storeAsset', shape: SHAPES.asset, canonical: (n) => [{ id: canonicalRecords(n).id('asset'), data: { serial: 'X-1' } }], valid: fc.record({ id: hexIdArb, data: jsonArb }), args: single },
    {
      generic: 'storeAssets',
      shape: array(SHAPES.asset),
      canonical: (n) => [[{ id: canonicalRecords(n).id('asset-1'), data: { serial: 'X-1' } }, { id: canonicalRecords(n).id('asset-2'), data: ['a'] }]],
      valid: fc.uniqueArray(fc.record({ id: hexIdArb, data: jsonArb }), { selector: (a) => a.id, minLength: 1, maxLength: 3 }),
      args: single,
    },
    {
      generic: 'storeMetadatas',
      shape: array(SHAPES.metadata),
      canonical: (n) => [[{ id: canonicalRecords(n).id('metadata-1'), metadata: { note: 'm' } }, { id: canonicalRecords(n).id('metadata-2'), metadata: 'm' }]],
      valid: fc.uniqueArray(fc.record({ id: hexIdArb, metadata: jsonArb }), { selector: (m) => m.id, minLength: 1, maxLength: 3 }),
      args: single,
    },
    { generic: 'storeBlock', shape: SHAPES.block, canonical: (n) => [canonicalRecords(n).block], valid: blockArb, args: single },
    { generic: 'storeUnspentOutputs', shape: array(SHAPES.utxo), canonical: (n) => [[canonicalRecords(n).utxo]], valid: fc.array(utxoArb, { minLength: 1, maxLength: 3 }), args: single },
    {
      generic: 'deleteUnspentOutputs',
      shape: array(SHAPES.outputRef),
      // Outputs that exist: a bad reference wrongly accepted would delete them.
      canonical: () => [seeded.outputRefs],
      valid: fc.subarray([...seeded.outputRefs], { minLength: 1 }),
      args: single,
    },
    {
      generic: 'storePreCommitState',
      shape: SHAPES.preCommitState,
      canonical: (n) => [{ height: canonicalRecords(n).height, transactions: [canonicalRecords(n).id('create')] }],
      valid: fc.record({ height: freshHeightArb, transactions: fc.array(hexIdArb, { maxLength: 3 }) }),
      args: single,
    },
    {
      generic: 'storeValidatorSet',
      shape: SHAPES.validatorSet,
      canonical: (n) => [{ height: canonicalRecords(n).height, validators: [{ public_key: KEY, power: 10 }] }],
      valid: fc.record({ height: freshHeightArb, validators: fc.array(fc.record({ public_key: publicKeyArb, power: fc.nat(100) }), { maxLength: 3 }) }),
      args: single,
    },
    {
      generic: 'storeElection',
      shape: SHAPES.election,
      virtual: true,
      canonical: (n) => [canonicalRecords(n).election],
      valid: electionArb,
      args: (r) => [(r as Rec).election_id, (r as Rec).height, (r as Rec).is_concluded],
    },
    {
      generic: 'storeElections',
      shape: array(SHAPES.election),
      canonical: (n) => [[canonicalRecords(n).election]],
      valid: fc.array(electionArb, { minLength: 1, maxLength: 3 }),
      args: single,
    },
    {
      generic: 'storeAbciChain',
      shape: object({ height: HEIGHT, chain_id: scalar('nonEmptyString'), is_synced: scalar('boolean', true) }, { optional: ['is_synced'] }),
      virtual: true,
      canonical: (n) => [
        { height: canonicalRecords(n).height, chain_id: 'chain-X' },
        { height: canonicalRecords(n).height, chain_id: 'chain-X', is_synced: false },
      ],
      valid: fc.record({ height: freshHeightArb, chain_id: fc.string({ minLength: 1, maxLength: 20 }), is_synced: fc.boolean() }, { requiredKeys: ['height', 'chain_id'] }),
      args: (r) => ('is_synced' in (r as Rec) ? [(r as Rec).height, (r as Rec).chain_id, (r as Rec).is_synced] : [(r as Rec).height, (r as Rec).chain_id]),
    },
    {
      generic: 'commitBlock',
      shape: object({ block: SHAPES.block, txs: array(SHAPES.transaction) }),
      virtual: true,
      canonical: (n) => [{ block: canonicalRecords(n).block, txs: canonicalRecords(n).transactions }],
      valid: fc.tuple(freshHeightArb, hexIdArb, transactionsArb).map(([height, appHash, txs]) => ({
        block: { height, app_hash: appHash, transactions: txs.map((tx) => tx.id) },
        txs,
      })),
      args: (r) => [(r as Rec).block, (r as Rec).txs],
      // The block is checked as a record of its own, the transactions as a batch.
      errorPath: (path) => path.slice(1),
      extra: (r) => {
        const { block, txs } = r as { block: Block; txs: Transaction[] };
        const stray = { ...txs[0], id: 'f'.repeat(64) };
        return [{ description: 'a transaction the block does not list', build: () => ({ block, txs: [...txs, stray] }), path: ['block', 'transactions'] }];
      },
    },
    {
      generic: 'deleteTransactions',
      shape: object({ ids: array(scalar('string')) }),
      virtual: true,
      // Transactions that exist: ids wrongly accepted would delete them.
      canonical: () => [{ ids: seeded.transactionIds }],
      valid: fc.subarray([...seeded.transactionIds], { minLength: 1 }).map((ids) => ({ ids })),
      args: (r) => [(r as Rec).ids],
    },
    ...(['deleteValidatorSet', 'deleteElections', 'deleteAbciChain'] as const).map(
      (generic): WriteCase => ({
        generic,
        shape: object({ height: HEIGHT }),
        virtual: true,
        // Heights with records: a height wrongly accepted would delete them.
        canonical: () => seeded.heights.map((height) => ({ height })),
        valid: seededHeight.map((height) => ({ height })),
        args: (r) => [(r as Rec).height],
      }),
    ),
  ];
}

/** Names of the write generics of a module of generics: the ones that store, write, delete or commit. */
export function writeGenericNames(module: Record<string, unknown>, isGeneric: (value: unknown) => boolean): string[] {
  return Object.entries(module)
    .filter(([name, value]) => isGeneric(value) && /^(write|store|delete|commit)[A-Z]/.test(name))
    .map(([name]) => name)
    .sort();
}

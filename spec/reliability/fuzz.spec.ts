/**
 * Property-based fuzzing of the `query` generics, on SQLite in memory, SQLite on a file and
 * PostgreSQL (a database of its own, chainstore_fuzz_<pid>):
 *
 * 1. Malformed records. For every write generic of `query` (found by name in the module: a
 *    write generic without a generator fails the spec), a valid record is generated and one
 *    field of it broken (spec/support/malformed.ts). Each must be refused with a rejected
 *    promise (never a synchronous throw) carrying a ValidationError that points at the broken
 *    field or one of its parents, and the database must be unchanged: the same record counts
 *    (admin.countRecords) and the same change log.
 *
 * 2. Injection-shaped strings (spec/support/injection-strings.ts) in every string argument of
 *    every generic: reads find nothing with them, or exactly the record stored with that
 *    string; writes store them verbatim; ids, which must be hex, refuse them; and the seeded
 *    ledger and every table still work afterwards.
 */
import { MAX_KEY_LENGTH } from '../../lib/model';
import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Connection,
  type Election,
  type RecordPage,
  TABLES,
  type TableName,
  type Transaction,
  UnsupportedOperationError,
  ValidationError,
  admin,
  connect,
  isGeneric,
  query,
  schema,
} from '../../lib';
import { SqlConnection } from '../../backends/sql';
import { block, createTx, hexId, output, publicKey, ref, spend, transferTx, utxosOf } from '../conformance/fixtures';
import { INJECTIONS } from '../support/injection-strings';
import {
  CATEGORIES,
  type Category,
  type Mutation,
  type WriteCase,
  applies,
  formatPath,
  isAncestorOrSelf,
  mutationsOf,
  parsePath,
  writeCases,
  writeGenericNames,
} from '../support/malformed';
import { POSTGRES_URL, skipWithoutPostgres } from '../support/postgres';

/**
 * Runs per property, besides the fixed examples; bounded so the file stays within about a
 * minute. CHAINSTORE_FUZZ_SCALE multiplies them (`npm run test:reliability` fuzzes 10 times
 * harder); every run draws new values, so a longer run explores more.
 */
const SCALE = Math.max(1, Number(process.env.CHAINSTORE_FUZZ_SCALE) || 1);
const RUNS: Record<Category, number> = { structure: 30 * SCALE, range: 8 * SCALE, json: 12 * SCALE };
const INJECTION_RUNS = 12 * SCALE;
/** Longest one run of a property may take (ms); a run takes well under a second. */
const RUN_TIMEOUT = 20_000;

type AnyGeneric = (conn: Connection, ...args: unknown[]) => unknown;
const generics = query as unknown as Record<string, AnyGeneric>;

// ---------------------------------------------------------------------------
// The seeded ledger every engine starts with
// ---------------------------------------------------------------------------

const alice = publicKey('fuzz/alice');
const seedCreate = createTx({ id: hexId('fuzz/seed/create'), owner: alice, data: { name: 'quokka narwhal' }, metadata: { note: 'narwhal quokka' } });
const seedTransfer = transferTx([spend(seedCreate)], { id: hexId('fuzz/seed/transfer'), outputs: [output([alice])], metadata: { note: 'quokka' } });
const SEED_HEIGHTS = [1, 2];
/** Words of the seeded asset data and metadata: a search without them must find nothing. */
const SEED_WORDS = ['quokka', 'narwhal'];

const seeded = {
  transactionIds: [seedCreate.id, seedTransfer.id],
  outputRefs: utxosOf(seedTransfer).map(({ transaction_id, output_index }) => ({ transaction_id, output_index })),
  heights: SEED_HEIGHTS,
};

async function seed(conn: Connection): Promise<void> {
  await query.commitBlock(conn, block(1, [seedCreate]), [seedCreate]);
  await query.commitBlock(conn, block(2, [seedTransfer]), [seedTransfer]);
  for (const height of SEED_HEIGHTS) {
    await query.storeValidatorSet(conn, { height, validators: [{ public_key: alice, power: 10 * height }] });
    await query.storeElection(conn, seedCreate.id, height, height === 2);
    await query.storeAbciChain(conn, height, `chain-${height}`);
  }
}

/** The seeded ledger, read back whole through every table. */
async function expectLedgerIntact(conn: Connection, when: string): Promise<void> {
  const label = `seeded ledger ${when}`;
  expect(await query.getTransactions(conn, [seedCreate.id, seedTransfer.id]), label).to.deep.equal([seedCreate, seedTransfer]);
  expect(await query.getAsset(conn, seedCreate.id), label).to.deep.equal({ id: seedCreate.id, data: { name: 'quokka narwhal' } });
  expect(await query.getMetadata(conn, [seedCreate.id, seedTransfer.id]), label).to.deep.equal([
    { id: seedCreate.id, metadata: seedCreate.metadata },
    { id: seedTransfer.id, metadata: seedTransfer.metadata },
  ]);
  expect(await query.getBlock(conn, 1), label).to.deep.equal(block(1, [seedCreate]));
  expect(await query.getBlock(conn, 2), label).to.deep.equal(block(2, [seedTransfer]));
  expect(await query.getUnspentOutputs(conn, { asset_id: seedCreate.id }), label).to.deep.equal(utxosOf(seedTransfer));
  expect(await query.getPreCommitState(conn), label).to.deep.equal({ height: 2, transactions: [seedTransfer.id] });
  expect(await query.getValidatorSet(conn, 2), label).to.deep.equal({ height: 2, validators: [{ public_key: alice, power: 20 }] });
  expect(await query.getElection(conn, seedCreate.id), label).to.deep.equal({ election_id: seedCreate.id, height: 2, is_concluded: true });
  expect(await query.getLatestAbciChain(conn), label).to.deep.equal({ height: 2, chain_id: 'chain-2', is_synced: true });
}

// ---------------------------------------------------------------------------
// What "the database is unchanged" means
// ---------------------------------------------------------------------------

interface Snapshot {
  counts: Record<string, number>;
  /** The change log: how many events, and the number of the last one. */
  changeLog?: { events: number; last: number };
}

/**
 * Record counts and the change log. `quick`: the change log alone, where there is one (it
 * has an event for every change to every table, so it sees whatever the counts would).
 */
async function snapshot(conn: Connection, quick = false): Promise<Snapshot> {
  if (!(conn instanceof SqlConnection)) return { counts: await admin.countRecords(conn) };
  const [row] = await conn.rows<{ events: unknown; last: unknown }>('snapshot', 'SELECT COUNT(*) AS events, COALESCE(MAX(seq), 0) AS last FROM changes');
  const changeLog = { events: Number(row.events), last: Number(row.last) };
  return quick ? { counts: {}, changeLog } : { counts: await admin.countRecords(conn), changeLog };
}

/**
 * Runs a property and fails with a readable report: the seed, the failing values cut short
 * (a generated string may be 100,000 characters long) and the error. No shrinking: every
 * shrinking step would run the database operations again, and the messages already say
 * what was broken.
 */
async function checkProperty<T extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<T>, params: fc.Parameters<T>): Promise<void> {
  // A run that hangs fails on its own, naming its input and the seed, before mocha's timeout
  // would end the test with neither (a CI run once timed out here and could not be replayed).
  const details = await fc.check(property, { timeout: RUN_TIMEOUT, ...params, endOnFailure: true });
  if (!details.failed) return;
  const values = (details.counterexample ?? []).map((value) => {
    const text = printable(fc.stringify(value));
    return text.length > 300 ? `${text.slice(0, 300)}... (${text.length} characters)` : text;
  });
  const error = details.errorInstance as Error | undefined;
  const reason = error instanceof Error ? error.message : String(details.errorInstance);
  const failure = new Error(`property failed after ${details.numRuns} runs (seed ${details.seed}) on ${values.join(', ')}:\n${reason}`);
  if (error instanceof Error && !(error.name === 'AssertionError')) failure.cause = error;
  throw failure;
}

/** What a call did: resolved with a value, threw synchronously, or rejected. */
type Outcome = { kind: 'resolved'; value: unknown } | { kind: 'threw'; error: unknown } | { kind: 'rejected'; error: unknown } | { kind: 'not a promise'; value: unknown };

async function call(conn: Connection, generic: string, args: readonly unknown[]): Promise<Outcome> {
  let result: unknown;
  try {
    result = generics[generic](conn, ...args);
  } catch (error) {
    return { kind: 'threw', error };
  }
  if (!result || typeof (result as Promise<unknown>).then !== 'function') return { kind: 'not a promise', value: result };
  return (result as Promise<unknown>).then(
    (value) => ({ kind: 'resolved', value }),
    (error) => ({ kind: 'rejected', error }),
  );
}

function describeOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'resolved':
      return 'it resolved (the record was accepted)';
    case 'not a promise':
      return `it returned ${String(outcome.value)} instead of a promise`;
    default: {
      const error = outcome.error as Error;
      const path = error instanceof ValidationError ? ` at path '${error.path}'` : '';
      return `it ${outcome.kind === 'threw' ? 'threw synchronously' : 'rejected'} with ${error?.name ?? typeof error}${path}: ${error?.message ?? String(error)}`;
    }
  }
}

/** JSON text with invisible characters (controls, format, private use) escaped, so a message shows them. */
function printable(text: string): string {
  return text.replace(/[\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ue000-\uf8ff\ufeff\ufff0-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A string for a message: JSON, invisible characters escaped, cut short. */
const show = (s: string) => {
  const text = printable(JSON.stringify(s));
  return text.length > 60 ? `${text.slice(0, 60)}..." (${s.length} characters)` : text;
};

// ---------------------------------------------------------------------------
// Malformed records
// ---------------------------------------------------------------------------

const CASES = writeCases(seeded);

type Broken = { description: string; args: unknown[]; expected: string };

/** Every way of breaking `record` in `category` (not built yet). */
function mutationsFor(c: WriteCase, record: unknown, category: Category): Mutation[] {
  return [...mutationsOf(record, c.shape, category, { virtual: c.virtual }), ...(category === 'structure' && c.extra ? c.extra(record) : [])];
}

/** A mutation built, ready to call the generic with. */
function broken(c: WriteCase, mutation: Mutation): Broken {
  return {
    description: mutation.description,
    args: c.args(mutation.build()),
    expected: formatPath(c.errorPath ? c.errorPath(mutation.path) : mutation.path),
  };
}

/** One broken record of `c` in `category`, from a random valid one. */
function brokenArb(c: WriteCase, category: Category): fc.Arbitrary<Broken> {
  return fc
    .tuple(c.valid, fc.nat())
    .map(([record, pick]) => {
      const all = mutationsFor(c, record, category);
      return all.length ? broken(c, all[pick % all.length]) : null;
    })
    .filter((m): m is Broken => m !== null);
}

/**
 * Calls the generic with a broken record; returns what went wrong (null when it was refused
 * as it must be). `before` is the snapshot the database must still match.
 */
async function refusal(conn: Connection, c: WriteCase, m: Broken, before: Snapshot): Promise<{ problem: string; after: Snapshot } | null> {
  const outcome = await call(conn, c.generic, m.args);
  const after = await snapshot(conn, true);
  const changed = JSON.stringify(after) !== JSON.stringify(before);
  const label = `${c.generic} with ${m.description}`;
  if (outcome.kind !== 'rejected' || !(outcome.error instanceof ValidationError)) {
    return { problem: `${label}: expected a rejection with ValidationError, but ${describeOutcome(outcome)}; the database ${changed ? 'CHANGED' : 'is unchanged'}`, after };
  }
  const { path, message } = outcome.error;
  // The error must point into the broken field: at it, at a parent, or deeper inside it.
  const [found, expected] = [parsePath(path), parsePath(m.expected)];
  if (!isAncestorOrSelf(found, expected) && !isAncestorOrSelf(expected, found)) {
    return { problem: `${label}: the ValidationError points at '${path}', not at '${m.expected}', a parent or a part of it (${message})`, after };
  }
  if (changed) return { problem: `${label}: refused, but the database CHANGED: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`, after };
  return null;
}

/** Salts of the canonical records: each mutation gets records of its own. */
let nextSalt = 1;

function describeMalformed(conn: () => Connection, reset: () => Promise<void>): void {
  describe('malformed records: refused with ValidationError (a rejected promise), database unchanged', function () {
    before(reset);
    for (const c of CASES) {
      for (const category of Object.keys(CATEGORIES) as Category[]) {
        if (!applies(c.shape, category)) continue;
        it(`${c.generic}: ${CATEGORIES[category]}`, async function () {
          const start = await snapshot(conn());
          // Every mutation of the canonical records, every run: what is found here is found every time.
          let current = await snapshot(conn(), true);
          const problems: string[] = [];
          let tried = 0;
          const plan: [record: number, mutation: number][] = [];
          c.canonical(0).forEach((record, k) => {
            const count = mutationsFor(c, record, category).length;
            for (let n = 0; n < count; n++) plan.push([k, n]);
          });
          // Mutation n of record k, each on records with ids and heights of their own.
          for (const [k, n] of plan) {
            tried++;
            const m = broken(c, mutationsFor(c, c.canonical(nextSalt++)[k], category)[n]);
            const found = await refusal(conn(), c, m, current);
            if (found) {
              problems.push(found.problem);
              current = found.after;
            }
          }
          expect(tried, 'mutations of the canonical records').to.be.greaterThan(0);
          if (problems.length) {
            const shown = problems.slice(0, 12).map((p) => `  - ${p}`).join('\n');
            expect.fail(`${problems.length} of ${tried} broken records were not refused as they must be:\n${shown}${problems.length > 12 ? `\n  ... and ${problems.length - 12} more` : ''}`);
          }
          // Then broken random records.
          await checkProperty(
            fc.asyncProperty(brokenArb(c, category), async (m) => {
              const found = await refusal(conn(), c, m, current);
              if (found) expect.fail(found.problem);
            }),
            { numRuns: RUNS[category] },
          );
          expect(await snapshot(conn()), 'record counts and change log, before and after').to.deep.equal(start);
        });
      }
    }
  });
}

// ---------------------------------------------------------------------------
// Injection-shaped strings
// ---------------------------------------------------------------------------

let nextHeight = 10_000_000;
/** A height nothing else uses (blocks cannot be deleted, so each run takes new ones). */
const freshHeight = () => nextHeight++;

/** Records found must be the seeded ones, and only when the search shares a word with them. */
async function expectSearchTreatsAsData(conn: Connection, s: string, options: { caseSensitive?: boolean; language?: string } = {}): Promise<void> {
  const sharesWord = SEED_WORDS.some((word) => s.toLowerCase().includes(word));
  const seededAssets = new Map([[seedCreate.id, { name: 'quokka narwhal' }]]);
  const seededMetadata = new Map([
    [seedCreate.id, seedCreate.metadata],
    [seedTransfer.id, seedTransfer.metadata],
  ]);
  for (const [table, field, stored] of [
    ['assets', 'data', seededAssets],
    ['metadata', 'metadata', seededMetadata],
  ] as const) {
    const results = await query.textSearch(conn, s, { table, ...options });
    const label = `textSearch(${show(s)}, ${JSON.stringify({ table, ...options })})`;
    if (!sharesWord) expect(results, `${label} finds nothing`).to.deep.equal([]);
    for (const result of results) {
      expect(stored.has(result.id), `${label} returned ${result.id}, which is no stored record`).to.equal(true);
      expect(result[field], `${label}: the record as stored`).to.deep.equal(stored.get(result.id));
    }
  }
}

/**
 * Runs `work`, then `undo` whatever happened, so a failing run leaves nothing behind for the
 * next (a failure of `undo` after a failed `work` is the lesser news).
 */
async function cleanly(undo: () => Promise<unknown>, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    await undo().catch(() => undefined);
    throw error;
  }
  await undo();
}

interface InjectionCase {
  title: string;
  /** The generics whose string arguments this case covers. */
  generics: readonly string[];
  check(conn: Connection, s: string): Promise<void>;
}

/**
 * `s` cut to the longest key every engine can index (MAX_KEY_LENGTH code points). Keys
 * longer than that are refused with ValidationError, which `refusesLongKey` checks.
 */
function asKey(s: string): string {
  return Array.from(s).slice(0, MAX_KEY_LENGTH).join('');
}

/** When `s` is too long for a key, storing it as one is refused with ValidationError, changing nothing. */
async function refusesLongKey(s: string, store: () => Promise<unknown>): Promise<void> {
  if (Array.from(s).length <= MAX_KEY_LENGTH) return;
  await expect(store(), `a key of ${Array.from(s).length} characters`).to.be.rejectedWith(ValidationError);
}

/** Every field of a transaction that is free text, holding `s` (owner keys hold it cut to a key's length). */
function transactionHolding(s: string, label: string): Transaction {
  const key = asKey(s);
  const tx = createTx({
    id: hexId(`fuzz/injection/${label}/${nextHeight++}`),
    owner: key,
    data: { text: s, [s]: [s] },
    metadata: { text: s, [s]: { nested: s } },
    outputs: [{ public_keys: [key], amount: '1', condition: { details: { type: s, public_key: s }, uri: s } }],
  });
  return { ...tx, version: s, inputs: [{ owners_before: [key], fulfills: null, fulfillment: s }] };
}

const NO_STRING_ARGUMENT = ['getBlock', 'getLatestBlock', 'getPreCommitState', 'getValidatorSet', 'deleteValidatorSet', 'deleteElections', 'deleteAbciChain', 'getLatestAbciChain'];

const INJECTION_CASES: InjectionCase[] = [
  {
    title: 'reads by transaction id find nothing: getTransaction, getTransactions, getBlockWithTransaction, getSpent',
    generics: ['getTransaction', 'getTransactions', 'getBlockWithTransaction', 'getSpent'],
    async check(conn, s) {
      expect(await query.getTransaction(conn, s), `getTransaction(${show(s)})`).to.equal(null);
      expect(await query.getTransactions(conn, [s, seedCreate.id, s]), `getTransactions([${show(s)}, seeded])`).to.deep.equal([seedCreate]);
      expect(await query.getBlockWithTransaction(conn, s), `getBlockWithTransaction(${show(s)})`).to.deep.equal([]);
      expect(await query.getSpent(conn, s, 0), `getSpent(${show(s)}, 0)`).to.deep.equal([]);
    },
  },
  {
    title: 'getTxidsFiltered: as asset id and as operation, finds nothing',
    generics: ['getTxidsFiltered'],
    async check(conn, s) {
      expect(await query.getTxidsFiltered(conn, s), `getTxidsFiltered(${show(s)})`).to.deep.equal([]);
      expect(await query.getTxidsFiltered(conn, s, { operation: 'CREATE', lastTx: true }), `getTxidsFiltered(${show(s)}, lastTx)`).to.deep.equal([]);
      expect(await query.getTxidsFiltered(conn, seedCreate.id, { operation: s as never }), `getTxidsFiltered(seeded, operation ${show(s)})`).to.deep.equal([]);
    },
  },
  {
    title: 'reads by public key find nothing: getOwnedIds, getAssetTokensForPublicKey',
    generics: ['getOwnedIds', 'getAssetTokensForPublicKey'],
    async check(conn, s) {
      expect(await query.getOwnedIds(conn, s), `getOwnedIds(${show(s)})`).to.deep.equal([]);
      expect(await query.getAssetTokensForPublicKey(conn, seedCreate.id, s), `getAssetTokensForPublicKey(seeded, ${show(s)})`).to.deep.equal([]);
      expect(await query.getAssetTokensForPublicKey(conn, s, alice), `getAssetTokensForPublicKey(${show(s)}, alice)`).to.deep.equal([]);
    },
  },
  {
    title: 'reads of asset data and metadata by id find nothing: getAsset, getAssets, getMetadata',
    generics: ['getAsset', 'getAssets', 'getMetadata'],
    async check(conn, s) {
      expect(await query.getAsset(conn, s), `getAsset(${show(s)})`).to.equal(null);
      expect(await query.getAssets(conn, [s, seedCreate.id]), `getAssets([${show(s)}, seeded])`).to.deep.equal([{ id: seedCreate.id, data: { name: 'quokka narwhal' } }]);
      expect(await query.getMetadata(conn, [seedTransfer.id, s]), `getMetadata([seeded, ${show(s)}])`).to.deep.equal([{ id: seedTransfer.id, metadata: seedTransfer.metadata }]);
    },
  },
  {
    title: 'getUnspentOutputs: every filter field finds nothing',
    generics: ['getUnspentOutputs'],
    async check(conn, s) {
      for (const field of ['transaction_id', 'public_key', 'asset_id'] as const) {
        expect(await query.getUnspentOutputs(conn, { [field]: s }), `getUnspentOutputs(${field}: ${show(s)})`).to.deep.equal([]);
      }
      expect(await query.getUnspentOutputs(conn, { asset_id: seedCreate.id, public_key: s }), `getUnspentOutputs(seeded asset, key ${show(s)})`).to.deep.equal([]);
    },
  },
  {
    title: 'getElection finds nothing',
    generics: ['getElection'],
    async check(conn, s) {
      expect(await query.getElection(conn, s), `getElection(${show(s)})`).to.equal(null);
    },
  },
  {
    title: 'deleteTransactions deletes nothing',
    generics: ['deleteTransactions'],
    async check(conn, s) {
      const before = await snapshot(conn);
      await query.deleteTransactions(conn, [s]);
      expect(await snapshot(conn), `deleteTransactions([${show(s)}])`).to.deep.equal(before);
    },
  },
  {
    title: 'textSearch: as the search, case-sensitive or not, finds only records that share a word with it',
    generics: ['textSearch'],
    async check(conn, s) {
      await expectSearchTreatsAsData(conn, s);
      await expectSearchTreatsAsData(conn, s, { caseSensitive: true });
      await expectSearchTreatsAsData(conn, s, { language: 'none' });
    },
  },
  {
    title: 'textSearch: as the language, searches or is refused as unsupported',
    generics: ['textSearch'],
    async check(conn, s) {
      try {
        const results = await query.textSearch(conn, 'quokka', { language: s });
        expect(results, `textSearch(language ${show(s)})`).to.be.an('array');
        for (const result of results) expect(result.id).to.equal(seedCreate.id);
      } catch (error) {
        expect(error, `textSearch(language ${show(s)}) may only be refused as unsupported: ${String(error)}`).to.be.an.instanceOf(UnsupportedOperationError);
      }
    },
  },
  {
    title: 'ids, which must be 64 hex characters, refuse it with ValidationError and change nothing',
    generics: ['getSpendingTransactions', 'deleteUnspentOutputs', 'storePreCommitState', 'storeAsset', 'storeAssets', 'storeMetadatas', 'writeTransaction', 'storeBlock', 'storeUnspentOutputs'],
    async check(conn, s) {
      fc.pre(!/^[0-9a-f]{64}$/.test(s));
      const tx = createTx({ id: hexId(`fuzz/hex/${nextHeight++}`) });
      const attempts: [string, unknown[]][] = [
        ['getSpendingTransactions', [[{ transaction_id: s, output_index: 0 }]]],
        ['deleteUnspentOutputs', [[{ transaction_id: s, output_index: 0 }]]],
        ['storePreCommitState', [{ height: 3, transactions: [s] }]],
        ['storeAsset', [{ id: s, data: {} }]],
        ['storeAssets', [[{ id: s, data: {} }]]],
        ['storeMetadatas', [[{ id: s, metadata: {} }]]],
        ['writeTransaction', [{ ...tx, id: s }]],
        ['storeBlock', [{ height: freshHeight(), app_hash: '', transactions: [s] }]],
        ['storeUnspentOutputs', [[{ ...utxosOf(tx)[0], asset_id: s }]]],
      ];
      const before = await snapshot(conn);
      for (const [generic, args] of attempts) {
        const outcome = await call(conn, generic, args);
        expect(outcome.kind === 'rejected' && outcome.error instanceof ValidationError, `${generic} with id ${show(s)}: ${describeOutcome(outcome)}`).to.equal(true);
      }
      expect(await snapshot(conn), 'the database is unchanged').to.deep.equal(before);
    },
  },
  {
    title: 'writeTransaction, writeTransactions: stored verbatim in every free-text field, found by it as owner, deleted cleanly',
    generics: ['writeTransaction', 'writeTransactions'],
    async check(conn, s) {
      const one = transactionHolding(s, 'one');
      const two = transactionHolding(s, 'two');
      const key = asKey(s);
      await refusesLongKey(s, () => query.writeTransaction(conn, { ...one, outputs: [{ ...one.outputs[0], public_keys: [s] }] }));
      await cleanly(() => query.deleteTransactions(conn, [one.id, two.id]), async () => {
        await query.writeTransaction(conn, one);
        await query.writeTransactions(conn, [two]);
        const label = `a transaction holding ${show(s)}`;
        expect(await query.getTransactions(conn, [one.id, two.id]), label).to.deep.equal([one, two]);
        expect((await query.getOwnedIds(conn, key)).map((tx) => tx.id), `getOwnedIds(${show(key)})`).to.have.members([one.id, two.id]);
        expect(await query.getAssetTokensForPublicKey(conn, one.id, key), `getAssetTokensForPublicKey(its asset, ${show(key)})`).to.deep.equal([one]);
        expect(await query.getAsset(conn, one.id), 'its asset data').to.deep.equal({ id: one.id, data: { text: s, [s]: [s] } });
        expect(await query.getMetadata(conn, [two.id]), `its metadata`).to.deep.equal([{ id: two.id, metadata: two.metadata }]);
        expect(await query.getTxidsFiltered(conn, two.id), `getTxidsFiltered(its asset)`).to.deep.equal([two.id]);
        await query.deleteTransactions(conn, [one.id, two.id]);
        expect(await query.getOwnedIds(conn, key), `getOwnedIds(${show(key)}) once deleted`).to.deep.equal([]);
        expect(await query.getAssets(conn, [one.id, two.id]), 'asset data once deleted').to.deep.equal([]);
      });
    },
  },
  {
    title: 'storeAsset, storeAssets, storeMetadatas: stored verbatim, as value and as key',
    generics: ['storeAsset', 'storeAssets', 'storeMetadatas'],
    async check(conn, s) {
      const [a, b, m] = ['asset', 'assets', 'metadata'].map((what) => hexId(`fuzz/documents/${what}/${nextHeight++}`));
      await cleanly(() => query.deleteTransactions(conn, [a, b, m]), async () => {
        await query.storeAsset(conn, { id: a, data: s });
        await query.storeAssets(conn, [{ id: b, data: { [s]: [s, { s }] } }]);
        await query.storeMetadatas(conn, [{ id: m, metadata: { [s]: s } }]);
        expect(await query.getAssets(conn, [a, b]), `assets holding ${show(s)}`).to.deep.equal([
          { id: a, data: s },
          { id: b, data: { [s]: [s, { s }] } },
        ]);
        expect(await query.getMetadata(conn, [m]), `metadata holding ${show(s)}`).to.deep.equal([{ id: m, metadata: { [s]: s } }]);
        await query.deleteTransactions(conn, [a, b, m]);
        expect(await query.getAssets(conn, [a, b]), 'once deleted').to.deep.equal([]);
      });
    },
  },
  {
    title: 'storeBlock, commitBlock: the app hash and the transactions stored verbatim',
    generics: ['storeBlock', 'commitBlock'],
    async check(conn, s) {
      const stored = { height: freshHeight(), app_hash: s, transactions: [] };
      await query.storeBlock(conn, stored);
      expect(await query.getBlock(conn, stored.height), `block with app hash ${show(s)}`).to.deep.equal(stored);
      const tx = transactionHolding(s, 'commit');
      const committed = { height: freshHeight(), app_hash: s, transactions: [tx.id] };
      // Undone afterwards: what the commit changed besides its block (blocks cannot be deleted).
      const undo = async () => {
        await query.deleteUnspentOutputs(conn, [ref(tx)]);
        await query.deleteTransactions(conn, [tx.id]);
        await query.storePreCommitState(conn, { height: 2, transactions: [seedTransfer.id] });
      };
      await cleanly(undo, async () => {
        await query.commitBlock(conn, committed, [tx]);
        expect(await query.getBlock(conn, committed.height), `committed block with app hash ${show(s)}`).to.deep.equal(committed);
        expect(await query.getTransaction(conn, tx.id), `committed transaction holding ${show(s)}`).to.deep.equal(tx);
        expect(await query.getBlockWithTransaction(conn, tx.id)).to.deep.equal([committed.height]);
        expect(await query.getUnspentOutputs(conn, { public_key: asKey(s) }), `its outputs, by key ${show(asKey(s))}`).to.deep.equal(utxosOf(tx));
      });
    },
  },
  {
    title: 'storeUnspentOutputs: the condition URI stored verbatim',
    generics: ['storeUnspentOutputs'],
    async check(conn, s) {
      const utxo = { transaction_id: hexId(`fuzz/utxo/${nextHeight++}`), output_index: 3, amount: '5', asset_id: seedCreate.id, condition_uri: s };
      await cleanly(() => query.deleteUnspentOutputs(conn, [{ transaction_id: utxo.transaction_id, output_index: 3 }]), async () => {
        await query.storeUnspentOutputs(conn, [utxo]);
        expect(await query.getUnspentOutputs(conn, { transaction_id: utxo.transaction_id }), `output with condition ${show(s)}`).to.deep.equal([utxo]);
      });
      expect(await query.getUnspentOutputs(conn, { transaction_id: utxo.transaction_id }), 'once deleted').to.deep.equal([]);
    },
  },
  {
    title: 'storeValidatorSet: validators stored verbatim',
    generics: ['storeValidatorSet'],
    async check(conn, s) {
      const set = { height: freshHeight(), validators: [{ public_key: s, power: 1, [s]: s }] };
      await cleanly(() => query.deleteValidatorSet(conn, set.height), async () => {
        await query.storeValidatorSet(conn, set);
        expect(await query.getValidatorSet(conn, set.height), `validator set holding ${show(s)}`).to.deep.equal(set);
      });
    },
  },
  {
    title: 'listRecords: as a table or a cursor refused with ValidationError; as a key inside a cursor, data',
    generics: ['listRecords'],
    async check(conn, original) {
      if (!(TABLES as readonly string[]).includes(original)) {
        await expect(query.listRecords(conn, original as TableName), `table ${show(original)}`).to.be.rejectedWith(ValidationError);
      }
      // Not one of listRecords' cursors (it could only be one by a fluke of base64): refused, or a page.
      const asCursor = await query.listRecords(conn, 'elections', { after: original }).then(
        (page) => page,
        (error: unknown) => error,
      );
      if (!(asCursor instanceof ValidationError)) expect(asCursor, `cursor ${show(original)}`).to.have.property('records');
      // A real cursor holding the string: the key of an election read one a page.
      const s = asKey(original);
      const heights = [freshHeight(), freshHeight()];
      const undo = () => Promise.all(heights.map((height) => query.deleteElections(conn, height)));
      await cleanly(undo, async () => {
        await query.storeElections(conn, heights.map((height) => ({ election_id: s, height, is_concluded: false })));
        const found: number[] = [];
        let after: string | null = null;
        do {
          const page: RecordPage = await query.listRecords(conn, 'elections', { after, limit: 1 });
          for (const record of page.records as Election[]) if (record.election_id === s) found.push(record.height);
          after = page.next;
        } while (after);
        expect(found.sort((a, b) => a - b), `elections ${show(s)}, one a page`).to.deep.equal(heights);
      });
    },
  },
  {
    title: 'storeElection, storeElections: as election id, stored verbatim and found by it',
    generics: ['storeElection', 'storeElections'],
    async check(conn, original) {
      const height = freshHeight();
      const later = freshHeight();
      await refusesLongKey(original, () => query.storeElection(conn, original, height, true));
      const s = asKey(original);
      const undo = async () => {
        await query.deleteElections(conn, height);
        await query.deleteElections(conn, later);
      };
      await cleanly(undo, async () => {
        await query.storeElection(conn, s, height, true);
        expect(await query.getElection(conn, s), `election ${show(s)}`).to.deep.equal({ election_id: s, height, is_concluded: true });
        await query.storeElections(conn, [{ election_id: s, height: later, is_concluded: false }]);
        expect(await query.getElection(conn, s), `election ${show(s)}, stored in a batch`).to.deep.equal({ election_id: s, height: later, is_concluded: false });
      });
      expect(await query.getElection(conn, s), `election ${show(s)} once deleted`).to.equal(null);
    },
  },
  {
    title: 'storeAbciChain: as chain id, stored verbatim',
    generics: ['storeAbciChain'],
    async check(conn, original) {
      const height = freshHeight();
      await refusesLongKey(original, () => query.storeAbciChain(conn, height, original, false));
      const s = asKey(original);
      await cleanly(() => query.deleteAbciChain(conn, height), async () => {
        await query.storeAbciChain(conn, height, s, false);
        expect(await query.getLatestAbciChain(conn), `chain ${show(s)}`).to.deep.equal({ height, chain_id: s, is_synced: false });
      });
    },
  },
];

function describeInjection(conn: () => Connection, reset: () => Promise<void>): void {
  describe('injection-shaped strings: data, never syntax', function () {
    // A database of its own: a malformed record wrongly accepted above must not show here.
    before(reset);
    for (const c of INJECTION_CASES) {
      for (const [kind, strings] of [
        ['', INJECTIONS.withoutNul],
        [' (strings with NUL)', INJECTIONS.withNul],
      ] as const) {
        it(`${c.title}${kind}`, async function () {
          await checkProperty(
            fc.asyncProperty(strings.arbitrary, (s) => c.check(conn(), s)),
            // fast-check counts the examples among the runs.
            { numRuns: strings.examples.length + INJECTION_RUNS, examples: strings.examples },
          );
          await expectLedgerIntact(conn(), 'afterwards');
        });
      }
    }

    it('every table still takes writes and answers reads afterwards', async function () {
      const c = conn();
      await expectLedgerIntact(c, 'after every injection');
      const tx = createTx({ id: hexId(`fuzz/after/${nextHeight++}`), data: { word: 'wombat' }, metadata: { word: 'wombat' } });
      const height = freshHeight();
      await query.commitBlock(c, block(height, [tx]), [tx]);
      expect(await query.getTransaction(c, tx.id)).to.deep.equal(tx);
      expect(await query.getBlock(c, height)).to.deep.equal(block(height, [tx]));
      expect((await query.textSearch(c, 'wombat')).map((r) => r.id)).to.deep.equal([tx.id]);
      expect((await query.textSearch(c, 'wombat', { table: 'metadata' })).map((r) => r.id)).to.deep.equal([tx.id]);
      expect(await query.getUnspentOutputs(c, { transaction_id: tx.id })).to.deep.equal(utxosOf(tx));
      await query.storeValidatorSet(c, { height, validators: [] });
      expect(await query.getValidatorSet(c)).to.deep.equal({ height, validators: [] });
      await query.storeElection(c, 'wombat', height, false);
      expect(await query.getElection(c, 'wombat')).to.deep.equal({ election_id: 'wombat', height, is_concluded: false });
      await query.storeAbciChain(c, height, 'wombat-chain');
      expect(await query.getLatestAbciChain(c)).to.deep.equal({ height, chain_id: 'wombat-chain', is_synced: true });
      expect(await query.getPreCommitState(c)).to.deep.equal({ height, transactions: [tx.id] });
    });
  });
}

/** The unbroken records are accepted: the mutations start from valid records, and a write shows in the snapshot. */
function describeControls(conn: () => Connection, reset: () => Promise<void>): void {
  describe('controls: the valid records the mutations start from', function () {
    before(reset);
    it('are accepted by every write generic, and each store or commit shows in the counts or the change log', async function () {
      for (const c of CASES) {
        // Without bias towards small and extreme values: two generics must not pick the same key.
        await checkProperty(
          fc.asyncProperty(fc.noBias(c.valid), async (record) => {
            const before = await snapshot(conn());
            const outcome = await call(conn(), c.generic, c.args(record));
            expect(outcome.kind, `${c.generic}(${JSON.stringify(record).slice(0, 200)}): ${describeOutcome(outcome)}`).to.equal('resolved');
            if (/^(store|write|commit)/.test(c.generic)) expect(await snapshot(conn()), `${c.generic} changed the database`).not.to.deep.equal(before);
          }),
          { numRuns: 3 },
        );
      }
    });
  });
}

// ---------------------------------------------------------------------------
// Engines
// ---------------------------------------------------------------------------

describe('reliability: fuzzing the query generics', function () {
  this.timeout(60_000 * SCALE);

  it('has a malformed-record generator for every write generic of query', function () {
    const writes = writeGenericNames(generics, isGeneric);
    expect(writes, 'the write generics docs/design.md section 4 names').to.include.members([
      'writeTransaction', 'writeTransactions', 'storeAsset', 'storeAssets', 'storeMetadatas', 'storeBlock', 'storeUnspentOutputs',
      'deleteUnspentOutputs', 'storePreCommitState', 'storeValidatorSet', 'storeElection', 'storeElections', 'storeAbciChain', 'commitBlock',
    ]);
    const covered = CASES.map((c) => c.generic);
    expect(writes.filter((name) => !covered.includes(name)), 'write generics without a generator').to.deep.equal([]);
  });

  it('puts injection-shaped strings in every string argument of every generic of query', function () {
    const all = Object.keys(generics).filter((name) => isGeneric(generics[name]));
    const covered = new Set([...INJECTION_CASES.flatMap((c) => c.generics), ...NO_STRING_ARGUMENT]);
    expect(all.filter((name) => !covered.has(name)), 'generics no injection case covers').to.deep.equal([]);
  });

  const engines: { title: string; open(): Promise<Connection>; before?: Mocha.AsyncFunc; cleanup?(conn: Connection): Promise<void> }[] = [
    { title: 'sqlite in memory', open: () => connect({ backend: 'sqlite', name: ':memory:' }, {}) },
    (() => {
      let dir: string | undefined;
      return {
        title: 'sqlite on a file',
        open: () => {
          dir = mkdtempSync(join(tmpdir(), 'chainstore-fuzz-'));
          // NORMAL: durable across process crashes, which is all a fuzzing run needs, and faster.
          return connect({ backend: 'sqlite', name: join(dir, 'fuzz.db'), synchronous: 'NORMAL' }, {});
        },
        cleanup: async () => {
          if (dir) rmSync(dir, { recursive: true, force: true });
        },
      };
    })(),
    (() => {
      // A database of its own, per process: other specs use (and drop) the shared test
      // database meanwhile, and another run of this file may be going on at the same time.
      const name = `chainstore_fuzz_${process.pid}`;
      const url = new URL(POSTGRES_URL);
      url.pathname = `/${name}`;
      return {
        title: 'postgres',
        before: skipWithoutPostgres,
        open: () => connect({ backend: 'postgres', url: url.toString(), poolSize: 4 }, {}),
        cleanup: (conn: Connection) => schema.dropDatabase(conn, name),
      };
    })(),
  ];

  for (const engine of engines) {
    describe(engine.title, function () {
      let current: Connection | undefined;
      const conn = () => {
        if (!current) throw new Error(`${engine.title}: not connected`);
        return current;
      };

      if (engine.before) before(engine.before);
      before(async function () {
        current = await engine.open();
      });
      /** An empty database again, seeded. */
      const reset = async () => {
        await schema.dropDatabase(conn(), conn().config.name);
        await schema.initDatabase(conn());
        await seed(conn());
        await expectLedgerIntact(conn(), 'as seeded');
      };
      after(async function () {
        if (!current) return;
        await engine.cleanup?.(current).catch(() => undefined);
        await current.close();
      });

      describeMalformed(conn, reset);
      describeInjection(conn, reset);
      describeControls(conn, reset);
    });
  }
});

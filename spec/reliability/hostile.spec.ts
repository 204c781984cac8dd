/**
 * Hostile input, the same on every engine: each input below is handed to the same write on
 * SQLite in memory, SQLite on a file and PostgreSQL, and every engine must give the same
 * answer (stored, or refused with the same error class). A refused write must change nothing:
 * a fingerprint of the database (the rows of every table, change log included, counted and
 * hashed) is taken before and after it. A stored one must read back as written.
 *
 * The inputs are what an attacker or a careless caller sends: nesting at and past the limit
 * every backend shares (MAX_NESTING) up to 100,000 levels, half surrogate pairs, -0, NaN,
 * unknown fields, NUL, keys like `__proto__`, keys past the key length, megabyte strings,
 * query-language strings.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ChangeFeed, type Connection, type Json, type Transaction, changefeed, connect, query, recover, schema } from '../../lib';
import { MAX_KEY_LENGTH, MAX_NESTING } from '../../lib/model';
import { TABLES } from '../../lib/tables';
import { SqlConnection } from '../../backends/sql';
import { block, createTx, hexId, output, publicKey, spend, transferTx } from '../conformance/fixtures';
import { POSTGRES_URL, postgresUnavailable } from '../support/postgres';

/** Every table an engine keeps, public and internal: what a refused write must leave alone. */
const ALL_TABLES = [...TABLES, 'changes', 'outputs', 'spends', 'block_transactions'];

/** The rows of every table, counted and hashed (rows sorted, so that the order read is irrelevant). */
async function fingerprint(conn: Connection): Promise<Record<string, string>> {
  if (!(conn instanceof SqlConnection)) throw new Error(`no fingerprint for ${conn.backend}`);
  const tables: Record<string, string> = {};
  for (const table of ALL_TABLES) {
    const rows = (await conn.rows('fingerprint', `SELECT * FROM ${table}`)).map((row) => JSON.stringify(row)).sort();
    tables[table] = `${rows.length} rows, ${createHash('sha256').update(rows.join('\n')).digest('hex').slice(0, 16)}`;
  }
  return tables;
}

/** `leaf` inside `depth` objects and arrays, alternating; built without recursion. */
function nested(depth: number, leaf: Json = 'leaf'): Json {
  let value: Json = leaf;
  for (let i = 0; i < depth; i += 1) value = i % 2 ? { level: value } : [value];
  return value;
}

/** A CREATE changed by `change` (a copy: the fixture is not touched). */
function createWith(label: string, change: (tx: Record<string, any>) => void): Transaction {
  const tx = createTx({ id: hexId(`hostile/${label}`) }) as unknown as Record<string, any>;
  change(tx);
  return tx as unknown as Transaction;
}

/** One hostile write: what it is, and the call (on a connection). */
interface HostileCase {
  what: string;
  /** The answer every engine must give. */
  expected: 'stored' | 'ValidationError';
  write(conn: Connection): Promise<unknown>;
  /** For a write that is stored: how to read it back, and what must come back. */
  readBack?(conn: Connection): Promise<[unknown, unknown]>;
}

function txCase(what: string, expected: HostileCase['expected'], tx: Transaction): HostileCase {
  return {
    what,
    expected,
    write: (conn) => query.writeTransaction(conn, tx),
    readBack: async (conn) => [await query.getTransaction(conn, tx.id), tx],
  };
}

const alice = publicKey('hostile/alice');
/** asset.data sits two keys below its record, metadata one: depths that put the deepest container at the limit. */
const DATA_AT_LIMIT = MAX_NESTING - 2;

const CASES: HostileCase[] = [
  // Nesting.
  txCase('asset data nested to the limit', 'stored', createWith('data-at-limit', (t) => (t.asset.data = nested(DATA_AT_LIMIT)))),
  txCase('asset data one level past the limit', 'ValidationError', createWith('data-past-limit', (t) => (t.asset.data = nested(DATA_AT_LIMIT + 1)))),
  txCase('metadata nested 1,001 levels', 'ValidationError', createWith('meta-1001', (t) => (t.metadata = nested(1001)))),
  txCase('metadata nested 10,000 levels', 'ValidationError', createWith('meta-10000', (t) => (t.metadata = nested(10_000)))),
  txCase('a fulfillment nested 100,000 levels', 'ValidationError', createWith('fulfillment-deep', (t) => (t.inputs[0].fulfillment = nested(100_000)))),
  txCase('condition details nested 10,000 levels', 'ValidationError', createWith('details-deep', (t) => (t.outputs[0].condition.details = nested(10_000)))),
  { what: 'validators nested 1,001 levels', expected: 'ValidationError', write: (conn) => query.storeValidatorSet(conn, { height: 5, validators: [nested(1001)] }) },
  {
    what: 'validators nested to the limit',
    expected: 'stored',
    write: (conn) => query.storeValidatorSet(conn, { height: 6, validators: [nested(MAX_NESTING - 2)] }),
    readBack: async (conn) => [await query.getValidatorSet(conn, 6), { height: 6, validators: [nested(MAX_NESTING - 2)] }],
  },
  { what: 'asset data nested 10,000 levels, stored alone', expected: 'ValidationError', write: (conn) => query.storeAssets(conn, [{ id: hexId('hostile/asset-deep'), data: nested(10_000) }]) },
  // Strings no engine stores as written, and values JSON would change.
  txCase('half a surrogate pair in metadata', 'ValidationError', createWith('surrogate-meta', (t) => (t.metadata = { note: 'x\uD800y' }))),
  txCase('half a surrogate pair in a key', 'ValidationError', createWith('surrogate-key', (t) => (t.asset.data = { ['k\uDFFF']: 1 }))),
  { what: 'half a surrogate pair in an election id', expected: 'ValidationError', write: (conn) => query.storeElection(conn, 'elect\uD800', 7, false) },
  { what: 'half a surrogate pair in a chain id', expected: 'ValidationError', write: (conn) => query.storeAbciChain(conn, 7, 'chain\uDBFF') },
  { what: 'half a surrogate pair in an app hash', expected: 'ValidationError', write: (conn) => query.storeBlock(conn, { height: 1, app_hash: '\uDC00', transactions: [] }) },
  txCase('-0 in asset data', 'ValidationError', createWith('minus-zero', (t) => (t.asset.data = { n: -0 }))),
  txCase('NaN in metadata', 'ValidationError', createWith('nan', (t) => (t.metadata = { n: Number.NaN }))),
  txCase('Infinity in a fulfillment', 'ValidationError', createWith('infinity', (t) => (t.inputs[0].fulfillment = { n: Number.POSITIVE_INFINITY }))),
  // Fields no record type has.
  txCase('an unknown top-level field', 'ValidationError', createWith('unknown-field', (t) => (t.signature = 'x'))),
  { what: 'a validator set with an election_id', expected: 'ValidationError', write: (conn) => query.storeValidatorSet(conn, { height: 3, validators: [], election_id: hexId('e') } as never) },
  // Keys: too long, shaped like prototypes or operators, holding NUL.
  { what: 'an election id past the key length', expected: 'ValidationError', write: (conn) => query.storeElection(conn, 'e'.repeat(MAX_KEY_LENGTH + 1), 7, false) },
  {
    what: 'an election id at the key length, of 4-byte characters',
    expected: 'stored',
    write: (conn) => query.storeElection(conn, '\u{1F600}'.repeat(MAX_KEY_LENGTH / 2), 7, false),
    readBack: async (conn) => [await query.getElection(conn, '\u{1F600}'.repeat(MAX_KEY_LENGTH / 2)), { election_id: '\u{1F600}'.repeat(MAX_KEY_LENGTH / 2), height: 7, is_concluded: false }],
  },
  txCase('keys __proto__, constructor and $where in asset data', 'stored', createWith('proto-keys', (t) => (t.asset.data = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1, "$where": "1"}')))),
  txCase('NUL in strings and keys of metadata', 'stored', createWith('nul', (t) => (t.metadata = { ['a\u0000b']: 'c\u0000d', list: ['\u0000'] }))),
  {
    what: 'NUL and query syntax in a chain id',
    expected: 'stored',
    write: (conn) => query.storeAbciChain(conn, 8, "x\u0000'; DROP TABLE abci_chains; --"),
    readBack: async (conn) => [await query.getLatestAbciChain(conn), { height: 8, chain_id: "x\u0000'; DROP TABLE abci_chains; --", is_synced: true }],
  },
  // Sizes.
  txCase('a megabyte of metadata text', 'stored', createWith('megabyte', (t) => (t.metadata = { text: 'lorem ipsum '.repeat(90_000) }))),
  txCase('ten thousand outputs', 'stored', createWith('many-outputs', (t) => (t.outputs = Array.from({ length: 10_000 }, () => output([alice]))))),
  // Outputs BigchainDB's schema allows.
  txCase('outputs naming no key', 'stored', createWith('keyless', (t) => (t.outputs = [{ ...output([alice]), public_keys: [] }, { ...output([alice]), public_keys: null }]))),
];

/** What a write answered: 'stored', or the class of the error it rejected with. */
async function outcomeOf(write: () => Promise<unknown>): Promise<string> {
  try {
    await write();
    return 'stored';
  } catch (error) {
    return (error as Error).constructor.name;
  }
}

interface Engine {
  title: string;
  open(): Promise<Connection>;
  cleanUp?(conn: Connection): Promise<void>;
}

function engines(): Engine[] {
  const dir = mkdtempSync(join(tmpdir(), 'chainstore-hostile-'));
  const pgName = `chainstore_hostile_${process.pid}`;
  const pgUrl = new URL(POSTGRES_URL);
  pgUrl.pathname = `/${pgName}`;
  return [
    { title: 'sqlite in memory', open: () => connect({ backend: 'sqlite', name: ':memory:' }) },
    {
      title: 'sqlite on a file',
      open: () => connect({ backend: 'sqlite', name: join(dir, 'hostile.db'), synchronous: 'NORMAL' }),
      cleanUp: async () => rmSync(dir, { recursive: true, force: true }),
    },
    {
      title: 'postgres',
      open: () => connect({ backend: 'postgres', url: pgUrl.toString(), poolSize: 2 }),
      cleanUp: (conn) => schema.dropDatabase(conn, pgName),
    },
  ];
}

describe('reliability: hostile input gets one answer on every engine, and a refusal changes nothing', function () {
  this.timeout(120_000);
  const open: { engine: Engine; conn: Connection }[] = [];

  before(async function () {
    const pgMissing = await postgresUnavailable();
    for (const engine of engines()) {
      if (engine.title === 'postgres' && pgMissing) {
        if (process.env.CHAINSTORE_REQUIRE_POSTGRES) throw new Error(`PostgreSQL is required but unreachable: ${pgMissing}`);
        console.log(`  comparing the SQLite engines only: PostgreSQL is unreachable (${pgMissing})`);
        continue;
      }
      const conn = await engine.open();
      await schema.dropDatabase(conn, conn.config.name);
      await schema.initDatabase(conn);
      // A ledger to leave alone: one committed block with a CREATE and a TRANSFER.
      const create = createTx({ id: hexId('hostile/seed'), owner: alice, metadata: { note: 'seed' } });
      const move = transferTx([spend(create)], { id: hexId('hostile/seed-move') });
      await query.commitBlock(conn, block(1, [create, move]), [create, move]);
      open.push({ engine, conn });
    }
  });

  after(async function () {
    for (const { engine, conn } of open) {
      await engine.cleanUp?.(conn).catch(() => undefined);
      await conn.close();
    }
  });

  for (const hostile of CASES) {
    it(`${hostile.what}: the same answer everywhere`, async function () {
      const answers: Record<string, string> = {};
      for (const { engine, conn } of open) {
        const before = await fingerprint(conn);
        const outcome = await outcomeOf(() => hostile.write(conn));
        answers[engine.title] = outcome;
        if (outcome === 'stored') {
          if (hostile.readBack) {
            const [read, written] = await hostile.readBack(conn);
            expect(read, `${engine.title}: read back as written`).to.deep.equal(written);
          }
        } else {
          expect(await fingerprint(conn), `${engine.title}: a refused write (${outcome}) changed nothing`).to.deep.equal(before);
        }
      }
      const expected = Object.fromEntries(open.map(({ engine }) => [engine.title, hostile.expected]));
      expect(answers, 'every engine gives the one expected answer').to.deep.equal(expected);
    });
  }

  it('stores a record at the nesting limit, feeds it, deletes it, and recover() rolls back a block holding it, on every engine', async function () {
    for (const { engine, conn } of open) {
      const deep = nested(DATA_AT_LIMIT);
      const feeds = [await changefeed.getChangefeed(conn, 'metadata', ChangeFeed.INSERT), await changefeed.getChangefeed(conn, 'assets', ChangeFeed.INSERT)];
      try {
        const tx = createTx({ id: hexId(`hostile/limit/${engine.title}`), data: deep, metadata: deep });
        await query.writeTransaction(conn, tx);
        for (const feed of feeds) {
          const iterator = feed[Symbol.asyncIterator]();
          const { value } = await iterator.next();
          expect(value?.record, `${engine.title}: ${value?.table} feed`).to.deep.include({ id: tx.id });
        }
        await query.deleteTransactions(conn, [tx.id]);
        expect(await query.getTransaction(conn, tx.id), `${engine.title}: deleted`).to.equal(null);
        // Half a commit of a block that holds one: recover() must undo it, and run again cleanly.
        const latest = (await query.getLatestBlock(conn))!.height;
        const lost = createTx({ id: hexId(`hostile/limit/lost/${engine.title}`), data: deep, metadata: deep });
        await query.storePreCommitState(conn, { height: latest + 1, transactions: [lost.id] });
        await query.writeTransactions(conn, [lost]);
        expect((await recover(conn)).action, `${engine.title}: rolled back`).to.equal('rolled-back');
        expect((await recover(conn)).action, `${engine.title}: nothing left to do`).to.equal('none');
        expect(await query.getTransaction(conn, lost.id)).to.equal(null);
      } finally {
        for (const feed of feeds) await feed.close();
      }
    }
  });
});

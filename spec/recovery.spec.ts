/**
 * Crash recovery (docs/design.md section 6): a crash at every step of the step-by-step commit
 * protocol, then recover(), then the ledger invariants.
 *
 * The crash is made with dispatch: a subclass of an engine's connection class that uses the
 * base protocol (the default commitBlock registered for Connection) and whose handler for one
 * step does part of its work and then throws. Nothing is mocked: every step that runs writes
 * to a real database, SQLite and PostgreSQL.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, DuplicateKeyError, type GenericSignature, type Generic, RecoveryError, query, recover, schema } from '../lib';
import { type ResolvedConfig, resolveConfig } from '../lib/config';
import { PostgresConnection } from '../backends/postgres';
import { SqliteConnection } from '../backends/sqlite';
import { POSTGRES_URL, skipWithoutPostgres, truncateAll } from './support/postgres';
import { LedgerModel } from './support/ledger-model';

class SimulatedCrash extends Error {}

/** The steps of the protocol, and of recovery, that can crash. Batch steps crash halfway. */
const STEPS = ['storePreCommitState', 'writeTransactions', 'deleteUnspentOutputs', 'storeUnspentOutputs', 'storeBlock'] as const;
const RECOVERY_STEPS = ['deleteUnspentOutputs', 'storeUnspentOutputs', 'deleteElections', 'deleteTransactions', 'storePreCommitState'] as const;

type StepName = (typeof STEPS)[number] | (typeof RECOVERY_STEPS)[number];

/** A connection that commits step by step and can crash inside one named step. */
interface Crashing extends Connection {
  crashAt: string | null;
}

/**
 * A subclass of an engine's connection class that uses the base protocol (the default
 * commitBlock registered for Connection, step by step, instead of the engine's atomic one)
 * and crashes in the step named by `crashAt`.
 */
function crashingSubclass(Base: new (config: ResolvedConfig) => Connection): new (config: ResolvedConfig) => Crashing {
  class CrashingConnection extends Base {
    crashAt: string | null = null;
  }
  query.commitBlock.register(CrashingConnection, query.commitBlock.dispatch(Connection)!);
  for (const name of new Set<StepName>([...STEPS, ...RECOVERY_STEPS])) {
    const step = query[name] as unknown as Generic<GenericSignature>;
    const real = step.dispatch(Base)!;
    step.register(CrashingConnection, async (conn: CrashingConnection, ...args: unknown[]) => {
      if (conn.crashAt !== name) return real(conn, ...args);
      conn.crashAt = null;
      const [first] = args;
      if (Array.isArray(first) && first.length > 1) await real(conn, first.slice(0, Math.ceil(first.length / 2)), ...args.slice(1));
      throw new SimulatedCrash(`simulated crash in ${name}`);
    });
  }
  return CrashingConnection;
}

/** How each engine's crash tests get a fresh, initialised database. */
interface Engine {
  name: string;
  open(): Promise<Crashing>;
  cleanUp(conn: Crashing): Promise<void>;
  skip?: (this: Mocha.Context) => Promise<void>;
}

const CrashingSqlite = crashingSubclass(SqliteConnection);
const CrashingPostgres = crashingSubclass(PostgresConnection);
const sqliteDirs = new Map<Connection, string>();

const ENGINES: Engine[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'chainstore-recovery-'));
      const conn = new CrashingSqlite(resolveConfig('sqlite', { name: join(dir, 'ledger.db') }, {}));
      sqliteDirs.set(conn, dir);
      await schema.initDatabase(conn);
      return conn;
    },
    async cleanUp(conn) {
      await conn.close();
      rmSync(sqliteDirs.get(conn)!, { recursive: true, force: true });
      sqliteDirs.delete(conn);
    },
  },
  {
    name: 'postgres',
    skip: skipWithoutPostgres,
    async open() {
      const conn = new CrashingPostgres(resolveConfig('postgres', { url: POSTGRES_URL }, {}, { port: 5432 }));
      await truncateAll(conn);
      return conn;
    },
    cleanUp: (conn) => conn.close(),
  },
];

for (const engine of ENGINES) describeRecovery(engine);

function describeRecovery(engine: Engine): void {
describe(`crash recovery on ${engine.name}`, () => {
  let conn: Crashing;
  let ledger: LedgerModel;

  if (engine.skip) before(engine.skip);

  beforeEach(async () => {
    conn = await engine.open();
    ledger = new LedgerModel(7);
    for (let i = 0; i < 3; i++) {
      const entry = ledger.nextBlock(3, 3);
      await query.commitBlock(conn, entry.block, entry.txs);
      ledger.commit(entry);
    }
    await ledger.check(conn);
  });

  afterEach(async () => {
    await engine.cleanUp(conn);
  });

  async function crashIn(step: StepName) {
    const entry = ledger.nextBlock(3, 3);
    await query.storeElection(conn, 'e'.repeat(64), entry.block.height, false);
    await query.storeValidatorSet(conn, { height: entry.block.height, validators: [{ power: 1 }] });
    // A validator update takes effect later: BigchainDB stores it one height ahead.
    await query.storeValidatorSet(conn, { height: entry.block.height + 1, validators: [{ power: 2 }] });
    await query.storeAbciChain(conn, entry.block.height, 'chain-next');
    conn.crashAt = step;
    await expect(query.commitBlock(conn, entry.block, entry.txs)).to.be.rejectedWith(SimulatedCrash);
    return entry;
  }

  for (const step of STEPS) {
    it(`rolls back a crash in ${step}, and the block commits again afterwards`, async () => {
      const entry = await crashIn(step);
      const report = await recover(conn);

      if (step === 'storePreCommitState') {
        // Nothing of the block was written: the pre-commit record still names the latest block.
        expect(report.action).to.equal('none');
      } else {
        expect(report.action).to.equal('rolled-back');
        expect(report.height, 'the height rolled back').to.equal(entry.block.height);
        expect(report.transactions).to.deep.equal(entry.block.transactions);
      }
      ledger.rollBack(entry);
      await ledger.check(conn);
      if (step !== 'storePreCommitState') {
        expect(await query.getElection(conn, 'e'.repeat(64)), 'election above the latest block').to.equal(null);
        expect(await query.getValidatorSet(conn), 'validator set above the latest block').to.equal(null);
        expect(await query.getLatestAbciChain(conn), 'abci chain above the latest block').to.equal(null);
      }

      expect((await recover(conn)).action, 'a second run has nothing to do').to.equal('none');
      ledger.rolledBack.length = 0;
      await query.commitBlock(conn, entry.block, entry.txs);
      ledger.commit(entry);
      await ledger.check(conn);
    });
  }

  for (const step of RECOVERY_STEPS) {
    it(`repairs a crash in recovery's ${step} by running recovery again`, async () => {
      const entry = await crashIn('storeBlock');
      conn.crashAt = step;
      await expect(recover(conn)).to.be.rejectedWith(SimulatedCrash);
      const report = await recover(conn);
      expect(report.action).to.equal('rolled-back');
      ledger.rollBack(entry);
      await ledger.check(conn);
    });
  }

  it('refuses a step-by-step commit that cannot succeed before writing anything, so recover() deletes nothing stored', async () => {
    const committed = ledger.committed.flatMap((entry) => entry.txs);
    const entry = ledger.nextBlock(2, 0);
    const preCommit = await query.getPreCommitState(conn);
    // A stored transaction in the block: refused whole, with the same words as an atomic commit.
    const withStored = [...entry.txs, committed[0]];
    const stored = await expect(query.commitBlock(conn, { ...entry.block, transactions: withStored.map((tx) => tx.id) }, withStored)).to.be.rejectedWith(DuplicateKeyError);
    expect(stored.message).to.equal(`[${conn.backend}] commit block: duplicate key ${committed[0].id}`);
    // A committed height.
    const height = await expect(query.commitBlock(conn, { ...entry.block, height: ledger.height }, entry.txs)).to.be.rejectedWith(DuplicateKeyError);
    expect(height.message).to.equal(`[${conn.backend}] commit block: height ${ledger.height} exists`);
    expect(await query.getPreCommitState(conn), 'no pre-commit record was written').to.deep.equal(preCommit);
    expect(await query.getTransactions(conn, entry.txs.map((tx) => tx.id))).to.deep.equal([]);
    expect((await recover(conn)).action).to.equal('none');
    await ledger.check(conn);
  });

  it('refuses a gap of more than one block and changes nothing', async () => {
    const preCommit = { height: ledger.height + 2, transactions: [] };
    await query.storePreCommitState(conn, preCommit);
    const before = await query.getUnspentOutputs(conn);
    await expect(recover(conn)).to.be.rejectedWith(RecoveryError, /gap|height/);
    expect(await query.getPreCommitState(conn)).to.deep.equal(preCommit);
    expect(await query.getUnspentOutputs(conn)).to.deep.equal(before);
  });

  it('refuses a pre-commit record below the latest block', async () => {
    await query.storePreCommitState(conn, { height: ledger.height - 1, transactions: [] });
    const error = await expect(recover(conn)).to.be.rejectedWith(RecoveryError);
    expect(error.message).to.include(`the pre-commit record is at height ${ledger.height - 1} (no transactions) but the latest block is at height ${ledger.height}`);
    expect(error.message).to.include('a commit older than the latest block was recorded last');
  });

  it('says in a refusal what it found (both heights, the transactions, how many are stored) and which command shows it', async () => {
    const entry = ledger.nextBlock(4, 0);
    const ids = entry.txs.map((tx) => tx.id);
    const preCommit = { height: ledger.height + 3, transactions: ids };
    await query.storePreCommitState(conn, preCommit);
    await query.writeTransactions(conn, entry.txs.slice(0, 2));
    const error = await expect(recover(conn)).to.be.rejectedWith(RecoveryError);
    expect(error.message).to.include(`the pre-commit record is at height ${ledger.height + 3} (4 transactions: ${ids.slice(0, 3).join(', ')} and 1 more; 2 of them stored)`);
    expect(error.message).to.include(`but the latest block is at height ${ledger.height}, so blocks ${ledger.height + 1} to ${ledger.height + 2} are missing`);
    expect(error.message).to.include('nothing was changed').and.to.include("Run 'chainstore status'").and.to.include(conn.location);
    expect(error.message).not.to.include('needs a human');
    // Saying so changed nothing.
    expect(await query.getPreCommitState(conn)).to.deep.equal(preCommit);
    expect((await query.getTransactions(conn, ids)).map((tx) => tx.id)).to.deep.equal(ids.slice(0, 2));
  });

  it('does nothing on a consistent database', async () => {
    expect(await recover(conn)).to.deep.equal({ action: 'none', height: ledger.height, transactions: [] });
    await ledger.check(conn);
  });
});

describe(`recover() before the first block on ${engine.name}`, () => {
  if (engine.skip) before(engine.skip);

  it('rolls back a first commit that crashed, keeping records below its height', async () => {
    const conn = await engine.open();
    await query.storeAbciChain(conn, 0, 'genesis');
    const ledger = new LedgerModel(3);
    const entry = ledger.nextBlock(2, 0);
    conn.crashAt = 'storeBlock';
    await expect(query.commitBlock(conn, entry.block, entry.txs)).to.be.rejectedWith(SimulatedCrash);
    const report = await recover(conn);
    expect(report.action).to.equal('rolled-back');
    expect(report.transactions).to.have.members(entry.txs.map((tx) => tx.id));
    ledger.rollBack(entry);
    await ledger.check(conn);
    expect((await query.getLatestAbciChain(conn))?.chain_id).to.equal('genesis');
    expect((await recover(conn)).action).to.equal('none');
    await engine.cleanUp(conn);
  });
});
}

describe('recover() on a database without tables', () => {
  it('does nothing and creates nothing', async () => {
    const conn: Connection = new CrashingSqlite(resolveConfig('sqlite', { name: ':memory:' }, {}));
    expect(await recover(conn)).to.deep.equal({ action: 'none', height: -1, transactions: [] });
    expect(await schema.isInitialized(conn)).to.equal(false);
    await conn.close();
  });
});

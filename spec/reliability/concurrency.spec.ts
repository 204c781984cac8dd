/**
 * Eight processes writing at the same time, to one embedded SQLite file and to one
 * PostgreSQL database (one of its own, chainstore_concurrency_<pid>): single writes and
 * batches, and every round a transaction and a block that all eight race for. What must hold:
 *
 * - no error but the DuplicateKeyError of a lost race reaches a writer (no SQLITE_BUSY,
 *   "database is locked", serialization failure or deadlock);
 * - for every raced key, exactly one writer succeeds and the seven others get
 *   DuplicateKeyError naming that key;
 * - no write is lost: every id a writer reports written is stored, and the counts add up;
 * - a batch that lost a race wrote none of its transactions.
 *
 * The writers are separate processes (spec/support/concurrent-writer.ts) started together and
 * released at once by a `go` line, after each has connected and initialised the database.
 */
import { expect } from 'chai';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Connection, admin, connect, query, schema } from '../../lib';
import { type WriterPlan, type WriterReport, racedHeight, racedTransaction } from '../support/concurrent-writer';
import { POSTGRES_URL, skipWithoutPostgres } from '../support/postgres';

const ROOT = join(__dirname, '..', '..');
const WRITER = join(__dirname, '..', 'support', 'concurrent-writer.ts');
const WRITERS = 8;
const ROUNDS = 40;
const BATCH = 12;
/** Longest a writer may take to start, connect and initialise the database. */
const READY_TIMEOUT = 40_000;
/** The outcomes of one race, sorted: one writer won, every other lost. */
const ONE_WINNER = [...Array(WRITERS - 1).fill('lost'), 'won'].sort();

/** A writer process being run. */
interface Running {
  child: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  done: Promise<WriterReport>;
}

function startWriter(plan: WriterPlan): Running {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', WRITER, JSON.stringify(plan)], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (/^ready$/m.test(stdout)) markReady();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<WriterReport>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`writer ${plan.label} ended with ${signal ?? `code ${code}`}: ${stderr.trim() || stdout.trim() || '(no output)'}`));
        return;
      }
      resolve(JSON.parse(last) as WriterReport);
    });
  });
  // A writer that ends before it is ready must not leave the others waiting.
  done.catch(() => markReady());
  return { child, ready, done };
}

/** Starts every writer, releases them together once all are ready, and collects their reports. */
async function runWriters(plans: WriterPlan[]): Promise<WriterReport[]> {
  const running = plans.map(startWriter);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.all(running.map((r) => r.ready)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the writers were not all ready within ${READY_TIMEOUT} ms`)), READY_TIMEOUT);
      }),
    ]);
  } catch (error) {
    for (const { child } of running) if (child.exitCode === null) child.kill();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  for (const { child } of running) child.stdin.end('go\n');
  return Promise.all(running.map((r) => r.done));
}

function plansFor(backend: WriterPlan['backend'], target: string): WriterPlan[] {
  const raceSeed = `concurrency/${backend}/${process.pid}/${Date.now()}`;
  return Array.from({ length: WRITERS }, (_, i) => ({ backend, target, label: `writer-${i}`, raceSeed, rounds: ROUNDS, batchSize: BATCH }));
}

/**
 * The checks, on the reports of one run and the database they wrote to. `conn()` is read in
 * the tests, after the run.
 */
function describeChecks(run: () => { reports: WriterReport[]; plans: WriterPlan[] }, conn: () => Connection): void {
  it('no error but a lost race reaches a writer (no busy, locked, serialization or deadlock error)', () => {
    const errors = run().reports.flatMap((r) => r.errors.map((e) => `${r.label}: ${e}`));
    expect(errors, errors.join('\n')).to.deep.equal([]);
  });

  it('every raced transaction: exactly one writer stores it, the seven others get DuplicateKeyError', () => {
    const { reports, plans } = run();
    for (let round = 0; round < ROUNDS; round++) {
      const id = racedTransaction(plans[0].raceSeed, round).id;
      const outcomes = reports.map((r) => r.races[id] ?? 'error').sort();
      expect(outcomes, `round ${round} (${round % 2 ? 'in a batch' : 'alone'}): ${id}`).to.deep.equal(ONE_WINNER);
    }
  });

  it('every raced block height: exactly one writer stores it, the seven others get DuplicateKeyError', async () => {
    const { reports } = run();
    for (let round = 0; round < ROUNDS; round++) {
      const height = racedHeight(round);
      const outcomes = reports.map((r) => r.blocks[height] ?? 'error');
      expect(outcomes.filter((o) => o === 'won'), `height ${height}: ${outcomes.join(', ')}`).to.have.length(1);
      expect(outcomes.filter((o) => o === 'lost'), `height ${height}: ${outcomes.join(', ')}`).to.have.length(WRITERS - 1);
    }
    const heights = Array.from({ length: ROUNDS }, (_, round) => racedHeight(round));
    const blocks = await Promise.all(heights.map((height) => query.getBlock(conn(), height)));
    expect(blocks.map((b) => b?.height), 'every raced block is stored').to.deep.equal(heights);
  });

  it('loses no write: every id reported written is stored, and the counts add up', async () => {
    const { reports, plans } = run();
    const written = reports.flatMap((r) => r.written);
    expect(new Set(written).size, 'no id is reported written twice').to.equal(written.length);
    // Each writer: ROUNDS own singles, ROUNDS own batches, its share of the batches it raced in.
    const own = written.filter((id) => !reports.some((r) => id in r.races));
    const refused = reports.flatMap((r) => r.refused);
    expect(own.length + refused.length, 'own transactions written or refused').to.equal(WRITERS * ROUNDS * (1 + BATCH) + WRITERS * (ROUNDS / 2) * BATCH);

    const stored = await query.getTransactions(conn(), written);
    const missing = written.filter((id) => !stored.some((tx) => tx.id === id));
    expect(missing, `${missing.length} writes reported done are not stored`).to.deep.equal([]);

    const counts = await admin.countRecords(conn());
    expect(counts.transactions, 'transactions stored').to.equal(written.length);
    // Every transaction of the run carries asset data and metadata.
    expect(counts.assets, 'asset data stored').to.equal(written.length);
    expect(counts.metadata, 'metadata stored').to.equal(written.length);
    expect(counts.blocks, 'blocks stored').to.equal(ROUNDS);
    expect(plans).to.have.length(WRITERS);
  });

  it('a batch that lost a race wrote none of its transactions', async () => {
    const refused = run().reports.flatMap((r) => r.refused);
    expect(refused, 'the odd rounds were raced in batches').to.have.length((WRITERS - 1) * (ROUNDS / 2) * BATCH);
    expect(await query.getTransactions(conn(), refused)).to.deep.equal([]);
    expect(await query.getAssets(conn(), refused)).to.deep.equal([]);
    expect(await query.getMetadata(conn(), refused)).to.deep.equal([]);
  });
}

describe('reliability: concurrent writers', function () {
  describe(`sqlite: ${WRITERS} processes on one file`, function () {
    this.timeout(120_000);
    let dir: string;
    let conn: Connection | undefined;
    let result: { reports: WriterReport[]; plans: WriterPlan[] } | undefined;

    before(async function () {
      dir = mkdtempSync(join(tmpdir(), 'chainstore-concurrency-'));
      const file = join(dir, 'shared.db');
      conn = await connect({ backend: 'sqlite', name: file }, {});
      await schema.initDatabase(conn);
      const plans = plansFor('sqlite', file);
      result = { reports: await runWriters(plans), plans };
    });

    after(async function () {
      await conn?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    describeChecks(() => result!, () => conn!);
  });

  describe(`postgres: ${WRITERS} processes on one database`, function () {
    this.timeout(120_000);
    let conn: Connection | undefined;
    let result: { reports: WriterReport[]; plans: WriterPlan[] } | undefined;

    before(skipWithoutPostgres);

    // A database of its own, per process: other specs use (and drop) the shared test database
    // meanwhile, and another run of this file may be going on at the same time.
    const name = `chainstore_concurrency_${process.pid}`;

    before(async function () {
      const url = new URL(POSTGRES_URL);
      url.pathname = `/${name}`;
      conn = await connect({ backend: 'postgres', url: url.toString(), poolSize: 4 }, {});
      await schema.dropDatabase(conn, name);
      await schema.initDatabase(conn);
      const plans = plansFor('postgres', url.toString());
      result = { reports: await runWriters(plans), plans };
    });

    after(async function () {
      if (conn && !conn.closed) {
        await schema.dropDatabase(conn, name).catch(() => undefined);
        await conn.close();
      }
    });

    describeChecks(() => result!, () => conn!);
  });
});

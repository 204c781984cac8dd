/**
 * Crash harness: a writer process (spec/support/crash-writer.ts) commits blocks to a real
 * database and is killed with SIGKILL at random moments, over and over. After each kill
 * this process runs recover() itself, as a restarted node would, and checks the ledger
 * invariants against the database; then it starts the next writer, which continues from
 * the latest block.
 *
 * What is checked after every recovery (the invariants of spec/support/ledger-model.ts,
 * against the blocks CrashChain regenerates from the seed):
 *   - no committed block is ever lost, and each block row is the one the generator made;
 *   - every committed transaction is present, exactly as generated (asset data, metadata);
 *   - nothing of the block above the latest one is present: transactions, asset data,
 *     metadata, spends of its inputs, block index entries;
 *   - the UTXO set equals what the committed blocks imply;
 *   - the pre-commit record equals the latest block, and recover() is idempotent;
 *   - every table holds exactly as many rows as the committed blocks imply;
 *   - atomic commits never leave work for recover().
 *
 * Kill moments: anywhere in the writer's life (start-up, between blocks, inside a commit,
 * inside one protocol step of the step-by-step variant), with delays from zero to a few
 * hundred milliseconds. Sometimes, when a rollback is pending, this process leaves it to the
 * next writer's recover() and kills that writer in the middle of recovering.
 *
 * The writer is transpiled once per process into a temporary folder (start-up ~0.2 s instead
 * of ~2 s under ts-node), so hundreds of kills fit in minutes.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { type Connection, type OutputRef, type Transaction, admin, connect, query, recover, schema, spentRefsOf } from '../../lib';
import { CrashChain } from '../support/crash-chain';
import { PROTOCOL_STEPS } from '../support/crash-writer';
import { type BlockEntry, LedgerModel, randomSource } from '../support/ledger-model';
import { POSTGRES_URL } from '../support/postgres';

export type EngineName = 'sqlite' | 'postgres';
/** `atomic`: the engine's transactional commitBlock; `steps`: the step-by-step protocol + recover(). */
export type CommitVariant = 'atomic' | 'steps';
/** Whether a killed writer is followed at once by the next process, or after its sessions ended. */
export type RestartMode = 'at-once' | 'settled';

export interface CrashRunOptions {
  /** Kills to make at least. */
  kills: number;
  /**
   * Kills to make at most: past `kills`, the run goes on until a kill has landed inside a
   * commit (and, for `steps`, until a recovery has rolled something back). Default 3 × kills.
   */
  maxKills?: number;
  /** Seed of the chain and of the kill moments (timing still varies). Default: random. */
  seed?: number;
  /**
   * `at-once` (the default): the recovery and the next writer start the moment the killed
   * writer is gone, waiting for nothing, as a supervisor restarts a node; recover() itself
   * must make that safe (the writer lease on PostgreSQL). `settled`: first wait until the
   * killed writer's server sessions have ended (PostgreSQL; the same as at-once on SQLite).
   */
  restart?: RestartMode;
  /** One line per kill, for a verbose run. */
  log?: (line: string) => void;
}

export interface CrashRunResult {
  engine: EngineName;
  variant: CommitVariant;
  restart: RestartMode;
  seed: number;
  kills: number;
  /** Where the writer was when it died (by the last line it printed). */
  killedIn: Record<'startup' | 'recovery' | 'between-blocks' | 'commit', number>;
  /** Step-by-step only: kills inside each protocol step. */
  killedInStep: Record<string, number>;
  /** Height of the latest block at the end. */
  blocks: number;
  transactions: number;
  /** Recoveries run by this process that rolled a block back. */
  rollbacks: number;
  /** Recoveries run by a writer at start-up that rolled a block back (after a deferred recovery). */
  writerRollbacks: number;
  /** Kills inside a commit whose block turned out committed / not committed. */
  inFlight: { landed: number; vanished: number };
  /** Checks made (one per recovery by this process). */
  checks: number;
  /** Kills whose recovery was left to the next writer (checked after that writer's kill). */
  deferred: number;
  /** Time spent running writers, waiting for their sessions to end, recovering and checking. */
  timeMs: { writers: number; settling: number; checking: number };
  /** Every broken invariant, with the kill it followed. Empty when all is well. */
  inconsistencies: string[];
  /** Where the database is, when it was kept because an invariant broke. */
  keptDatabase?: string;
  durationMs: number;
}

type KillPlan =
  | { kind: 'startup'; delay: number }
  | { kind: 'recovery'; delay: number }
  | { kind: 'anywhere'; delay: number }
  | { kind: 'commit'; blocks: number; delay: number }
  | { kind: 'step'; blocks: number; step: string; delay: number };

interface WriterEvent {
  event: 'recovering' | 'recovered' | 'ready' | 'commit' | 'step' | 'committed' | 'error';
  height?: number;
  step?: string;
  action?: string;
  message?: string;
}

const ROOT = resolve(__dirname, '..', '..');
const WRITER_SOURCE = join(ROOT, 'spec', 'support', 'crash-writer.ts');
/** Steps whose interruption leaves something to roll back (a kill as the pre-commit record starts may not). */
const STEPS_WORTH_KILLING = ['writeTransactions', 'deleteUnspentOutputs', 'storeUnspentOutputs', 'storeBlock'];
const STALL_LIMIT_MS = 30_000;

// ---------------------------------------------------------------------------
// The writer program, transpiled once
// ---------------------------------------------------------------------------

let compiled: Promise<string> | undefined;

/**
 * The writer as plain JavaScript: crash-writer.ts and every local module it imports,
 * transpiled (no type check) into a temporary folder removed when this process exits.
 * Packages resolve from the repository's node_modules through NODE_PATH.
 */
export function writerProgram(): Promise<string> {
  compiled ??= (async () => {
    const ts = (await import('typescript')).default;
    const out = mkdtempSync(join(tmpdir(), 'chainstore-crash-writer-'));
    process.once('exit', () => rmSync(out, { recursive: true, force: true }));
    const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
      },
    });
    const compilerOptions = { ...parsed!.options, declaration: false, sourceMap: false, inlineSourceMap: false, noEmit: false };
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const destination = join(out, relative(ROOT, file));
      mkdirSync(dirname(destination), { recursive: true });
      const source = readFileSync(file, 'utf8');
      if (file.endsWith('.json')) return writeFileSync(destination, source);
      writeFileSync(destination.replace(/\.ts$/, '.js'), ts.transpileModule(source, { compilerOptions, fileName: file }).outputText);
      for (const { fileName } of ts.preProcessFile(source, true, true).importedFiles) {
        if (!fileName.startsWith('.')) continue;
        const base = resolve(dirname(file), fileName);
        const found = [base, `${base}.ts`, join(base, 'index.ts')].find((c) => /\.(ts|json)$/.test(c) && existsSync(c));
        if (!found) throw new Error(`crash writer: cannot resolve ${fileName} from ${relative(ROOT, file)}`);
        visit(found);
      }
    };
    visit(WRITER_SOURCE);
    return join(out, relative(ROOT, WRITER_SOURCE)).replace(/\.ts$/, '.js');
  })();
  return compiled;
}

// ---------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------

/** A database of the run's own, and how to reach it. */
interface Target {
  /** What the writer gets in CHAINSTORE_CRASH_TARGET: a file, or a URL. */
  location: string;
  connect(): Promise<Connection>;
  /** Resolves once nothing of a killed writer can still change the database. */
  settle(): Promise<void>;
  destroy(): Promise<void>;
  /** Releases what the run held but leaves the database; returns where it is. */
  keep(): Promise<string>;
}

/** Database names for PostgreSQL runs: never `test`, which other specs drop and recreate. */
export function crashDatabaseName(variant: CommitVariant, restart: RestartMode = 'at-once'): string {
  return `chainstore_crash_${variant}${restart === 'settled' ? '_settled' : ''}_${process.pid}`;
}

async function makeTarget(engine: EngineName, variant: CommitVariant, restart: RestartMode): Promise<Target> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), `chainstore-crash-${variant}-`));
    const file = join(dir, 'ledger.db');
    const open = () => connect({ backend: 'sqlite', name: file });
    const conn = await open();
    await schema.initDatabase(conn);
    await conn.close();
    return {
      location: file,
      connect: open,
      // A dead process holds no lock and has no write in flight: SQLite is settled at its exit.
      settle: async () => undefined,
      destroy: async () => rmSync(dir, { recursive: true, force: true }),
      keep: async () => file,
    };
  }

  const name = crashDatabaseName(variant, restart);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const location = url.toString();
  const open = () => connect({ backend: 'postgres', url: location });
  const conn = await open();
  await schema.dropDatabase(conn);
  await schema.initDatabase(conn);
  await conn.close();
  const maintenance = new URL(POSTGRES_URL);
  maintenance.pathname = '/postgres';
  const monitor = new pg.Client({ connectionString: maintenance.toString() });
  monitor.on('error', () => undefined);
  await monitor.connect();
  return {
    location,
    connect: open,
    // `settled` only: wait until no session is left on the database. A statement sent just
    // before the kill keeps running on the server, and may commit, until the server notices
    // the closed socket; `at-once` leaves it to recover() to wait for that.
    async settle() {
      if (restart !== 'settled') return;
      const started = Date.now();
      for (;;) {
        const { rows } = await monitor.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
          [name],
        );
        if (rows[0].n === 0) return;
        if (Date.now() - started > STALL_LIMIT_MS) throw new Error(`sessions of a killed writer still open on ${name} after ${STALL_LIMIT_MS} ms`);
        await sleep(5);
      }
    },
    async destroy() {
      const last = await open();
      await schema.dropDatabase(last).finally(() => last.close());
      await monitor.end();
    },
    async keep() {
      await monitor.end();
      return `postgres database ${name}`;
    },
  };
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

/**
 * Kills writers of `engine` committing the `variant` way, `options.kills` times or more,
 * recovering and checking the ledger after each kill, on a database of its own.
 *
 * @example
 * const result = await runCrashLoop('sqlite', 'steps', { kills: 10 });
 * console.log(summaryLine(result));   // sqlite/steps: 10 kills (...), 0 inconsistencies
 */
export async function runCrashLoop(engine: EngineName, variant: CommitVariant, options: CrashRunOptions): Promise<CrashRunResult> {
  const started = Date.now();
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const maxKills = options.maxKills ?? options.kills * 3;
  const random = randomSource(seed ^ 0x5eed);
  const below = (n: number) => Math.floor(random() * n);
  const log = options.log ?? (() => undefined);
  const program = await writerProgram();
  const restart = options.restart ?? 'at-once';
  const target = await makeTarget(engine, variant, restart);

  const result: CrashRunResult = {
    engine, variant, restart, seed, kills: 0,
    killedIn: { startup: 0, recovery: 0, 'between-blocks': 0, commit: 0 },
    killedInStep: {},
    blocks: 0, transactions: 0, rollbacks: 0, writerRollbacks: 0,
    inFlight: { landed: 0, vanished: 0 },
    checks: 0, deferred: 0, timeMs: { writers: 0, settling: 0, checking: 0 }, inconsistencies: [], durationMs: 0,
  };
  const chain = new CrashChain(seed);
  const model = new LedgerModel(seed);
  const timing = { startup: 250, recovery: 10, commit: 5 };
  let deferred = false;

  const enough = () =>
    result.kills >= options.kills && result.killedIn.commit > 0 && (variant === 'atomic' || result.rollbacks + result.writerRollbacks > 0);

  try {
    while (result.kills < maxKills && !enough() && result.inconsistencies.length === 0) {
      const plan = choosePlan();
      const problems: string[] = [];
      let lap = Date.now();
      const writer = await runWriter(plan, problems);
      result.kills++;
      lap = tally('writers', lap);
      const where = `kill ${result.kills} (${describePlan(plan)}, died in ${writer.diedIn}${writer.step ? ` ${writer.step}` : ''})`;
      result.killedIn[writer.diedIn]++;
      if (writer.step) result.killedInStep[writer.step] = (result.killedInStep[writer.step] ?? 0) + 1;
      if (writer.recovered && writer.recovered !== 'none') {
        if (deferred) result.writerRollbacks++;
        else problems.push(`the writer's recover() found work after this process had recovered: ${writer.recovered}`);
      }

      // Sometimes a pending rollback is left to the next writer, which is killed while it recovers.
      deferred = await afterKill(lap, writer, problems, variant === 'steps' && random() < 0.3);
      if (deferred) result.deferred++;
      result.inconsistencies.push(...problems.map((problem) => `${where}: ${problem}`));
      log(`${engine}/${variant}/${restart} ${where}: latest block ${chain.height}${deferred ? ', recovery left to the next writer' : ''}${problems.length ? `, ${problems.length} problem(s)` : ''}`);
    }
    if (deferred) {
      // The last kill's recovery was left to a writer that will not come: recover and check now.
      const problems: string[] = [];
      await afterKill(Date.now(), {}, problems, false);
      result.inconsistencies.push(...problems.map((problem) => `after the last kill: ${problem}`));
    }
  } finally {
    result.blocks = chain.height;
    result.transactions = model.committed.reduce((n, entry) => n + entry.txs.length, 0);
    // A database that broke an invariant is kept for a post-mortem.
    if (result.inconsistencies.length === 0) await target.destroy();
    else result.keptDatabase = await target.keep();
    result.durationMs = Date.now() - started;
  }
  return result;

  /**
   * Once a writer is dead: waits until nothing of it can still write, then recovers and
   * checks, unless `mayDefer` and a rollback is pending (resolves true: left to the next writer).
   */
  async function afterKill(lap: number, writer: { inFlight?: number }, problems: string[], mayDefer: boolean): Promise<boolean> {
    await target.settle();
    lap = tally('settling', lap);
    const conn = await target.connect();
    try {
      if (mayDefer && (await rollbackPending(conn))) return true;
      await recoverAndCheck(conn, writer, problems);
    } catch (error) {
      problems.push(`recovery or check failed: ${error instanceof Error ? error.stack : String(error)}`);
    } finally {
      await conn.close();
      tally('checking', lap);
    }
    return false;
  }

  function tally(what: keyof CrashRunResult['timeMs'], since: number): number {
    const now = Date.now();
    result.timeMs[what] += now - since;
    return now;
  }

  function choosePlan(): KillPlan {
    const short = () => (random() < 0.5 ? 0 : random() * 2);
    // Mostly in the middle of the recovery left to the writer; sometimes it finishes it.
    if (deferred && random() < 0.7) return { kind: 'recovery', delay: random() < 0.3 ? 0 : random() * timing.recovery * 1.5 };
    const r = random();
    if (r < 0.05) return { kind: 'startup', delay: random() * timing.startup };
    if (r < 0.3) return { kind: 'anywhere', delay: random() < 0.3 ? random() * 5 : random() * 300 };
    if (variant === 'steps' && r < 0.6) {
      return { kind: 'step', blocks: below(3), step: STEPS_WORTH_KILLING[below(STEPS_WORTH_KILLING.length)], delay: short() };
    }
    return { kind: 'commit', blocks: below(4), delay: random() < 0.5 ? 0 : random() * timing.commit * 1.5 };
  }

  /** Starts a writer and kills it as `plan` says; resolves once it is dead, with where it died. */
  function runWriter(plan: KillPlan, problems: string[]) {
    return new Promise<{ diedIn: keyof CrashRunResult['killedIn']; step?: string; recovered?: string; inFlight?: number }>((done) => {
      const spawnedAt = Date.now();
      const child: ChildProcessByStdio<null, Readable, Readable> = spawn(process.execPath, [program, engine, variant, String(seed)], {
        env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules'), CHAINSTORE_CRASH_TARGET: target.location },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let killed = false;
      let armed = false;
      let last: WriterEvent | undefined;
      let readyHeight = 0;
      let recovered: string | undefined;
      let recoveringAt = 0;
      let commitAt = 0;
      let stderr = '';
      const kill = () => {
        if (killed) return;
        killed = true;
        child.kill('SIGKILL');
      };
      const arm = (delay: number) => {
        if (armed) return;
        armed = true;
        if (delay <= 0) kill();
        else setTimeout(kill, delay);
      };
      const watchdog = setTimeout(() => {
        problems.push(`the writer made no progress for ${STALL_LIMIT_MS} ms (last event: ${JSON.stringify(last)})`);
        kill();
      }, STALL_LIMIT_MS);
      if (plan.kind === 'startup') arm(plan.delay);

      child.on('error', (error) => {
        problems.push(`the writer could not run: ${error.message}`);
        kill();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      createInterface({ input: child.stdout }).on('line', (line) => {
        let event: WriterEvent;
        try {
          event = JSON.parse(line) as WriterEvent;
        } catch {
          problems.push(`the writer printed ${JSON.stringify(line)}`);
          return;
        }
        last = event;
        const now = Date.now();
        switch (event.event) {
          case 'recovering':
            recoveringAt = now;
            if (plan.kind === 'recovery') arm(plan.delay);
            break;
          case 'recovered':
            recovered = event.action;
            timing.recovery = ewma(timing.recovery, now - recoveringAt);
            break;
          case 'ready':
            readyHeight = event.height!;
            timing.startup = ewma(timing.startup, now - spawnedAt);
            if (plan.kind === 'anywhere') arm(plan.delay);
            break;
          case 'commit':
            commitAt = now;
            if (plan.kind === 'commit' && event.height === readyHeight + 1 + plan.blocks) arm(plan.delay);
            break;
          case 'step':
            if (plan.kind === 'step' && event.height === readyHeight + 1 + plan.blocks && event.step === plan.step) arm(plan.delay);
            break;
          case 'committed':
            timing.commit = ewma(timing.commit, now - commitAt);
            break;
          case 'error':
            problems.push(`the writer failed: ${event.message}`);
            break;
        }
      });
      child.on('close', (code, signal) => {
        clearTimeout(watchdog);
        if (!killed || signal !== 'SIGKILL') {
          problems.push(`the writer exited by itself (code ${code}, signal ${signal})${stderr ? `: ${stderr.trim()}` : ''}`);
        }
        done({
          diedIn: diedIn(last),
          step: last?.event === 'step' ? last.step : last?.event === 'commit' && variant === 'steps' ? 'before storePreCommitState' : undefined,
          recovered,
          inFlight: last?.event === 'commit' || last?.event === 'step' ? last.height : undefined,
        });
      });
    });
  }

  async function rollbackPending(conn: Connection): Promise<boolean> {
    const [preCommit, latest] = await Promise.all([query.getPreCommitState(conn), query.getLatestBlock(conn)]);
    return preCommit !== null && preCommit.height > (latest?.height ?? 0) && preCommit.transactions.length > 0;
  }

  async function recoverAndCheck(conn: Connection, writer: { inFlight?: number }, problems: string[]): Promise<void> {
    const report = await recover(conn);
    if (report.action === 'rolled-back') {
      result.rollbacks++;
      if (variant === 'atomic') problems.push(`an atomic commit left block ${report.height} for recover() to roll back`);
    }
    const again = await recover(conn);
    if (again.action !== 'none') problems.push(`a second recover() did something: ${JSON.stringify(again)}`);
    result.checks++;

    const latestHeight = (await query.getLatestBlock(conn))?.height ?? 0;
    if (latestHeight < chain.height) {
      problems.push(`block ${chain.height} was committed, but the latest block is now ${latestHeight}`);
      return;
    }
    const fresh: BlockEntry[] = [];
    while (chain.height < latestHeight) {
      const entry = chain.next();
      const stored = await query.getBlock(conn, entry.block.height);
      if (!isDeepStrictEqual(stored, entry.block)) {
        problems.push(`block ${entry.block.height} is ${JSON.stringify(stored)}, the generator made ${JSON.stringify(entry.block)}`);
        return;
      }
      chain.apply(entry);
      model.commit(entry);
      fresh.push(entry);
    }
    if (writer.inFlight !== undefined) {
      if (latestHeight >= writer.inFlight) result.inFlight.landed++;
      else result.inFlight.vanished++;
    }

    const pending = chain.next();
    model.rolledBack.length = 0;
    model.rolledBack.push(...pending.txs);
    try {
      await model.check(conn);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
    problems.push(...(await checkCounts(conn)));
    problems.push(...(await checkIndexes(conn, fresh, pending)));
  }

  /** Every table holds exactly what the committed blocks imply: nothing more, nothing less. */
  async function checkCounts(conn: Connection): Promise<string[]> {
    const txs = model.committed.flatMap((entry) => entry.txs);
    const expected = {
      transactions: txs.length,
      assets: txs.filter((tx) => tx.operation === 'CREATE').length,
      // Every transaction has a metadata record, null metadata included.
      metadata: txs.length,
      blocks: chain.height,
      utxos: chain.unspent.size,
      pre_commit: chain.height > 0 ? 1 : undefined,
      validators: 0,
      elections: 0,
      abci_chains: 0,
    };
    const counts = await admin.countRecords(conn);
    return Object.entries(expected)
      .filter(([table, n]) => n !== undefined && counts[table as keyof typeof counts] !== n)
      .map(([table, n]) => `table ${table} holds ${counts[table as keyof typeof counts]} records, the committed blocks imply ${n}`);
  }

  /**
   * The lookups that go through the engines' side tables (spends, block index) agree:
   * the committed blocks' inputs are spent by exactly their transactions, the pending
   * block's inputs by nothing, and the pending block's transactions are in no block.
   */
  async function checkIndexes(conn: Connection, fresh: BlockEntry[], pending: BlockEntry): Promise<string[]> {
    const problems: string[] = [];
    const idsSpending = async (refs: OutputRef[]) =>
      refs.length ? (await query.getSpendingTransactions(conn, refs)).map((tx: Transaction) => tx.id).sort() : [];
    const freshTxs = fresh.flatMap((entry) => entry.txs);
    const spenders = freshTxs.filter((tx) => spentRefsOf(tx).length > 0).map((tx) => tx.id).sort();
    const found = await idsSpending(freshTxs.flatMap(spentRefsOf));
    if (!isDeepStrictEqual(found, spenders)) problems.push(`the new blocks' inputs are spent by ${found.length} transactions, expected ${spenders.length}`);

    const pendingIds = new Set(pending.txs.map((tx) => tx.id));
    const outside = pending.txs.flatMap(spentRefsOf).filter((ref) => !pendingIds.has(ref.transaction_id));
    const phantom = await idsSpending(outside);
    if (phantom.length) problems.push(`outputs the uncommitted block ${pending.block.height} spends are spent by ${phantom.join(', ')}`);
    for (const tx of pending.txs) {
      const heights = await query.getBlockWithTransaction(conn, tx.id);
      if (heights.length) problems.push(`transaction ${tx.id} of the uncommitted block ${pending.block.height} is listed in blocks ${heights.join(', ')}`);
    }
    for (const entry of fresh) {
      const [first] = entry.block.transactions;
      const heights = first ? await query.getBlockWithTransaction(conn, first) : [entry.block.height];
      if (!isDeepStrictEqual(heights, [entry.block.height])) problems.push(`transaction ${first} of block ${entry.block.height} is listed in blocks ${heights.join(', ')}`);
    }
    return problems;
  }
}

function describePlan(plan: KillPlan): string {
  const delay = `${plan.delay.toFixed(1)} ms`;
  switch (plan.kind) {
    case 'startup': return `${delay} after start`;
    case 'recovery': return `${delay} into recovery`;
    case 'anywhere': return `${delay} after ready`;
    case 'commit': return `${delay} into commit #${plan.blocks + 1}`;
    case 'step': return `${delay} into ${plan.step} of commit #${plan.blocks + 1}`;
  }
}

/** Where a writer was when it died, by the last line it printed. */
function diedIn(last: WriterEvent | undefined): keyof CrashRunResult['killedIn'] {
  switch (last?.event) {
    case undefined:
    case 'error':
      return 'startup';
    case 'recovering':
      return 'recovery';
    case 'commit':
    case 'step':
      return 'commit';
    default:
      return 'between-blocks';
  }
}

function ewma(previous: number, sample: number): number {
  return previous * 0.8 + sample * 0.2;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------

/** One line per engine and variant. */
export function summaryLine(r: CrashRunResult): string {
  const where = `${r.killedIn.commit} mid-commit, ${r.killedIn.recovery} mid-recovery, ${r.killedIn['between-blocks']} between blocks, ${r.killedIn.startup} at start-up`;
  const rollbacks = `${r.rollbacks} rollbacks${r.writerRollbacks ? ` (+${r.writerRollbacks} by writers)` : ''}${r.deferred ? `, ${r.deferred} recoveries left to the next writer` : ''}`;
  const order = ['before storePreCommitState', ...PROTOCOL_STEPS] as string[];
  const steps = Object.entries(r.killedInStep)
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([step, n]) => `${step} ${n}`)
    .join(', ');
  const inFlight =
    r.variant === 'atomic' ? `, in-flight blocks ${r.inFlight.landed} landed/${r.inFlight.vanished} vanished` : steps ? `, killed in steps: ${steps}` : '';
  return (
    `${r.engine}/${r.variant}${r.engine === 'sqlite' ? '' : ` (restart ${r.restart})`}: ${r.kills} kills (${where}), ${r.blocks} blocks, ${r.transactions} transactions, ${rollbacks}${inFlight}, ` +
    `${r.inconsistencies.length} inconsistencies, ${seconds(r.durationMs)} (writers ${seconds(r.timeMs.writers)}, ` +
    `recovery and checks ${seconds(r.timeMs.checking + r.timeMs.settling)}), seed ${r.seed}`
  );
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The last line: all engines together. */
export function finalLine(results: readonly CrashRunResult[]): string {
  const kills = results.reduce((n, r) => n + r.kills, 0);
  const bad = results.reduce((n, r) => n + r.inconsistencies.length, 0);
  const each = results.map((r) => `${r.engine}-${r.variant}${r.engine === 'sqlite' ? '' : `-${r.restart}`} ${r.kills}/${r.inconsistencies.length}`).join(', ');
  return `reliability: ${kills} kills, ${bad} inconsistencies (${each})`;
}

/**
 * One writer process of the concurrency spec (spec/reliability/concurrency.spec.ts).
 *
 * Usage: node -r ts-node/register/transpile-only concurrent-writer.ts '<WriterPlan as JSON>'
 *
 * It connects, runs `schema.initDatabase` (as a node does at startup, so the writers also
 * initialise the same database at the same moment), prints `ready`, and waits for `go` on
 * stdin, so that every writer starts writing at the same instant. Then, round after round:
 *
 * - the raced transaction of the round, which every writer tries to store: alone through
 *   `writeTransaction` in even rounds, and inside a batch of its own transactions through
 *   `writeTransactions` in odd rounds (a losing batch must write none of its transactions);
 * - the raced block of the round (`storeBlock` at the round's height, the same block for all);
 * - one transaction of its own through `writeTransaction`;
 * - a batch of its own through `writeTransactions`.
 *
 * Finally it prints one JSON line, a {@link WriterReport}. Every error it got is reported:
 * a DuplicateKeyError is expected only when a raced key was lost, and only naming that key.
 */
import { createInterface } from 'node:readline';
import { type Connection, DuplicateKeyError, type Transaction, connect, query, schema } from '../../lib';
import { createTx, hexId, output, publicKey } from '../conformance/fixtures';

/** What one writer does. */
export interface WriterPlan {
  backend: 'sqlite' | 'postgres';
  /** The sqlite file, or the postgres URL. */
  target: string;
  /** Distinguishes this writer's own records from every other's. */
  label: string;
  /** Names the records every writer races for, so that all writers of a run race on the same ones. */
  raceSeed: string;
  rounds: number;
  /** Transactions of its own in each batch. */
  batchSize: number;
}

/** What a writer reports once done. */
export interface WriterReport {
  label: string;
  /** Ids of every transaction this writer stored (its own and the raced ones it won). */
  written: string[];
  /** Ids of its own transactions sent in a batch that lost a race (so none may be stored). */
  refused: string[];
  /** Raced transaction id -> whether this writer stored it ('won') or got DuplicateKeyError ('lost'). */
  races: Record<string, 'won' | 'lost'>;
  /** Raced block height -> 'won' or 'lost'. */
  blocks: Record<string, 'won' | 'lost'>;
  /** Every unexpected error, as `<step>: <name>: <message> (<cause code>)`. */
  errors: string[];
}

/** The raced transaction of a round: the same record for every writer of the run. */
export function racedTransaction(raceSeed: string, round: number): Transaction {
  const id = hexId(`${raceSeed}/race/${round}`);
  return createTx({ id, data: { raced: round }, metadata: { raced: round }, outputs: [output([publicKey('racer')])] });
}

/** Height of the raced block of a round. */
export const racedHeight = (round: number) => round + 1;

/** Own transaction number `n` of the writer `label`. */
export function ownTransaction(raceSeed: string, label: string, n: number): Transaction {
  const id = hexId(`${raceSeed}/${label}/${n}`);
  return createTx({ id, owner: publicKey(label), data: { label, n }, metadata: { label, n } });
}

function describe(step: string, error: unknown): string {
  if (!(error instanceof Error)) return `${step}: ${String(error)}`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = cause && typeof cause === 'object' ? ` (cause: ${String(cause.code ?? '')} ${String(cause.message ?? '')})` : '';
  return `${step}: ${error.name}: ${error.message}${code}`;
}

/** Resolves when a line `go` arrives on stdin. */
function goSignal(): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      if (line.trim() === 'go') {
        // Settled before close(), whose 'close' event would otherwise reject first.
        resolve();
        lines.close();
      }
    });
    lines.on('close', () => reject(new Error('stdin closed before go')));
  });
}

async function open(plan: WriterPlan): Promise<Connection> {
  // A small pool per writer: eight writers must not exhaust a server others use too.
  return plan.backend === 'sqlite' ? connect({ backend: 'sqlite', name: plan.target }, {}) : connect({ backend: 'postgres', url: plan.target, poolSize: 2 }, {});
}

async function main(): Promise<void> {
  const plan = JSON.parse(process.argv[2]) as WriterPlan;
  const report: WriterReport = { label: plan.label, written: [], refused: [], races: {}, blocks: {}, errors: [] };
  const conn = await open(plan);
  try {
    await schema.initDatabase(conn);
  } catch (error) {
    report.errors.push(describe('initDatabase', error));
  }
  process.stdout.write('ready\n');
  await goSignal();

  /** Runs a write; a DuplicateKeyError naming exactly `raced` is a lost race, anything else an error. */
  const attempt = async (step: string, write: () => Promise<void>, raced?: string | number): Promise<'ok' | 'lost' | 'error'> => {
    try {
      await write();
      return 'ok';
    } catch (error) {
      if (raced !== undefined && error instanceof DuplicateKeyError) {
        if (error.keys.length === 1 && String(error.keys[0]) === String(raced)) return 'lost';
        report.errors.push(`${step}: DuplicateKeyError names ${JSON.stringify(error.keys)}, expected exactly [${JSON.stringify(raced)}]: ${error.message}`);
        return 'error';
      }
      report.errors.push(describe(step, error));
      return 'error';
    }
  };

  let n = 0;
  const own = (count: number) => Array.from({ length: count }, () => ownTransaction(plan.raceSeed, plan.label, n++));

  for (let round = 0; round < plan.rounds; round++) {
    const raced = racedTransaction(plan.raceSeed, round);
    if (round % 2 === 0) {
      const result = await attempt(`round ${round} writeTransaction(raced)`, () => query.writeTransaction(conn, raced), raced.id);
      if (result === 'ok') report.written.push(raced.id);
      if (result !== 'error') report.races[raced.id] = result === 'ok' ? 'won' : 'lost';
    } else {
      const mine = own(plan.batchSize);
      // The raced transaction in the middle of the batch: not first, not last.
      const batch = [...mine.slice(0, 2), raced, ...mine.slice(2)];
      const result = await attempt(`round ${round} writeTransactions(batch with raced)`, () => query.writeTransactions(conn, batch), raced.id);
      if (result === 'ok') report.written.push(...batch.map((tx) => tx.id));
      if (result === 'lost') report.refused.push(...mine.map((tx) => tx.id));
      if (result !== 'error') report.races[raced.id] = result === 'ok' ? 'won' : 'lost';
    }

    const height = racedHeight(round);
    const block = { height, app_hash: hexId(`${plan.raceSeed}/app-hash/${height}`), transactions: [raced.id] };
    const stored = await attempt(`round ${round} storeBlock(${height})`, () => query.storeBlock(conn, block), height);
    if (stored !== 'error') report.blocks[height] = stored === 'ok' ? 'won' : 'lost';

    const [single] = own(1);
    if ((await attempt(`round ${round} writeTransaction(own)`, () => query.writeTransaction(conn, single))) === 'ok') report.written.push(single.id);

    const batch = own(plan.batchSize);
    if ((await attempt(`round ${round} writeTransactions(own)`, () => query.writeTransactions(conn, batch))) === 'ok') {
      report.written.push(...batch.map((tx) => tx.id));
    }
  }
  await conn.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// Imported by the spec for its record builders: run only as a program.
if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${describe('writer', error)}\n`);
    process.exit(1);
  });
}

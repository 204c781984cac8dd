/**
 * A ledger writer for the crash specs, meant to be killed (SIGKILL) at any moment.
 *
 * Usage: crash-writer <sqlite|postgres> <atomic|steps> <seed>
 * The database is CHAINSTORE_CRASH_TARGET: a SQLite file, or a PostgreSQL URL (in the
 * environment rather than the command line, where a password would show in `ps`).
 *
 * It runs recover() first, rebuilds the chain from the database alone (latest block, UTXO
 * set), then commits the blocks of CrashChain(seed) one after another, forever:
 *   - atomic: through query.commitBlock, i.e. the engine's own transactional override;
 *   - steps:  through the step-by-step protocol of lib/ledger.ts (a subclass of the engine's
 *             connection that registers the base Connection's commitBlock), the path where a
 *             crash leaves work for recover().
 *
 * It prints one short JSON line per event. Node writes to a pipe at once while the pipe has
 * room (only a full pipe queues in memory, and is lost with the process), and the parent
 * drains it as lines come, so the last line the parent reads is the last thing the writer
 * did before it died:
 *   {"event":"recovering"}  {"event":"recovered","action":...,"height":...,"transactions":n}
 *   {"event":"ready","height":h,"unspent":n}
 *   {"event":"commit","height":h,"transactions":n}
 *   {"event":"step","height":h,"step":name}        (steps only: a protocol step begins)
 *   {"event":"committed","height":h}
 *   {"event":"error","message":...}                (then exit code 1)
 */
import { Connection, type Generic, type GenericSignature, query, recover } from '../../lib';
import { type ResolvedConfig, resolveConfig } from '../../lib/config';
import { CrashChain } from './crash-chain';

/** The steps of the protocol, in their order (lib/ledger.ts). */
export const PROTOCOL_STEPS = ['storePreCommitState', 'writeTransactions', 'deleteUnspentOutputs', 'storeUnspentOutputs', 'storeBlock'] as const;

type Engine = 'sqlite' | 'postgres';
type ConnectionClass = new (config: ResolvedConfig) => Connection;

let committing = 0;

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function engineClass(engine: Engine): Promise<ConnectionClass> {
  if (engine === 'sqlite') return (await import('../../backends/sqlite')).SqliteConnection;
  if (engine === 'postgres') return (await import('../../backends/postgres')).PostgresConnection;
  throw new Error(`unknown engine ${JSON.stringify(engine)}`);
}

/**
 * The engine's connection class committing through the step-by-step protocol, announcing
 * each step as it begins.
 */
function stepByStep(Base: ConnectionClass): ConnectionClass {
  class StepByStepConnection extends Base {}
  query.commitBlock.register(StepByStepConnection, query.commitBlock.dispatch(Connection)!);
  for (const name of PROTOCOL_STEPS) {
    const step = query[name] as unknown as Generic<GenericSignature>;
    const real = step.dispatch(Base)!;
    step.register(StepByStepConnection, (conn: Connection, ...args: unknown[]) => {
      if (committing) emit({ event: 'step', height: committing, step: name });
      return real(conn, ...args);
    });
  }
  return StepByStepConnection;
}

async function main(): Promise<void> {
  const [engine, variant, seedText] = process.argv.slice(2);
  const target = process.env.CHAINSTORE_CRASH_TARGET;
  const seed = Number(seedText);
  if (!target || !['atomic', 'steps'].includes(variant) || !Number.isSafeInteger(seed)) {
    throw new Error('usage: CHAINSTORE_CRASH_TARGET=<file|url> crash-writer <sqlite|postgres> <atomic|steps> <seed>');
  }
  const Base = await engineClass(engine as Engine);
  const Class = variant === 'steps' ? stepByStep(Base) : Base;
  const options = engine === 'sqlite' ? { name: target } : { url: target };
  const conn = new Class(resolveConfig(engine, options, {}, engine === 'postgres' ? { port: 5432, login: 'postgres' } : {}));

  emit({ event: 'recovering' });
  const report = await recover(conn);
  emit({ event: 'recovered', action: report.action, height: report.height, transactions: report.transactions.length });

  const chain = await CrashChain.fromDatabase(conn, seed);
  emit({ event: 'ready', height: chain.height, unspent: chain.unspent.size });
  for (;;) {
    const entry = chain.next();
    committing = entry.block.height;
    emit({ event: 'commit', height: committing, transactions: entry.txs.length });
    await query.commitBlock(conn, entry.block, entry.txs);
    committing = 0;
    chain.apply(entry);
    emit({ event: 'committed', height: entry.block.height });
  }
}

// Run as a program (the harness imports this module for PROTOCOL_STEPS only).
if (require.main === module) {
  // The parent is gone (its end of the pipe closed): stop writing.
  process.stdout.on('error', () => process.exit(2));
  main().catch((error: unknown) => {
    emit({ event: 'error', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    process.exit(1);
  });
}

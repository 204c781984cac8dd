/**
 * The node (server/) under load: transactions signed with the official driver, posted in
 * `commit` mode by many concurrent keep-alive HTTP clients in another process
 * (bench/support/node-load.ts), committed by the node in blocks. Reports committed
 * transactions per second, the latency of a post until its block is committed, and the
 * blocks the group commit made, for CREATEs and for TRANSFERs, on SQLite and PostgreSQL.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import pino from 'pino';
import { join } from 'node:path';
import { query } from '../../lib';
import { startNode } from '../../server';
import { type EngineName, openLayer } from '../support/engines';
import { percentile, round } from '../support/measure';
import type { LoadReply, LoadRequest } from '../support/node-load';
import type { Row, Section, Target } from '../support/report';

/** Posts in flight at once: one per keep-alive connection. */
const CLIENTS = 128;
/** Committed tx/s the node must reach on SQLite on this 2-core machine. */
const TARGET_TPS = 3000;
/** Distinct owners (keys) the transactions are spread over. */
const OWNERS = 1000;

/** The load generator, in a process of its own. */
class LoadGenerator {
  readonly #child: ChildProcess;
  #waiting: ((reply: LoadReply) => void) | null = null;
  #failed: ((error: Error) => void) | null = null;

  constructor() {
    // Only the profiling flags are passed on: the child compiles with ts-node itself.
    const profiling = process.execArgv.filter((flag) => flag.startsWith('--cpu-prof') || flag === '--prof');
    this.#child = fork(join(__dirname, '../support/node-load.ts'), [], { execArgv: [...profiling, '-r', 'ts-node/register/transpile-only'], stdio: 'inherit' });
    this.#child.on('message', (message: LoadReply | { type: 'error'; message: string }) => {
      if (message.type === 'error') this.#failed?.(new Error(`load generator: ${message.message}`));
      else this.#waiting?.(message);
    });
    this.#child.on('exit', (code) => this.#failed?.(new Error(`load generator exited (${code})`)));
  }

  ask<T extends LoadReply['type']>(request: LoadRequest): Promise<Extract<LoadReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.#waiting = resolve as (reply: LoadReply) => void;
      this.#failed = reject;
      this.#child.send(request);
    });
  }

  close(): void {
    this.#failed = null;
    this.#child.disconnect();
  }
}

/**
 * The node's log, kept: its one line per block says how many transactions the block holds
 * and how long its commitBlock took (`ms`), which tells how much of the node's time the
 * database's commit is.
 */
class BlockLog {
  readonly #blocks = new Map<number, { transactions: number; ms: number }>();
  readonly logger = pino({ level: 'info' }, {
    write: (line: string) => {
      const record = JSON.parse(line) as { msg?: string; height?: number; transactions?: number; ms?: number };
      if (record.msg === 'block committed') this.#blocks.set(record.height!, { transactions: record.transactions!, ms: record.ms! });
    },
  });

  /** The blocks above `from` up to `to`, as logged. */
  between(from: number, to: number): { transactions: number; ms: number }[] {
    const blocks = [];
    for (let height = from + 1; height <= to; height += 1) {
      const block = this.#blocks.get(height);
      if (!block) throw new Error(`block ${height} was committed but not logged`);
      blocks.push(block);
    }
    return blocks;
  }
}

const mean = (values: readonly number[]) => values.reduce((total, value) => total + value, 0) / Math.max(1, values.length);

export async function nodeSection(engines: readonly EngineName[], quick: boolean): Promise<Section> {
  const creates = quick ? 3_000 : 30_000;
  const warmup = quick ? 1_000 : 5_000;
  const rows: Row[] = [];
  const targets: Target[] = [];
  const load = new LoadGenerator();
  let sizes = { createBytes: 0, transferBytes: 0 };
  try {
    const ready = await load.ask<'ready'>({ type: 'prepare', creates, warmup, owners: OWNERS });
    sizes = ready;
    for (const engine of engines) {
      const { conn, close } = await openLayer(engine);
      const log = new BlockLog();
      const node = await startNode({ connection: conn, host: '127.0.0.1', port: 0, wsPort: 0, logger: log.logger });
      try {
        // The warm-up CREATEs: the node's code compiled and its caches filled before measuring.
        await load.ask<'done'>({ type: 'run', url: node.url, kind: 'warmup', clients: CLIENTS });
        for (const kind of ['create', 'transfer'] as const) {
          const before = (await query.getLatestBlock(conn))?.height ?? 0;
          const load1 = loadavg()[0];
          const cpu = process.cpuUsage();
          const done = await load.ask<'done'>({ type: 'run', url: node.url, kind, clients: CLIENTS });
          const used = process.cpuUsage(cpu);
          const after = (await query.getLatestBlock(conn))?.height ?? 0;
          if (done.committed !== done.posted) {
            throw new Error(`node bench on ${engine}: ${done.posted - done.committed} of ${done.posted} ${kind} posts were not committed: ${JSON.stringify(done.failures)}`);
          }
          const logged = log.between(before, after);
          const blocks = logged.map((block) => block.transactions);
          const commitMs = logged.reduce((total, block) => total + block.ms, 0);
          const tps = done.committed / done.seconds;
          const operation = kind === 'create' ? 'CREATE' : 'TRANSFER';
          rows.push({
            engine,
            transactions: `${done.committed.toLocaleString('en')} ${operation}`,
            'tx/s': Math.round(tps),
            'p50 (ms)': round(percentile(done.latencies, 50)),
            'p99 (ms)': round(percentile(done.latencies, 99)),
            blocks: blocks.length,
            'tx per block: mean / p50 / max': `${Math.round(mean(blocks))} / ${percentile(blocks, 50)} / ${Math.max(...blocks)}`,
            'commitBlock: µs per tx / share of the run': `${Math.round((commitMs * 1000) / done.committed)} / ${Math.round((commitMs / (done.seconds * 1000)) * 100)}%`,
            'node CPU': `${Math.round(((used.user + used.system) / 1000 / (done.seconds * 1000)) * 100)}%`,
            'load generator CPU': `${Math.round((done.cpuMs / (done.seconds * 1000)) * 100)}%`,
            'load (1 min) before': round(load1, 2),
          });
          if (engine === 'sqlite') targets.push({ name: `node on sqlite, committed ${operation}s per second`, value: Math.round(tps), kind: 'min', bound: TARGET_TPS });
        }
      } finally {
        await node.close();
        await close();
      }
    }
  } finally {
    load.close();
  }
  return {
    id: 'node',
    title: 'Node: transactions committed over HTTP',
    method:
      `The node (startNode, server/) on a fresh database: SQLite a file in a temporary folder with the embedded default's settings (WAL, synchronous FULL), PostgreSQL a database of its own. Another process posts transactions signed beforehand with the official driver (bigchaindb-driver) in \`mode=commit\` from ${CLIENTS} concurrent keep-alive HTTP clients: ${warmup.toLocaleString('en')} warm-up CREATEs (not measured), then ${creates.toLocaleString('en')} CREATEs (${sizes.createBytes} bytes of JSON each on average: asset data and metadata, as in BigchainDB's tests), then as many TRANSFERs (${sizes.transferBytes} bytes), each spending the output of one of those committed CREATEs. Owners: ${OWNERS.toLocaleString('en')} Ed25519 keys. tx/s: committed posts over the time from the first post to the last answer; latency: from a post sent to its 202 answer (its block committed). CPU: process time over wall time (100% = one of the machine's cores). commitBlock: the time the node's block log reports for each block's \`query.commitBlock\`, per committed transaction and as a share of the run's wall time (on SQLite the commit runs on the backend's commit thread, so the event loop serves posts meanwhile; blocks are committed one after another, so that share is how much of the run a commit was under way).`,
    columns: ['engine', 'transactions', 'tx/s', 'p50 (ms)', 'p99 (ms)', 'blocks', 'tx per block: mean / p50 / max', 'commitBlock: µs per tx / share of the run', 'node CPU', 'load generator CPU', 'load (1 min) before'],
    rows,
    targets,
    notes: [
      "BigchainDB's own published figure, for comparison: BEP-23 reports a 4-node network finalizing 300 to 1,000 transactions per second (1 million transactions in 26 minutes, about 640 tx/s). That is 4 validators with Tendermint consensus over a network; this node is a single validator, so the figures compare the cost of a node's own work, not of consensus.",
      'Every check BigchainDB makes is made: the id hash, the transaction schema, each fulfillment verified (Ed25519, natively), the ledger checks (duplicate, inputs exist and are unspent, asset id, amounts) when the post arrives and again when its block is built.',
    ],
  };
}

/**
 * Crashes of the node: `chainstore serve` as a child process on an SQLite file and on
 * PostgreSQL, under load (concurrent clients posting pre-signed CREATEs and TRANSFERs in
 * commit mode), killed with SIGKILL at a random moment, restarted on the same ledger.
 *
 * What a 202 promises across a crash, by mode:
 *   - `async` and `sync` (the same in this node: the checks of BigchainDB's check_tx are
 *     done before either answers): the transaction passed every check and is queued, in
 *     the node's memory only. A crash before its block commits loses it: post it again.
 *   - `commit`: its block is committed, as durable as the database's commit (SQLite with
 *     synchronous=FULL, the default; PostgreSQL's COMMIT). A crash keeps it.
 *   - no answer (the node died first): either. Posting it again is safe: a transaction
 *     already stored is refused (DuplicateTransaction for a CREATE, DoubleSpend for a
 *     TRANSFER), one that is not is stored now, and none is ever stored twice.
 * This spec checks the commit-mode promises; async and sync promise nothing a crash could test.
 *
 * After every restart: every transaction answered 202 is stored, exactly as posted; no
 * block is partial (each block's transactions are all stored, every stored transaction is
 * in exactly one block, none twice); heights run from 0 without a gap and the app hashes
 * chain; `GET /api/v1/outputs` (all, spent, unspent) and the UTXO set agree with the
 * stored transactions. Then every transaction whose answer never came is posted again,
 * and the same checks run once more.
 *
 * `npm test` makes 5 kills per engine; CHAINSTORE_NODE_KILLS changes it (`npm run
 * test:reliability` makes 50). CHAINSTORE_NODE_SEED replays a run's kill plan (the timing
 * still varies); CHAINSTORE_RELIABILITY_VERBOSE prints one line per kill.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'chai';
import { type Connection, admin, connect, query } from '../../lib';
import { nextAppHash } from '../../server/hashing';
import { NodeProcess } from '../node/child';
import { type Keypair, type SignedTx, keypair, output, signedCreate, signedTransfer } from '../node/signed';
import { randomSource } from '../support/ledger-model';
import { POSTGRES_URL, connectPostgres, skipWithoutPostgres, truncateAll } from '../support/postgres';

const KILLS = Number(process.env.CHAINSTORE_NODE_KILLS || 5);
const SEED = process.env.CHAINSTORE_NODE_SEED ? Number(process.env.CHAINSTORE_NODE_SEED) : undefined;
const VERBOSE = Boolean(process.env.CHAINSTORE_RELIABILITY_VERBOSE);
/** Clients posting at once, each one transaction at a time. */
const CLIENTS = 8;
/** Transactions each client has signed for a life of the node (it stops at the kill). */
const STEPS = 100;
/** Every fifth transaction of a client is a new CREATE; the others pass its coin on. */
const CREATE_EVERY = 5;

interface Engine {
  readonly name: 'sqlite' | 'postgres';
  readonly available: (this: Mocha.Context) => Promise<void>;
  /** An empty ledger: the node's `--url`, a way to read it, and a way to throw it away. */
  readonly ledger: () => Promise<{ url: string; connect(): Promise<Connection>; destroy(): void; where: string }>;
}

const ENGINES: readonly Engine[] = [
  {
    name: 'sqlite',
    available: async () => undefined,
    ledger: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'chainstore-node-crash-'));
      const file = join(dir, 'ledger.db');
      return { url: `sqlite:${file}`, connect: () => connect({ backend: 'sqlite', name: file }), destroy: () => rmSync(dir, { recursive: true, force: true }), where: file };
    },
  },
  {
    name: 'postgres',
    available: skipWithoutPostgres,
    ledger: async () => {
      // Emptied through a connection closed at once: a writer left open would make the
      // node's recover() wait for it. The spec reads the ledger without writing.
      const conn = await connectPostgres();
      await truncateAll(conn).finally(() => conn.close());
      return { url: POSTGRES_URL, connect: connectPostgres, destroy: () => undefined, where: 'the PostgreSQL test database' };
    },
  },
];

/** What became of a transaction signed for a client. */
type Fate = 'unsent' | 'in flight' | 'answered' | 'unanswered';

interface Posted {
  readonly tx: SignedTx;
  readonly life: number;
  fate: Fate;
}

interface RunResult {
  kills: number;
  /** Kills with commit-mode posts still unanswered. */
  killsUnderLoad: number;
  answered: number;
  unanswered: number;
  /** Unanswered posts whose transaction was stored anyway (the kill came between commit and reply). */
  storedUnanswered: number;
  blocks: number;
  transactions: number;
  /** Restarts that rolled back a commit (never, with the engines' atomic commitBlock). */
  rollbacks: number;
  problems: string[];
  durationMs: number;
  seed: number;
}

for (const engine of ENGINES) {
  describe(`node crashes on ${engine.name}: chainstore serve killed with SIGKILL under commit-mode load`, function () {
    // A kill costs a restart (2-3 s, ts-node compiling the node), the load until the kill,
    // and two checks that read the whole ledger, so later kills cost more than the first
    // (50 kills on PostgreSQL measured 5-6 s a kill at first and over 10 s by the end).
    this.timeout(60_000 + KILLS * 20_000);

    before(async function () {
      await engine.available.call(this);
    });

    // A run cut short by mocha's timeout leaves its node running (the test's promise is
    // abandoned, not cancelled), and a node left on the ledger would disturb every later
    // spec that uses the same database.
    after(async () => {
      for (const node of live) if (node.running) await node.signal('SIGKILL');
      live.clear();
    });

    it(`keeps every commit-mode 202 and every ledger invariant through ${KILLS} kills, and a re-post of each unanswered transaction stores it once`, async () => {
      const result = await runNodeCrashes(engine, KILLS, SEED, VERBOSE ? (line) => console.log(`      ${line}`) : () => undefined);
      console.log(
        `      ${engine.name}: ${result.kills} kills (${result.killsUnderLoad} with posts unanswered), ${result.answered} answered 202, ` +
          `${result.unanswered} unanswered (${result.storedUnanswered} of them stored anyway), ${result.blocks} blocks, ${result.transactions} transactions, ` +
          `${result.rollbacks} rollbacks, ${result.problems.length} problems, ${(result.durationMs / 1000).toFixed(1)} s, seed ${result.seed}`,
      );
      expect(result.problems).to.deep.equal([]);
      expect(result.kills).to.equal(KILLS);
      expect(result.killsUnderLoad, 'kills that came while posts were unanswered').to.be.above(0);
      expect(result.answered, 'posts answered 202').to.be.above(KILLS);
    });
  });
}

/** Every node process a run started that may still be running, for the `after` hook. */
const live = new Set<NodeProcess>();

async function runNodeCrashes(engine: Engine, kills: number, seed = Math.floor(Math.random() * 2 ** 31), log: (line: string) => void): Promise<RunResult> {
  const started = Date.now();
  const random = randomSource(seed);
  const ledger = await engine.ledger();
  const result: RunResult = {
    kills: 0, killsUnderLoad: 0, answered: 0, unanswered: 0, storedUnanswered: 0,
    blocks: 0, transactions: 0, rollbacks: 0, problems: [], durationMs: 0, seed,
  };
  const clients = Array.from({ length: CLIENTS }, () => [keypair(), keypair(), keypair()]);
  const posted = new Map<string, Posted>();
  let node: NodeProcess | null = null;
  // Restarted on the same ports too, as a supervisor does: a port left behind by the killed
  // node would show.
  let ports: { port: number; wsPort: number } | undefined;

  try {
    for (let life = 0; life <= kills && result.problems.length === 0; life++) {
      node = await NodeProcess.start({ url: ledger.url, ...ports });
      live.add(node);
      ports = { port: node.port, wsPort: node.wsPort };
      await node.ready(60_000);
      if (node.stdoutLines.some((line) => line.includes('rolled back a commit'))) result.rollbacks++;
      const where = life === 0 ? 'at the start' : `after kill ${life}`;
      if (life > 0) {
        await check(where);
        await repostUnanswered(node, where);
        await check(`${where}, the unanswered re-posted`);
      }
      if (life === kills) break;

      // Load, and a kill after a random number of answers (and a few ms more).
      const plans = clients.map((keys, index) => plan(keys, index, life).map((tx): Posted => ({ tx, life, fate: 'unsent' })));
      for (const entry of plans.flat()) posted.set(entry.tx.id, entry);
      const killAfter = Math.floor(random() * CLIENTS * STEPS * 0.8);
      const delay = random() < 0.4 ? 0 : random() * 5;
      let answers = 0;
      let killed = false;
      let killing: Promise<unknown> | null = null;
      const running = node;
      const kill = () =>
        (killing ??= new Promise((done) => setTimeout(done, delay)).then(() => {
          killed = true;
          return running.signal('SIGKILL');
        }));
      const onAnswer = () => {
        if (++answers >= killAfter) void kill();
      };
      if (killAfter === 0) void kill();
      const loads = plans.map((entries) => load(running, entries, () => killed, onAnswer, result.problems));
      // Clients that ran out of transactions before the kill: kill now.
      await Promise.all(loads).then(kill);
      const exit = await running.exited;
      if (exit.signal !== 'SIGKILL') result.problems.push(`life ${life}: the node exited by itself (${JSON.stringify(exit)}): ${running.output()}`);
      result.kills++;
      const unanswered = [...posted.values()].filter((p) => p.life === life && p.fate === 'unanswered').length;
      if (unanswered > 0) result.killsUnderLoad++;
      log(`${engine.name} kill ${life + 1}: after ${answers} answers (+${delay.toFixed(1)} ms), ${unanswered} posts unanswered`);
      node = null;
    }
    // A clean stop at the end.
    if (node) {
      const exit = await node.signal('SIGTERM');
      if (exit.code !== 0) result.problems.push(`the last node exited ${JSON.stringify(exit)} on SIGTERM: ${node.output()}`);
    }
  } catch (error) {
    result.problems.push(`the run failed: ${error instanceof Error ? error.stack : String(error)}${node ? `\n${node.output()}` : ''}`);
  } finally {
    if (node?.running) await node.signal('SIGKILL');
    const fates = [...posted.values()];
    result.answered = fates.filter((p) => p.fate === 'answered').length;
    result.durationMs = Date.now() - started;
    if (result.problems.length === 0) ledger.destroy();
    else result.problems.push(`ledger kept: ${ledger.where}`);
  }
  return result;

  /** The checks of the header, on the ledger as the restarted node serves it. */
  async function check(when: string): Promise<void> {
    const found = await checkLedger(ledger, node!, posted, clients.flat());
    result.problems.push(...found.problems.map((problem) => `${when}: ${problem}`));
    result.blocks = found.height;
    result.transactions = found.stored;
  }

  /** Posts again every transaction whose answer never came: stored already (refused as such) or stored now. */
  async function repostUnanswered(running: NodeProcess, when: string): Promise<void> {
    const conn = await ledger.connect();
    try {
      for (const entry of posted.values()) {
        if (entry.fate !== 'unanswered') continue;
        result.unanswered++;
        const { tx } = entry;
        const wasStored = (await query.getBlockWithTransaction(conn, tx.id)).length > 0;
        if (wasStored) result.storedUnanswered++;
        const response = await fetch(`${running.url}transactions?mode=commit`, { method: 'POST', body: JSON.stringify(tx) });
        const body = (await response.json()) as { message?: string };
        const refusal =
          tx.operation === 'CREATE'
            ? `Invalid transaction (DuplicateTransaction): transaction \`${tx.id}\` already exists`
            : `Invalid transaction (DoubleSpend): input \`${tx.inputs[0].fulfills.transaction_id}\` was already spent`;
        if (wasStored && (response.status !== 400 || body.message !== refusal)) {
          result.problems.push(`${when}: re-posting ${tx.operation} ${tx.id}, stored before, answered ${response.status} ${JSON.stringify(body)}, not 400 ${refusal}`);
        } else if (!wasStored && response.status !== 202) {
          result.problems.push(`${when}: re-posting ${tx.operation} ${tx.id}, not stored, answered ${response.status} ${JSON.stringify(body)}, not 202`);
        }
        entry.fate = 'answered';
      }
    } finally {
      await conn.close();
    }
  }
}

/**
 * A client's transactions for one life of the node, signed in advance: a CREATE of a coin
 * (100 to its first key, 1 to its second), then TRANSFERs passing the 100 around its three
 * keys, then the next CREATE.
 */
function plan(keys: Keypair[], client: number, life: number): SignedTx[] {
  const txs: SignedTx[] = [];
  let coin: SignedTx | null = null;
  let holder = 0;
  for (let step = 0; step < STEPS; step++) {
    if (!coin || step % CREATE_EVERY === 0) {
      coin = signedCreate(keys[0], { client, life, step }, [output(keys[0].publicKey, '100'), output(keys[1].publicKey, '1')]);
      holder = 0;
    } else {
      const next = (holder + 1) % keys.length;
      coin = signedTransfer(coin, 0, keys[holder], [output(keys[next].publicKey, '100')]);
      holder = next;
    }
    txs.push(coin);
  }
  return txs;
}

/**
 * One client: posts its transactions one at a time in commit mode (a TRANSFER only once the
 * transaction it spends was answered 202), until one gets no answer or the node is killed.
 * Any answer but 202 with the transaction echoed is a problem.
 */
async function load(node: NodeProcess, entries: Posted[], killed: () => boolean, onAnswer: () => void, problems: string[]): Promise<void> {
  for (const entry of entries) {
    if (killed()) return;
    const { tx } = entry;
    entry.fate = 'in flight';
    let status = 0;
    let text: string;
    try {
      const response = await fetch(`${node.url}transactions?mode=commit`, { method: 'POST', body: JSON.stringify(tx) });
      status = response.status;
      text = await response.text();
    } catch {
      // A 202 whose body was cut still says the block was committed.
      entry.fate = status === 202 ? 'answered' : 'unanswered';
      return;
    }
    if (status !== 202 || !isDeepStrictEqual(JSON.parse(text), tx)) {
      entry.fate = 'unanswered';
      problems.push(`${tx.operation} ${tx.id} was answered ${status} ${text}`);
      return;
    }
    entry.fate = 'answered';
    onAnswer();
  }
}

/**
 * The ledger as `node` serves it after a restart, against what the clients posted; returns
 * every broken invariant, the latest height and how many transactions are stored.
 */
async function checkLedger(
  ledger: { connect(): Promise<Connection> },
  node: NodeProcess,
  posted: ReadonlyMap<string, Posted>,
  keys: readonly Keypair[],
): Promise<{ problems: string[]; height: number; stored: number }> {
  const problems: string[] = [];
  const conn = await ledger.connect();
  try {
    const latest = await query.getLatestBlock(conn);
    if (!latest) return { problems: ['there is no block at all, not even the genesis block'], height: 0, stored: 0 };

    // Heights from 0 without a gap, app hashes chained, every block whole, no transaction twice.
    const blockOf = new Map<string, number>();
    let appHash = '';
    for (let height = 0; height <= latest.height; height++) {
      const block = await query.getBlock(conn, height);
      if (!block) {
        problems.push(`there is no block at height ${height}, below the latest ${latest.height}`);
        continue;
      }
      if (height > 0 && block.app_hash !== nextAppHash(appHash, block.transactions)) problems.push(`the app hash of block ${height} does not chain`);
      if (height > 0 && block.transactions.length === 0) problems.push(`block ${height} is empty`);
      appHash = block.app_hash;
      for (const id of block.transactions) {
        if (blockOf.has(id)) problems.push(`transaction ${id} is in block ${blockOf.get(id)} and in block ${height}`);
        else blockOf.set(id, height);
      }
      const stored = await query.getTransactions(conn, block.transactions);
      if (stored.length !== new Set(block.transactions).size) problems.push(`block ${height} is partial: ${stored.length} of its ${block.transactions.length} transactions are stored`);
      for (const tx of stored) {
        const entry = posted.get(tx.id);
        if (!entry) problems.push(`block ${height} holds ${tx.id}, which no client posted`);
        else if (!isDeepStrictEqual(tx, entry.tx)) problems.push(`${tx.id} is stored as ${JSON.stringify(tx)}, it was posted as ${JSON.stringify(entry.tx)}`);
      }
    }
    // Every stored transaction is in a block: the table holds exactly what the blocks list.
    const { transactions } = await admin.countRecords(conn);
    if (transactions !== blockOf.size) problems.push(`${transactions} transactions are stored, the blocks list ${blockOf.size}`);

    for (const { tx, fate } of posted.values()) {
      if (fate === 'answered' && !blockOf.has(tx.id)) problems.push(`${tx.operation} ${tx.id} was answered 202 and is not stored`);
      if (fate === 'unsent' && blockOf.has(tx.id)) problems.push(`${tx.operation} ${tx.id} was never posted and is stored`);
    }

    // The outputs the API lists, and the UTXO set, as the stored transactions imply them.
    const storedTxs = [...blockOf.keys()].flatMap((id) => posted.get(id)?.tx ?? []);
    const spent = new Set(storedTxs.flatMap((tx) => tx.inputs.flatMap((input: { fulfills: { transaction_id: string; output_index: number } | null }) => (input.fulfills ? [`${input.fulfills.transaction_id}:${input.fulfills.output_index}`] : []))));
    for (const { publicKey } of keys) {
      const owned = storedTxs.flatMap((tx) => tx.outputs.flatMap((out: { public_keys: string[] }, index: number) => (out.public_keys.includes(publicKey) ? [`${tx.id}:${index}`] : []))).sort();
      const unspent = owned.filter((ref) => !spent.has(ref));
      const expected: [string, string[]][] = [['', owned], ['&spent=true', owned.filter((ref) => spent.has(ref))], ['&spent=false', unspent]];
      for (const [flag, want] of expected) {
        const response = await fetch(`${node.url}outputs?public_key=${publicKey}${flag}`);
        const body = (await response.json()) as { transaction_id: string; output_index: number }[];
        const got = response.status === 200 ? body.map((ref) => `${ref.transaction_id}:${ref.output_index}`).sort() : [`answer ${response.status}`];
        if (!isDeepStrictEqual(got, want)) problems.push(`GET outputs?public_key=${publicKey}${flag} lists ${JSON.stringify(got)}, the stored transactions imply ${JSON.stringify(want)}`);
      }
      const utxos = (await query.getUnspentOutputs(conn, { public_key: publicKey })).map((utxo) => `${utxo.transaction_id}:${utxo.output_index}`).sort();
      if (!isDeepStrictEqual(utxos, unspent)) problems.push(`the UTXO set of ${publicKey} is ${JSON.stringify(utxos)}, the stored transactions imply ${JSON.stringify(unspent)}`);
    }
    return { problems, height: latest.height, stored: blockOf.size };
  } finally {
    await conn.close();
  }
}

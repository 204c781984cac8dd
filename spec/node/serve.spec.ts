/**
 * `chainstore serve` as an operator runs it: a child process on free ports, on an SQLite
 * file and on PostgreSQL (with a password in its URL, which trust authentication ignores).
 * The official driver posts and reads through it; the start-up line on stderr names both
 * URLs; stdout holds one JSON log line per block; no password shows in any output; SIGTERM
 * and SIGINT with commit-mode posts pending answer every one of them and exit 0, and a
 * restart finds every transaction answered 202; a second node on a taken port says so in
 * one line and exits 1; and `npm start` runs `serve` on the default backend.
 */
import * as http from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { WebSocket } from 'ws';
import { POSTGRES_URL, connectPostgres, skipWithoutPostgres, truncateAll } from '../support/postgres';
import { NodeProcess, ROOT, cleanEnv, sleep } from './child';
import { type Answer, type SignedTx, DriverConnection, keypair, output, postWithHttp, signedCreate, signedTransfer } from './signed';

/** The password in the PostgreSQL URL: trust authentication ignores it, no output may show it. */
const PASSWORD = 'Wq4zRt8nKp2x';

interface ServeEngine {
  readonly name: 'sqlite' | 'postgres';
  readonly available: (this: Mocha.Context) => Promise<void>;
  /** A `--url` for an empty ledger. */
  readonly emptyLedger: () => Promise<string>;
  /** What no output may contain. */
  readonly secret?: string;
}

let dir: string;
let files = 0;

const ENGINES: readonly ServeEngine[] = [
  { name: 'sqlite', available: async () => undefined, emptyLedger: async () => `sqlite:${join(dir, `ledger-${++files}.db`)}` },
  {
    name: 'postgres',
    available: skipWithoutPostgres,
    emptyLedger: async () => {
      // Emptied through a connection closed before the node starts: an open writer would
      // make the node's recover() wait for it.
      const conn = await connectPostgres();
      await truncateAll(conn).finally(() => conn.close());
      const url = new URL(POSTGRES_URL);
      url.password = PASSWORD;
      return url.toString();
    },
    secret: PASSWORD,
  },
];

/** Every node a test started, stopped after it whatever happened. */
const started: NodeProcess[] = [];
async function spawnNode(...args: Parameters<typeof NodeProcess.start>): Promise<NodeProcess> {
  const node = await NodeProcess.start(...args);
  started.push(node);
  return node;
}

function expectNoSecret(engine: ServeEngine, ...nodes: NodeProcess[]): void {
  if (!engine.secret) return;
  for (const node of nodes) {
    const printed = `${node.stdoutLines.join('\n')}\n${node.stderr}`;
    expect(printed, 'the output shows the password').to.not.include(engine.secret);
  }
}

async function until(condition: () => boolean, what: string, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function get(agent: http.Agent, port: number, path: string): Promise<number> {
  return new Promise((done, fail) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (response) => {
        response.resume();
        response.on('end', () => done(response.statusCode!));
      })
      .on('error', fail);
  });
}

describe('node: chainstore serve as a child process', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'chainstore-serve-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await Promise.all(started.splice(0).map((node) => node.stop()));
  });

  for (const engine of ENGINES) {
    describe(`chainstore serve on ${engine.name}, as a child process`, function () {
      this.timeout(90_000);

      before(async function () {
        await engine.available.call(this);
      });

      it('serves the driver, names both URLs on stderr, logs one JSON line per block on stdout, and shows no password', async () => {
        const node = await spawnNode({ url: await engine.emptyLedger() });
        await node.ready();
        const driver = new DriverConnection(node.url);
        const [alice, bob] = [keypair(), keypair()];

        const coin = signedCreate(alice, { serve: 'coin' }, [output(alice.publicKey, '2')]);
        expect((await driver.postTransactionCommit(coin)).id).to.equal(coin.id);
        expect(await driver.getTransaction(coin.id)).to.deep.equal(coin);
        const move = signedTransfer(coin, 0, alice, [output(bob.publicKey, '2')]);
        expect((await driver.postTransactionCommit(move)).id).to.equal(move.id);
        expect(await driver.getTransaction(move.id)).to.deep.equal(move);
        const more = Array.from({ length: 6 }, (_, n) => signedCreate(bob, { serve: n }));
        await Promise.all(more.map((tx) => driver.postTransactionCommit(tx)));

        // What the blocks hold, read through the driver.
        const counts = new Map<number, number>();
        for (const tx of [coin, move, ...more]) {
          const heights: number[] = await driver.listBlocks(tx.id);
          expect(heights, `blocks listing ${tx.id}`).to.have.length(1);
          counts.set(heights[0], (counts.get(heights[0]) ?? 0) + 1);
        }
        for (const [height, n] of counts) expect((await driver.getBlock(height)).transactions, `block ${height}`).to.have.length(n);

        expect(await node.signal('SIGTERM')).to.deep.equal({ code: 0, signal: null });
        const line = node.stderr.split('\n').find((text) => text.includes(' API '));
        expect(line, node.stderr).to.include(`http://localhost:${node.port}/api/v1/`);
        expect(line).to.include(`ws://localhost:${node.wsPort}/api/v1/streams/valid_transactions`);

        // Every stdout line is a JSON record; one per block, in height order, each with its size and time.
        const records = node.logRecords();
        const serving = records.find((record) => record.msg === 'chainstore node serving');
        expect(serving?.height, 'the genesis block on an empty ledger').to.equal(0);
        const blocks = records.filter((record) => record.msg === 'block committed');
        expect(blocks.map((record) => record.height)).to.deep.equal([...counts.keys()].sort((a, b) => a - b));
        expect(blocks.map((record) => record.height)).to.deep.equal(blocks.map((_, index) => index + 1));
        for (const record of blocks) {
          expect(record.transactions, JSON.stringify(record)).to.equal(counts.get(record.height as number));
          expect(record.ms, JSON.stringify(record)).to.be.a('number').and.at.least(0);
        }
        expectNoSecret(engine, node);
      });

      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        it(`on ${signal} with commit-mode posts pending: answers every one (202 committed, or 503 refused), exits 0, and a restart has every 202`, async () => {
          const url = await engine.emptyLedger();
          // Small blocks, so that many posts are still waiting when the signal comes.
          const node = await spawnNode({ url, args: ['--max-block-size', '4'] });
          await node.ready();
          const alice = keypair();
          const txs = Array.from({ length: 200 }, (_, n) => signedCreate(alice, { signal, n }));
          const agent = new http.Agent({ keepAlive: true, maxSockets: txs.length, maxFreeSockets: txs.length });
          let answers: PromiseSettledResult<Answer>[];
          let signalled: number;
          let exit;
          try {
            // Every socket opened first and kept (maxFreeSockets): each post goes over a connection
            // the node has accepted. A connection still in the kernel's accept queue when the node
            // closes its listener is reset, never seen by the node.
            await Promise.all(txs.map(() => get(agent, node.port, '/api/v1/')));
            const posts = txs.map((tx) => postWithHttp(agent, node.port, tx));
            await Promise.all(posts.map((post) => post.sent));
            await until(() => node.stdoutLines.some((text) => text.includes('block committed')), 'the first block');
            signalled = performance.now();
            exit = await node.signal(signal);
            answers = await Promise.all(posts.map((post) => post.answer.then((value) => ({ status: 'fulfilled' as const, value }), (reason) => ({ status: 'rejected' as const, reason }))));
          } finally {
            agent.destroy();
          }

          const unanswered = answers.flatMap((answer, index) => (answer.status === 'rejected' ? [`${txs[index].id}: ${answer.reason}`] : []));
          expect(unanswered, 'posts that got no answer').to.deep.equal([]);
          const got = answers.map((answer) => (answer as PromiseFulfilledResult<Answer>).value);
          const statuses = got.map((answer) => answer.status);
          expect([...new Set(statuses)].filter((status) => status !== 202 && status !== 503), 'statuses other than 202 and 503').to.deep.equal([]);
          expect(got.filter((answer) => answer.at > signalled).length, 'posts answered after the signal').to.be.above(0);
          got.forEach((answer, index) => {
            if (answer.status === 202) expect(answer.body).to.deep.equal(txs[index]);
            else expect(answer.body).to.deep.equal({ status: 503, message: 'The node is shutting down: the transaction was not committed' });
          });
          expect(exit, node.output()).to.deep.equal({ code: 0, signal: null });
          expect(node.stderr).to.include(`${signal}: finishing the block in flight and the pending posts`);
          expect(node.logRecords().at(-1)?.msg).to.equal('chainstore node stopped');

          // Restarted on the same ledger: exactly the posts answered 202 are stored.
          const restarted = await spawnNode({ url });
          await restarted.ready();
          const driver = new DriverConnection(restarted.url);
          for (const [index, tx] of txs.entries()) {
            const stored: SignedTx | null = await driver.getTransaction(tx.id).catch((error: { status?: string }) => {
              if (error.status === '404 NOT FOUND') return null;
              throw error;
            });
            if (statuses[index] === 202) expect(stored, `${tx.id}, answered 202`).to.deep.equal(tx);
            else expect(stored, `${tx.id}, answered 503`).to.equal(null);
          }
          expect(await restarted.signal('SIGTERM')).to.deep.equal({ code: 0, signal: null });
          expectNoSecret(engine, node, restarted);
          console.log(`      ${signal}: ${statuses.filter((s) => s === 202).length} answered 202, ${statuses.filter((s) => s === 503).length} answered 503`);
        });
      }

      it('a second signal during the shutdown ends the node at once (the first one waits for a stalled stream client)', async () => {
        const node = await spawnNode({ url: await engine.emptyLedger(), args: ['--shutdown-timeout', '5000'] });
        await node.ready();
        // A stream client that stops reading: the shutdown gives it a second to answer the
        // close frame, which is the window for the second signal.
        const client = new WebSocket(`ws://127.0.0.1:${node.wsPort}/api/v1/streams/valid_transactions`);
        try {
          await new Promise((opened, failed) => client.once('open', opened).once('error', failed));
          (client as unknown as { _socket: { pause(): void } })._socket.pause();
          node.child.kill('SIGTERM');
          await until(() => node.stderr.includes('a second signal stops at once'), 'the shutdown message');
          node.child.kill('SIGINT');
          expect(await node.exited, node.output()).to.deep.equal({ code: null, signal: 'SIGINT' });
        } finally {
          client.terminate();
        }
        expectNoSecret(engine, node);
      });

      it('a second node on a taken port exits 1 with one line saying which port is in use, and no stack trace', async () => {
        // The first node on a ledger of its own: on PostgreSQL, a second node on the same
        // database would first wait for the first one's writer lease.
        const first = await spawnNode({ url: `sqlite:${join(dir, `ledger-${++files}.db`)}` });
        await first.ready();
        const url = await engine.emptyLedger();
        for (const [flag, taken] of [
          ['--port', { port: first.port }],
          ['--ws-port', { wsPort: first.wsPort }],
        ] as const) {
          const second = await spawnNode({ url, ...taken });
          const exit = await Promise.race([second.exited, sleep(30_000).then(() => 'still running')]);
          expect(exit, second.output()).to.deep.equal({ code: 1, signal: null });
          const lines = second.stderr.trimEnd().split('\n');
          expect(lines, second.stderr).to.have.length(1);
          expect(lines[0]).to.match(/^chainstore serve: /);
          expect(lines[0]).to.include(flag);
          expect(lines[0]).to.include(String(flag === '--port' ? first.port : first.wsPort));
          expect(lines[0]).to.match(/in use/);
          expectNoSecret(engine, second);
        }
        // The first node is untouched.
        expect((await fetch(first.url)).status).to.equal(200);
        expect(await first.signal('SIGTERM')).to.deep.equal({ code: 0, signal: null });
      });
    });
  }

  describe('npm start', function () {
    this.timeout(90_000);

    it('is `chainstore serve` on the default backend, takes --port and --ws-port after --, and serves the ledger CHAINSTORE_DATABASE_URL names', async () => {
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
      const words = pkg.scripts.start.split(/\s+/);
      expect(words.slice(-2), pkg.scripts.start).to.deep.equal(['lib/cli.ts', 'serve']);
      expect(words, 'no backend or URL fixed in the script').to.not.include.members(['--backend', '--url']);

      const file = join(dir, 'npm-start.db');
      const node = await NodeProcess.start({ command: { file: 'npm', args: ['start', '--'] }, env: cleanEnv({ CHAINSTORE_DATABASE_URL: `sqlite:${file}` }) });
      try {
        await node.ready(60_000);
        const driver = new DriverConnection(node.url);
        const tx = signedCreate(keypair(), { npm: 'start' });
        expect((await driver.postTransactionCommit(tx)).id).to.equal(tx.id);
        expect(await driver.getTransaction(tx.id)).to.deep.equal(tx);
        const serving = node.logRecords().find((record) => record.msg === 'chainstore node serving');
        expect(serving).to.include({ backend: 'sqlite', location: file, api: `http://localhost:${node.port}/api/v1/` });
        expect(existsSync(file)).to.equal(true);
      } finally {
        await node.stop();
      }
      expect(node.logRecords().at(-1)?.msg, node.output()).to.equal('chainstore node stopped');
    });
  });
});

/**
 * The block producer under concurrent posts, through the HTTP API: conflicting spends
 * (exactly one wins), many concurrent commit-mode posts (each stored once, in contiguous
 * blocks with chained app hashes), a transaction already pending, and shutdown while posts
 * are pending (each is answered, and what was answered 202 is stored).
 */
import { expect } from 'chai';
import * as bigchaindb from 'bigchaindb-driver';
import { type Connection, query } from '../../lib';
import { type RunningNode, startNode } from '../../server';
import { listHash } from '../../server/hashing';
import { NODE_ENGINES, startTestNode } from './support';

/* eslint-disable @typescript-eslint/no-explicit-any */
const { Ed25519Keypair, Transaction: Driver } = bigchaindb as any;
type Keypair = { publicKey: string; privateKey: string };
type Tx = { id: string; [field: string]: any };

const output = (key: string, amount = '1') => Driver.makeOutput(Driver.makeEd25519Condition(key), amount);
const create = (owner: Keypair, n: number): Tx =>
  Driver.signTransaction(Driver.makeCreateTransaction({ n, salt: Math.random() }, { note: `tx ${n}` }, [output(owner.publicKey)], owner.publicKey), owner.privateKey);
const spend = (coin: Tx, from: Keypair, to: Keypair): Tx =>
  Driver.signTransaction(Driver.makeTransferTransaction([{ tx: coin, output_index: 0 }], [output(to.publicKey)], { to: to.publicKey }), from.privateKey);

async function post(url: string, tx: Tx, mode = 'commit') {
  const response = await fetch(`${url}transactions?mode=${mode}`, { method: 'POST', body: JSON.stringify(tx) });
  return { status: response.status, body: (await response.json()) as any };
}

/** Every block from genesis to the latest: contiguous, app hashes chained, each transaction once. */
async function checkChain(conn: Connection): Promise<string[]> {
  const latest = (await query.getLatestBlock(conn))!;
  let appHash = '';
  const seen: string[] = [];
  for (let height = 0; height <= latest.height; height++) {
    const block = (await query.getBlock(conn, height))!;
    expect(block, `block ${height}`).to.not.equal(null);
    if (height > 0) appHash = block.transactions.length ? listHash([appHash, listHash(block.transactions)]) : appHash;
    expect(block.app_hash, `app hash of block ${height}`).to.equal(appHash);
    seen.push(...block.transactions);
  }
  expect(new Set(seen).size, 'a transaction in two blocks').to.equal(seen.length);
  return seen;
}

for (const engine of NODE_ENGINES) {
  describe(`node: block production on ${engine.name}`, function () {
    this.timeout(60_000);
    let node: RunningNode;
    const alice: Keypair = new Ed25519Keypair();
    const bob: Keypair = new Ed25519Keypair();
    const carol: Keypair = new Ed25519Keypair();

    before(async function () {
      await engine.available.call(this);
      node = await startTestNode(engine);
    });
    after(async () => node?.close());

    it('of two concurrent spends of one output, commits exactly one and answers the other 400 or 500', async () => {
      for (let round = 0; round < 10; round++) {
        const coin = create(alice, round);
        expect((await post(node.url, coin)).status).to.equal(202);
        const [toBob, toCarol] = [spend(coin, alice, bob), spend(coin, alice, carol)];
        const answers = await Promise.all([post(node.url, toBob), post(node.url, toCarol)]);
        const statuses = answers.map((answer) => answer.status).sort();
        expect(statuses[0], `round ${round}: ${JSON.stringify(answers)}`).to.equal(202);
        // Refused at the door when the other is committed first; dropped from the block when both got in.
        expect([400, 500]).to.include(statuses[1]);
        const loser = answers.find((answer) => answer.status !== 202)!;
        expect(loser.body.message).to.be.oneOf(['Transaction validation failed', `Invalid transaction (DoubleSpend): input \`${coin.id}\` was already spent`]);
        const stored = await query.getTransactions(node.connection, [toBob.id, toCarol.id]);
        expect(stored).to.have.length(1);
        expect(await query.getSpent(node.connection, coin.id, 0)).to.have.length(1);
      }
      await checkChain(node.connection);
    });

    it('stores each of 200 concurrent commit-mode posts once, in blocks that share the load', async () => {
      const txs = Array.from({ length: 200 }, (_, n) => create(alice, 1000 + n));
      const answers = await Promise.all(txs.map((tx) => post(node.url, tx)));
      expect(answers.map((answer) => answer.status)).to.deep.equal(txs.map(() => 202));
      answers.forEach((answer, index) => expect(answer.body).to.deep.equal(txs[index]));
      const heights = new Set<number>();
      for (const tx of txs) {
        const found = await query.getBlockWithTransaction(node.connection, tx.id);
        expect(found, tx.id).to.have.length(1);
        heights.add(found[0]);
      }
      // Group commit: the posts gathered into fewer blocks than transactions.
      expect(heights.size).to.be.lessThan(txs.length);
      const inChain = await checkChain(node.connection);
      for (const tx of txs) expect(inChain.filter((id) => id === tx.id)).to.have.length(1);
    });

    it('of one transaction posted several times at once (checked against the ledger together), commits one and refuses the others', async () => {
      const tx = create(bob, 9000);
      const answers = await Promise.all(Array.from({ length: 4 }, () => post(node.url, tx)));
      expect(answers.filter((answer) => answer.status === 202)).to.have.length(1);
      for (const answer of answers.filter((each) => each.status !== 202)) {
        expect(answer.status).to.equal(400);
        expect(answer.body.message).to.be.oneOf([
          'Internal error - Tx already exists in cache',
          `Invalid transaction (DuplicateTransaction): transaction \`${tx.id}\` already exists`,
        ]);
      }
      expect(await query.getBlockWithTransaction(node.connection, tx.id)).to.have.length(1);
    });

    it('refuses a re-post while the first is pending with Tendermint\'s "Tx already exists in cache"', async () => {
      // Many async posts keep the producer busy; the last one is re-posted at once.
      const txs = Array.from({ length: 300 }, (_, n) => create(bob, 5000 + n));
      const first = await Promise.all(txs.map((tx) => post(node.url, tx, 'async')));
      expect(first.every((answer) => answer.status === 202)).to.equal(true);
      const again = await post(node.url, txs[txs.length - 1], 'async');
      expect(again.status).to.equal(400);
      expect(again.body.message).to.be.oneOf([
        'Internal error - Tx already exists in cache',
        `Invalid transaction (DuplicateTransaction): transaction \`${txs[txs.length - 1].id}\` already exists`,
      ]);
      // Either way, stored once.
      for (let tries = 0; tries < 500 && (await query.getBlockWithTransaction(node.connection, txs[txs.length - 1].id)).length === 0; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(await query.getBlockWithTransaction(node.connection, txs[txs.length - 1].id)).to.have.length(1);
    });
  });

  describe(`node: shutdown with posts pending on ${engine.name}`, function () {
    this.timeout(60_000);

    before(async function () {
      await engine.available.call(this);
    });

    it('answers every pending post (202 committed, or 503 refused), and stores exactly those answered 202', async () => {
      const conn = await engine.emptyLedger();
      try {
        const node = await startNode({ connection: conn, port: 0, wsPort: 0, host: '127.0.0.1', logger: false, maxBlockSize: 20 });
        const alice: Keypair = new Ed25519Keypair();
        const txs = Array.from({ length: 150 }, (_, n) => create(alice, n));
        const answers = Promise.all(
          txs.map((tx) =>
            post(node.url, tx).then(
              (answer) => answer.status,
              () => 0,
            ),
          ),
        );
        // Close while the posts are in flight (the first blocks commit meanwhile).
        await new Promise((resolve) => setTimeout(resolve, 30));
        await node.close();
        const statuses = await answers;
        for (const status of statuses) expect([202, 503, 0]).to.include(status);
        const committed = txs.filter((_, index) => statuses[index] === 202).map((tx) => tx.id);
        const stored = (await query.getTransactions(conn, txs.map((tx) => tx.id))).map((tx) => tx.id);
        expect(stored.sort()).to.deep.equal(committed.sort());
        // Nothing is left half-done: a restart finds nothing to recover.
        const restarted = await startNode({ connection: conn, port: 0, wsPort: 0, host: '127.0.0.1', logger: false });
        await restarted.close();
        await checkChain(conn);
      } finally {
        await conn.close();
      }
    });
  });
}

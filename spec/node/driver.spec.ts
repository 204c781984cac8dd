/**
 * The official JavaScript driver (`bigchaindb-driver`, the published package) against a
 * chainstore node, on SQLite and PostgreSQL: the scenarios of the driver's own integration
 * tests (every post mode, TRANSFERs with one and several inputs, delegated signing, the
 * output lists, text search, blocks, transaction lists), each read right after the commit
 * reply, plus re-posting, as the driver does after a network error.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import bs58 from 'bs58';
import { Ed25519Sha256 } from 'crypto-conditions';
import * as bigchaindb from 'bigchaindb-driver';
import type { RunningNode } from '../../server';
import { NODE_ENGINES, startTestNode } from './support';

// The driver's type declarations refuse calls its own tests make (metadata objects, string
// spent flags); the specs use it as JavaScript does.
/* eslint-disable @typescript-eslint/no-explicit-any */
const { Connection, Ed25519Keypair, Transaction: Driver } = bigchaindb as any;
type Connection = any;
type Ed25519Keypair = { publicKey: string; privateKey: string };
type DriverTx = { id: string; [field: string]: any };

const ed25519 = (key: string) => Driver.makeEd25519Condition(key);
const output = (key: string, amount = '1') => Driver.makeOutput(ed25519(key), amount);
const uniqueAsset = () => ({ message: `asset ${Math.random().toString(36).slice(2)}`, kind: 'integration' });
const metadata = { message: 'metaDataMessage' };

function create(owner: Ed25519Keypair, outputs = [output(owner.publicKey)], asset: object = uniqueAsset()): DriverTx {
  return Driver.signTransaction(Driver.makeCreateTransaction(asset, metadata, outputs, owner.publicKey), owner.privateKey);
}

/** A signer for `delegateSignTransaction`: signs each input with the keys among its owners. */
function delegatedSigner(...keys: Ed25519Keypair[]) {
  return (serialized: string, input: { fulfills: { transaction_id: string; output_index: number } | null; owners_before: string[] }) => {
    const message = input.fulfills ? `${serialized}${input.fulfills.transaction_id}${input.fulfills.output_index}` : serialized;
    const hash = createHash('sha3-256').update(message).digest();
    const fulfillment = new Ed25519Sha256();
    for (const key of keys.filter((k) => input.owners_before.includes(k.publicKey))) {
      fulfillment.sign(hash, Buffer.from(bs58.decode(key.privateKey)));
    }
    return fulfillment.serializeUri();
  };
}

for (const engine of NODE_ENGINES) {
  describe(`node: the official driver on ${engine.name}`, function () {
    this.timeout(30_000);
    let node: RunningNode;
    let conn: Connection;
    const alice = new Ed25519Keypair();
    const bob = new Ed25519Keypair();

    before(async function () {
      await engine.available.call(this);
      node = await startTestNode(engine);
      conn = new Connection(node.url);
    });
    after(async () => node?.close());

    it('posts a CREATE with postTransaction (commit mode) and reads it back whole', async () => {
      const tx = create(alice);
      const answer = await conn.postTransaction(tx);
      expect(answer).to.deep.equal(tx);
      expect(await conn.getTransaction(tx.id)).to.deep.equal(tx);
    });

    for (const mode of ['Async', 'Sync', 'Commit'] as const) {
      it(`posts a CREATE with postTransaction${mode}: 202 with the transaction echoed, then committed`, async () => {
        const tx = create(alice);
        const answer = await conn[`postTransaction${mode}`](tx);
        expect(answer).to.deep.equal(tx);
        if (mode !== 'Commit') await waitUntilCommitted(conn, tx.id);
        expect(await conn.getTransaction(tx.id)).to.deep.equal(tx);
      });
    }

    it('posts a CREATE signed with delegateSignTransaction', async () => {
      const tx = Driver.delegateSignTransaction(Driver.makeCreateTransaction(uniqueAsset(), metadata, [output(alice.publicKey)], alice.publicKey), delegatedSigner(alice));
      expect((await conn.postTransactionCommit(tx)).id).to.equal(tx.id);
    });

    it('posts a TRANSFER with one Ed25519 input', async () => {
      const coin = create(alice);
      await conn.postTransactionCommit(coin);
      const transfer = Driver.signTransaction(Driver.makeTransferTransaction([{ tx: coin, output_index: 0 }], [output(bob.publicKey)], { to: 'bob' }), alice.privateKey);
      expect((await conn.postTransactionCommit(transfer)).id).to.equal(transfer.id);
      expect(await conn.listTransactions(coin.id)).to.deep.equal([coin, transfer]);
      expect(await conn.listTransactions(coin.id, 'TRANSFER')).to.deep.equal([transfer]);
    });

    it('posts a TRANSFER with two inputs from one transaction (outputs of alice and bob)', async () => {
      const coin = create(alice, [output(alice.publicKey), output(bob.publicKey)]);
      await conn.postTransactionCommit(coin);
      const transfer = Driver.signTransaction(
        Driver.makeTransferTransaction([{ tx: coin, output_index: 0 }, { tx: coin, output_index: 1 }], [output(alice.publicKey, '2')], metadata),
        alice.privateKey,
        bob.privateKey,
      );
      expect((await conn.postTransactionCommit(transfer)).id).to.equal(transfer.id);
    });

    it('posts a TRANSFER with two inputs from two transactions of one asset', async () => {
      const coin = create(alice, [output(alice.publicKey), output(bob.publicKey)]);
      await conn.postTransactionCommit(coin);
      const toCarol = Driver.signTransaction(Driver.makeTransferTransaction([{ tx: coin, output_index: 0 }], [output(alice.publicKey)], metadata), alice.privateKey);
      const toDave = Driver.signTransaction(Driver.makeTransferTransaction([{ tx: coin, output_index: 1 }], [output(bob.publicKey)], metadata), bob.privateKey);
      await Promise.all([conn.postTransactionCommit(toCarol), conn.postTransactionCommit(toDave)]);
      const merged = Driver.signTransaction(
        Driver.makeTransferTransaction([{ tx: toCarol, output_index: 0 }, { tx: toDave, output_index: 0 }], [output(alice.publicKey, '2')], metadata),
        alice.privateKey,
        bob.privateKey,
      );
      expect((await conn.postTransactionCommit(merged)).id).to.equal(merged.id);
    });

    it('posts a TRANSFER with two inputs signed with delegateSignTransaction', async () => {
      const coin = create(alice, [output(alice.publicKey), output(bob.publicKey)]);
      await conn.postTransactionCommit(coin);
      const transfer = Driver.delegateSignTransaction(
        Driver.makeTransferTransaction([{ tx: coin, output_index: 0 }, { tx: coin, output_index: 1 }], [output(alice.publicKey, '2')], metadata),
        delegatedSigner(alice, bob),
      );
      expect((await conn.postTransactionCommit(transfer)).id).to.equal(transfer.id);
    });

    describe('listOutputs', () => {
      const carol = new Ed25519Keypair();
      let coin: DriverTx;

      before(async function () {
        if (!node) this.skip();
        // Three outputs of carol's; the middle one is then spent.
        coin = create(carol, [output(carol.publicKey), output(carol.publicKey), output(carol.publicKey)]);
        await conn.postTransactionCommit(coin);
        const spend = Driver.signTransaction(Driver.makeTransferTransaction([{ tx: coin, output_index: 1 }], [output(bob.publicKey)], metadata), carol.privateKey);
        await conn.postTransactionCommit(spend);
      });

      it('lists every output of a key without spent', async () => {
        expect(await conn.listOutputs(carol.publicKey)).to.deep.equal([0, 1, 2].map((output_index) => ({ transaction_id: coin.id, output_index })));
      });
      it("lists the unspent ones with spent 'false'", async () => {
        expect(await conn.listOutputs(carol.publicKey, 'false')).to.deep.equal([0, 2].map((output_index) => ({ transaction_id: coin.id, output_index })));
      });
      it('lists the spent ones with spent true', async () => {
        expect(await conn.listOutputs(carol.publicKey, true)).to.deep.equal([{ transaction_id: coin.id, output_index: 1 }]);
      });
    });

    it('finds an asset by a word of it, and metadata by its message, right after the commit', async () => {
      const asset = uniqueAsset();
      const tx = create(alice, undefined, asset);
      await conn.postTransactionCommit(tx);
      expect(await conn.searchAssets(asset.message)).to.deep.include({ id: tx.id, data: asset });
      const found = (await conn.searchMetadata('metaDataMessage')) as { id: string; metadata: unknown }[];
      expect(found.length).to.be.greaterThan(0);
      expect(found[0]).to.have.keys('id', 'metadata');
    });

    it('lists the blocks of a transaction, and getBlock lists it', async () => {
      const tx = create(alice);
      await conn.postTransactionCommit(tx);
      const heights = (await conn.listBlocks(tx.id)) as number[];
      expect(heights).to.have.length(1);
      const block = (await conn.getBlock(heights[0])) as unknown as { height: number; transactions: DriverTx[] };
      expect(block.height).to.equal(heights[0]);
      expect(block.transactions.map((t) => t.id)).to.include(tx.id);
    });

    it('lists the transactions of an asset: its CREATE alone', async () => {
      const tx = create(alice);
      await conn.postTransactionCommit(tx);
      expect(await conn.listTransactions(tx.id)).to.deep.equal([tx]);
    });

    it("reports an unknown API path as '404 NOT FOUND' with the request's URI", async () => {
      const wrong = new Connection(node.url.replace('/api/v1/', '/api/wrong/'));
      const error = await wrong.getTransaction('transactionId').then(
        () => null,
        (e: { status: string; requestURI: string }) => e,
      );
      expect(error?.status).to.equal('404 NOT FOUND');
      expect(error?.requestURI).to.equal(`${node.url.replace('/api/v1/', '/api/wrong/')}transactions/transactionId`);
    });

    it('stores a re-posted transaction once: the second post is refused, in every mode', async () => {
      const tx = create(alice);
      await conn.postTransactionCommit(tx);
      for (const mode of ['Async', 'Sync', 'Commit'] as const) {
        const error = await conn[`postTransaction${mode}`](tx).then(
          () => null,
          (e: { status: string }) => e,
        );
        expect(error?.status).to.equal('400 BAD REQUEST');
      }
      expect(await conn.listBlocks(tx.id)).to.have.length(1);
      expect(await conn.listTransactions(tx.id)).to.deep.equal([tx]);
    });
  });
}

/** Polls until the node has committed `id` (after an async or sync post). */
async function waitUntilCommitted(conn: Connection, id: string): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    if ((await conn.listBlocks(id)).length) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`transaction ${id} was never committed`);
}

/**
 * Every reason the node refuses a transaction, with BigchainDB's status line and exact
 * body: the checks of the transaction on its own (id, schema, fulfillments, amounts) and
 * against the ledger (duplicates, missing and spent inputs, asset ids, amounts, signatures).
 * Nothing refused is stored.
 */
import { expect } from 'chai';
import * as bigchaindb from 'bigchaindb-driver';
import type { RunningNode } from '../../server';
import { transactionId } from '../../server';
import { NODE_ENGINES, startTestNode } from './support';

/* eslint-disable @typescript-eslint/no-explicit-any */
const { Ed25519Keypair, Transaction: Driver } = bigchaindb as any;
type Keypair = { publicKey: string; privateKey: string };
type Tx = { id: string; [field: string]: any };

const output = (key: string, amount = '1') => Driver.makeOutput(Driver.makeEd25519Condition(key), amount);
const create = (owner: Keypair, outputs = [output(owner.publicKey)], asset: object = { n: Math.random() }): Tx =>
  Driver.signTransaction(Driver.makeCreateTransaction(asset, { note: 'validation' }, outputs, owner.publicKey), owner.privateKey);
/** A TRANSFER signed by `signer` on every input (the driver takes one key per input). */
const transfer = (inputs: { tx: Tx; output_index: number }[], outputs: unknown[], signer: Keypair): Tx =>
  Driver.signTransaction(Driver.makeTransferTransaction(inputs, outputs, null), ...inputs.map(() => signer.privateKey));

/** A copy of `tx` changed by `change`, with its id made right again (its signatures are not). */
function changed(tx: Tx, change: (copy: any) => void): Tx {
  const copy = structuredClone(tx);
  change(copy);
  copy.id = transactionId(copy);
  return copy;
}

const refusal = (message: string) => ({ status: 400, statusText: 'BAD REQUEST', body: { status: 400, message } });

for (const engine of NODE_ENGINES) {
  describe(`node: validation on ${engine.name}`, function () {
    this.timeout(30_000);
    let node: RunningNode;
    const alice: Keypair = new Ed25519Keypair();
    const bob: Keypair = new Ed25519Keypair();

    before(async function () {
      await engine.available.call(this);
      node = await startTestNode(engine);
    });
    after(async () => node?.close());

    async function post(body: unknown, mode = 'commit') {
      const response = await fetch(`${node.url}transactions?mode=${mode}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      return { status: response.status, statusText: response.statusText, body: (await response.json()) as any };
    }
    async function committed(tx: Tx): Promise<Tx> {
      expect((await post(tx)).status).to.equal(202);
      return tx;
    }
    async function expectNotStored(tx: Tx) {
      expect((await fetch(`${node.url}transactions/${tx.id}`)).status).to.equal(404);
    }

    describe('the transaction on its own', () => {
      it('refuses a body that is not a JSON object', async () => {
        expect(await post('[1, 2]')).to.deep.equal(refusal('Invalid transaction (ValidationError): a transaction is a JSON object'));
        expect(await post('"tx"')).to.deep.equal(refusal('Invalid transaction (ValidationError): a transaction is a JSON object'));
      });
      it('refuses a transaction without an id', async () => {
        const { id: _id, ...tx } = create(alice);
        expect(await post(tx)).to.deep.equal(refusal('Invalid transaction (InvalidHash): No transaction id found!'));
      });
      it('refuses an id that is not the hash of the body', async () => {
        const tx = { ...create(alice), metadata: { note: 'changed after signing' } };
        expect(await post(tx)).to.deep.equal(refusal(`Invalid transaction (InvalidHash): The transaction's id '${tx.id}' isn't equal to the hash of its body, i.e. it's not valid.`));
        await expectNotStored(tx);
      });
      it('refuses what fails the schema, with jsonschema\'s message', async () => {
        const tx = changed(create(alice), (copy) => delete copy.version);
        expect(await post(tx)).to.deep.equal(refusal("Invalid transaction schema: 'version' is a required property"));
      });
      it('refuses a fulfillment that does not parse', async () => {
        const tx = changed(create(alice), (copy) => (copy.inputs[0].fulfillment = 'bm90IGEgZnVsZmlsbG1lbnQ'));
        expect(await post(tx)).to.deep.equal(refusal("Invalid transaction (InvalidSignature): Fulfillment URI couldn't been parsed"));
      });
      it('refuses an amount of 0 and one above 9e18', async () => {
        const zero = changed(create(alice), (copy) => (copy.outputs[0].amount = '0'));
        expect(await post(zero)).to.deep.equal(refusal('Invalid transaction (AmountError): `amount` must be greater than 0'));
        const huge = changed(create(alice), (copy) => (copy.outputs[0].amount = '9000000000000000001'));
        expect(await post(huge)).to.deep.equal(refusal('Invalid transaction (AmountError): `amount` must be <= 9000000000000000000'));
        const largest = create(alice, [output(alice.publicKey, '9000000000000000000')]);
        expect((await post(largest)).status).to.equal(202);
      });
      it('refuses a string with half a surrogate pair, which has no UTF-8 form', async () => {
        const tx = changed(create(alice), (copy) => (copy.metadata = { note: 'half \ud83d of a pair' }));
        const answer = await post(JSON.stringify(tx));
        expect(answer.status).to.equal(400);
        expect(answer.body.message).to.equal('Invalid transaction (ValidationError): metadata.note holds a lone UTF-16 surrogate (half of a pair), which has no UTF-8 form: its id cannot be computed');
        await expectNotStored(tx);
      });
      it('refuses a body that is not JSON with Werkzeug\'s answer', async () => {
        expect(await post('{"id":')).to.deep.equal({ status: 400, statusText: 'BAD REQUEST', body: { message: 'The browser (or proxy) sent a request that this server could not understand.' } });
      });
      it('refuses a bad mode before reading the body', async () => {
        expect(await post('not even JSON', 'fast')).to.deep.equal({ status: 400, statusText: 'BAD REQUEST', body: { message: { mode: 'Mode must be "async", "sync" or "commit"' } } });
      });
    });

    describe('against the ledger', () => {
      it('refuses a CREATE whose signature is not over its body', async () => {
        // Changed after signing, with the id made right again: only the signature is wrong.
        const tx = changed(create(alice), (copy) => (copy.metadata = { note: 'changed after signing' }));
        expect(await post(tx)).to.deep.equal(refusal('Invalid transaction (InvalidSignature): Transaction signature is invalid.'));
        await expectNotStored(tx);
      });
      it("accepts a CREATE signed by a key other than its owners_before, as BigchainDB does (a CREATE's signer is not compared)", async () => {
        const tx = Driver.signTransaction(Driver.makeCreateTransaction({ n: Math.random() }, null, [output(alice.publicKey)], alice.publicKey), bob.privateKey);
        expect((await post(tx)).status).to.equal(202);
      });
      it('refuses a CREATE already committed, in every mode', async () => {
        const tx = await committed(create(alice));
        for (const mode of ['async', 'sync', 'commit']) {
          expect(await post(tx, mode)).to.deep.equal(refusal(`Invalid transaction (DuplicateTransaction): transaction \`${tx.id}\` already exists`));
        }
      });
      it('refuses a TRANSFER of an input that does not exist (not committed, or no such output)', async () => {
        const coin = create(alice);
        const spend = transfer([{ tx: coin, output_index: 0 }], [output(bob.publicKey)], alice);
        expect(await post(spend)).to.deep.equal(refusal(`Invalid transaction (InputDoesNotExist): input \`${coin.id}\` doesn't exist`));
        await committed(coin);
        const beyond = changed(spend, (copy) => (copy.inputs[0].fulfills.output_index = 5));
        expect(await post(beyond)).to.deep.equal(refusal(`Invalid transaction (InputDoesNotExist): input \`${coin.id}\` has no output 5`));
      });
      it('refuses a TRANSFER of a spent output', async () => {
        const coin = await committed(create(alice));
        await committed(transfer([{ tx: coin, output_index: 0 }], [output(bob.publicKey)], alice));
        const again = transfer([{ tx: coin, output_index: 0 }], [output(alice.publicKey)], alice);
        expect(await post(again)).to.deep.equal(refusal(`Invalid transaction (DoubleSpend): input \`${coin.id}\` was already spent`));
        await expectNotStored(again);
      });
      it('refuses a TRANSFER that spends one output twice', async () => {
        const coin = await committed(create(alice, [output(alice.publicKey, '2')]));
        const twice = transfer([{ tx: coin, output_index: 0 }, { tx: coin, output_index: 0 }], [output(bob.publicKey, '4')], alice);
        expect(await post(twice)).to.deep.equal(refusal(`Invalid transaction (DoubleSpend): tx "${twice.id}" spends inputs twice`));
      });
      it('refuses amounts that do not add up', async () => {
        const coin = await committed(create(alice, [output(alice.publicKey, '10')]));
        const more = transfer([{ tx: coin, output_index: 0 }], [output(bob.publicKey, '11')], alice);
        expect(await post(more)).to.deep.equal(refusal('Invalid transaction (AmountError): The amount used in the inputs `10` needs to be same as the amount used in the outputs `11`'));
      });
      it('refuses a TRANSFER naming another asset, and inputs of two assets', async () => {
        const [first, second] = [await committed(create(alice)), await committed(create(alice))];
        const named = changed(transfer([{ tx: first, output_index: 0 }], [output(bob.publicKey)], alice), (copy) => (copy.asset.id = second.id));
        expect(await post(named)).to.deep.equal(refusal('Invalid transaction (AssetIdMismatch): The asset id of the input does not match the asset id of the transaction'));
        const mixed = transfer([{ tx: first, output_index: 0 }, { tx: second, output_index: 0 }], [output(bob.publicKey, '2')], alice);
        expect(await post(mixed)).to.deep.equal(refusal('Invalid transaction (AssetIdMismatch): All inputs of all transactions passed need to have the same asset id'));
      });
      it("refuses a TRANSFER signed by a key that does not own the spent output", async () => {
        const coin = await committed(create(alice));
        const theft = changed(transfer([{ tx: coin, output_index: 0 }], [output(bob.publicKey)], alice), (copy) => (copy.inputs[0].owners_before = [bob.publicKey]));
        // Re-signed by bob over the changed body: a valid signature for the wrong condition.
        const signed = Driver.signTransaction({ ...theft, id: null, inputs: theft.inputs.map((input: any) => ({ ...input, fulfillment: null })) }, bob.privateKey);
        expect(await post(signed)).to.deep.equal(refusal('Invalid transaction (InvalidSignature): Transaction signature is invalid.'));
        await expectNotStored(signed);
      });
      it('refuses operations other than CREATE and TRANSFER (a single validator holds no elections)', async () => {
        const vote = changed(create(alice), (copy) => (copy.operation = 'VALIDATOR_ELECTION'));
        const answer = await post(vote);
        expect(answer.status).to.equal(400);
        expect(answer.body.message).to.match(/^Invalid transaction \((ValidationError|SchemaValidationError)\)|^Invalid transaction schema: /);
      });
    });
  });
}

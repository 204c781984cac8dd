/**
 * BigchainDB's v2.0 transaction schema and the messages Python's jsonschema gives for it
 * (`best_match`, jsonschema's wording, Python reprs of the instance).
 */
import { expect } from 'chai';
import * as bigchaindb from 'bigchaindb-driver';
import { pyRepr } from '../../server/pyrepr';
import { transactionSchemaError } from '../../server/schema';

/* eslint-disable @typescript-eslint/no-explicit-any */
const { Ed25519Keypair, Transaction: Driver } = bigchaindb as any;
const alice = new Ed25519Keypair();
const output = (amount = '1') => Driver.makeOutput(Driver.makeEd25519Condition(alice.publicKey), amount);
const createTx = Driver.signTransaction(Driver.makeCreateTransaction({ coin: 'café' }, { note: 1 }, [output('5')], alice.publicKey), alice.privateKey);
const transferTx = Driver.signTransaction(Driver.makeTransferTransaction([{ tx: createTx, output_index: 0 }], [output('5')], null), alice.privateKey);
const changed = (tx: any, change: (copy: any) => void) => {
  const copy = structuredClone(tx);
  change(copy);
  return copy;
};

describe('node: the v2.0 transaction schema', () => {
  it("accepts the driver's CREATE and TRANSFER, a null id and null public keys", () => {
    expect(transactionSchemaError(createTx)).to.equal(null);
    expect(transactionSchemaError(transferTx)).to.equal(null);
    expect(transactionSchemaError({ ...createTx, id: null })).to.equal(null);
    expect(transactionSchemaError(changed(createTx, (tx) => (tx.outputs[0].public_keys = null)))).to.equal(null);
  });

  const cases: [string, (tx: any) => void, string, any?][] = [
    ['a missing version', (tx) => delete tx.version, "'version' is a required property"],
    ['a property of its own', (tx) => (tx.foo = 1), "Additional properties are not allowed ('foo' was unexpected)"],
    ['version 1.0', (tx) => (tx.version = '1.0'), "'1.0' does not match '^2\\\\.0$'"],
    ['an unknown operation', (tx) => (tx.operation = 'BURN'), "'BURN' is not one of ['CREATE', 'TRANSFER', 'VALIDATOR_ELECTION', 'CHAIN_MIGRATION_ELECTION', 'VOTE']"],
    ['empty metadata', (tx) => (tx.metadata = {}), '{} does not have enough properties'],
    ['an amount given as a number', (tx) => (tx.outputs[0].amount = 5), "5 is not of type 'string'"],
    ['a fractional amount', (tx) => (tx.outputs[0].amount = '1.5'), "'1.5' does not match '^[0-9]{1,20}$'"],
    ['an id that is not hex', (tx) => (tx.id = 'xyz'), "'xyz' does not match '[0-9a-f]{64}'"],
    ['a condition uri of another type', (tx) => (tx.outputs[0].condition.uri = 'ni:///sha-256;abc?fpt=preimage-sha-256&cost=3'), "'ni:///sha-256;abc?fpt=preimage-sha-256&cost=3' does not match '^ni:///sha-256;([a-zA-Z0-9_-]{0,86})[?](fpt=(ed25519|threshold)-sha-256(&)?|cost=[0-9]+(&)?|subtypes=ed25519-sha-256(&)?){2,3}$'"],
    // best_match goes into the anyOf's deepest error, and the Ed25519 branch's comes first:
    // jsonschema's answer, however unhelpful.
    ['a threshold of 101', (tx) => (tx.outputs[0].condition.details = { type: 'threshold-sha-256', threshold: 101, subconditions: [] }), "'threshold-sha-256' does not match '^ed25519-sha-256$'"],
    ['a threshold of 0 in an input', (tx) => (tx.inputs[0].fulfillment = { type: 'threshold-sha-256', threshold: 0, subconditions: [] }), "'threshold-sha-256' does not match '^ed25519-sha-256$'"],
  ];
  for (const [what, change, message] of cases) {
    it(`refuses ${what}: ${message}`, () => {
      expect(transactionSchemaError(changed(createTx, change))).to.equal(message);
    });
  }

  it('refuses a CREATE with two inputs, or one that spends an output', () => {
    const two = changed(createTx, (tx) => tx.inputs.push(tx.inputs[0]));
    expect(transactionSchemaError(two)).to.equal(`${pyRepr(two.inputs)} is too long`);
    const spending = changed(createTx, (tx) => (tx.inputs[0].fulfills = { transaction_id: createTx.id, output_index: 0 }));
    expect(transactionSchemaError(spending)).to.equal(`${pyRepr(spending.inputs[0].fulfills)} is not of type 'null'`);
  });

  it('refuses a TRANSFER with asset data, or without inputs', () => {
    expect(transactionSchemaError(changed(transferTx, (tx) => (tx.asset = { id: createTx.id, data: {} })))).to.equal("Additional properties are not allowed ('data' was unexpected)");
    expect(transactionSchemaError(changed(transferTx, (tx) => (tx.inputs = [])))).to.equal('[] is too short');
  });
});

describe('node: Python reprs in schema messages', () => {
  it('writes values as Python does', () => {
    expect(pyRepr({ a: [true, false, null], b: 'x' })).to.equal("{'a': [True, False, None], 'b': 'x'}");
    expect(pyRepr("it's")).to.equal('"it\'s"');
    expect(pyRepr('say "it\'s"')).to.equal("'say \"it\\'s\"'");
    expect(pyRepr('tab\tnew\nline\u0001 café ☕')).to.equal("'tab\\tnew\\nline\\x01 café ☕'");
    expect(pyRepr('back\\slash')).to.equal("'back\\\\slash'");
    expect([1.5, 7, 1e21, 1e-5, 0.001, -2].map(pyRepr)).to.deep.equal(['1.5', '7', '1e+21', '1e-05', '0.001', '-2']);
  });
});

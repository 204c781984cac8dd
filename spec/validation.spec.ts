import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { Connection, type Generic, MAX_BATCH, type Transaction, ValidationError, connect, isGeneric, query } from '../lib';
import type { GenericSignature } from '../lib/dispatch';
import { MAX_NESTING, type RecordKind, validate, validateBatch } from '../lib/model';

// ---------------------------------------------------------------------------
// Fixtures: records in the BigchainDB v2.0 shape
// ---------------------------------------------------------------------------

/** A transaction id: 64 lowercase hex characters (a SHA3-256 in BigchainDB; any 64 hex here). */
const txid = (seed: string) => createHash('sha256').update(seed).digest('hex');

const ALICE = '3kwCHu8t7ZYYh2wYDtWWhWxQxrUQBSBC6Xai6RiQFbJW';
const BOB = 'JEAkEJqLbbgDRAtMm8YAjGp759Aq2qTn9eaEHUj2XePE';
const CAROL = '8Lcjsnh1EgCBzyEr1PBkQxSDAVsF8A9AzEaqq45sJQDB';

const ed25519 = (publicKey: string) => ({
  details: { type: 'ed25519-sha-256', public_key: publicKey },
  uri: 'ni:///sha-256;PNYwdxaRaNw60N6LDFzOWO97b8tJeragczakL8PrAPc?fpt=ed25519-sha-256&cost=131072',
});
const FULFILLMENT =
  'pGSAIDE5i63cn4X8T8N1sZ2mGkJD5lNRnBM4PZgI_zvzbr-cgUCy4BR6gKaYT-tdyAGPPpknIqI4JYQQ-p2nCg3_9BfOI-15vzldhyz-j_LZVpqAlRmbTzKS-Q5gs7ZIFaZCA_UD';

const CREATE_ID = txid('create');

const CREATE: Transaction = {
  id: CREATE_ID,
  version: '2.0',
  operation: 'CREATE',
  asset: { data: { bicycle: { serial_number: 'abcd1234', manufacturer: 'bkfab' } } },
  metadata: { planet: 'earth' },
  inputs: [{ owners_before: [ALICE], fulfills: null, fulfillment: FULFILLMENT }],
  outputs: [{ public_keys: [ALICE], amount: '1', condition: ed25519(ALICE) }],
};

const TRANSFER: Transaction = {
  id: txid('transfer'),
  version: '2.0',
  operation: 'TRANSFER',
  asset: { id: CREATE_ID },
  metadata: null,
  inputs: [{ owners_before: [ALICE], fulfills: { transaction_id: CREATE_ID, output_index: 0 }, fulfillment: FULFILLMENT }],
  outputs: [
    {
      public_keys: [BOB, CAROL],
      amount: '1',
      condition: {
        details: { type: 'threshold-sha-256', threshold: 2, subconditions: [ed25519(BOB).details, ed25519(CAROL).details] },
        uri: 'ni:///sha-256;xTeBhQj7ae5Tym7cp83fwtkesQnhdwNwDEMIYTEvpDY?fpt=threshold-sha-256&cost=264192&subtypes=ed25519-sha-256',
      },
    },
  ],
};

const ELECTION_ID = txid('validator election');

const VALIDATOR_ELECTION: Transaction = {
  id: ELECTION_ID,
  version: '2.0',
  operation: 'VALIDATOR_ELECTION',
  asset: {
    data: {
      public_key: { value: 'zL9GPuPtwcnYANoBPbsWwnMJrUcBaEvQb5zGeVgGnmnb', type: 'ed25519-base58' },
      power: 10,
      node_id: '82190eb6396bdd80b83aef0e4d3e9b9ca5ffd9d9',
      seed: 'cf8e4e2d-8d59-4d3a-9c6f-9a2b1e0e8f5c',
    },
  },
  metadata: null,
  inputs: [{ owners_before: [ALICE], fulfills: null, fulfillment: { type: 'ed25519-sha-256', public_key: ALICE } }],
  outputs: [{ public_keys: [ALICE], amount: '10', condition: ed25519(ALICE) }],
};

const VOTE: Transaction = {
  id: txid('vote'),
  version: '2.0',
  operation: 'VOTE',
  asset: { id: ELECTION_ID },
  metadata: null,
  inputs: [{ owners_before: [ALICE], fulfills: { transaction_id: ELECTION_ID, output_index: 0 }, fulfillment: FULFILLMENT }],
  outputs: [{ public_keys: [BOB], amount: '10', condition: ed25519(BOB) }],
};

const BLOCK = { height: 1, app_hash: '0A7E9C1B5D', transactions: [CREATE_ID, TRANSFER.id] };
const UTXO = { transaction_id: CREATE_ID, output_index: 0, amount: '1', asset_id: CREATE_ID, condition_uri: ed25519(ALICE).uri };
const REF = { transaction_id: CREATE_ID, output_index: 0 };

/** A deep copy of `record` changed by `change`. */
function changed<T>(record: T, change: (copy: any) => void): T {
  const copy = structuredClone(record);
  change(copy);
  return copy;
}

/** The ValidationError that `run` throws (fails if it throws something else or nothing). */
function validationErrorOf(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    expect(error).to.be.an.instanceOf(ValidationError);
    return error as ValidationError;
  }
  return expect.fail('did not throw');
}

/** The ValidationError that `promise` rejects with. */
async function validationRejectionOf(promise: Promise<unknown>): Promise<ValidationError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.an.instanceOf(ValidationError);
    return error as ValidationError;
  }
  return expect.fail('resolved instead of rejecting');
}

// ---------------------------------------------------------------------------
// Record kinds: what passes, what is refused, and the path of the first bad field
// ---------------------------------------------------------------------------

type BadCase = [what: string, value: unknown, path: string];

const RECORDS: Record<RecordKind, { valid: unknown[]; bad: BadCase[] }> = {
  transaction: {
    valid: [
      CREATE,
      TRANSFER,
      VALIDATOR_ELECTION,
      VOTE,
      changed(CREATE, (t) => (t.asset = { data: null })),
      // BigchainDB's schema: an output whose condition names no key (a preimage) has [] or null.
      changed(CREATE, (t) => (t.outputs[0].public_keys = [])),
      changed(CREATE, (t) => (t.outputs[0].public_keys = null)),
    ],
    bad: [
      ['an amount that is a number', changed(CREATE, (t) => (t.outputs[0].amount = 1)), 'outputs[0].amount'],
      ['a negative amount', changed(CREATE, (t) => (t.outputs[0].amount = '-1')), 'outputs[0].amount'],
      ['a decimal amount', changed(TRANSFER, (t) => (t.outputs[0].amount = '1.5')), 'outputs[0].amount'],
      ['a spent output with a bad transaction id', changed(TRANSFER, (t) => (t.inputs[0].fulfills.transaction_id = 'xyz')), 'inputs[0].fulfills.transaction_id'],
      ['a spent output with a negative index', changed(TRANSFER, (t) => (t.inputs[0].fulfills.output_index = -1)), 'inputs[0].fulfills.output_index'],
      ['an id in upper case', changed(CREATE, (t) => (t.id = t.id.toUpperCase())), 'id'],
      ['an id that is too short', changed(CREATE, (t) => (t.id = t.id.slice(1))), 'id'],
      ['an unknown operation', changed(CREATE, (t) => (t.operation = 'BURN')), 'operation'],
      ['a version that is a number', changed(CREATE, (t) => (t.version = 2)), 'version'],
      ['no metadata field', changed(CREATE, (t) => delete t.metadata), 'metadata'],
      ['inputs that are not a list', changed(CREATE, (t) => (t.inputs = 'none' as never)), 'inputs'],
      ['an empty owner', changed(CREATE, (t) => (t.inputs[0].owners_before = [''])), 'inputs[0].owners_before[0]'],
      ['an input without fulfills', changed(CREATE, (t) => delete t.inputs[0].fulfills), 'inputs[0].fulfills'],
      ['owners that are a string', changed(CREATE, (t) => (t.outputs[0].public_keys = ALICE)), 'outputs[0].public_keys'],
      ['an output without public_keys', changed(CREATE, (t) => delete t.outputs[0].public_keys), 'outputs[0].public_keys'],
      ['an unknown top-level field', { ...CREATE, signature: 'x' }, 'signature'],
      ['an unknown field of an input', changed(CREATE, (t) => (t.inputs[0].note = 'x')), 'inputs[0].note'],
      ['an unknown field of a spent output', changed(TRANSFER, (t) => (t.inputs[0].fulfills.amount = '1')), 'inputs[0].fulfills.amount'],
      ['an unknown field of an output', changed(CREATE, (t) => (t.outputs[0].owner = ALICE)), 'outputs[0].owner'],
      ['an unknown field of a condition', changed(CREATE, (t) => (t.outputs[0].condition.hash = 'x')), 'outputs[0].condition.hash'],
      ['an unknown field of an asset', changed(CREATE, (t) => (t.asset.name = 'x')), 'asset.name'],
      ['a lone surrogate in metadata', changed(CREATE, (t) => (t.metadata = { note: 'half \uD800 a pair' })), 'metadata.note'],
      ['a lone surrogate in a key of asset data', changed(CREATE, (t) => (t.asset = { data: { ['k\uDC00']: 1 } })), 'asset.data.k\uDC00'],
      ['a lone surrogate in an owner', changed(CREATE, (t) => (t.inputs[0].owners_before = ['\uD83D'])), 'inputs[0].owners_before[0]'],
      ['a condition without uri', changed(CREATE, (t) => delete t.outputs[0].condition.uri), 'outputs[0].condition.uri'],
      ['a CREATE that points at an asset id', changed(CREATE, (t) => (t.asset = { id: CREATE_ID })), 'asset.data'],
      ['a TRANSFER that carries asset data', changed(TRANSFER, (t) => (t.asset = { data: {} })), 'asset.id'],
      ['an asset with both data and id', changed(VOTE, (t) => (t.asset = { id: ELECTION_ID, data: {} })), 'asset'],
      ['an asset id that is not a transaction id', changed(TRANSFER, (t) => (t.asset = { id: 'not-hex' })), 'asset.id'],
      ['null', null, ''],
      ['an array', [CREATE], ''],
    ],
  },
  txid: {
    valid: [CREATE_ID],
    bad: [['an upper-case id', CREATE_ID.toUpperCase(), ''], ['a number', 12, '']],
  },
  height: {
    valid: [0, 12],
    bad: [['a negative height', -1, ''], ['a fraction', 1.5, ''], ['a string', '1', '']],
  },
  block: {
    valid: [BLOCK, { height: 0, app_hash: '', transactions: [] }],
    bad: [
      ['a negative height', { ...BLOCK, height: -1 }, 'height'],
      ['a fractional height', { ...BLOCK, height: 2.5 }, 'height'],
      ['an app_hash that is a number', { ...BLOCK, app_hash: 5 }, 'app_hash'],
      ['a bad transaction id', { ...BLOCK, transactions: [CREATE_ID, 'nope'] }, 'transactions[1]'],
      ['no transactions field', { height: 1, app_hash: 'ab' }, 'transactions'],
      ['an unknown field', { ...BLOCK, proposer: ALICE }, 'proposer'],
      ['a lone surrogate in the app hash', { ...BLOCK, app_hash: 'ab\uDBFF' }, 'app_hash'],
    ],
  },
  utxo: {
    valid: [UTXO],
    bad: [
      ['an amount that is a number', { ...UTXO, amount: 1 }, 'amount'],
      ['a negative output index', { ...UTXO, output_index: -1 }, 'output_index'],
      ['a bad asset id', { ...UTXO, asset_id: 'asset' }, 'asset_id'],
      ['no condition_uri', changed(UTXO, (u) => delete u.condition_uri), 'condition_uri'],
      ['an unknown field', { ...UTXO, public_keys: [ALICE] }, 'public_keys'],
      ['a lone surrogate in the condition uri', { ...UTXO, condition_uri: 'ni:///\uD800' }, 'condition_uri'],
    ],
  },
  outputRef: {
    valid: [REF],
    bad: [
      ['a bad transaction id', { ...REF, transaction_id: 'zz' }, 'transaction_id'],
      ['an index that is a string', { ...REF, output_index: '0' }, 'output_index'],
    ],
  },
  preCommitState: {
    valid: [{ height: 2, transactions: [TRANSFER.id] }],
    bad: [
      ['no transactions field', { height: 2 }, 'transactions'],
      ['a bad transaction id', { height: 2, transactions: ['x'] }, 'transactions[0]'],
      ['an unknown field', { height: 2, transactions: [], commit_id: 'x' }, 'commit_id'],
    ],
  },
  validatorSet: {
    valid: [{ height: 3, validators: [{ public_key: { value: ALICE, type: 'ed25519-base16' }, voting_power: 10 }] }],
    bad: [
      ['a height that is a string', { height: 'three', validators: [] }, 'height'],
      ['validators that are not an array', { height: 3, validators: {} }, 'validators'],
      ['an unknown field (BigchainDB writes an election_id in some of its tests)', { height: 3, validators: [], election_id: ELECTION_ID }, 'election_id'],
    ],
  },
  election: {
    valid: [{ election_id: ELECTION_ID, height: 4, is_concluded: false }],
    bad: [
      ['an empty election id', { election_id: '', height: 4, is_concluded: false }, 'election_id'],
      ['is_concluded that is a string', { election_id: ELECTION_ID, height: 4, is_concluded: 'no' }, 'is_concluded'],
      ['an unknown field', { election_id: ELECTION_ID, height: 4, is_concluded: false, votes: 3 }, 'votes'],
      ['a lone surrogate in the election id', { election_id: 'elect\uD800', height: 4, is_concluded: false }, 'election_id'],
    ],
  },
  abciChain: {
    valid: [{ height: 5, chain_id: 'chain-XYZ-migrated-at-height-5', is_synced: true }],
    bad: [
      ['an empty chain id', { height: 5, chain_id: '', is_synced: true }, 'chain_id'],
      ['a negative height', { height: -5, chain_id: 'c', is_synced: true }, 'height'],
      ['a lone surrogate in the chain id', { height: 5, chain_id: 'chain\uDFFF', is_synced: true }, 'chain_id'],
    ],
  },
  asset: {
    valid: [{ id: CREATE_ID, data: { bicycle: 'x' } }, { id: CREATE_ID, data: null }],
    bad: [
      ['a bad id', { id: 'bicycle', data: {} }, 'id'],
      ['no data field', { id: CREATE_ID }, 'data'],
      ['an unknown field', { id: CREATE_ID, data: {}, owner: ALICE }, 'owner'],
    ],
  },
  metadata: {
    valid: [{ id: CREATE_ID, metadata: { planet: 'earth' } }, { id: CREATE_ID, metadata: null }],
    bad: [
      ['a bad id', { id: 7, metadata: null }, 'id'],
      ['no metadata field', { id: CREATE_ID }, 'metadata'],
      ['an unknown field', { id: CREATE_ID, metadata: null, data: {} }, 'data'],
    ],
  },
};

describe('validation', () => {
  describe('record kinds', () => {
    for (const [kind, { valid, bad }] of Object.entries(RECORDS) as [RecordKind, (typeof RECORDS)[RecordKind]][]) {
      describe(kind, () => {
        it('accepts well-formed records', () => {
          for (const value of valid) expect(() => validate(kind, value), JSON.stringify(value)).not.to.throw();
        });

        for (const [what, value, path] of bad) {
          it(`refuses ${what}, with path '${path}'`, () => {
            expect(validationErrorOf(() => validate(kind, value)).path).to.equal(path);
          });
        }
      });
    }

    it('refuses records that are not objects, with an empty path', () => {
      for (const kind of ['block', 'utxo', 'outputRef', 'preCommitState', 'validatorSet', 'election', 'abciChain', 'asset', 'metadata'] as const) {
        for (const value of [null, 'record', 42, [RECORDS[kind].valid[0]]]) {
          expect(validationErrorOf(() => validate(kind, value)).path, `${kind}: ${JSON.stringify(value)}`).to.equal('');
        }
      }
    });

    it('names an unknown field and says it is refused, not dropped', () => {
      const error = validationErrorOf(() => validate('validatorSet', { height: 3, validators: [], election_id: ELECTION_ID }, 'validator set'));
      expect(error.message).to.equal('invalid validator set: election_id is not a field of this record (unknown fields are refused, never dropped)');
    });

    it('says why a lone surrogate is refused', () => {
      const error = validationErrorOf(() => validate('election', { election_id: 'elect\uD800', height: 7, is_concluded: false }));
      expect(error.message).to.include('election_id').and.to.include('lone UTF-16 surrogate');
    });

    it('accepts whole surrogate pairs (characters beyond the BMP)', () => {
      expect(() => validate('transaction', changed(CREATE, (t) => (t.metadata = { ['\uD83D\uDE00']: 'emoji \uD83D\uDE00' })))).not.to.throw();
    });

    it('names the bad field in the message too', () => {
      const error = validationErrorOf(() => validate('transaction', changed(CREATE, (t) => (t.outputs[0].amount = 1))));
      expect(error.message).to.include('outputs[0].amount');
    });
  });

  describe('batches', () => {
    it('accepts an empty batch and a batch of valid records', () => {
      expect(() => validateBatch('transaction', [], 'transactions')).not.to.throw();
      expect(() => validateBatch('transaction', [CREATE, TRANSFER, VOTE], 'transactions')).not.to.throw();
    });

    it('puts the index of the first bad record first in the path', () => {
      const batch = [CREATE, TRANSFER, changed(VOTE, (t) => (t.id = 'vote')), changed(CREATE, (t) => (t.metadata = undefined))];
      expect(validationErrorOf(() => validateBatch('transaction', batch, 'transactions')).path).to.equal('[2].id');
    });

    it('reaches into the bad record', () => {
      const batch = [CREATE, changed(TRANSFER, (t) => (t.outputs[0].amount = 'one'))];
      expect(validationErrorOf(() => validateBatch('transaction', batch, 'transactions')).path).to.equal('[1].outputs[0].amount');
    });

    it('refuses something that is not an array', () => {
      expect(validationErrorOf(() => validateBatch('transaction', { 0: CREATE }, 'transactions')).path).to.equal('');
    });

    it(`allows at most ${MAX_BATCH.toLocaleString('en')} records`, () => {
      expect(MAX_BATCH).to.equal(100_000);
      const error = validationErrorOf(() => validateBatch('transaction', new Array(MAX_BATCH + 1).fill(CREATE), 'transactions'));
      expect(error.message).to.include(String(MAX_BATCH + 1));
    });
  });

  describe('JSON fields at any depth', () => {
    const nested = (depth: number, leaf: unknown): unknown => (depth === 0 ? leaf : { level: nested(depth - 1, leaf) });
    const withData = (data: unknown) => changed(CREATE, (t) => ((t.asset as { data: unknown }).data = data));
    const levels = (depth: number) => Array.from({ length: depth }, () => 'level').join('.');

    it('accepts plain JSON nested deeper than the quick check goes, up to the limit', () => {
      expect(() => validate('transaction', withData(nested(90, 'deep')))).not.to.throw();
      // asset.data (depth 2) is the first of 97 nested objects: the deepest is at 98, its value at 99.
      expect(MAX_NESTING).to.equal(99);
      expect(() => validate('transaction', withData(nested(97, 'deepest')))).not.to.throw();
    });

    it('refuses a value nested deeper than 99 levels, naming the first container past the limit', () => {
      const error = validationErrorOf(() => validate('transaction', withData(nested(98, 'too deep'))));
      expect(error.path).to.equal(`asset.data.${levels(97)}`);
      expect(error.message).to.include('deeper than 99 levels');
      expect(validationErrorOf(() => validate('validatorSet', { height: 1, validators: [nested(98, 1)] })).path).to.equal(`validators[0].${levels(97)}`);
    });

    it('refuses 10,000 and 100,000 levels with a ValidationError, never a stack overflow, however warm', () => {
      for (const depth of [10_000, 100_000, 10_000, 10_000]) {
        let deep: unknown = 'leaf';
        for (let i = 0; i < depth; i += 1) deep = i % 2 ? { level: deep } : [deep];
        for (const [kind, record] of [
          ['transaction', withData(deep)],
          ['transaction', changed(CREATE, (t) => (t.metadata = deep))],
          ['transaction', changed(CREATE, (t) => (t.inputs[0].fulfillment = deep))],
          ['transaction', changed(CREATE, (t) => (t.outputs[0].condition.details = deep))],
          ['validatorSet', { height: 1, validators: [deep] }],
        ] as const) {
          expect(validationErrorOf(() => validate(kind, record)).message, `${kind} at ${depth}`).to.include('deeper than 99 levels');
        }
      }
    });

    it('refuses -0, which JSON writes as 0 (a value that would change is refused)', () => {
      expect(validationErrorOf(() => validate('transaction', withData({ n: -0 }))).path).to.equal('asset.data.n');
      expect(() => validate('transaction', withData({ n: 0 }))).not.to.throw();
    });

    it('refuses what JSON cannot carry, shallow or deep, with its path', () => {
      for (const depth of [1, 63, 64, 90]) {
        expect(validationErrorOf(() => validate('transaction', withData(nested(depth, Number.NaN)))).path, `NaN at depth ${depth}`).to.equal(`asset.data.${levels(depth)}`);
      }
    });

    it('refuses a cycle, naming where it closes', () => {
      const loop: Record<string, unknown> = { name: 'loop' };
      loop.again = loop;
      const error = validationErrorOf(() => validate('transaction', withData({ wrapper: loop })));
      expect(error.path).to.equal('asset.data.wrapper.again');
      expect(error.message).to.include('cycle');
    });
  });

  // -------------------------------------------------------------------------
  // Through the query generics: refused before any backend is touched
  // -------------------------------------------------------------------------

  describe('through the query generics', () => {
    type AnyGeneric = Generic<GenericSignature>;
    const generics = Object.values(query).filter(isGeneric) as AnyGeneric[];

    /** A backend whose every query handler only records that it was called. */
    class RecordingConnection extends Connection {}
    const called: string[] = [];
    const conn = new RecordingConnection();

    before(() => {
      for (const fn of generics) {
        fn.register(RecordingConnection, (async () => {
          called.push(fn.genericName);
        }) as never);
      }
    });
    after(() => {
      for (const fn of generics) fn.unregister(RecordingConnection);
    });
    beforeEach(() => {
      called.length = 0;
    });

    const badTransfer = changed(TRANSFER, (t) => (t.outputs[0].amount = 1));
    const cases: { fn: AnyGeneric; good: unknown[]; bad: unknown[]; path: string }[] = [
      { fn: query.writeTransaction, good: [CREATE], bad: [badTransfer], path: 'outputs[0].amount' },
      { fn: query.writeTransactions, good: [[CREATE, TRANSFER]], bad: [[CREATE, TRANSFER, changed(VOTE, (t) => (t.id = 'v'))]], path: '[2].id' },
      { fn: query.storeAsset, good: [{ id: CREATE_ID, data: {} }], bad: [{ id: 'x', data: {} }], path: 'id' },
      { fn: query.storeAssets, good: [[{ id: CREATE_ID, data: {} }]], bad: [[{ id: CREATE_ID, data: {} }, { id: CREATE_ID }]], path: '[1].data' },
      { fn: query.storeMetadatas, good: [[{ id: CREATE_ID, metadata: null }]], bad: [[{ id: CREATE_ID }]], path: '[0].metadata' },
      { fn: query.storeBlock, good: [BLOCK], bad: [{ ...BLOCK, transactions: ['nope'] }], path: 'transactions[0]' },
      { fn: query.storeUnspentOutputs, good: [[UTXO]], bad: [[UTXO, { ...UTXO, amount: 1 }]], path: '[1].amount' },
      { fn: query.deleteUnspentOutputs, good: [[REF]], bad: [[{ ...REF, output_index: -1 }]], path: '[0].output_index' },
      { fn: query.getSpendingTransactions, good: [[REF]], bad: [[{ ...REF, transaction_id: 'zz' }]], path: '[0].transaction_id' },
      { fn: query.storePreCommitState, good: [{ height: 1, transactions: [] }], bad: [{ height: 1 }], path: 'transactions' },
      { fn: query.storeValidatorSet, good: [{ height: 1, validators: [] }], bad: [{ height: 'one', validators: [] }], path: 'height' },
      { fn: query.storeElection, good: [ELECTION_ID, 4, false], bad: [ELECTION_ID, -4, false], path: 'height' },
      { fn: query.storeElections, good: [[{ election_id: ELECTION_ID, height: 4, is_concluded: true }]], bad: [[{ election_id: '', height: 4, is_concluded: true }]], path: '[0].election_id' },
      { fn: query.storeAbciChain, good: [5, 'chain-5'], bad: [5, ''], path: 'chain_id' },
      { fn: query.commitBlock, good: [BLOCK, [CREATE, TRANSFER]], bad: [BLOCK, [CREATE, badTransfer]], path: '[1].outputs[0].amount' },
      { fn: query.commitBlock, good: [BLOCK, []], bad: [BLOCK, [VOTE]], path: 'transactions' },
      { fn: query.getBlock, good: [1], bad: [-1], path: 'height' },
    ];

    for (const { fn, good, bad, path } of cases) {
      it(`${fn.genericName} rejects a bad record with path '${path}' and never calls the handler`, async () => {
        const error = await validationRejectionOf((fn as (...args: unknown[]) => Promise<unknown>)(conn, ...bad));
        expect(error.path).to.equal(path);
        expect(called).to.deep.equal([]);
      });

      it(`${fn.genericName} hands a valid record to the handler`, async () => {
        await (fn as (...args: unknown[]) => Promise<unknown>)(conn, ...good);
        expect(called).to.deep.equal([fn.genericName]);
      });
    }

    it(`writeTransactions refuses a batch of ${(MAX_BATCH + 1).toLocaleString('en')} without calling the handler`, async () => {
      await validationRejectionOf(query.writeTransactions(conn, new Array(MAX_BATCH + 1).fill(CREATE)));
      expect(called).to.deep.equal([]);
    });

    it(`writeTransactions accepts a batch of exactly ${MAX_BATCH.toLocaleString('en')}`, async () => {
      await query.writeTransactions(conn, new Array(MAX_BATCH).fill(CREATE));
      expect(called).to.deep.equal(['query.writeTransactions']);
    });
  });

  describe('argument errors show the value given (on a real SQLite connection)', () => {
    let conn: Connection;
    before(async () => {
      conn = await connect({ name: ':memory:' }, {});
    });
    after(async () => {
      await conn.close();
    });

    it('getBlock(conn, -1) says -1, not only "number"', async () => {
      const error = await validationRejectionOf(query.getBlock(conn, -1));
      expect(error.message).to.equal('invalid height: expected a non-negative integer, got number -1');
      expect(error.path).to.equal('height');
    });

    it('shows strings quoted, arrays and objects in brief, and numbers as they are', async () => {
      expect((await validationRejectionOf(query.getBlock(conn, 1.5))).message).to.match(/got number 1\.5$/);
      expect((await validationRejectionOf(query.getBlock(conn, '7' as never))).message).to.match(/got string '7'$/);
      expect((await validationRejectionOf(query.getTransaction(conn, 42 as never))).message).to.match(/expected a string, got number 42$/);
      expect((await validationRejectionOf(query.getTransactions(conn, 'abc' as never))).message).to.match(/got string 'abc'$/);
      expect((await validationRejectionOf(query.getTransactions(conn, [1, 2] as never))).message).to.match(/got array \[ 1, 2 \]$/);
      expect((await validationRejectionOf(query.getBlock(conn, null as never))).message).to.match(/got null$/);
      expect((await validationRejectionOf(query.writeTransactions(conn, 7 as never))).message).to.match(/expected an array, got number 7$/);
    });

    it('cuts a huge value short, keeps a message on one line, and survives values that resist being shown', async () => {
      const huge = await validationRejectionOf(query.getTransactions(conn, `${'x'.repeat(100_000)}\nsecond line` as never));
      expect(huge.message.length).to.be.below(200);
      expect(huge.message).to.include('(100,012 characters)').and.not.to.include('\n');
      const cycle: Record<string, unknown> = { a: 1 };
      cycle.self = cycle;
      expect((await validationRejectionOf(query.getBlock(conn, cycle as never))).message).to.match(/got object .*Circular/);
      // A value's own inspect hook is not run: it could throw, or print what it likes.
      const hostile = { [Symbol.for('nodejs.util.inspect.custom')]: () => { throw new Error('boom'); } };
      expect((await validationRejectionOf(query.getBlock(conn, hostile as never))).message).to.match(/got object \{/);
      const revoked = Proxy.revocable({}, {});
      revoked.revoke();
      expect((await validationRejectionOf(query.getBlock(conn, revoked.proxy as never))).message).to.match(/got a value that cannot be shown$/);
    });
  });
});

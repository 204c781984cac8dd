import { expect } from 'chai';
import {
  BackendError,
  ChainstoreError,
  ConfigurationError,
  ConnectionError,
  DuplicateKeyError,
  LeaseError,
  NotImplementedError,
  OperationError,
  RecoveryError,
  RegistrationError,
  UnsupportedOperationError,
  ValidationError,
  connect,
  query,
  schema,
} from '../lib';
import { otherPostgres, skipWithoutPostgres } from './support/postgres';
import { QUOTED_LENGTH, quoted } from '../lib/errors';

/** One error class of docs/design.md section 8: how to make one, its code, and its parent. */
interface ErrorCase {
  cls: new (...args: never[]) => ChainstoreError;
  make: (options?: { cause?: unknown }) => ChainstoreError;
  code: string;
  parent: ErrorCase['cls'] | null;
}

const CASES: ErrorCase[] = [
  { cls: ChainstoreError, make: (o) => new ChainstoreError('base', o), code: 'CHAINSTORE_ERROR', parent: null },
  { cls: BackendError, make: (o) => new BackendError('sqlite', 'engine failed', o), code: 'CHAINSTORE_BACKEND', parent: ChainstoreError },
  { cls: ConnectionError, make: (o) => new ConnectionError('postgres', 'refused', o), code: 'CHAINSTORE_CONNECTION', parent: BackendError },
  { cls: OperationError, make: (o) => new OperationError('postgres', 'query failed', o), code: 'CHAINSTORE_OPERATION', parent: BackendError },
  {
    cls: DuplicateKeyError,
    make: (o) => new DuplicateKeyError('sqlite', 'duplicate', ['a'], o),
    code: 'CHAINSTORE_DUPLICATE_KEY',
    parent: OperationError,
  },
  {
    cls: UnsupportedOperationError,
    make: (o) => new UnsupportedOperationError('sqlite', 'no shards', o),
    code: 'CHAINSTORE_UNSUPPORTED',
    parent: OperationError,
  },
  { cls: LeaseError, make: (o) => new LeaseError('postgres', 'lease held', [], o), code: 'CHAINSTORE_LEASE', parent: OperationError },
  { cls: ConfigurationError, make: (o) => new ConfigurationError('bad option', o), code: 'CHAINSTORE_CONFIGURATION', parent: ChainstoreError },
  { cls: ValidationError, make: (o) => new ValidationError('bad record', 'id', o), code: 'CHAINSTORE_VALIDATION', parent: ChainstoreError },
  { cls: RegistrationError, make: (o) => new RegistrationError('bad handler', o), code: 'CHAINSTORE_REGISTRATION', parent: ChainstoreError },
  { cls: NotImplementedError, make: (o) => new NotImplementedError('no handler', o), code: 'CHAINSTORE_NOT_IMPLEMENTED', parent: ChainstoreError },
  { cls: RecoveryError, make: (o) => new RecoveryError('needs a human', o), code: 'CHAINSTORE_RECOVERY', parent: ChainstoreError },
];

/** The class itself and every class above it in the hierarchy. */
function lineage(cls: ErrorCase['cls']): ErrorCase['cls'][] {
  const chain: ErrorCase['cls'][] = [];
  for (let current: ErrorCase['cls'] | null = cls; current; current = CASES.find((c) => c.cls === current)!.parent) {
    chain.push(current);
  }
  return chain;
}

describe('errors', () => {
  describe('hierarchy', () => {
    for (const { cls, make } of CASES) {
      it(`${cls.name} is an instance of exactly its own lineage`, () => {
        const error = make();
        const expected = lineage(cls);
        for (const other of CASES) {
          expect(error instanceof other.cls, `${cls.name} instanceof ${other.cls.name}`).to.equal(expected.includes(other.cls));
        }
        expect(error).to.be.an.instanceOf(Error);
      });
    }

    it('follows the tree of docs/design.md section 8', () => {
      const names = (cls: ErrorCase['cls']) => lineage(cls).map((c) => c.name);
      expect(names(DuplicateKeyError)).to.deep.equal(['DuplicateKeyError', 'OperationError', 'BackendError', 'ChainstoreError']);
      expect(names(UnsupportedOperationError)).to.deep.equal(['UnsupportedOperationError', 'OperationError', 'BackendError', 'ChainstoreError']);
      expect(names(ConnectionError)).to.deep.equal(['ConnectionError', 'BackendError', 'ChainstoreError']);
      expect(new ValidationError('x', '')).not.to.be.an.instanceOf(BackendError);
    });

    it('names each error after its class', () => {
      for (const { cls, make } of CASES) {
        const error = make();
        expect(error.name).to.equal(cls.name);
        expect(String(error)).to.match(new RegExp(`^${cls.name}: `));
      }
    });
  });

  describe('code', () => {
    it('is the documented, stable code of each class', () => {
      for (const { cls, make, code } of CASES) expect(make().code, cls.name).to.equal(code);
    });

    it('is distinct for every class', () => {
      const codes = CASES.map(({ make }) => make().code);
      expect(new Set(codes).size).to.equal(CASES.length);
    });
  });

  describe('cause', () => {
    it('keeps the wrapped error as cause on every class', () => {
      for (const { cls, make } of CASES) {
        const driverError = new Error(`driver failure for ${cls.name}`);
        expect(make({ cause: driverError }).cause, cls.name).to.equal(driverError);
      }
    });

    it('keeps a cause that is not an Error', () => {
      expect(new OperationError('postgres', 'failed', { cause: { code: '23505' } }).cause).to.deep.equal({ code: '23505' });
    });

    it('has no cause when none is given', () => {
      for (const { make } of CASES) expect('cause' in make()).to.equal(false);
    });
  });

  describe('BackendError', () => {
    it('prefixes its message with the backend name and keeps the name', () => {
      const error = new BackendError('rethinkdb', 'table missing');
      expect(error.message).to.equal('[rethinkdb] table missing');
      expect(error.backend).to.equal('rethinkdb');
    });

    it('prefixes the messages of its subclasses too', () => {
      const errors = [
        new ConnectionError('postgres', 'refused'),
        new OperationError('localmongodb', 'write failed'),
        new DuplicateKeyError('sqlite', 'exists', [1]),
        new UnsupportedOperationError('sqlite', 'no replicas'),
      ];
      expect(errors.map((e) => e.message)).to.deep.equal([
        '[postgres] refused',
        '[localmongodb] write failed',
        '[sqlite] exists',
        '[sqlite] no replicas',
      ]);
    });
  });

  describe('DuplicateKeyError.keys', () => {
    it('lists the keys as given', () => {
      expect(new DuplicateKeyError('sqlite', 'exists', ['ab', 7]).keys).to.deep.equal(['ab', 7]);
    });

    it('is frozen', () => {
      const { keys } = new DuplicateKeyError('sqlite', 'exists', ['ab']);
      expect(Object.isFrozen(keys)).to.equal(true);
      expect(() => (keys as (string | number)[]).push('cd')).to.throw(TypeError);
    });

    it('is a copy: changing the array it was made from changes nothing', () => {
      const given = ['ab'];
      const error = new DuplicateKeyError('sqlite', 'exists', given);
      given.push('cd');
      expect(error.keys).to.deep.equal(['ab']);
    });
  });

  describe('ValidationError.path', () => {
    it('keeps the path of the bad field', () => {
      expect(new ValidationError('bad amount', 'outputs[0].amount').path).to.equal('outputs[0].amount');
    });
  });

  describe('quoted values', () => {
    it('quotes a short value whole and cuts a long one, saying how long it was', () => {
      expect(quoted('klingon')).to.equal('"klingon"');
      const long = quoted('x'.repeat(10_000_000));
      expect(long.length).to.be.below(QUOTED_LENGTH + 40);
      expect(long).to.match(/…" \(10,000,002 characters\)$/);
    });

    it('never cuts a surrogate pair in half', () => {
      expect(quoted('\u{1F600}'.repeat(100)).isWellFormed()).to.equal(true);
    });
  });
});

describe('a database without tables', function () {
  const other = otherPostgres('no_tables');

  it('sqlite: an operation fails with OperationError saying to run initDatabase', async function () {
    const conn = await connect({ backend: 'sqlite', name: ':memory:' });
    const error = await query.getBlock(conn, 1).then(() => null, (e: unknown) => e);
    expect(error).to.be.instanceOf(OperationError);
    expect((error as Error).message).to.match(/^\[sqlite\] .*; run schema\.initDatabase\(conn\) \(or `chainstore init`\) first$/);
    await conn.close();
  });

  it('postgres: an operation fails with OperationError saying to run initDatabase', async function () {
    await skipWithoutPostgres.call(this);
    const conn = await other.connect();
    await schema.createDatabase(conn, other.name);
    try {
      const error = await query.getBlock(conn, 1).then(() => null, (e: unknown) => e);
      expect(error).to.be.instanceOf(OperationError);
      expect((error as Error).message).to.match(/^\[postgres\] .*\(42P01\); run schema\.initDatabase\(conn\) \(or `chainstore init`\) first$/);
    } finally {
      await schema.dropDatabase(conn, other.name);
      await conn.close();
    }
  });
});
